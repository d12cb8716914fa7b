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
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

func TestFinalizerTracking(t *testing.T) {
	cases := []struct {
		name              string
		job               *batchv1.Job
		pods              []*corev1.Pod
		expectedRemovals  sets.Set[types.UID]
		wantSucceeded     int32
		wantFailed        int32
		wantUncountedSucc []types.UID
		wantUncountedFail []types.UID
		wantRemove        []string
	}{
		{
			name:              "record: a finished pod with the finalizer goes to uncounted, then loses the finalizer",
			job:               newJob(completions(3), parallelism(1)),
			pods:              pods(newPod("ok", corev1.PodSucceeded), newPod("bad", corev1.PodFailed)),
			wantUncountedSucc: []types.UID{"uid-ok"},
			wantUncountedFail: []types.UID{"uid-bad"},
			wantRemove:        []string{"ok", "bad"},
		},
		{
			name:          "count: an uncounted pod without the finalizer moves into the counters",
			job:           newJob(completions(3), parallelism(1), uncountedStatus([]types.UID{"uid-ok"}, []types.UID{"uid-bad"})),
			pods:          pods(newPod("ok", corev1.PodSucceeded, noFinalizer()), newPod("bad", corev1.PodFailed, noFinalizer())),
			wantSucceeded: 1, wantFailed: 1,
		},
		{
			name:          "count: an uncounted pod that is gone is counted",
			job:           newJob(completions(3), parallelism(1), uncountedStatus([]types.UID{"uid-ok"}, []types.UID{"uid-bad"})),
			wantSucceeded: 1, wantFailed: 1,
		},
		{
			name: "no double count: a pod without finalizer that is not uncounted was counted before",
			job: newJob(completions(3), parallelism(1), withStatus(func(s *batchv1.JobStatus) {
				s.Succeeded, s.Failed = 1, 1
			})),
			pods:          pods(newPod("ok", corev1.PodSucceeded, noFinalizer()), newPod("bad", corev1.PodFailed, noFinalizer())),
			wantSucceeded: 1, wantFailed: 1,
		},
		{
			name:              "no double record: an uncounted pod still carrying the finalizer is retried, not re-added",
			job:               newJob(completions(3), parallelism(1), uncountedStatus([]types.UID{"uid-ok"}, []types.UID{"uid-bad"})),
			pods:              pods(newPod("ok", corev1.PodSucceeded), newPod("bad", corev1.PodFailed)),
			wantUncountedSucc: []types.UID{"uid-ok"},
			wantUncountedFail: []types.UID{"uid-bad"},
			wantRemove:        []string{"ok", "bad"},
		},
		{
			name:             "a removal the cache does not show yet counts (expectations)",
			job:              newJob(completions(3), parallelism(1), uncountedStatus([]types.UID{"uid-ok"}, nil)),
			pods:             pods(newPod("ok", corev1.PodSucceeded)),
			expectedRemovals: sets.New[types.UID]("uid-ok"),
			wantSucceeded:    1,
		},
		{
			name: "stale cache after counting: an expected removal is never recorded again",
			job: newJob(completions(3), parallelism(1), withStatus(func(s *batchv1.JobStatus) {
				s.Succeeded = 1
			})),
			pods:             pods(newPod("ok", corev1.PodSucceeded)),
			expectedRemovals: sets.New[types.UID]("uid-ok"),
			wantSucceeded:    1,
		},
		{
			name: "a pod recorded as failed that then succeeded stays failed",
			job:  newJob(completions(3), parallelism(1), uncountedStatus(nil, []types.UID{"uid-late"})),
			pods: pods(newPod("late", corev1.PodSucceeded, noFinalizer())),
			// Counted once, as failed.
			wantFailed: 1,
		},
		{
			name:              "a pod recorded as failed that succeeded before its finalizer went is not recorded again",
			job:               newJob(completions(3), parallelism(1), uncountedStatus(nil, []types.UID{"uid-late"})),
			pods:              pods(newPod("late", corev1.PodSucceeded)),
			wantUncountedFail: []types.UID{"uid-late"},
			wantRemove:        []string{"late"},
		},
		{
			name:       "a running pod keeps its finalizer",
			job:        newJob(completions(3), parallelism(1)),
			pods:       pods(newPod("run", corev1.PodRunning)),
			wantRemove: nil,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(Input{Job: tc.job, Pods: tc.pods, Now: at(100), ExpectedFinalizerRemovals: tc.expectedRemovals})
			assert.Equal(t, tc.wantSucceeded, d.Status.Succeeded, "succeeded")
			assert.Equal(t, tc.wantFailed, d.Status.Failed, "failed")
			assert.Equal(t, tc.wantUncountedSucc, d.Status.UncountedTerminatedPods.Succeeded)
			assert.Equal(t, tc.wantUncountedFail, d.Status.UncountedTerminatedPods.Failed)
			assert.ElementsMatch(t, tc.wantRemove, podNames(d, ActionRemoveFinalizer))
			validateStatusUpdate(t, tc.job, d.Status)
		})
	}
}

