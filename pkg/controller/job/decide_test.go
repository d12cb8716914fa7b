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

package job

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

func TestManagedBy(t *testing.T) {
	cases := []struct {
		name          string
		managedBy     *string
		mode          *batchv1.CompletionMode
		wantUnmanaged bool
		wantEvents    []string
	}{
		{name: "unset: ours", managedBy: nil},
		{name: "jobserver's controller: ours", managedBy: ptr.To("batch.jobserver.dev/job-controller")},
		{name: "the built-in controller: not ours", managedBy: ptr.To("kubernetes.io/job-controller"), wantUnmanaged: true},
		{name: "another manager: not ours", managedBy: ptr.To("example.com/queue"), wantUnmanaged: true},
		{
			name: "unknown completion mode: skipped with a warning", mode: ptr.To(batchv1.CompletionMode("Sometimes")), wantUnmanaged: true,
			wantEvents: []string{"Warning UnknownCompletionMode: Skipped Job sync because completion mode is unknown"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := newJob(func(j *batchv1.Job) {
				j.Spec.ManagedBy = tc.managedBy
				j.Spec.CompletionMode = tc.mode
			})
			d := decide(job, pods(newPod("done", corev1.PodSucceeded)), at(1))
			assert.Equal(t, tc.wantUnmanaged, d.Unmanaged)
			assert.Equal(t, tc.wantEvents, eventsOf(d))
			if tc.wantUnmanaged {
				assert.Empty(t, d.Actions, "another manager's pods and finalizers are left alone")
				assert.False(t, d.StatusChanged)
				assert.Equal(t, job.Status, d.Status)
			} else {
				assert.NotEmpty(t, d.Actions)
				assert.True(t, d.StatusChanged)
			}
		})
	}
}

