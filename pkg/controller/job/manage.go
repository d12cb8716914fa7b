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
	"time"

	corev1 "k8s.io/api/core/v1"
)

// manageJob brings the active pods towards the target count and returns the
// active count once the planned actions are applied. It either deletes or
// creates, never both in one Decide.
func (s *syncState) manageJob() int32 {
	active := int32(len(s.activePods))
	if s.suspended() {
		return active - s.deleteUncounted(s.activePodsForRemoval(len(s.activePods)))
	}

	want := s.wantActive(active)
	remove := s.activePodsForRemoval(int(max(active-want, 0)))
	if len(remove) > s.maxActions() {
		remove = remove[:s.maxActions()]
	}
	if len(remove) > 0 {
		return active - s.deleteUncounted(remove)
	}

	var terminating int32
	if onlyReplaceFailedPods(s.job) {
		// Under podReplacementPolicy Failed a terminating pod still holds
		// its place until it has failed.
		terminating = s.terminating
	}
	diff := want - terminating - active
	if diff <= 0 {
		return active
	}
	if !s.perIndex() {
		if wait := s.backoff.remaining(s.now); wait > 0 {
			s.requeue(wait)
			return active
		}
	}
	diff = min(diff, int32(s.maxActions()))
	var indexes []int
	if s.indexed() {
		indexes = s.firstPendingIndexes(int(diff))
		if s.perIndex() {
			indexes = s.indexesPastBackoff(indexes)
		}
		diff = int32(len(indexes))
	}
	s.createPods(int(diff), indexes)
	return active + diff
}

// wantActive is the target number of active pods: parallelism until the
// first success when completions is unset (then no new pods), otherwise the
// remaining completions capped by parallelism.
func (s *syncState) wantActive(active int32) int32 {
	completions := s.job.Spec.Completions
	if completions == nil {
		if s.succeeded > 0 {
			return active
		}
		return s.parallelism()
	}
	return max(min(*completions-s.succeeded, s.parallelism()), 0)
}

// activePodsForRemoval returns at least rmAtLeast active pods to delete. For
// Indexed Jobs pods without a valid index, with an index at or above
// completions, or duplicating another pod's index always come first (and
// are returned even beyond rmAtLeast); the rest follow sortForRemoval.
func (s *syncState) activePodsForRemoval(rmAtLeast int) []*corev1.Pod {
	var remove, left []*corev1.Pod
	if s.indexed() {
		remove, left = invalidIndexPods(s.activePods, s.completions())
	} else {
		left = append(left, s.activePods...)
	}
	if len(remove) < rmAtLeast {
		sortForRemoval(left)
		remove = append(remove, left[:rmAtLeast-len(remove)]...)
	}
	return remove
}

// invalidIndexPods splits pods into those to remove whatever the target (no
// valid index, index ≥ completions, all but the most advanced pod of a
// duplicated index) and the others.
func invalidIndexPods(pods []*corev1.Pod, completions int) (remove, left []*corev1.Pod) {
	sorted := sortedByIndex(pods)
	for start := 0; start < len(sorted); {
		ix := completionIndex(sorted[start])
		end := start + 1
		for end < len(sorted) && completionIndex(sorted[end]) == ix {
			end++
		}
		group := sorted[start:end]
		switch {
		case ix == noIndex || ix >= completions:
			remove = append(remove, group...)
		case len(group) == 1:
			left = append(left, group[0])
		default:
			sortForRemoval(group)
			remove = append(remove, group[:len(group)-1]...)
			left = append(left, group[len(group)-1])
		}
		start = end
	}
	return remove, left
}

// deleteUncounted deletes pods the Job no longer wants (suspend, scale
// down): the finalizer goes first, so the deleted pods are never counted as
// failed. It returns how many pods it deletes.
func (s *syncState) deleteUncounted(pods []*corev1.Pod) int32 {
	for _, p := range pods {
		if s.hasFinalizer(p) {
			s.removeFinalizer(p)
		}
		s.deletePod(p)
		if isPodReady(p) {
			s.ready--
		}
	}
	n := int32(len(pods))
	s.terminating += n
	return n
}

// deleteActivePods deletes every active pod of a finishing Job, keeping the
// finalizer for tracking to decide how the pod counts. It returns how many
// pods, and how many ready pods, it deletes.
func (s *syncState) deleteActivePods() (deleted, deletedReady int32) {
	for _, p := range s.activePods {
		s.deletePod(p)
		if isPodReady(p) {
			deletedReady++
		}
	}
	return int32(len(s.activePods)), deletedReady
}

// indexesPastBackoff keeps the indexes whose per-index backoff has expired
// and asks for a resync when the earliest of the others expires.
func (s *syncState) indexesPastBackoff(indexes []int) []int {
	var ready []int
	var soonest time.Duration
	for _, ix := range indexes {
		wait := indexBackoff(s.now, s.delayed[ix])
		if wait <= 0 {
			ready = append(ready, ix)
			continue
		}
		if soonest == 0 || wait < soonest {
			soonest = wait
		}
	}
	s.requeue(soonest)
	return ready
}

// createPods plans n creations, for the given indexes when Indexed, in
// slow-start batches of 1, 2, 4, …
func (s *syncState) createPods(n int, indexes []int) {
	batch, size, inBatch := 0, 1, 0
	for i := 0; i < n; i++ {
		var index *int
		if indexes != nil {
			ix := indexes[i]
			index = &ix
		}
		pod := NewPod(s.job, index)
		if index != nil && s.perIndex() {
			counted, ignored := s.replacementFailureCounts(s.delayed[*index])
			setIndexFailureCounts(pod, counted, ignored)
		}
		s.creations = append(s.creations, Action{Kind: ActionCreatePod, Pod: pod, Index: index, Batch: batch})
		if inBatch++; inBatch == size {
			batch, size, inBatch = batch+1, size*2, 0
		}
	}
}
