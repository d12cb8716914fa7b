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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

func TestTargetActiveCount(t *testing.T) {
	cases := []struct {
		name        string
		job         *batchv1.Job
		pods        []*corev1.Pod
		wantCreates int
		wantActive  int32
	}{
		{name: "defaults: one pod", job: newJob(), wantCreates: 1, wantActive: 1},
		{name: "completions unset: parallelism pods", job: newJob(parallelism(3), noCompletions()), wantCreates: 3, wantActive: 3},
		{
			name: "completions unset: no new pods after the first success",
			job:  newJob(parallelism(3), noCompletions()),
			pods: pods(newPod("a", corev1.PodSucceeded), newPod("b", corev1.PodRunning)),
			// b keeps running, nothing replaces the finished a.
			wantCreates: 0, wantActive: 1,
		},
		{
			name:        "completions: the remaining completions",
			job:         newJob(completions(5), parallelism(10), withStatus(func(s *batchv1.JobStatus) { s.Succeeded = 3 })),
			wantCreates: 2, wantActive: 2,
		},
		{
			name:        "completions: capped by parallelism",
			job:         newJob(completions(5), parallelism(2)),
			pods:        pods(newPod("a", corev1.PodRunning)),
			wantCreates: 1, wantActive: 2,
		},
		{
			name:        "newly succeeded pods count towards completions",
			job:         newJob(completions(3), parallelism(3)),
			pods:        pods(newPod("a", corev1.PodSucceeded), newPod("b", corev1.PodSucceeded), newPod("c", corev1.PodRunning)),
			wantCreates: 0, wantActive: 1,
		},
		{name: "parallelism 0 runs nothing", job: newJob(completions(3), parallelism(0)), wantCreates: 0, wantActive: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(tc.job, tc.pods, at(1))
			assert.Len(t, actionsOf(d, ActionCreatePod), tc.wantCreates)
			assert.Empty(t, actionsOf(d, ActionDeletePod))
			assert.Equal(t, tc.wantActive, d.Status.Active)
		})
	}
}

func TestExcessPodsDeletionOrder(t *testing.T) {
	// parallelism 1 and two active pods: exactly one goes, the first in
	// upstream's removal order.
	cases := []struct {
		name       string
		keep, drop *corev1.Pod
	}{
		{name: "unscheduled before scheduled", keep: newPod("keep", corev1.PodPending), drop: newPod("drop", corev1.PodPending, unscheduled())},
		{name: "pending before running", keep: newPod("keep", corev1.PodRunning, notReady()), drop: newPod("drop", corev1.PodPending)},
		{name: "not ready before ready", keep: newPod("keep", corev1.PodRunning), drop: newPod("drop", corev1.PodRunning, notReady())},
		{name: "more recently ready first", keep: newPod("keep", corev1.PodRunning, readySince(at(1))), drop: newPod("drop", corev1.PodRunning, readySince(at(5)))},
		{
			name: "more restarts first",
			keep: newPod("keep", corev1.PodRunning, notReady(), restarts(1)),
			drop: newPod("drop", corev1.PodRunning, notReady(), restarts(3)),
		},
		{name: "newer first", keep: newPod("keep", corev1.PodRunning, created(at(1))), drop: newPod("drop", corev1.PodRunning, created(at(2)))},
	}
	for _, tc := range cases {
		for _, order := range [][]*corev1.Pod{{tc.keep, tc.drop}, {tc.drop, tc.keep}} {
			t.Run(tc.name, func(t *testing.T) {
				d := decide(newJob(completions(5), parallelism(1)), order, at(10))
				assert.Equal(t, []string{"drop"}, podNames(d, ActionDeletePod))
				assert.Equal(t, []string{"drop"}, podNames(d, ActionRemoveFinalizer), "the finalizer goes before the delete, so the pod is not counted")
				assert.Empty(t, actionsOf(d, ActionCreatePod))
				assert.Equal(t, int32(1), d.Status.Active)
				assert.Equal(t, ptr.To[int32](1), d.Status.Terminating)
				assert.Equal(t, int32(0), d.Status.Failed)
				assert.Empty(t, d.Status.UncountedTerminatedPods.Failed)
			})
		}
	}
}