func TestEvaluationOrder(t *testing.T) {
	failJobOn42 := failurePolicy(onExitCodes(batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyOnExitCodesOpIn, 42))
	cases := []struct {
		name        string
		job         *batchv1.Job
		pods        []*corev1.Pod
		now         time.Time
		wantConds   []string
		wantMessage string
		wantRequeue time.Duration
	}{
		{
			name: "an existing SuccessCriteriaMet wins over a FailJob match",
			job: newJob(completions(2), parallelism(2), failJobOn42,
				withStatus(func(s *batchv1.JobStatus) { s.Succeeded = 2 }),
				withCondition(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, "CompletionsReached", msgCompletionsReached, at(0))),
			pods:      pods(newPod("bad", corev1.PodFailed, exitCode(42, at(0)), noFinalizer())),
			wantConds: []string{"SuccessCriteriaMet=True/CompletionsReached", "Complete=True/CompletionsReached"},
		},
		{
			name: "an existing FailureTarget wins over success",
			job: newJob(completions(1), backoffLimit(0),
				withStatus(func(s *batchv1.JobStatus) { s.Failed = 1 }),
				withCondition(batchv1.JobFailureTarget, corev1.ConditionTrue, "BackoffLimitExceeded", msgBackoffLimit, at(0))),
			pods:        pods(newPod("ok", corev1.PodSucceeded, noFinalizer())),
			wantConds:   []string{"FailureTarget=True/BackoffLimitExceeded", "Failed=True/BackoffLimitExceeded"},
			wantMessage: msgBackoffLimit,
		},
		{
			name:        "FailJob rule",
			job:         newJob(completions(3), parallelism(2), failJobOn42),
			pods:        pods(newPod("bad", corev1.PodFailed, exitCode(42, at(0))), newPod("run", corev1.PodRunning)),
			wantConds:   []string{"FailureTarget=True/PodFailurePolicy"},
			wantMessage: "Container main for pod ns/bad failed with exit code 42 matching FailJob rule at index 0",
		},
		{
			name:        "FailJob wins over backoffLimit",
			job:         newJob(completions(3), backoffLimit(0), failJobOn42),
			pods:        pods(newPod("bad", corev1.PodFailed, exitCode(42, at(0)))),
			wantConds:   []string{"FailureTarget=True/PodFailurePolicy"},
			wantMessage: "Container main for pod ns/bad failed with exit code 42 matching FailJob rule at index 0",
		},
		{
			name:        "failed > backoffLimit",
			job:         newJob(completions(3), backoffLimit(2), withStatus(func(s *batchv1.JobStatus) { s.Failed = 2 })),
			pods:        pods(newPod("bad", corev1.PodFailed)),
			wantConds:   []string{"FailureTarget=True/BackoffLimitExceeded"},
			wantMessage: "Job has reached the specified backoff limit",
		},
		{
			name: "failed == backoffLimit is still within the limit",
			job:  newJob(completions(3), backoffLimit(2), withStatus(func(s *batchv1.JobStatus) { s.Failed = 1 })),
			pods: pods(newPod("bad", corev1.PodFailed)),
		},
		{
			name:        "backoffLimit wins over the deadline",
			job:         newJob(completions(3), backoffLimit(0), deadline(10)),
			pods:        pods(newPod("bad", corev1.PodFailed)),
			now:         at(20),
			wantConds:   []string{"FailureTarget=True/BackoffLimitExceeded"},
			wantMessage: msgBackoffLimit,
		},
		{
			name:        "OnFailure: container restarts reach backoffLimit",
			job:         newJob(restartOnFailure(), backoffLimit(3)),
			pods:        pods(newPod("a", corev1.PodRunning, restarts(3))),
			wantConds:   []string{"FailureTarget=True/BackoffLimitExceeded"},
			wantMessage: msgBackoffLimit,
		},
		{
			name: "OnFailure: restarts below backoffLimit",
			job:  newJob(restartOnFailure(), backoffLimit(3)),
			pods: pods(newPod("a", corev1.PodRunning, restarts(2))),
		},
		{
			name:        "OnFailure with backoffLimit 0: any restart",
			job:         newJob(restartOnFailure(), backoffLimit(0)),
			pods:        pods(newPod("a", corev1.PodPending, restarts(1))),
			wantConds:   []string{"FailureTarget=True/BackoffLimitExceeded"},
			wantMessage: msgBackoffLimit,
		},
		{
			name:        "activeDeadlineSeconds exceeded",
			job:         newJob(deadline(90)),
			pods:        pods(newPod("a", corev1.PodRunning)),
			now:         at(90),
			wantConds:   []string{"FailureTarget=True/DeadlineExceeded"},
			wantMessage: "Job was active longer than specified deadline",
		},
		{
			name:        "activeDeadlineSeconds not yet: resync at the deadline",
			job:         newJob(deadline(90)),
			pods:        pods(newPod("a", corev1.PodRunning)),
			now:         at(60),
			wantRequeue: 30 * time.Second,
		},
		{
			name: "backoffLimitPerIndex: more failed indexes than maxFailedIndexes",
			job: newJob(indexed(), completions(4), parallelism(4), perIndexLimit(0), func(j *batchv1.Job) {
				j.Spec.MaxFailedIndexes = ptr.To[int32](1)
			}),
			pods: pods(
				newPod("zero", corev1.PodFailed, index(0), failureCount(0)),
				newPod("one", corev1.PodFailed, index(1), failureCount(0)),
				newPod("two", corev1.PodRunning, index(2)),
			),
			wantConds:   []string{"FailureTarget=True/MaxFailedIndexesExceeded"},
			wantMessage: "Job has exceeded the specified maximal number of failed indexes",
		},
		{
			name: "backoffLimitPerIndex: every index finished, some failed",
			job: newJob(indexed(), completions(3), parallelism(3), perIndexLimit(0), withStatus(func(s *batchv1.JobStatus) {
				s.CompletedIndexes, s.Succeeded = "0,2", 2
			})),
			pods:        pods(newPod("one", corev1.PodFailed, index(1), failureCount(0))),
			wantConds:   []string{"FailureTarget=True/FailedIndexes"},
			wantMessage: "Job has failed indexes",
		},
		{
			name: "successPolicy",
			job: newJob(indexed(), completions(5), parallelism(5), successPolicy(batchv1.SuccessPolicyRule{
				SucceededIndexes: ptr.To("0"),
			})),
			pods:        pods(newPod("zero", corev1.PodSucceeded, index(0)), newPod("one", corev1.PodRunning, index(1))),
			wantConds:   []string{"SuccessCriteriaMet=True/SuccessPolicy"},
			wantMessage: "Matched rules at index 0",
		},
		{
			name: "failures are evaluated before the success policy",
			job: newJob(indexed(), completions(5), parallelism(5), backoffLimit(0), successPolicy(batchv1.SuccessPolicyRule{
				SucceededIndexes: ptr.To("0"),
			})),
			pods:        pods(newPod("zero", corev1.PodSucceeded, index(0)), newPod("one", corev1.PodFailed, index(1))),
			wantConds:   []string{"FailureTarget=True/BackoffLimitExceeded"},
			wantMessage: msgBackoffLimit,
		},
		{
			name:        "completions reached",
			job:         newJob(completions(2), parallelism(2), withStatus(func(s *batchv1.JobStatus) { s.Succeeded = 1 })),
			pods:        pods(newPod("last", corev1.PodSucceeded)),
			wantConds:   []string{"SuccessCriteriaMet=True/CompletionsReached"},
			wantMessage: "Reached expected number of succeeded pods",
		},
		{
			name: "completions unset: the first success, once nothing runs",
			job:  newJob(parallelism(2), noCompletions()),
			pods: pods(newPod("ok", corev1.PodSucceeded), newPod("run", corev1.PodRunning)),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = at(100)
			}
			d := decide(tc.job, tc.pods, now)
			assert.Equal(t, tc.wantConds, condSummary(d.Status))
			if tc.wantMessage != "" {
				last := d.Status.Conditions[len(d.Status.Conditions)-1]
				assert.Equal(t, tc.wantMessage, last.Message)
			}
			if tc.wantRequeue != 0 {
				assert.Equal(t, tc.wantRequeue, d.RequeueAfter)
			}
			validateStatusUpdate(t, tc.job, d.Status)
		})
	}
}

