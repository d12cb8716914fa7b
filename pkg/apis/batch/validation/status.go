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
	"errors"
	"fmt"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
)

var statusPath = field.NewPath("status")

// ValidateJobUpdateStatus validates an update of oldJob to job through the
// /status subresource. The strategy computes opts with
// StatusValidationOptions.
func ValidateJobUpdateStatus(job, oldJob *batch.Job, opts JobStatusValidationOptions) field.ErrorList {
	if job == nil || oldJob == nil {
		return field.ErrorList{field.InternalError(nil, errors.New("nil Job"))}
	}
	allErrs := validateObjectMetaUpdate(&job.ObjectMeta, &oldJob.ObjectMeta, metadataPath)
	allErrs = append(allErrs, validateJobStatus(job, statusPath, opts)...)
	allErrs = append(allErrs, validateJobStatusTransition(job, oldJob, statusPath, opts)...)
	return allErrs
}

// validateJobStatus checks the new status on its own.
func validateJobStatus(job *batch.Job, fldPath *field.Path, opts JobStatusValidationOptions) field.ErrorList {
	status := &job.Status
	allErrs := apimachineryvalidation.ValidateNonnegativeField(int64(status.Active), fldPath.Child("active"))
	allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(int64(status.Succeeded), fldPath.Child("succeeded"))...)
	allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(int64(status.Failed), fldPath.Child("failed"))...)
	if status.Ready != nil {
		allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(int64(*status.Ready), fldPath.Child("ready"))...)
	}
	if status.Terminating != nil {
		allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(int64(*status.Terminating), fldPath.Child("terminating"))...)
	}
	if status.UncountedTerminatedPods != nil {
		allErrs = append(allErrs, validateUncountedTerminatedPods(status.UncountedTerminatedPods, fldPath.Child("uncountedTerminatedPods"))...)
	}

	conditionsPath := fldPath.Child("conditions")
	isComplete := IsJobComplete(job)
	isFailed := IsJobFailed(job)
	isFailureTarget := isJobFailureTarget(job)
	isSuccessCriteriaMet := isJobSuccessCriteriaMet(job)
	isFinished := isComplete || isFailed

	if opts.RejectCompleteJobWithFailedCondition && isComplete && isFailed {
		allErrs = append(allErrs, field.Invalid(conditionsPath, field.OmitValueType{}, "cannot set Complete=True and Failed=true conditions"))
	}
	if opts.RejectCompleteJobWithFailureTargetCondition && isComplete && isFailureTarget {
		allErrs = append(allErrs, field.Invalid(conditionsPath, field.OmitValueType{}, "cannot set Complete=True and FailureTarget=true conditions"))
	}
	if opts.RejectNotCompleteJobWithCompletionTime && status.CompletionTime != nil && !isComplete {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("completionTime"), status.CompletionTime, "cannot set completionTime when there is no Complete=True condition"))
	}
	if opts.RejectCompleteJobWithoutCompletionTime && status.CompletionTime == nil && isComplete {
		allErrs = append(allErrs, field.Required(fldPath.Child("completionTime"), "completionTime is required for Complete jobs"))
	}
	if opts.RejectCompletionTimeBeforeStartTime && status.CompletionTime.Before(status.StartTime) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("completionTime"), status.CompletionTime, "must be equal to or after `startTime`"))
	}
	if opts.RejectFailedJobWithoutFailureTarget && isFailed && !isFailureTarget {
		allErrs = append(allErrs, field.Invalid(conditionsPath, field.OmitValueType{}, "cannot set Failed=True condition without the FailureTarget=true condition"))
	}
	if opts.RejectCompleteJobWithoutSuccessCriteriaMet && isComplete && !isSuccessCriteriaMet {
		allErrs = append(allErrs, field.Invalid(conditionsPath, field.OmitValueType{}, "cannot set Complete=True condition without the SuccessCriteriaMet=true condition"))
	}
	if opts.RejectFinishedJobWithActivePods && status.Active > 0 && isFinished {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("active"), status.Active, "active>0 is invalid for finished job"))
	}
	if opts.RejectFinishedJobWithoutStartTime && status.StartTime == nil && isFinished {
		allErrs = append(allErrs, field.Required(fldPath.Child("startTime"), "startTime is required for finished job"))
	}
	if opts.RejectFinishedJobWithUncountedTerminatedPods && isFinished && status.UncountedTerminatedPods != nil &&
		len(status.UncountedTerminatedPods.Failed)+len(status.UncountedTerminatedPods.Succeeded) > 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("uncountedTerminatedPods"), status.UncountedTerminatedPods, "must be empty for finished job"))
	}
	if opts.RejectInvalidCompletedIndexes && job.Spec.Completions != nil {
		if _, err := validateIndexesFormat(status.CompletedIndexes, *job.Spec.Completions); err != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("completedIndexes"), status.CompletedIndexes, fmt.Sprintf("error parsing completedIndexes: %s", err.Error())))
		}
	}
	if opts.RejectInvalidFailedIndexes && job.Spec.Completions != nil && job.Spec.BackoffLimitPerIndex != nil && status.FailedIndexes != nil {
		if _, err := validateIndexesFormat(*status.FailedIndexes, *job.Spec.Completions); err != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("failedIndexes"), status.FailedIndexes, fmt.Sprintf("error parsing failedIndexes: %s", err.Error())))
		}
	}
	if opts.RejectCompletedIndexesForNonIndexedJob && len(status.CompletedIndexes) != 0 && !isIndexed(&job.Spec) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("completedIndexes"), status.CompletedIndexes, "cannot set non-empty completedIndexes when non-indexed completion mode"))
	}
	// This also keeps failedIndexes off NonIndexed Jobs, which cannot have
	// backoffLimitPerIndex.
	if opts.RejectFailedIndexesForNoBackoffLimitPerIndex && job.Spec.BackoffLimitPerIndex == nil && status.FailedIndexes != nil {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("failedIndexes"), *status.FailedIndexes, "cannot set non-null failedIndexes when backoffLimitPerIndex is null"))
	}
	if opts.RejectFailedIndexesOverlappingCompleted && job.Spec.Completions != nil && status.FailedIndexes != nil {
		if err := validateFailedIndexesNotOverlapCompleted(status.CompletedIndexes, *status.FailedIndexes, *job.Spec.Completions); err != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("failedIndexes"), *status.FailedIndexes, err.Error()))
		}
	}
	if opts.RejectFinishedJobWithTerminatingPods && ptr.Deref(status.Terminating, 0) > 0 && isFinished {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("terminating"), status.Terminating, "terminating>0 is invalid for finished job"))
	}
	if opts.RejectMoreReadyThanActivePods && status.Ready != nil && *status.Ready > status.Active {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("ready"), *status.Ready, "cannot set more ready pods than active"))
	}
	// Success and failure exclude each other whatever changed.
	if isSuccessCriteriaMet && isFailed {
		allErrs = append(allErrs, field.Invalid(conditionsPath, field.OmitValueType{}, "cannot set SuccessCriteriaMet=True and Failed=true conditions"))
	}
	if isSuccessCriteriaMet && isFailureTarget {
		allErrs = append(allErrs, field.Invalid(conditionsPath, field.OmitValueType{}, "cannot set SuccessCriteriaMet=True and FailureTarget=true conditions"))
	}
	if job.Spec.SuccessPolicy != nil && !isSuccessCriteriaMet && isComplete {
		allErrs = append(allErrs, field.Invalid(conditionsPath, field.OmitValueType{}, "cannot set Complete=True for Job with SuccessPolicy unless SuccessCriteriaMet=True"))
	}
	return allErrs
}