func TestIndexedExcessPods(t *testing.T) {
	cases := []struct {
		name        string
		job         *batchv1.Job
		pods        []*corev1.Pod
		wantDeleted []string
	}{
		{
			name: "duplicate index: the less advanced pod goes",
			job:  newJob(indexed(), completions(3), parallelism(3)),
			pods: pods(
				newPod("dup-ready", corev1.PodRunning, index(0)),
				newPod("dup-pending", corev1.PodPending, index(0)),
				newPod("one", corev1.PodRunning, index(1)),
			),
			wantDeleted: []string{"dup-pending"},
		},
		{
			name: "index out of range or missing goes even under the target",
			job:  newJob(indexed(), completions(3), parallelism(3)),
			pods: pods(
				newPod("zero", corev1.PodRunning, index(0)),
				newPod("seven", corev1.PodRunning, index(7)),
				newPod("none", corev1.PodRunning),
			),
			wantDeleted: []string{"none", "seven"},
		},
		{
			name: "scale down after invalid ones, by removal order",
			job:  newJob(indexed(), completions(4), parallelism(1)),
			pods: pods(
				newPod("zero", corev1.PodRunning, index(0), readySince(at(1))),
				newPod("one", corev1.PodRunning, index(1), readySince(at(5))),
				newPod("two", corev1.PodPending, index(2)),
			),
			wantDeleted: []string{"two", "one"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(tc.job, tc.pods, at(10))
			assert.ElementsMatch(t, tc.wantDeleted, podNames(d, ActionDeletePod))
			assert.Empty(t, actionsOf(d, ActionCreatePod), "no creates in a sync that deletes")
		})
	}
}

func TestSlowStartAndCap(t *testing.T) {
	t.Run("batches of 1, 2, 4, ...", func(t *testing.T) {
		d := decide(newJob(completions(10), parallelism(10)), nil, at(1))
		var batches []int
		for _, a := range actionsOf(d, ActionCreatePod) {
			batches = append(batches, a.Batch)
		}
		assert.Equal(t, []int{0, 1, 1, 2, 2, 2, 2, 3, 3, 3}, batches)
		assert.Equal(t, int32(10), d.Status.Active)
	})
	t.Run("creates capped per sync", func(t *testing.T) {
		d := Decide(Input{Job: newJob(completions(10), parallelism(10)), Now: at(1), MaxActionsPerSync: 3})
		assert.Len(t, actionsOf(d, ActionCreatePod), 3)
		assert.Equal(t, int32(3), d.Status.Active)
	})
	t.Run("upstream default is 500", func(t *testing.T) {
		d := decide(newJob(completions(600), parallelism(600)), nil, at(1))
		assert.Len(t, actionsOf(d, ActionCreatePod), 500)
	})
	t.Run("deletes capped per sync", func(t *testing.T) {
		var ps []*corev1.Pod
		for i := 0; i < 5; i++ {
			ps = append(ps, newPod(string(rune('a'+i)), corev1.PodRunning))
		}
		d := Decide(Input{Job: newJob(completions(10), parallelism(1)), Pods: ps, Now: at(1), MaxActionsPerSync: 2})
		assert.Len(t, actionsOf(d, ActionDeletePod), 2)
		assert.Equal(t, int32(3), d.Status.Active)
	})
}

func TestIndexedCreation(t *testing.T) {
	cases := []struct {
		name    string
		job     *batchv1.Job
		pods    []*corev1.Pod
		want    []int
		wantStr string
	}{
		{name: "lowest indexes first", job: newJob(indexed(), completions(12), parallelism(4)), want: []int{0, 1, 2, 3}},
		{
			name: "skips succeeded and active indexes",
			job: newJob(indexed(), completions(6), parallelism(3), withStatus(func(s *batchv1.JobStatus) {
				s.CompletedIndexes, s.Succeeded = "0,2", 2
			})),
			pods:    pods(newPod("one", corev1.PodRunning, index(1))),
			want:    []int{3, 4},
			wantStr: "0,2",
		},
		{
			name:    "a newly succeeded index is not recreated",
			job:     newJob(indexed(), completions(3), parallelism(3)),
			pods:    pods(newPod("zero", corev1.PodSucceeded, index(0)), newPod("one", corev1.PodRunning, index(1))),
			want:    []int{2},
			wantStr: "0",
		},
		{
			name: "a failed index gets a replacement",
			job:  newJob(indexed(), completions(2), parallelism(2), withStatus(func(s *batchv1.JobStatus) { s.Failed = 1 })),
			pods: pods(newPod("zero", corev1.PodFailed, index(0), noFinalizer()), newPod("one", corev1.PodRunning, index(1))),
			want: []int{0},
		},
		{
			name: "podReplacementPolicy Failed: a terminating index is not replaced yet",
			job:  newJob(indexed(), completions(2), parallelism(2), replaceOnlyFailed()),
			pods: pods(newPod("zero", corev1.PodRunning, index(0), deleting(at(0)))),
			want: []int{1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(tc.job, tc.pods, at(100))
			assert.Equal(t, tc.want, createdIndexes(d))
			assert.Equal(t, tc.wantStr, d.Status.CompletedIndexes)
			for _, a := range actionsOf(d, ActionCreatePod) {
				assert.Equal(t, *a.Index, completionIndex(a.Pod))
			}
		})
	}
}