// TestFinishing follows a failing Job through its interim and final
// conditions.
func TestFinishing(t *testing.T) {
	t.Run("FailureTarget: active pods are deleted and counted as failed, Failed once all is counted", func(t *testing.T) {
		// backoffLimit 0 with 2 pods: one fails, the other is stopped and
		// counted too, failed=2.
		job := newJob(completions(2), parallelism(2), backoffLimit(0))
		d := decide(job, pods(newPod("bad", corev1.PodFailed), newPod("run", corev1.PodRunning)), at(10))
		assert.Equal(t, []string{"FailureTarget=True/BackoffLimitExceeded"}, condSummary(d.Status))
		assert.Equal(t, []string{"run"}, podNames(d, ActionDeletePod))
		assert.ElementsMatch(t, []string{"bad", "run"}, podNames(d, ActionRemoveFinalizer))
		assert.ElementsMatch(t, []types.UID{"uid-bad", "uid-run"}, d.Status.UncountedTerminatedPods.Failed)
		assert.Equal(t, int32(0), d.Status.Active)
		assert.Equal(t, ptr.To[int32](1), d.Status.Terminating)
		assert.Empty(t, actionsOf(d, ActionCreatePod))
		assert.Empty(t, d.Events, "the failure is announced with the final condition")
		validateStatusUpdate(t, job, d.Status)

		// Counted, but a pod is still terminating: not final yet.
		job = apply(job, d)
		d = decide(job, pods(newPod("bad", corev1.PodFailed, noFinalizer()), newPod("run", corev1.PodRunning, deleting(at(10)), noFinalizer())), at(11))
		assert.Equal(t, int32(2), d.Status.Failed)
		assert.Empty(t, d.Status.UncountedTerminatedPods.Failed)
		assert.Nil(t, cond(d.Status, batchv1.JobFailed))
		validateStatusUpdate(t, job, d.Status)

		// The pod is gone: Failed with the interim condition's reason and message.
		job = apply(job, d)
		d = decide(job, pods(newPod("bad", corev1.PodFailed, noFinalizer())), at(12))
		assert.Equal(t, []string{"FailureTarget=True/BackoffLimitExceeded", "Failed=True/BackoffLimitExceeded"}, condSummary(d.Status))
		assert.Equal(t, msgBackoffLimit, cond(d.Status, batchv1.JobFailed).Message)
		assert.Equal(t, at(12), cond(d.Status, batchv1.JobFailed).LastTransitionTime.Time)
		assert.Nil(t, d.Status.CompletionTime, "completionTime is for Complete only")
		assert.Equal(t, []string{"Warning BackoffLimitExceeded: Job has reached the specified backoff limit"}, eventsOf(d))
		assert.Equal(t, int32(2), d.Status.Failed)
		validateStatusUpdate(t, job, d.Status)
	})
	t.Run("podReplacementPolicy Failed: a stopped pod is counted failed while terminating", func(t *testing.T) {
		job := newJob(completions(2), parallelism(2), replaceOnlyFailed(),
			withStatus(func(s *batchv1.JobStatus) { s.Failed = 1 }),
			withCondition(batchv1.JobFailureTarget, corev1.ConditionTrue, "DeadlineExceeded", msgDeadline, at(5)))
		d := decide(job, pods(newPod("run", corev1.PodRunning, deleting(at(5)))), at(6))
		assert.Equal(t, []types.UID{"uid-run"}, d.Status.UncountedTerminatedPods.Failed)
		assert.Nil(t, cond(d.Status, batchv1.JobFailed), "not final while a pod terminates")
	})
	t.Run("SuccessCriteriaMet: active pods are deleted but not counted; Complete when none is left", func(t *testing.T) {
		job := newJob(indexed(), completions(3), parallelism(3), successPolicy(batchv1.SuccessPolicyRule{SucceededCount: ptr.To[int32](1)}))
		d := decide(job, pods(newPod("zero", corev1.PodSucceeded, index(0)), newPod("one", corev1.PodRunning, index(1))), at(10))
		assert.Equal(t, []string{"SuccessCriteriaMet=True/SuccessPolicy"}, condSummary(d.Status))
		assert.Equal(t, []string{"one"}, podNames(d, ActionDeletePod))
		assert.ElementsMatch(t, []string{"zero", "one"}, podNames(d, ActionRemoveFinalizer))
		assert.Empty(t, d.Status.UncountedTerminatedPods.Failed)
		assert.Equal(t, "0", d.Status.CompletedIndexes)
		validateStatusUpdate(t, job, d.Status)

		job = apply(job, d)
		d = decide(job, pods(newPod("zero", corev1.PodSucceeded, index(0), noFinalizer())), at(15))
		assert.Equal(t, []string{"SuccessCriteriaMet=True/SuccessPolicy", "Complete=True/SuccessPolicy"}, condSummary(d.Status))
		assert.Equal(t, "Matched rules at index 0", cond(d.Status, batchv1.JobComplete).Message)
		assert.Equal(t, int32(0), d.Status.Failed)
		assert.Equal(t, []string{"Normal Completed: Job completed"}, eventsOf(d))
		validateStatusUpdate(t, job, d.Status)
	})
	t.Run("Complete: completionTime is the condition's lastTransitionTime", func(t *testing.T) {
		job := newJob(completions(1), uncountedStatus([]types.UID{"uid-ok"}, nil),
			withCondition(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, "CompletionsReached", msgCompletionsReached, at(5)))
		d := decide(job, pods(newPod("ok", corev1.PodSucceeded, noFinalizer())), at(7))
		c := cond(d.Status, batchv1.JobComplete)
		require.NotNil(t, c)
		assert.Equal(t, "CompletionsReached", c.Reason)
		assert.Equal(t, msgCompletionsReached, c.Message)
		assert.Equal(t, c.LastTransitionTime, *d.Status.CompletionTime)
		assert.Equal(t, at(7), d.Status.CompletionTime.Time)
		assert.Equal(t, int32(1), d.Status.Succeeded)
		assert.Equal(t, BackoffRecord{}, d.BackoffAfter)
		validateStatusUpdate(t, job, d.Status)
	})
	t.Run("too many succeeded pods warn", func(t *testing.T) {
		job := newJob(completions(2), parallelism(2), uncountedStatus([]types.UID{"uid-a", "uid-b", "uid-c"}, nil),
			withCondition(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, "CompletionsReached", msgCompletionsReached, at(5)))
		d := decide(job, nil, at(7))
		assert.Equal(t, []string{
			"Warning TooManySucceededPods: Too many succeeded pods running after completion count reached",
			"Normal Completed: Job completed",
		}, eventsOf(d))
	})
	t.Run("pending pod expectations: pods are deleted but the end is not declared", func(t *testing.T) {
		job := newJob(completions(2), parallelism(2), backoffLimit(0))
		d := Decide(Input{Job: job, Pods: pods(newPod("bad", corev1.PodFailed), newPod("run", corev1.PodRunning)), Now: at(10), PodExpectationsPending: true})
		assert.Equal(t, []string{"run"}, podNames(d, ActionDeletePod))
		assert.Empty(t, d.Status.Conditions)
	})
}

