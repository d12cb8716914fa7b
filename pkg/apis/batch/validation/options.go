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

package validation

import (
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
)

// JobValidationOptions relax the validation of a Job create or update. The
// registry strategy fills them with JobCreateValidationOptions or
// JobUpdateValidationOptions.
type JobValidationOptions struct {
	// AllowMutableSchedulingDirectives lets an update change the template's
	// nodeAffinity, nodeSelector, tolerations, schedulingGates, labels and
	// annotations. Set when the old Job is suspended, has not started or has
	// Suspended=True, and has no active Pods
	// (docs/job-semantics.md#template-updates-of-a-suspended-job).
	AllowMutableSchedulingDirectives bool
	// AllowMutablePodResources lets an update of a suspended Job change the
	// resources of its containers and init containers (same count, same
	// names); set under the same rule.
	AllowMutablePodResources bool
	// RequirePrefixedLabels makes create validation require the
	// batch.kubernetes.io/job-name and batch.kubernetes.io/controller-uid
	// template labels as well as the legacy unprefixed pair. As upstream,
	// the generated labels are checked on create only; on update the
	// template is immutable (or mutable only under that rule) and the
	// selector must still match it.
	RequirePrefixedLabels bool
}

// JobStatusValidationOptions select the /status rules to enforce. Most are
// turned on only when the fields involved change, so that a status update
// unrelated to an existing violation is not blocked
// (see StatusValidationOptions).
type JobStatusValidationOptions struct {
	RejectDecreasingSucceededCounter             bool
	RejectDecreasingFailedCounter                bool
	RejectDisablingTerminalCondition             bool
	RejectInvalidCompletedIndexes                bool
	RejectInvalidFailedIndexes                   bool
	RejectFailedIndexesOverlappingCompleted      bool
	RejectCompletedIndexesForNonIndexedJob       bool
	RejectFailedIndexesForNoBackoffLimitPerIndex bool
	RejectFailedJobWithoutFailureTarget          bool
	RejectCompleteJobWithoutSuccessCriteriaMet   bool
	RejectFinishedJobWithActivePods              bool
	RejectFinishedJobWithoutStartTime            bool
	RejectFinishedJobWithUncountedTerminatedPods bool
	RejectStartTimeUpdateForUnsuspendedJob       bool
	RejectCompletionTimeBeforeStartTime          bool
	RejectMutatingCompletionTime                 bool
	RejectCompleteJobWithoutCompletionTime       bool
	RejectNotCompleteJobWithCompletionTime       bool
	RejectCompleteJobWithFailedCondition         bool
	RejectCompleteJobWithFailureTargetCondition  bool
	RejectMoreReadyThanActivePods                bool
	RejectFinishedJobWithTerminatingPods         bool
}

// JobCreateValidationOptions returns the options for creating job: the
// generated batch.kubernetes.io/ labels are always required on create.
func JobCreateValidationOptions(job *batch.Job) JobValidationOptions {
	return JobValidationOptions{RequirePrefixedLabels: true}
}

// JobUpdateValidationOptions returns the options for updating oldJob to job
// (upstream strategy.go validationOptionsForJob with the feature gates of
// 1.37 at their defaults: MutableSchedulingDirectivesForSuspendedJobs and
// MutablePodResourcesForSuspendedJobs on). With a nil oldJob it returns the
// create options.
func JobUpdateValidationOptions(job, oldJob *batch.Job) JobValidationOptions {
	opts := JobCreateValidationOptions(job)
	if oldJob == nil {
		return opts
	}
	allowMutablePodTemplate := shouldAllowMutablePodTemplate(oldJob)
	opts.AllowMutableSchedulingDirectives = allowMutablePodTemplate
	opts.AllowMutablePodResources = allowMutablePodTemplate
	// Jobs created before the prefixed labels existed must stay updatable.
	_, hadJobName := oldJob.Spec.Template.Labels[names.JobNameLabel]
	_, hadControllerUID := oldJob.Spec.Template.Labels[names.ControllerUIDLabel]
	opts.RequirePrefixedLabels = hadJobName && hadControllerUID
	return opts
}

// shouldAllowMutablePodTemplate is the suspended-template rule
// (docs/job-semantics.md#template-updates-of-a-suspended-job): the template
// of a suspended Job may change when it has no active Pods and either never
// started or has the Suspended=True condition, so no running Pod was created
// from the old template.
func shouldAllowMutablePodTemplate(job *batch.Job) bool {
	suspended := ptr.Deref(job.Spec.Suspend, false)
	notStarted := job.Status.StartTime == nil
	hasSuspendedCondition := condition.IsTrue(job.Status.Conditions, batch.JobSuspended)
	return suspended && (notStarted || hasSuspendedCondition) && job.Status.Active == 0
}