func TestPodReplacementPolicy(t *testing.T) {
	terminatingPod := func() *corev1.Pod { return newPod("gone", corev1.PodRunning, deleting(at(0))) }
	t.Run("TerminatingOrFailed: a terminating pod is failed and replaced", func(t *testing.T) {
		d := decide(newJob(), pods(terminatingPod()), at(30))
		assert.Equal(t, []types.UID{"uid-gone"}, d.Status.UncountedTerminatedPods.Failed)
		assert.Len(t, actionsOf(d, ActionCreatePod), 1)
		assert.Equal(t, []string{"gone"}, podNames(d, ActionRemoveFinalizer))
		assert.Equal(t, ptr.To[int32](1), d.Status.Terminating)
	})
	t.Run("Failed: a terminating pod holds its place and is not counted", func(t *testing.T) {
		d := decide(newJob(replaceOnlyFailed()), pods(terminatingPod()), at(30))
		assert.Empty(t, d.Status.UncountedTerminatedPods.Failed)
		assert.Empty(t, d.Actions)
		assert.Equal(t, int32(0), d.Status.Active)
		assert.Equal(t, ptr.To[int32](1), d.Status.Terminating)
	})
	t.Run("Failed: replaced once it reaches phase Failed", func(t *testing.T) {
		d := decide(newJob(replaceOnlyFailed()), pods(newPod("gone", corev1.PodFailed, deleting(at(0)), finishedAt(at(0)))), at(30))
		assert.Equal(t, []types.UID{"uid-gone"}, d.Status.UncountedTerminatedPods.Failed)
		assert.Len(t, actionsOf(d, ActionCreatePod), 1)
	})
}

