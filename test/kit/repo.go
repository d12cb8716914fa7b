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

package kit

import (
	"path/filepath"
	"runtime"
)

// RepoRoot returns the repository's root directory, found from the location
// of this source file. It needs the source tree the binary was built from:
// a test binary has it, a binary built with -trimpath does not.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// ToolsDir returns the directory of the pinned binaries (etcd,
// kube-apiserver, kubectl, ...) that hack/build-tools.sh builds:
// _output/bin under RepoRoot.
func ToolsDir() string {
	return filepath.Join(RepoRoot(), "_output", "bin")
}