// validateUncountedTerminatedPods requires non-empty UIDs, each listed once
// across both lists.
func validateUncountedTerminatedPods(uncounted *batch.UncountedTerminatedPods, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	seen := sets.New[types.UID]()
	check := func(uids []types.UID, listPath *field.Path) {
		for i, uid := range uids {
			p := listPath.Index(i)
			switch {
			case uid == "":
				allErrs = append(allErrs, field.Invalid(p, uid, "must not be empty"))
			case seen.Has(uid):
				allErrs = append(allErrs, field.Duplicate(p, uid))
			default:
				seen.Insert(uid)
			}
		}
	}
	check(uncounted.Succeeded, fldPath.Child("succeeded"))
	check(uncounted.Failed, fldPath.Child("failed"))
	return allErrs
}

// validateJobStatusTransition checks the change from the old status.
func validateJobStatusTransition(job, oldJob *batch.Job, fldPath *field.Path, opts JobStatusValidationOptions) field.ErrorList {
	var allErrs field.ErrorList
	conditionsPath := fldPath.Child("conditions")
	if opts.RejectDisablingTerminalCondition {
		for _, cType := range []batch.JobConditionType{batch.JobFailed, batch.JobComplete, batch.JobFailureTarget} {
			if condition.IsTrue(oldJob.Status.Conditions, cType) && !condition.IsTrue(job.Status.Conditions, cType) {
				allErrs = append(allErrs, field.Invalid(conditionsPath, field.OmitValueType{}, fmt.Sprintf("cannot disable the terminal %s=True condition", string(cType))))
			}
		}
	}
	if opts.RejectDecreasingFailedCounter && job.Status.Failed < oldJob.Status.Failed {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("failed"), job.Status.Failed, "cannot decrease the failed counter"))
	}
	if opts.RejectDecreasingSucceededCounter && job.Status.Succeeded < oldJob.Status.Succeeded {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("succeeded"), job.Status.Succeeded, "cannot decrease the succeeded counter"))
	}
	// Clearing completionTime of an unfinished Job is allowed; clearing it on
	// a Complete Job is RejectCompleteJobWithoutCompletionTime.
	if opts.RejectMutatingCompletionTime && job.Status.CompletionTime != nil && oldJob.Status.CompletionTime != nil &&
		!timesEqual(job.Status.CompletionTime, oldJob.Status.CompletionTime) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("completionTime"), job.Status.CompletionTime, "field is immutable"))
	}
	// Setting startTime the first time is the normal start of a Job.
	if opts.RejectStartTimeUpdateForUnsuspendedJob && oldJob.Status.StartTime != nil &&
		!timesEqual(oldJob.Status.StartTime, job.Status.StartTime) && !ptr.Deref(job.Spec.Suspend, false) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("startTime"), job.Status.StartTime, "field is immutable for unsuspended job once set"))
	}
	if isJobSuccessCriteriaMet(oldJob) && !isJobSuccessCriteriaMet(job) {
		allErrs = append(allErrs, field.Invalid(conditionsPath, field.OmitValueType{}, "cannot disable the SuccessCriteriaMet=True condition"))
	}
	if IsJobComplete(oldJob) && !isJobSuccessCriteriaMet(oldJob) && isJobSuccessCriteriaMet(job) {
		allErrs = append(allErrs, field.Invalid(conditionsPath, field.OmitValueType{}, "cannot set SuccessCriteriaMet=True for Job already has Complete=true conditions"))
	}
	return allErrs
}

// timesEqual compares two optional times as instants.
func timesEqual(a, b *metav1.Time) bool {
	return a.Equal(b)
}