func TestPodFailurePolicyInDecide(t *testing.T) {
	t.Run("Ignore: not counted, finalizer removed, replaced", func(t *testing.T) {
		job := newJob(completions(1), backoffLimit(0), failurePolicy(onCondition(batchv1.PodFailurePolicyActionIgnore, corev1.DisruptionTarget)))
		d := decide(job, pods(newPod("evicted", corev1.PodFailed, podCond(corev1.DisruptionTarget, corev1.ConditionTrue), finishedAt(at(0)))), at(60))
		assert.Empty(t, d.Status.Conditions, "an ignored failure is not held against backoffLimit")
		assert.Empty(t, d.Status.UncountedTerminatedPods.Failed)
		assert.Equal(t, []string{"evicted"}, podNames(d, ActionRemoveFinalizer))
		assert.Len(t, actionsOf(d, ActionCreatePod), 1)
		assert.Equal(t, int32(1), d.BackoffAfter.FailuresAfterLastSuccess, "ignored failures still delay recreation")
	})
	t.Run("Count: counted as usual", func(t *testing.T) {
		job := newJob(completions(1), backoffLimit(1), failurePolicy(onExitCodes(batchv1.PodFailurePolicyActionCount, batchv1.PodFailurePolicyOnExitCodesOpIn, 1)))
		d := decide(job, pods(newPod("bad", corev1.PodFailed)), at(60))
		assert.Equal(t, []types.UID{"uid-bad"}, d.Status.UncountedTerminatedPods.Failed)
		assert.Empty(t, d.Status.Conditions)
	})
	t.Run("FailIndex: the index fails at once and is not recreated", func(t *testing.T) {
		job := newJob(indexed(), completions(3), parallelism(3), perIndexLimit(5),
			failurePolicy(onExitCodes(batchv1.PodFailurePolicyActionFailIndex, batchv1.PodFailurePolicyOnExitCodesOpIn, 3)))
		d := decide(job, pods(
			newPod("zero", corev1.PodRunning, index(0)),
			newPod("one", corev1.PodFailed, index(1), failureCount(0), exitCode(3, at(0))),
			newPod("two", corev1.PodRunning, index(2)),
		), at(60))
		assert.Equal(t, ptr.To("1"), d.Status.FailedIndexes)
		assert.Empty(t, actionsOf(d, ActionCreatePod))
		assert.Equal(t, []string{"one"}, podNames(d, ActionRemoveFinalizer))
		assert.Equal(t, []types.UID{"uid-one"}, d.Status.UncountedTerminatedPods.Failed)
		validateStatusUpdate(t, job, d.Status)
	})
}