func TestSuspendAndResume(t *testing.T) {
	t.Run("suspending deletes active pods without counting them", func(t *testing.T) {
		job := newJob(completions(4), parallelism(2), suspended())
		d := decide(job, pods(newPod("a", corev1.PodRunning), newPod("b", corev1.PodRunning, notReady()), newPod("done", corev1.PodSucceeded)), at(5))
		assert.ElementsMatch(t, []string{"a", "b", "done"}, podNames(d, ActionRemoveFinalizer))
		assert.ElementsMatch(t, []string{"a", "b"}, podNames(d, ActionDeletePod))
		assert.Empty(t, actionsOf(d, ActionCreatePod))
		assert.Equal(t, int32(0), d.Status.Active)
		assert.Equal(t, ptr.To[int32](0), d.Status.Ready)
		assert.Equal(t, ptr.To[int32](2), d.Status.Terminating)
		assert.Empty(t, d.Status.UncountedTerminatedPods.Failed, "suspended pods are not failures")
		assert.Equal(t, []types.UID{"uid-done"}, d.Status.UncountedTerminatedPods.Succeeded, "a success before the suspend still counts")
		c := cond(d.Status, batchv1.JobSuspended)
		require.NotNil(t, c)
		assert.Equal(t, corev1.ConditionTrue, c.Status)
		assert.Equal(t, "JobSuspended", c.Reason)
		assert.Equal(t, "Job suspended", c.Message)
		assert.Nil(t, d.Status.StartTime)
		assert.Equal(t, []string{"Normal Suspended: Job suspended"}, eventsOf(d))
		validateStatusUpdate(t, job, d.Status)

		// The deleted pods come back terminating and without finalizer.
		job = apply(job, d)
		d = decide(job, pods(
			newPod("a", corev1.PodRunning, deleting(at(5)), noFinalizer()),
			newPod("b", corev1.PodRunning, deleting(at(5)), noFinalizer()),
			newPod("done", corev1.PodSucceeded, noFinalizer()),
		), at(6))
		assert.Equal(t, int32(0), d.Status.Failed)
		assert.Equal(t, int32(1), d.Status.Succeeded)
		assert.Empty(t, d.Actions)
		assert.Empty(t, d.Events, "the Suspended event is emitted once")
	})
	t.Run("created suspended: condition, event, no pods, no startTime", func(t *testing.T) {
		d := decide(newJob(suspended(), notStarted()), nil, at(1))
		assert.Empty(t, d.Actions)
		assert.Equal(t, []string{"Suspended=True/JobSuspended"}, condSummary(d.Status))
		assert.Nil(t, d.Status.StartTime)
		assert.Equal(t, []string{"Normal Suspended: Job suspended"}, eventsOf(d))
	})
	t.Run("resuming sets startTime to now and creates pods", func(t *testing.T) {
		job := newJob(parallelism(2), completions(2), notStarted(), withCondition(batchv1.JobSuspended, corev1.ConditionTrue, "JobSuspended", "Job suspended", at(0)))
		d := decide(job, nil, at(50))
		assert.Len(t, actionsOf(d, ActionCreatePod), 2)
		c := cond(d.Status, batchv1.JobSuspended)
		require.NotNil(t, c)
		assert.Equal(t, corev1.ConditionFalse, c.Status)
		assert.Equal(t, "JobResumed", c.Reason)
		assert.Equal(t, "Job resumed", c.Message)
		assert.Equal(t, at(50), d.Status.StartTime.Time)
		assert.Equal(t, []string{"Normal Resumed: Job resumed"}, eventsOf(d))
		validateStatusUpdate(t, job, d.Status)
	})
	t.Run("resuming restarts the active deadline", func(t *testing.T) {
		// Suspended 100s after creation with a 30s deadline: the deadline
		// counts from the resume.
		job := newJob(deadline(30), notStarted(), withCondition(batchv1.JobSuspended, corev1.ConditionTrue, "JobSuspended", "Job suspended", at(0)))
		d := decide(job, nil, at(100))
		assert.Nil(t, cond(d.Status, batchv1.JobFailureTarget))
		assert.Equal(t, at(100), d.Status.StartTime.Time)
		assert.Equal(t, 30*time.Second, d.RequeueAfter)
	})
	t.Run("a Job created unsuspended never gets a Suspended condition", func(t *testing.T) {
		d := decide(newJob(notStarted()), nil, at(1))
		assert.Nil(t, cond(d.Status, batchv1.JobSuspended))
		assert.Empty(t, d.Events)
		assert.Equal(t, at(1), d.Status.StartTime.Time)
	})
	t.Run("suspended with completions 0 completes", func(t *testing.T) {
		job := newJob(suspended(), completions(0), notStarted())
		d := decide(job, nil, at(3))
		assert.Equal(t, []string{"SuccessCriteriaMet=True/CompletionsReached", "Complete=True/CompletionsReached"}, condSummary(d.Status))
		assert.Equal(t, at(3), d.Status.CompletionTime.Time)
		assert.Equal(t, []string{"Normal Completed: Job completed"}, eventsOf(d))
		validateStatusUpdate(t, job, d.Status)
	})
	t.Run("a suspended Job is never past its deadline", func(t *testing.T) {
		d := decide(newJob(suspended(), deadline(1)), nil, at(100))
		assert.Nil(t, cond(d.Status, batchv1.JobFailureTarget))
		assert.Zero(t, d.RequeueAfter)
	})
}

func TestActiveReadyTerminatingCounts(t *testing.T) {
	job := newJob(completions(10), parallelism(4))
	d := decide(job, pods(
		newPod("ready1", corev1.PodRunning),
		newPod("ready2", corev1.PodRunning),
		newPod("running", corev1.PodRunning, notReady()),
		newPod("pending", corev1.PodPending),
		newPod("terminating", corev1.PodSucceeded, deleting(at(0)), noFinalizer()),
		newPod("going", corev1.PodRunning, deleting(at(0)), noFinalizer()),
		newPod("done", corev1.PodSucceeded, noFinalizer()),
	), at(1))
	assert.Equal(t, int32(4), d.Status.Active)
	assert.Equal(t, ptr.To[int32](2), d.Status.Ready)
	assert.Equal(t, ptr.To[int32](1), d.Status.Terminating, "a terminal pod being deleted is not terminating")
	assert.Empty(t, d.Actions)
}

func TestPodExpectationsPending(t *testing.T) {
	job := newJob(completions(3), parallelism(3))
	d := Decide(Input{Job: job, Pods: pods(newPod("a", corev1.PodSucceeded)), Now: at(1), PodExpectationsPending: true})
	assert.Empty(t, actionsOf(d, ActionCreatePod), "no pods are created while earlier creations are unobserved")
	assert.Equal(t, []types.UID{"uid-a"}, d.Status.UncountedTerminatedPods.Succeeded, "finished pods are still tracked")
}

