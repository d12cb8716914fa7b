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
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
)

// cacheOf is a podLookup over the given pods, as the pod cache shows them.
func cacheOf(ps ...*corev1.Pod) podLookup {
	return func(name string) *corev1.Pod {
		for _, p := range ps {
			if p.Name == name {
				return p
			}
		}
		return nil
	}
}

func TestExpectations(t *testing.T) {
	const key = "ns/job"
	const jobUID = types.UID("job-uid")
	running := newPod("a", corev1.PodRunning)
	type step func(e *expectations, now *time.Time)

	for _, tc := range []struct {
		name  string
		steps []step
		cache podLookup
		want  expectationsState
	}{
		{
			name: "nothing recorded",
			want: expectationsState{},
		},
		{
			name: "a delete is pending while the cache shows the pod alive",
			steps: []step{func(e *expectations, _ *time.Time) {
				e.expect(key, jobUID, expectDelete, "a", running.UID)
			}},
			cache: cacheOf(running),
			want:  expectationsState{podsPending: true, expiresIn: ExpectationsTimeout},
		},
		{
			name: "a delete is satisfied once the cache shows the pod terminating",
			steps: []step{func(e *expectations, _ *time.Time) {
				e.expect(key, jobUID, expectDelete, "a", running.UID)
			}},
			cache: cacheOf(newPod("a", corev1.PodRunning, deleting(t0))),
			want:  expectationsState{},
		},
		{
			name: "a delete is satisfied once the cache no longer has the pod",
			steps: []step{func(e *expectations, _ *time.Time) {
				e.expect(key, jobUID, expectDelete, "a", running.UID)
			}},
			cache: cacheOf(),
			want:  expectationsState{},
		},
		{
			name: "a pod of the same name and another UID is not ours",
			steps: []step{func(e *expectations, _ *time.Time) {
				e.expect(key, jobUID, expectDelete, "a", "old-uid")
			}},
			cache: cacheOf(running),
			want:  expectationsState{},
		},
		{
			name: "a failed delete is dropped",
			steps: []step{func(e *expectations, _ *time.Time) {
				e.expect(key, jobUID, expectDelete, "a", running.UID)
				e.lower(key, jobUID, expectDelete, running.UID)
			}},
			cache: cacheOf(running),
			want:  expectationsState{},
		},
		{
			name: "a delete observed by an event is satisfied even if the cache lags",
			steps: []step{func(e *expectations, _ *time.Time) {
				e.expect(key, jobUID, expectDelete, "a", running.UID)
				e.observe(key, running, true)
			}},
			cache: cacheOf(running),
			want:  expectationsState{},
		},
		{
			name: "a finalizer removal is reported, not as a pending pod change",
			steps: []step{func(e *expectations, _ *time.Time) {
				e.expect(key, jobUID, expectFinalizerRemoval, "a", running.UID)
			}},
			cache: cacheOf(running),
			want:  expectationsState{finalizerRemovals: sets.New(running.UID), expiresIn: ExpectationsTimeout},
		},
		{
			name: "a finalizer removal is satisfied once the cache shows the pod without it",
			steps: []step{func(e *expectations, _ *time.Time) {
				e.expect(key, jobUID, expectFinalizerRemoval, "a", running.UID)
			}},
			cache: cacheOf(newPod("a", corev1.PodSucceeded, noFinalizer())),
			want:  expectationsState{},
		},
		{
			name: "a created pod is pending until the cache shows it",
			steps: []step{func(e *expectations, _ *time.Time) {
				e.beginCreates(key, jobUID)
				e.created(key, jobUID, running, cacheOf())
				e.endCreates(key, jobUID)
			}},
			cache: cacheOf(),
			want:  expectationsState{podsPending: true, expiresIn: ExpectationsTimeout},
		},
		{
			name: "a created pod the cache already shows is not awaited",
			steps: []step{func(e *expectations, _ *time.Time) {
				e.created(key, jobUID, running, cacheOf(running))
			}},
			cache: cacheOf(),
			want:  expectationsState{},
		},
		{
			name: "a created pod seen deleted before its Create returned is not awaited",
			steps: []step{func(e *expectations, _ *time.Time) {
				e.beginCreates(key, jobUID)
				e.observe(key, running, false)
				e.observe(key, running, true)
				e.created(key, jobUID, running, cacheOf())
				e.endCreates(key, jobUID)
			}},
			cache: cacheOf(),
			want:  expectationsState{},
		},
		{
			name: "a created pod seen by an event is satisfied",
			steps: []step{func(e *expectations, _ *time.Time) {
				e.created(key, jobUID, running, cacheOf())
				e.observe(key, running, false)
			}},
			cache: cacheOf(),
			want:  expectationsState{},
		},
		{
			name: "expectations time out",
			steps: []step{func(e *expectations, now *time.Time) {
				e.created(key, jobUID, running, cacheOf())
				*now = now.Add(ExpectationsTimeout)
			}},
			cache: cacheOf(),
			want:  expectationsState{},
		},
		{
			name: "expiresIn is the oldest expectation's",
			steps: []step{func(e *expectations, now *time.Time) {
				e.created(key, jobUID, running, cacheOf())
				*now = now.Add(time.Minute)
				e.expect(key, jobUID, expectDelete, "b", "uid-b")
			}},
			cache: cacheOf(newPod("b", corev1.PodRunning)),
			want:  expectationsState{podsPending: true, expiresIn: ExpectationsTimeout - time.Minute},
		},
		{
			name: "a Job recreated under the same name starts clean",
			steps: []step{func(e *expectations, _ *time.Time) {
				e.expect(key, "old-job-uid", expectDelete, "a", running.UID)
			}},
			cache: cacheOf(running),
			want:  expectationsState{},
		},
		{
			name: "forget drops everything",
			steps: []step{func(e *expectations, _ *time.Time) {
				e.expect(key, jobUID, expectDelete, "a", running.UID)
				e.forget(key)
			}},
			cache: cacheOf(running),
			want:  expectationsState{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := t0
			e := newExpectations(func() time.Time { return now })
			for _, s := range tc.steps {
				s(e, &now)
			}
			cache := tc.cache
			if cache == nil {
				cache = cacheOf()
			}
			got := e.state(key, jobUID, cache)
			if tc.want.finalizerRemovals == nil {
				tc.want.finalizerRemovals = sets.New[types.UID]()
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
