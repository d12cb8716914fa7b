/*
Copyright The jobserver Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package kit is the test kit that the integration tests, the e2e tests and
// the hack/ scripts (through the hack/kit command) share: certificates
// (pki.go), child processes (process.go), Job conditions (conditions.go),
// multi-document YAML (yaml.go), the repository's paths (repo.go) and
// kube-apiserver's flags (kubeapiserver.go).
//
// Functions return errors so that a command can use them too; CA.MustIssue
// is the one helper for tests.
package kit