func TestJobBeingDeleted(t *testing.T) {
	job := newJob(completions(3), parallelism(3), func(j *batchv1.Job) { j.DeletionTimestamp = ptr.To(j.CreationTimestamp) })
	d := decide(job, pods(newPod("run", corev1.PodRunning), newPod("done", corev1.PodSucceeded)), at(1))
	assert.Empty(t, actionsOf(d, ActionCreatePod))
	assert.Empty(t, actionsOf(d, ActionDeletePod), "the garbage collector deletes the pods")
	assert.ElementsMatch(t, []string{"run", "done"}, podNames(d, ActionRemoveFinalizer), "pods must not hang on the finalizer")
	assert.Equal(t, []types.UID{"uid-done"}, d.Status.UncountedTerminatedPods.Succeeded)
	assert.Empty(t, d.Status.UncountedTerminatedPods.Failed)
}

// Ports of upstream TestControllerSyncJob cases.
func TestUpstreamSyncCases(t *testing.T) {
	t.Run("more terminating pods than parallelism, podReplacementPolicy Failed", func(t *testing.T) {
		ps := pods(newPod("a1", corev1.PodRunning, created(at(1))), newPod("a2", corev1.PodRunning, created(at(2))))
		for _, n := range []string{"t1", "t2", "t3", "t4"} {
			ps = append(ps, newPod(n, corev1.PodRunning, deleting(at(3))))
		}
		d := decide(newJob(completions(1), parallelism(1), replaceOnlyFailed()), ps, at(10))
		assert.Equal(t, []string{"a2"}, podNames(d, ActionDeletePod))
		assert.Equal(t, []string{"a2"}, podNames(d, ActionRemoveFinalizer))
		assert.Equal(t, int32(1), d.Status.Active)
		assert.Equal(t, ptr.To[int32](5), d.Status.Terminating)
		assert.Equal(t, ptr.To[int32](1), d.Status.Ready)
		assert.Empty(t, actionsOf(d, ActionCreatePod))
	})
	t.Run("count ready pods when the job fails", func(t *testing.T) {
		job := newJob(completions(3), parallelism(2), backoffLimit(0))
		d := decide(job, pods(newPod("r1", corev1.PodRunning), newPod("r2", corev1.PodRunning), newPod("bad", corev1.PodFailed)), at(10))
		assert.Len(t, d.Status.UncountedTerminatedPods.Failed, 3)
		assert.Equal(t, ptr.To[int32](0), d.Status.Ready)
		assert.Equal(t, ptr.To[int32](2), d.Status.Terminating)
		assert.Equal(t, int32(0), d.Status.Active)
		validateStatusUpdate(t, job, d.Status)
	})
	t.Run("count terminating pods when an Indexed job fails", func(t *testing.T) {
		job := newJob(indexed(), completions(3), parallelism(2), backoffLimit(0))
		d := decide(job, pods(
			newPod("zero", corev1.PodSucceeded, index(0)),
			newPod("one", corev1.PodFailed, index(1)),
			newPod("two", corev1.PodRunning, index(2)),
		), at(10))
		assert.Equal(t, "0", d.Status.CompletedIndexes)
		assert.Equal(t, int32(1), d.Status.Succeeded)
		assert.ElementsMatch(t, []types.UID{"uid-one", "uid-two"}, d.Status.UncountedTerminatedPods.Failed)
		assert.Equal(t, []string{"FailureTarget=True/BackoffLimitExceeded"}, condSummary(d.Status))
		assert.Len(t, actionsOf(d, ActionRemoveFinalizer), 3)
		assert.Equal(t, []string{"two"}, podNames(d, ActionDeletePod))
		assert.Equal(t, ptr.To[int32](1), d.Status.Terminating)
	})
	t.Run("active back-off with running pods keeps the active count", func(t *testing.T) {
		d := Decide(Input{Job: newJob(completions(2), parallelism(2)), Pods: pods(newPod("run", corev1.PodRunning)), Now: at(1), Backoff: BackoffRecord{1, at(0)}})
		assert.Empty(t, d.Actions)
		assert.Equal(t, int32(1), d.Status.Active)
		assert.Equal(t, ptr.To[int32](1), d.Status.Ready, "ready never exceeds active")
		assert.Equal(t, 9*time.Second, d.RequeueAfter)
	})
	t.Run("manual False interim conditions are ignored", func(t *testing.T) {
		job := newJob(completions(2), parallelism(2),
			withCondition(batchv1.JobFailureTarget, corev1.ConditionFalse, "Manual", "", at(0)),
			withCondition(batchv1.JobSuccessCriteriaMet, corev1.ConditionFalse, "Manual", "", at(0)))
		d := decide(job, nil, at(1))
		assert.Len(t, actionsOf(d, ActionCreatePod), 2)
		assert.Nil(t, condition.FindTrue(d.Status.Conditions, batchv1.JobFailed))
	})
}