func TestBackoffLimitPerIndex(t *testing.T) {
	t.Run("failedIndexes is an empty string, not nil", func(t *testing.T) {
		d := decide(newJob(indexed(), completions(2), parallelism(2), perIndexLimit(1)), nil, at(1))
		assert.Equal(t, ptr.To(""), d.Status.FailedIndexes)
		for _, a := range actionsOf(d, ActionCreatePod) {
			assert.Equal(t, "0", a.Pod.Annotations["batch.kubernetes.io/job-index-failure-count"])
		}
	})
	t.Run("a failure under the limit: replacement inherits the count, the failed pod waits for it", func(t *testing.T) {
		job := newJob(indexed(), completions(2), parallelism(2), perIndexLimit(2))
		failed := newPod("zero", corev1.PodFailed, index(0), failureCount(0), finishedAt(at(0)))
		running := newPod("one", corev1.PodRunning, index(1))

		d := decide(job, pods(failed, running), at(5))
		assert.Empty(t, actionsOf(d, ActionCreatePod), "index backoff: 10s after the first failure")
		assert.Equal(t, 5*time.Second, d.RequeueAfter)
		assert.Empty(t, podNames(d, ActionRemoveFinalizer), "the failed pod keeps its finalizer until replaced")

		d = decide(job, pods(failed, running), at(10))
		require.Equal(t, []int{0}, createdIndexes(d))
		assert.Equal(t, "1", actionsOf(d, ActionCreatePod)[0].Pod.Annotations["batch.kubernetes.io/job-index-failure-count"])
		assert.Empty(t, podNames(d, ActionRemoveFinalizer))
		assert.Equal(t, ptr.To(""), d.Status.FailedIndexes)

		replacement := newPod("zero-b", corev1.PodPending, index(0), failureCount(1))
		d = decide(apply(job, d), pods(failed, running, replacement), at(11))
		assert.Equal(t, []string{"zero"}, podNames(d, ActionRemoveFinalizer))
		assert.Equal(t, []types.UID{"uid-zero"}, d.Status.UncountedTerminatedPods.Failed)
		assert.Empty(t, actionsOf(d, ActionCreatePod))
	})
	t.Run("the per-index backoff doubles with the index's failures", func(t *testing.T) {
		job := newJob(indexed(), completions(1), perIndexLimit(5))
		d := decide(job, pods(newPod("zero", corev1.PodFailed, index(0), failureCount(2), finishedAt(at(0)))), at(1))
		assert.Equal(t, 39*time.Second, d.RequeueAfter, "third failure: 40s")
	})
	t.Run("a failure at the limit fails the index", func(t *testing.T) {
		job := newJob(indexed(), completions(3), parallelism(3), perIndexLimit(1))
		d := decide(job, pods(
			newPod("zero", corev1.PodRunning, index(0)),
			newPod("one", corev1.PodFailed, index(1), failureCount(1)),
			newPod("two", corev1.PodRunning, index(2)),
		), at(100))
		assert.Equal(t, ptr.To("1"), d.Status.FailedIndexes)
		assert.Empty(t, actionsOf(d, ActionCreatePod), "a failed index is never recreated")
		assert.Equal(t, []string{"one"}, podNames(d, ActionRemoveFinalizer))
		assert.Empty(t, d.Status.Conditions)
		validateStatusUpdate(t, job, d.Status)
	})
	t.Run("an ignored failure raises the ignored count only", func(t *testing.T) {
		job := newJob(indexed(), completions(1), perIndexLimit(1), failurePolicy(onExitCodes(batchv1.PodFailurePolicyActionIgnore, batchv1.PodFailurePolicyOnExitCodesOpIn, 7)))
		d := decide(job, pods(newPod("zero", corev1.PodFailed, index(0), failureCount(0), exitCode(7, at(0)))), at(100))
		require.Equal(t, []int{0}, createdIndexes(d))
		p := actionsOf(d, ActionCreatePod)[0].Pod
		assert.Equal(t, "0", p.Annotations["batch.kubernetes.io/job-index-failure-count"])
		assert.Equal(t, "1", p.Annotations["batch.kubernetes.io/job-index-ignored-failure-count"])
	})
}