func TestIndexedSuccessTracking(t *testing.T) {
	t.Run("a success is recorded in completedIndexes, not in uncounted", func(t *testing.T) {
		job := newJob(indexed(), completions(4), parallelism(2))
		d := decide(job, pods(newPod("one", corev1.PodSucceeded, index(1)), newPod("three", corev1.PodSucceeded, index(3))), at(1))
		assert.Equal(t, "1,3", d.Status.CompletedIndexes)
		assert.Equal(t, int32(2), d.Status.Succeeded)
		assert.Empty(t, d.Status.UncountedTerminatedPods.Succeeded)
		assert.ElementsMatch(t, []string{"one", "three"}, podNames(d, ActionRemoveFinalizer))
		assert.Nil(t, d.Status.FailedIndexes, "failedIndexes is only set with backoffLimitPerIndex")
	})
	t.Run("a second success of the same index counts once", func(t *testing.T) {
		job := newJob(indexed(), completions(4), parallelism(2), withStatus(func(s *batchv1.JobStatus) {
			s.CompletedIndexes, s.Succeeded = "1", 1
		}))
		d := decide(job, pods(newPod("one", corev1.PodSucceeded, index(1), noFinalizer()), newPod("one-again", corev1.PodSucceeded, index(1))), at(1))
		assert.Equal(t, "1", d.Status.CompletedIndexes)
		assert.Equal(t, int32(1), d.Status.Succeeded)
		assert.Equal(t, []string{"one-again"}, podNames(d, ActionRemoveFinalizer))
	})
	t.Run("a success with an index out of range is not counted", func(t *testing.T) {
		d := decide(newJob(indexed(), completions(2), parallelism(2)), pods(newPod("nine", corev1.PodSucceeded, index(9))), at(1))
		assert.Equal(t, "", d.Status.CompletedIndexes)
		assert.Equal(t, int32(0), d.Status.Succeeded)
		assert.Equal(t, []string{"nine"}, podNames(d, ActionRemoveFinalizer))
	})
}

func TestUncountedCap(t *testing.T) {
	var ps []*corev1.Pod
	for i := 0; i < 600; i++ {
		ps = append(ps, newPod(fmt.Sprintf("p%03d", i), corev1.PodFailed, finishedAt(at(1))))
	}
	job := newJob(completions(1000), parallelism(1), backoffLimit(10000))
	d := decide(job, ps, at(2))
	assert.Len(t, d.Status.UncountedTerminatedPods.Failed, MaxUncountedPods)
	assert.Len(t, actionsOf(d, ActionRemoveFinalizer), MaxUncountedPods)
	assert.Equal(t, int32(MaxUncountedPods), d.BackoffAfter.FailuresAfterLastSuccess, "only recorded pods enter the backoff record")

	// The next round counts those and records the rest.
	next := apply(job, d)
	for _, p := range ps[:MaxUncountedPods] {
		p.Finalizers = nil
	}
	d = Decide(Input{Job: next, Pods: ps, Now: at(3), Backoff: d.BackoffAfter})
	assert.Equal(t, int32(MaxUncountedPods), d.Status.Failed)
	assert.Len(t, d.Status.UncountedTerminatedPods.Failed, 100)
	assert.Equal(t, int32(600), d.BackoffAfter.FailuresAfterLastSuccess)
}
