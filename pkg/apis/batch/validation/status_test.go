/*
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
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
)

var (
	laterTime   = metav1.NewTime(startTime.Add(time.Minute))
	earlierTime = metav1.NewTime(startTime.Add(-time.Minute))
)

func cond(t batch.JobConditionType, status corev1.ConditionStatus) batch.JobCondition {
	return batch.JobCondition{Type: t, Status: status}
}

func conds(types ...batch.JobConditionType) []batch.JobCondition {
	list := make([]batch.JobCondition, 0, len(types))
	for _, t := range types {
		list = append(list, cond(t, corev1.ConditionTrue))
	}
	return list
}

// completeJob is a Job the controller finished successfully.
func completeJob() *batch.Job {
	job := validJob()
	job.Status.StartTime = &startTime
	job.Status.CompletionTime = &laterTime
	job.Status.Succeeded = 1
	job.Status.Conditions = conds(batch.JobSuccessCriteriaMet, batch.JobComplete)
	return job
}

// failedJob is a Job the controller failed.
func failedJob() *batch.Job {
	job := validJob()
	job.Status.StartTime = &startTime
	job.Status.Failed = 7
	job.Status.Conditions = conds(batch.JobFailureTarget, batch.JobFailed)
	return job
}

// backoffPerIndexJob is a running Indexed Job (completions=parallelism=10)
// with backoffLimitPerIndex.
func backoffPerIndexJob() *batch.Job {
	job := validIndexedJob(10, 10)
	job.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
	job.Status.StartTime = &startTime
	job.Status.Active = 10
	job.Status.FailedIndexes = ptr.To("")
	return job
}

func TestValidateJobUpdateStatus(t *testing.T) {
	const (
		conditions = "status.conditions"
		immutable  = "field is immutable"
	)
	cases := map[string]struct {
		old    *batch.Job
		update func(*batch.Job)
		want   []wantErr
	}{
		// Valid transitions.
		"no change": {old: runningJob(), update: func(*batch.Job) {}},
		"progress": {old: runningJob(), update: func(j *batch.Job) {
			j.Status.Active = 2
			j.Status.Ready = ptr.To[int32](2)
			j.Status.Terminating = ptr.To[int32](0)
			j.Status.Succeeded = 3
			j.Status.Failed = 1
			j.Status.UncountedTerminatedPods = &batch.UncountedTerminatedPods{Succeeded: []types.UID{"a"}, Failed: []types.UID{"b"}}
		}},
		"start": {old: validJob(), update: func(j *batch.Job) {
			j.Status.StartTime = &startTime
			j.Status.Active = 1
		}},
		"interim SuccessCriteriaMet while Pods terminate": {old: runningJob(), update: func(j *batch.Job) {
			j.Status.Conditions = conds(batch.JobSuccessCriteriaMet)
			j.Status.Terminating = ptr.To[int32](1)
		}},
		"complete": {old: runningJob(), update: func(j *batch.Job) {
			j.Status.Active = 0
			j.Status.Succeeded = 1
			j.Status.CompletionTime = &laterTime
			j.Status.Conditions = conds(batch.JobSuccessCriteriaMet, batch.JobComplete)
		}},
		"complete at the start time": {old: runningJob(), update: func(j *batch.Job) {
			j.Status.Active = 0
			j.Status.CompletionTime = &startTime
			j.Status.Conditions = conds(batch.JobSuccessCriteriaMet, batch.JobComplete)
		}},
		"fail": {old: runningJob(), update: func(j *batch.Job) {
			j.Status.Active = 0
			j.Status.Failed = 7
			j.Status.Conditions = conds(batch.JobFailureTarget, batch.JobFailed)
		}},
		"suspend clears startTime": {
			old: suspendingJob(),
			update: func(j *batch.Job) {
				j.Status.StartTime = nil
				j.Status.Active = 0
				j.Status.Conditions = conds(batch.JobSuspended)
			},
		},
		"resume resets startTime once Suspended flips to False": {
			old: func() *batch.Job {
				j := suspendedAfterStartJob()
				j.Spec.Suspend = ptr.To(false)
				return j
			}(),
			update: func(j *batch.Job) {
				j.Status.StartTime = &laterTime
				j.Status.Conditions = []batch.JobCondition{cond(batch.JobSuspended, corev1.ConditionFalse)}
			},
		},
		"suspended with zero completions completes without startTime": {
			old: jobWith(func(j *batch.Job) {
				j.Spec.Suspend = ptr.To(true)
				j.Spec.Completions = ptr.To[int32](0)
				j.Spec.Parallelism = ptr.To[int32](0)
			}),
			update: func(j *batch.Job) {
				j.Status.CompletionTime = &laterTime
				j.Status.Conditions = conds(batch.JobSuccessCriteriaMet, batch.JobComplete)
			},
		},
		"Indexed with completions == parallelism may lose succeeded on scale-down": {
			old: func() *batch.Job {
				j := validIndexedJob(5, 5)
				j.Status.Succeeded = 5
				j.Status.CompletedIndexes = "0-4"
				return j
			}(),
			update: func(j *batch.Job) {
				j.Spec.Completions = ptr.To[int32](3)
				j.Spec.Parallelism = ptr.To[int32](3)
				j.Status.Succeeded = 3
				j.Status.CompletedIndexes = "0-2"
			},
		},
		"completedIndexes beyond completions are tolerated while unchanged": {
			old: func() *batch.Job {
				j := validIndexedJob(3, 3)
				j.Status.CompletedIndexes = "0-4"
				return j
			}(),
			update: func(j *batch.Job) { j.Status.Active = 1 },
		},
		"completedIndexes and failedIndexes": {old: backoffPerIndexJob(), update: func(j *batch.Job) {
			j.Status.CompletedIndexes = "0,2-4"
			j.Status.FailedIndexes = ptr.To("1,5")
			j.Status.Active = 4
		}},
		"an unrelated update of a Job already violating a rule": {
			old: func() *batch.Job {
				j := completeJob()
				j.Status.Active = 1
				return j
			}(),
			update: func(j *batch.Job) { j.Status.Ready = ptr.To[int32](0) },
		},

		// Counts.
		"negative counts": {
			old: validJob(),
			update: func(j *batch.Job) {
				j.Status.Active = -1
				j.Status.Succeeded = -1
				j.Status.Failed = -1
				j.Status.Ready = ptr.To[int32](-1)
				j.Status.Terminating = ptr.To[int32](-1)
			},
			want: []wantErr{
				invalid("status.active", "must be greater than or equal to 0"),
				invalid("status.succeeded", "must be greater than or equal to 0"),
				invalid("status.failed", "must be greater than or equal to 0"),
				invalid("status.ready", "must be greater than or equal to 0"),
				invalid("status.terminating", "must be greater than or equal to 0"),
				invalid("status.succeeded", "cannot decrease the succeeded counter"),
				invalid("status.failed", "cannot decrease the failed counter"),
			},
		},
		"empty and duplicate uncounted Pods": {
			old: runningJob(),
			update: func(j *batch.Job) {
				j.Status.UncountedTerminatedPods = &batch.UncountedTerminatedPods{
					Succeeded: []types.UID{"", "a", "b"},
					Failed:    []types.UID{"b", "c", ""},
				}
			},
			want: []wantErr{
				invalid("status.uncountedTerminatedPods.succeeded[0]", "must not be empty"),
				duplicate("status.uncountedTerminatedPods.failed[0]"),
				invalid("status.uncountedTerminatedPods.failed[2]", "must not be empty"),
			},
		},
		"decreasing failed": {
			old:    failedJob(),
			update: func(j *batch.Job) { j.Status.Failed = 6 },
			want:   []wantErr{invalid("status.failed", "cannot decrease the failed counter")},
		},
		"decreasing succeeded of a NonIndexed Job": {
			old:    completeJob(),
			update: func(j *batch.Job) { j.Status.Succeeded = 0 },
			want:   []wantErr{invalid("status.succeeded", "cannot decrease the succeeded counter")},
		},
		"decreasing succeeded of an Indexed Job with completions != parallelism": {
			old: func() *batch.Job {
				j := validIndexedJob(5, 2)
				j.Status.Succeeded = 3
				return j
			}(),
			update: func(j *batch.Job) { j.Status.Succeeded = 2 },
			want:   []wantErr{invalid("status.succeeded", "cannot decrease the succeeded counter")},
		},
		"more ready than active": {
			old:    runningJob(),
			update: func(j *batch.Job) { j.Status.Ready = ptr.To[int32](2) },
			want:   []wantErr{invalid("status.ready", "cannot set more ready pods than active")},
		},

		// Conditions.
		"Complete without SuccessCriteriaMet": {
			old: runningJob(),
			update: func(j *batch.Job) {
				j.Status.Active = 0
				j.Status.CompletionTime = &laterTime
				j.Status.Conditions = conds(batch.JobComplete)
			},
			want: []wantErr{invalid(conditions, "cannot set Complete=True condition without the SuccessCriteriaMet=true condition")},
		},
		"Failed without FailureTarget": {
			old: runningJob(),
			update: func(j *batch.Job) {
				j.Status.Active = 0
				j.Status.Conditions = conds(batch.JobFailed)
			},
			want: []wantErr{invalid(conditions, "cannot set Failed=True condition without the FailureTarget=true condition")},
		},
		"success and failure together": {
			old: runningJob(),
			update: func(j *batch.Job) {
				j.Status.Active = 0
				j.Status.CompletionTime = &laterTime
				j.Status.Conditions = conds(batch.JobSuccessCriteriaMet, batch.JobComplete, batch.JobFailureTarget, batch.JobFailed)
			},
			want: []wantErr{
				invalid(conditions, "cannot set Complete=True and Failed=true conditions"),
				invalid(conditions, "cannot set Complete=True and FailureTarget=true conditions"),
				invalid(conditions, "cannot set SuccessCriteriaMet=True and Failed=true conditions"),
				invalid(conditions, "cannot set SuccessCriteriaMet=True and FailureTarget=true conditions"),
			},
		},
		"interim SuccessCriteriaMet and FailureTarget together": {
			old:    runningJob(),
			update: func(j *batch.Job) { j.Status.Conditions = conds(batch.JobSuccessCriteriaMet, batch.JobFailureTarget) },
			want:   []wantErr{invalid(conditions, "cannot set SuccessCriteriaMet=True and FailureTarget=true conditions")},
		},
		"removing Failed": {
			old:    failedJob(),
			update: func(j *batch.Job) { j.Status.Conditions = conds(batch.JobFailureTarget) },
			want:   []wantErr{invalid(conditions, "cannot disable the terminal Failed=True condition")},
		},
		"setting Failed to False": {
			old: failedJob(),
			update: func(j *batch.Job) {
				j.Status.Conditions[1].Status = corev1.ConditionFalse
			},
			want: []wantErr{invalid(conditions, "cannot disable the terminal Failed=True condition")},
		},
		"removing FailureTarget": {
			old: func() *batch.Job {
				j := runningJob()
				j.Status.Conditions = conds(batch.JobFailureTarget)
				return j
			}(),
			update: func(j *batch.Job) { j.Status.Conditions = nil },
			want:   []wantErr{invalid(conditions, "cannot disable the terminal FailureTarget=True condition")},
		},
		"removing Complete and SuccessCriteriaMet": {
			old: completeJob(),
			update: func(j *batch.Job) {
				j.Status.Conditions = nil
				j.Status.CompletionTime = nil
			},
			want: []wantErr{
				invalid(conditions, "cannot disable the terminal Complete=True condition"),
				invalid(conditions, "cannot disable the SuccessCriteriaMet=True condition"),
			},
		},
		"adding SuccessCriteriaMet to a Job already Complete without it": {
			old: func() *batch.Job {
				j := completeJob()
				j.Status.Conditions = conds(batch.JobComplete)
				return j
			}(),
			update: func(j *batch.Job) { j.Status.Conditions = conds(batch.JobComplete, batch.JobSuccessCriteriaMet) },
			want:   []wantErr{invalid(conditions, "cannot set SuccessCriteriaMet=True for Job already has Complete=true conditions")},
		},
		"Complete without SuccessCriteriaMet with a successPolicy": {
			old: func() *batch.Job {
				j := jobWithSuccessPolicy(batch.SuccessPolicyRule{SucceededCount: ptr.To[int32](1)})
				j.Status.StartTime = &startTime
				return j
			}(),
			update: func(j *batch.Job) {
				j.Status.CompletionTime = &laterTime
				j.Status.Conditions = conds(batch.JobComplete)
			},
			want: []wantErr{
				invalid(conditions, "cannot set Complete=True condition without the SuccessCriteriaMet=true condition"),
				invalid(conditions, "cannot set Complete=True for Job with SuccessPolicy unless SuccessCriteriaMet=True"),
			},
		},

		// Times.
		"changing completionTime": {
			old:    completeJob(),
			update: func(j *batch.Job) { j.Status.CompletionTime = ptr.To(metav1.NewTime(laterTime.Add(time.Second))) },
			want:   []wantErr{invalid("status.completionTime", immutable)},
		},
		"completionTime without Complete": {
			old:    runningJob(),
			update: func(j *batch.Job) { j.Status.CompletionTime = &laterTime },
			want:   []wantErr{invalid("status.completionTime", "cannot set completionTime when there is no Complete=True condition")},
		},
		"Complete without completionTime": {
			old: runningJob(),
			update: func(j *batch.Job) {
				j.Status.Active = 0
				j.Status.Conditions = conds(batch.JobSuccessCriteriaMet, batch.JobComplete)
			},
			want: []wantErr{required("status.completionTime", "completionTime is required for Complete jobs")},
		},
		"completionTime before startTime": {
			old: runningJob(),
			update: func(j *batch.Job) {
				j.Status.Active = 0
				j.Status.CompletionTime = &earlierTime
				j.Status.Conditions = conds(batch.JobSuccessCriteriaMet, batch.JobComplete)
			},
			want: []wantErr{invalid("status.completionTime", "must be equal to or after `startTime`")},
		},
		"changing startTime of a running Job": {
			old:    runningJob(),
			update: func(j *batch.Job) { j.Status.StartTime = &laterTime },
			want:   []wantErr{invalid("status.startTime", "field is immutable for unsuspended job once set")},
		},
		"clearing startTime of a running Job": {
			old:    runningJob(),
			update: func(j *batch.Job) { j.Status.StartTime = nil },
			want:   []wantErr{invalid("status.startTime", "field is immutable for unsuspended job once set")},
		},
		"resetting startTime of a resumed Job without the condition flip": {
			old: func() *batch.Job {
				j := suspendedAfterStartJob()
				j.Spec.Suspend = ptr.To(false)
				return j
			}(),
			update: func(j *batch.Job) { j.Status.StartTime = &laterTime },
			want:   []wantErr{invalid("status.startTime", "field is immutable for unsuspended job once set")},
		},
		"finished without startTime": {
			old: validJob(),
			update: func(j *batch.Job) {
				j.Status.Conditions = conds(batch.JobFailureTarget, batch.JobFailed)
			},
			want: []wantErr{required("status.startTime", "startTime is required for finished job")},
		},

		// Finished Jobs.
		"finished with active Pods": {
			old:    runningJob(),
			update: func(j *batch.Job) { j.Status.Conditions = conds(batch.JobFailureTarget, batch.JobFailed) },
			want:   []wantErr{invalid("status.active", "active>0 is invalid for finished job")},
		},
		"finished with terminating Pods": {
			old: validJob(),
			update: func(j *batch.Job) {
				j.Status.StartTime = &startTime
				j.Status.Terminating = ptr.To[int32](1)
				j.Status.Conditions = conds(batch.JobFailureTarget, batch.JobFailed)
			},
			want: []wantErr{invalid("status.terminating", "terminating>0 is invalid for finished job")},
		},
		"finished with uncounted Pods": {
			old: validJob(),
			update: func(j *batch.Job) {
				j.Status.StartTime = &startTime
				j.Status.UncountedTerminatedPods = &batch.UncountedTerminatedPods{Failed: []types.UID{"a"}}
				j.Status.Conditions = conds(batch.JobFailureTarget, batch.JobFailed)
			},
			want: []wantErr{invalid("status.uncountedTerminatedPods", "must be empty for finished job")},
		},

		// Index strings.
		"completedIndexes not parsable": {
			old:    validIndexedJob(5, 5),
			update: func(j *batch.Job) { j.Status.CompletedIndexes = "0,x" },
			want:   []wantErr{invalid("status.completedIndexes", `error parsing completedIndexes: cannot convert string to integer for index: "x"`)},
		},
		"completedIndexes beyond completions": {
			old:    validIndexedJob(5, 5),
			update: func(j *batch.Job) { j.Status.CompletedIndexes = "0-5" },
			want:   []wantErr{invalid("status.completedIndexes", `too large index: "5"`)},
		},
		"completedIndexes of a NonIndexed Job": {
			old:    runningJob(),
			update: func(j *batch.Job) { j.Status.CompletedIndexes = "0" },
			want:   []wantErr{invalid("status.completedIndexes", "cannot set non-empty completedIndexes when non-indexed completion mode")},
		},
		"failedIndexes without backoffLimitPerIndex": {
			old:    validIndexedJob(5, 5),
			update: func(j *batch.Job) { j.Status.FailedIndexes = ptr.To("") },
			want:   []wantErr{invalid("status.failedIndexes", "cannot set non-null failedIndexes when backoffLimitPerIndex is null")},
		},
		"failedIndexes not parsable": {
			old:    backoffPerIndexJob(),
			update: func(j *batch.Job) { j.Status.FailedIndexes = ptr.To("3,1") },
			want:   []wantErr{invalid("status.failedIndexes", "error parsing failedIndexes: non-increasing order, previous: 3, current: 1")},
		},
		"failedIndexes overlapping completedIndexes": {
			old: backoffPerIndexJob(),
			update: func(j *batch.Job) {
				j.Status.CompletedIndexes = "0-3"
				j.Status.FailedIndexes = ptr.To("3,5")
			},
			want: []wantErr{invalid("status.failedIndexes", "failedIndexes and completedIndexes overlap at index: 3")},
		},
		"failed failedIndexes change on a Failed Job without FailureTarget is checked again": {
			old: func() *batch.Job {
				j := backoffPerIndexJob()
				j.Status.Active = 0
				j.Status.Conditions = conds(batch.JobFailed)
				return j
			}(),
			update: func(j *batch.Job) { j.Status.FailedIndexes = ptr.To("1") },
			want:   []wantErr{invalid(conditions, "cannot set Failed=True condition without the FailureTarget=true condition")},
		},

		// Metadata through /status.
		"name through status": {
			old:    runningJob(),
			update: func(j *batch.Job) { j.Name = "other" },
			want:   []wantErr{invalid("metadata.name", immutable)},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			oldJob := tc.old
			oldJob.ResourceVersion = "1"
			job := oldJob.DeepCopy()
			tc.update(job)
			opts := StatusValidationOptions(job, oldJob)
			assertErrors(t, ValidateJobUpdateStatus(job, oldJob, opts), tc.want...)
		})
	}
}

func TestStatusValidationOptions(t *testing.T) {
	alwaysOn := JobStatusValidationOptions{
		RejectDecreasingSucceededCounter: true,
		RejectDecreasingFailedCounter:    true,
		RejectDisablingTerminalCondition: true,
		RejectMutatingCompletionTime:     true,
	}
	cases := map[string]struct {
		old, new *batch.Job
		want     JobStatusValidationOptions
	}{
		"unchanged NonIndexed": {old: runningJob(), new: runningJob(), want: alwaysOn},
		"unchanged Indexed with completions == parallelism": {
			old:  validIndexedJob(3, 3),
			new:  validIndexedJob(3, 3),
			want: JobStatusValidationOptions{RejectDecreasingFailedCounter: true, RejectDisablingTerminalCondition: true, RejectMutatingCompletionTime: true},
		},
		"unchanged Indexed with completions != parallelism": {
			old:  validIndexedJob(3, 2),
			new:  validIndexedJob(3, 2),
			want: alwaysOn,
		},
		"completing": {
			old: runningJob(),
			new: func() *batch.Job {
				j := completeJob()
				return j
			}(),
			want: func() JobStatusValidationOptions {
				o := alwaysOn
				o.RejectCompleteJobWithoutSuccessCriteriaMet = true
				o.RejectFinishedJobWithActivePods = true
				o.RejectFinishedJobWithoutStartTime = true
				o.RejectFinishedJobWithUncountedTerminatedPods = true
				o.RejectCompletionTimeBeforeStartTime = true
				o.RejectNotCompleteJobWithCompletionTime = true
				o.RejectCompleteJobWithoutCompletionTime = true
				o.RejectCompleteJobWithFailedCondition = true
				o.RejectCompleteJobWithFailureTargetCondition = true
				o.RejectMoreReadyThanActivePods = true
				o.RejectFinishedJobWithTerminatingPods = true
				return o
			}(),
		},
		"indexes changed": {
			old: backoffPerIndexJob(),
			new: func() *batch.Job {
				j := backoffPerIndexJob()
				j.Status.CompletedIndexes = "1"
				j.Status.FailedIndexes = ptr.To("2")
				return j
			}(),
			want: func() JobStatusValidationOptions {
				o := alwaysOn
				o.RejectDecreasingSucceededCounter = false
				o.RejectInvalidCompletedIndexes = true
				o.RejectInvalidFailedIndexes = true
				o.RejectCompletedIndexesForNonIndexedJob = true
				o.RejectFailedIndexesForNoBackoffLimitPerIndex = true
				o.RejectFailedIndexesOverlappingCompleted = true
				o.RejectFailedJobWithoutFailureTarget = true
				return o
			}(),
		},
		"startTime changed while resuming": {
			old: suspendedAfterStartJob(),
			new: func() *batch.Job {
				j := suspendedAfterStartJob()
				j.Status.StartTime = &laterTime
				j.Status.Conditions = []batch.JobCondition{cond(batch.JobSuspended, corev1.ConditionFalse)}
				return j
			}(),
			want: func() JobStatusValidationOptions {
				o := alwaysOn
				o.RejectFinishedJobWithoutStartTime = true
				o.RejectCompletionTimeBeforeStartTime = true
				return o
			}(),
		},
		"finishing a suspended Job with zero completions": {
			old: jobWith(func(j *batch.Job) {
				j.Spec.Suspend = ptr.To(true)
				j.Spec.Completions = ptr.To[int32](0)
			}),
			new: jobWith(func(j *batch.Job) {
				j.Spec.Suspend = ptr.To(true)
				j.Spec.Completions = ptr.To[int32](0)
				j.Status.Conditions = conds(batch.JobFailureTarget, batch.JobFailed)
			}),
			want: func() JobStatusValidationOptions {
				o := alwaysOn
				o.RejectFailedJobWithoutFailureTarget = true
				o.RejectFinishedJobWithActivePods = true
				o.RejectFinishedJobWithUncountedTerminatedPods = true
				o.RejectCompleteJobWithFailedCondition = true
				o.RejectCompleteJobWithFailureTargetCondition = true
				o.RejectFinishedJobWithTerminatingPods = true
				return o
			}(),
		},
		"nil jobs": {old: nil, new: nil, want: alwaysOn},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, StatusValidationOptions(tc.new, tc.old))
		})
	}
}