func TestRecreationBackoff(t *testing.T) {
	cases := []struct {
		name        string
		backoff     BackoffRecord
		pods        []*corev1.Pod
		now         time.Time
		wantCreates int
		wantRequeue time.Duration
		wantAfter   BackoffRecord
	}{
		{name: "no failures: create now", now: at(1), wantCreates: 1},
		{
			name: "a new failure: wait 10s from its finish",
			pods: pods(newPod("bad", corev1.PodFailed, finishedAt(at(0)))), now: at(3),
			wantRequeue: 7 * time.Second, wantAfter: BackoffRecord{1, at(0)},
		},
		{
			name: "third failure in a row: 40s", backoff: BackoffRecord{2, at(-30)},
			pods: pods(newPod("bad", corev1.PodFailed, finishedAt(at(0)))), now: at(10),
			wantRequeue: 30 * time.Second, wantAfter: BackoffRecord{3, at(0)},
		},
		{
			name: "delay over", backoff: BackoffRecord{2, at(0)}, now: at(20),
			wantCreates: 1, wantAfter: BackoffRecord{2, at(0)},
		},
		{
			name: "capped at 10 minutes", backoff: BackoffRecord{12, at(0)}, now: at(590),
			wantRequeue: 10 * time.Second, wantAfter: BackoffRecord{12, at(0)},
		},
		{
			name: "a success resets the record", backoff: BackoffRecord{3, at(0)},
			pods: pods(newPod("ok", corev1.PodSucceeded, finishedAt(at(1)))), now: at(2),
			wantCreates: 1, wantAfter: BackoffRecord{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(Input{Job: newJob(completions(5)), Pods: tc.pods, Now: tc.now, Backoff: tc.backoff})
			assert.Len(t, actionsOf(d, ActionCreatePod), tc.wantCreates)
			assert.Equal(t, tc.wantRequeue, d.RequeueAfter)
			assert.Equal(t, tc.wantAfter, d.BackoffAfter)
		})
	}
}

