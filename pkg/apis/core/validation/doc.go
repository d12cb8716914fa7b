/*
Copyright 2014 The Kubernetes Authors.
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

// Package validation validates a core/v1 pod template with the rules of
// upstream core validation (k8s.io/kubernetes pkg/apis/core/validation,
// ValidatePodTemplateSpec and what it calls) that matter for a template a
// controller turns into Pods, rewritten for the versioned types, with the
// pod feature gates of Kubernetes 1.37 at their defaults. Upstream's package
// validates the internal core types and is not importable from outside
// k8s.io/kubernetes, hence this one.
//
// Entry points:
//   - ValidatePodTemplateSpec: a template on create, or on update against
//     the stored pod spec (errors the stored spec had count only in the
//     parts the update changes);
//   - ValidatePodTemplateUpdate: which parts may change in place
//     (MutableParts; one table, mutablePodSpecParts, in mutable.go);
//   - WarningsForPodTemplate: the non-fatal warnings;
//   - ValidateQualifiedName: a helper the Job rules share.
//
// Files: podtemplate.go (the pod spec and its containers), volumes.go,
// certificates.go, env.go, resources.go, probes.go (probes and lifecycle
// hooks), security.go (security contexts and sysctls), scheduling.go
// (affinity, tolerations, topology spread), mutable.go, warnings.go.
//
// Every function is pure: it returns all the problems it finds, each with
// the exact field path upstream reports, and never panics on nil pointers.
package validation
