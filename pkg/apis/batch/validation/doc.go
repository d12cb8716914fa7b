/*
Copyright 2016 The Kubernetes Authors.
Copyright 2026 The jobserver Authors.

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

// Package validation validates the internal Job of batch.jobserver.dev with
// the rules of the built-in batch/v1 Job of Kubernetes 1.37
// (k8s.io/kubernetes pkg/apis/batch/validation), adapted to the hub types of
// this module, whose pod template is the versioned core/v1 PodTemplateSpec.
// The pod template itself is validated by pkg/apis/core/validation.
//
// Every function is pure: it returns all the problems it finds, each with the
// exact field path upstream reports, and never panics on nil pointers.
//
// Files, one role each:
//   - options.go: the options and how the registry strategy computes them;
//   - validation.go: create and update of the Job and its spec, and the
//     template update rules;
//   - policies.go: podFailurePolicy, successPolicy and podReplacementPolicy;
//   - status.go: the /status subresource;
//   - indexes.go: the interval strings of completedIndexes, failedIndexes and
//     succeededIndexes;
//   - conditions.go: predicates on the Job's conditions (over
//     pkg/apis/batch/condition);
//   - warnings.go: non-fatal warnings for create and update.
//
// The tests exercise the pod template rules too, through ValidateJobCreate
// and ValidateJobUpdate, with the field paths a user sees.
package validation