func TestElasticIndexed(t *testing.T) {
	// Scaled down from 5 to 3 (completions and parallelism in tandem).
	job := newJob(indexed(), completions(3), parallelism(3), withStatus(func(s *batchv1.JobStatus) {
		s.CompletedIndexes, s.Succeeded, s.Failed = "0,1,4", 3, 2
	}))
	d := decide(job, pods(
		newPod("two", corev1.PodRunning, index(2)),
		newPod("three", corev1.PodRunning, index(3)),
	), at(5))
	assert.Equal(t, []string{"three"}, podNames(d, ActionDeletePod), "indexes at or above completions are deleted")
	assert.Equal(t, "0,1", d.Status.CompletedIndexes)
	assert.Equal(t, int32(2), d.Status.Succeeded, "succeeded covers indexes below completions only")
	assert.Equal(t, int32(2), d.Status.Failed, "failures already counted stay counted")
	assert.Empty(t, d.Status.UncountedTerminatedPods.Failed, "the removed pod is not a failure")
	validateStatusUpdate(t, job, d.Status)
}

func TestTTL(t *testing.T) {
	complete := func(opts ...jobOpt) *batchv1.Job {
		return newJob(append([]jobOpt{
			withStatus(func(s *batchv1.JobStatus) {
				s.Succeeded = 1
				s.CompletionTime = ptr.To(metav1.NewTime(at(10)))
			}),
			withCondition(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, "CompletionsReached", msgCompletionsReached, at(10)),
			withCondition(batchv1.JobComplete, corev1.ConditionTrue, "CompletionsReached", msgCompletionsReached, at(10)),
		}, opts...)...)
	}
	cases := []struct {
		name        string
		job         *batchv1.Job
		now         time.Time
		wantDelete  bool
		wantRequeue time.Duration
	}{
		{name: "not expired: resync at expiry", job: complete(ttl(100)), now: at(50), wantRequeue: 60 * time.Second},
		{name: "expired", job: complete(ttl(100)), now: at(110), wantDelete: true},
		{name: "ttl 0: at once", job: complete(ttl(0)), now: at(10), wantDelete: true},
		{name: "no ttl", job: complete(), now: at(1000)},
		{name: "being deleted", job: complete(ttl(0), func(j *batchv1.Job) { j.DeletionTimestamp = ptr.To(metav1.NewTime(at(11))) }), now: at(1000)},
		{
			name: "failed jobs expire from the Failed condition",
			job: newJob(ttl(30), withStatus(func(s *batchv1.JobStatus) { s.Failed = 7 }),
				withCondition(batchv1.JobFailureTarget, corev1.ConditionTrue, "BackoffLimitExceeded", msgBackoffLimit, at(0)),
				withCondition(batchv1.JobFailed, corev1.ConditionTrue, "BackoffLimitExceeded", msgBackoffLimit, at(20))),
			now: at(40), wantRequeue: 10 * time.Second,
		},
		{
			name: "just finished with ttl 0",
			job: newJob(ttl(0), uncountedStatus([]types.UID{"uid-ok"}, nil),
				withCondition(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, "CompletionsReached", msgCompletionsReached, at(5))),
			now: at(7), wantDelete: true,
		},
		{name: "unfinished", job: newJob(ttl(0)), now: at(7)},
		{
			name: "applies to Jobs of another manager too",
			job:  complete(ttl(100), func(j *batchv1.Job) { j.Spec.ManagedBy = ptr.To("example.com/queue") }),
			now:  at(110), wantDelete: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(tc.job, nil, tc.now)
			assert.Equal(t, tc.wantDelete, d.DeleteJob)
			assert.Equal(t, tc.wantRequeue, d.RequeueAfter)
		})
	}
}

