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

// Package names holds the label, annotation, finalizer, environment and
// component names that the API (registry, validation) and the controller
// share. It is a leaf: it imports nothing, so the controller can use the
// names without importing the internal API types.
package names

// Names shared with workloads written for batch/v1 (the upstream keys, so a
// Pod of a jobserver Job looks like a Pod of a built-in Job) and jobserver's
// own names (docs/names.md lists them all).
const (
	labelPrefix = "batch.kubernetes.io/"

	// LegacyJobNameLabel and LegacyControllerUIDLabel are the unprefixed
	// labels batch/v1 still puts on a Job's pod template.
	LegacyJobNameLabel       = "job-name"
	LegacyControllerUIDLabel = "controller-uid"

	// JobNameLabel holds the Job's name on its pod template and Pods.
	JobNameLabel = labelPrefix + "job-name"
	// ControllerUIDLabel holds the Job's UID on its pod template and Pods;
	// the generated selector matches on it.
	ControllerUIDLabel = labelPrefix + "controller-uid"
	// JobCompletionIndexAnnotation is the label and annotation carrying the
	// completion index of a Pod of an Indexed Job.
	JobCompletionIndexAnnotation = labelPrefix + "job-completion-index"
	// JobIndexFailureCountAnnotation counts the failures of an index that are
	// held against backoffLimitPerIndex.
	JobIndexFailureCountAnnotation = labelPrefix + "job-index-failure-count"
	// JobIndexIgnoredFailureCountAnnotation counts the failures of an index
	// that the pod failure policy ignored.
	JobIndexIgnoredFailureCountAnnotation = labelPrefix + "job-index-ignored-failure-count"
	// JobCompletionIndexEnv is the environment variable holding the index.
	JobCompletionIndexEnv = "JOB_COMPLETION_INDEX"

	// JobTrackingFinalizer is jobserver's own pod tracking finalizer, so the
	// built-in Job controller never touches it.
	JobTrackingFinalizer = "batch.jobserver.dev/job-tracking"
	// PodOwnershipLabel marks every Pod jobserver creates with its Job's UID;
	// the controller's Pod informer selects on its presence.
	PodOwnershipLabel = "batch.jobserver.dev/controller-uid"
	// JobControllerName is the reserved spec.managedBy value of jobserver's
	// own controller; Jobs with another value are left to their manager.
	JobControllerName = "batch.jobserver.dev/job-controller"
	// EventReporter is the source component of the controller's Events.
	EventReporter = "jobserver-controller"
)

// TooManyLogStreamsCause is the cause type of the 400 with which jobs/log
// refuses to follow more streams than one request may hold; the kubectl
// plugin then follows Pod by Pod, as kubectl does.
const TooManyLogStreamsCause = "TooManyLogStreams"