// StatusValidationOptions returns the /status rules for updating oldJob to
// job (upstream strategy.go getStatusValidationOptions with JobManagedBy GA).
// Every rule is on; most apply only when the fields they involve changed.
// This also lets a user scale an Indexed Job down while its completedIndexes
// still name indexes beyond the new completions, until the controller
// catches up.
func StatusValidationOptions(job, oldJob *batch.Job) JobStatusValidationOptions {
	if job == nil {
		job = &batch.Job{}
	}
	if oldJob == nil {
		oldJob = &batch.Job{}
	}
	isIndexed := ptr.Deref(job.Spec.CompletionMode, batch.NonIndexedCompletion) == batch.IndexedCompletion

	isJobFinishedChanged := IsJobFinished(oldJob) != IsJobFinished(job)
	isJobCompleteChanged := IsJobComplete(oldJob) != IsJobComplete(job)
	isJobFailedChanged := IsJobFailed(oldJob) != IsJobFailed(job)
	isJobFailureTargetChanged := isJobFailureTarget(oldJob) != isJobFailureTarget(job)
	isJobSuccessCriteriaMetChanged := isJobSuccessCriteriaMet(oldJob) != isJobSuccessCriteriaMet(job)
	isCompletedIndexesChanged := oldJob.Status.CompletedIndexes != job.Status.CompletedIndexes
	isFailedIndexesChanged := !ptr.Equal(oldJob.Status.FailedIndexes, job.Status.FailedIndexes)
	isActiveChanged := oldJob.Status.Active != job.Status.Active
	isStartTimeChanged := !timesEqual(oldJob.Status.StartTime, job.Status.StartTime)
	isCompletionTimeChanged := !timesEqual(oldJob.Status.CompletionTime, job.Status.CompletionTime)
	isUncountedTerminatedPodsChanged := !apiequality.Semantic.DeepEqual(oldJob.Status.UncountedTerminatedPods, job.Status.UncountedTerminatedPods)
	isReadyChanged := !ptr.Equal(oldJob.Status.Ready, job.Status.Ready)
	isTerminatingChanged := !ptr.Equal(oldJob.Status.Terminating, job.Status.Terminating)
	isSuspendedWithZeroCompletions := ptr.Deref(job.Spec.Suspend, false) && ptr.Equal(job.Spec.Completions, ptr.To[int32](0))
	// A resume shows as Suspended flipping True -> False; the controller then
	// resets startTime even though spec.suspend is already false
	// (kubernetes/kubernetes#134521).
	isJobResuming := condition.IsTrue(oldJob.Status.Conditions, batch.JobSuspended) &&
		condition.IsFalse(job.Status.Conditions, batch.JobSuspended)

	return JobStatusValidationOptions{
		// Indexed Jobs with completions == parallelism can be scaled down,
		// which drops the succeeded indexes beyond the new completions.
		RejectDecreasingSucceededCounter:             !isIndexed || !ptr.Equal(job.Spec.Completions, job.Spec.Parallelism),
		RejectDecreasingFailedCounter:                true,
		RejectDisablingTerminalCondition:             true,
		RejectInvalidCompletedIndexes:                isCompletedIndexesChanged,
		RejectInvalidFailedIndexes:                   isFailedIndexesChanged,
		RejectCompletedIndexesForNonIndexedJob:       isCompletedIndexesChanged,
		RejectFailedIndexesForNoBackoffLimitPerIndex: isFailedIndexesChanged,
		RejectFailedIndexesOverlappingCompleted:      isFailedIndexesChanged || isCompletedIndexesChanged,
		RejectFailedJobWithoutFailureTarget:          isJobFailedChanged || isFailedIndexesChanged,
		RejectCompleteJobWithoutSuccessCriteriaMet:   isJobCompleteChanged || isJobSuccessCriteriaMetChanged,
		RejectFinishedJobWithActivePods:              isJobFinishedChanged || isActiveChanged,
		RejectFinishedJobWithoutStartTime:            (isJobFinishedChanged || isStartTimeChanged) && !isSuspendedWithZeroCompletions,
		RejectFinishedJobWithUncountedTerminatedPods: isJobFinishedChanged || isUncountedTerminatedPodsChanged,
		RejectStartTimeUpdateForUnsuspendedJob:       isStartTimeChanged && !isJobResuming,
		RejectCompletionTimeBeforeStartTime:          isStartTimeChanged || isCompletionTimeChanged,
		RejectMutatingCompletionTime:                 true,
		RejectNotCompleteJobWithCompletionTime:       isJobCompleteChanged || isCompletionTimeChanged,
		RejectCompleteJobWithoutCompletionTime:       isJobCompleteChanged || isCompletionTimeChanged,
		RejectCompleteJobWithFailedCondition:         isJobCompleteChanged || isJobFailedChanged,
		RejectCompleteJobWithFailureTargetCondition:  isJobCompleteChanged || isJobFailureTargetChanged,
		RejectMoreReadyThanActivePods:                isReadyChanged || isActiveChanged,
		RejectFinishedJobWithTerminatingPods:         isJobFinishedChanged || isTerminatingChanged,
	}
}