func TestFinishedJob(t *testing.T) {
	job := newJob(withStatus(func(s *batchv1.JobStatus) { s.Succeeded = 1 }),
		withCondition(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, "CompletionsReached", msgCompletionsReached, at(10)),
		withCondition(batchv1.JobComplete, corev1.ConditionTrue, "CompletionsReached", msgCompletionsReached, at(10)))
	d := Decide(Input{Job: job, Pods: pods(newPod("straggler", corev1.PodSucceeded), newPod("done", corev1.PodSucceeded, noFinalizer())), Now: at(20), Backoff: BackoffRecord{3, at(1)}})
	assert.Equal(t, []string{"straggler"}, podNames(d, ActionRemoveFinalizer), "finished Jobs release their pods")
	assert.Len(t, d.Actions, 1)
	assert.False(t, d.StatusChanged)
	assert.Equal(t, int32(1), d.Status.Succeeded, "nothing is counted after the end")
	assert.Equal(t, BackoffRecord{}, d.BackoffAfter)
	assert.Empty(t, d.Events)
}

func TestFirstSync(t *testing.T) {
	job := newJob(notStarted(), completions(2), parallelism(2))
	d := decide(job, nil, at(1))
	assert.True(t, d.StatusChanged)
	assert.Equal(t, at(1), d.Status.StartTime.Time)
	assert.Equal(t, int32(2), d.Status.Active)
	assert.Equal(t, ptr.To[int32](0), d.Status.Ready)
	assert.Equal(t, ptr.To[int32](0), d.Status.Terminating)
	assert.NotNil(t, d.Status.UncountedTerminatedPods)
	assert.Nil(t, job.Status.StartTime, "the input Job is not modified")
	validateStatusUpdate(t, job, d.Status)

	// Nothing changed since: no status write.
	d = decide(apply(job, d), pods(newPod("a", corev1.PodPending, notReady()), newPod("b", corev1.PodPending, notReady())), at(2))
	assert.False(t, d.StatusChanged)
	assert.Empty(t, d.Actions)
}
