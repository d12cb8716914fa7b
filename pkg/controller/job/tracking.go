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
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

// trackFinishedPods is the accounting step (upstream
// trackJobStatusAndRemoveFinalizers), split at the status write:
//
//  1. count: move every uncounted UID whose pod has lost its finalizer (or is
//     gone) into status.succeeded/failed;
//  2. record: add each finished pod that still carries the finalizer to
//     uncountedTerminatedPods (Indexed successes to completedIndexes), and
//     plan the removal of its finalizer, which the executor performs only
//     after this status is persisted;
//  3. add the interim condition, and the final one once nothing is
//     uncounted and no pod is terminating.
//
// Step 1 for the pods recorded in step 2 happens in the next Decide.
func (s *syncState) trackFinishedPods() {
	st := s.status
	uncounted := st.UncountedTerminatedPods
	withFinalizer := sets.New[types.UID]()
	for _, p := range s.pods {
		if s.hasFinalizer(p) {
			withFinalizer.Insert(p.UID)
		}
	}
	countUncounted(st, withFinalizer)

	pods := s.pods
	if s.indexed() {
		pods = sortedByIndex(pods) // introduce completed indexes in order
	}
	newFinished := sets.New[types.UID]()
	for _, p := range s.newSucceeded {
		newFinished.Insert(p.UID)
	}
	for _, p := range s.newFailed {
		newFinished.Insert(p.UID)
	}
	var consumedSucceeded, consumedFailed []*corev1.Pod
	var newSucceededIndexes []int
	completions := s.completions()
	finishingAsFailure := s.finished != nil && !isSuccessCriteriaMet(s.finished)
	reachedMax := false
	for _, p := range pods {
		if !s.hasFinalizer(p) {
			continue // accounted for in an earlier Decide
		}
		considerFailed := isPodFailed(p, s.job)
		if !s.canRemoveFinalizer(p, considerFailed) {
			continue
		}
		s.removeFinalizer(p)
		if newFinished.Has(p.UID) {
			if p.Status.Phase == corev1.PodSucceeded {
				consumedSucceeded = append(consumedSucceeded, p)
			} else {
				consumedFailed = append(consumedFailed, p)
			}
		}
		ix := completionIndex(p)
		validIndex := ix != noIndex && ix < completions
		switch {
		case p.Status.Phase == corev1.PodSucceeded && !s.uncountedFailed.Has(p.UID):
			if s.indexed() {
				// The index itself prevents counting a success twice.
				if validIndex && !s.prevSucceededIndexes.has(ix) {
					newSucceededIndexes = append(newSucceededIndexes, ix)
				}
			} else if !s.uncountedSucceeded.Has(p.UID) {
				uncounted.Succeeded = append(uncounted.Succeeded, p.UID)
			}
		case considerFailed || finishingAsFailure:
			// A failing Job counts every pod it stops as failed.
			if !s.uncountedFailed.Has(p.UID) && (!s.indexed() || validIndex) &&
				matchPodFailurePolicy(s.job.Spec.PodFailurePolicy, p).countFailed {
				uncounted.Failed = append(uncounted.Failed, p.UID)
			}
		}
		if len(newSucceededIndexes)+len(uncounted.Succeeded)+len(uncounted.Failed) >= MaxUncountedPods {
			reachedMax = true // the pod updates bring the Job back for the rest
			break
		}
	}
	s.d.BackoffAfter = s.in.Backoff.update(consumedSucceeded, consumedFailed)

	if s.indexed() {
		s.succeededIndexes = s.succeededIndexes.withIndexes(newSucceededIndexes)
		st.Succeeded = int32(s.succeededIndexes.total())
		st.CompletedIndexes = s.succeededIndexes.String()
		st.FailedIndexes = nil
		if s.failedIndexes != nil {
			st.FailedIndexes = ptr.To(s.failedIndexes.String())
		}
	}

	if s.finished != nil && s.finished.Type == batchv1.JobFailureTarget {
		st.Conditions = append(st.Conditions, *s.finished)
		s.finished = newCondition(batchv1.JobFailed, corev1.ConditionTrue, s.finished.Reason, s.finished.Message, s.now)
	}
	if isSuccessCriteriaMet(s.finished) {
		if condition.FindTrue(s.job.Status.Conditions, batchv1.JobSuccessCriteriaMet) == nil {
			st.Conditions = append(st.Conditions, *s.finished)
		}
		s.finished = newCondition(batchv1.JobComplete, corev1.ConditionTrue, s.finished.Reason, s.finished.Message, s.now)
	}
	if !reachedMax && s.enactFinished() {
		s.d.BackoffAfter = BackoffRecord{}
		s.applyTTL()
	}
}

// canRemoveFinalizer: always once the Job is being deleted or is heading to
// an end, and for succeeded pods; for failed pods unless the pod is kept
// until its index has a replacement (backoffLimitPerIndex); never for
// running pods.
func (s *syncState) canRemoveFinalizer(p *corev1.Pod, considerFailed bool) bool {
	if s.job.DeletionTimestamp != nil || s.finished != nil || p.Status.Phase == corev1.PodSucceeded {
		return true
	}
	if !considerFailed {
		return false
	}
	if s.perIndex() {
		if ix := completionIndex(p); ix != noIndex {
			if kept, ok := s.delayed[ix]; ok && kept.UID == p.UID {
				return false
			}
		}
	}
	return true
}

// countUncounted moves the uncounted UIDs whose pods no longer carry the
// finalizer (or are gone) into the counters.
func countUncounted(st *batchv1.JobStatus, withFinalizer sets.Set[types.UID]) {
	u := st.UncountedTerminatedPods
	kept := keepUIDs(u.Succeeded, withFinalizer)
	st.Succeeded += int32(len(u.Succeeded) - len(kept))
	u.Succeeded = kept
	kept = keepUIDs(u.Failed, withFinalizer)
	st.Failed += int32(len(u.Failed) - len(kept))
	u.Failed = kept
}

func keepUIDs(uids []types.UID, keep sets.Set[types.UID]) []types.UID {
	var out []types.UID
	for _, uid := range uids {
		if keep.Has(uid) {
			out = append(out, uid)
		}
	}
	return out
}

// enactFinished adds the final Complete or Failed condition, with the
// interim condition's reason and message, once every pod is counted and none
// is terminating, and records the matching events.
func (s *syncState) enactFinished() bool {
	st := s.status
	if s.finished == nil {
		return false
	}
	if u := st.UncountedTerminatedPods; len(u.Succeeded)+len(u.Failed) > 0 {
		return false
	}
	if s.terminating > 0 {
		return false
	}
	f := s.finished
	st.Conditions, _ = ensureCondition(st.Conditions, f.Type, corev1.ConditionTrue, f.Reason, f.Message, s.now)
	if f.Type == batchv1.JobComplete {
		st.CompletionTime = ptr.To(condition.Find(st.Conditions, batchv1.JobComplete).LastTransitionTime)
		if c := s.job.Spec.Completions; c != nil && st.Succeeded > *c {
			s.event(corev1.EventTypeWarning, "TooManySucceededPods", "Too many succeeded pods running after completion count reached")
		}
		s.event(corev1.EventTypeNormal, "Completed", "Job completed")
	} else {
		s.event(corev1.EventTypeWarning, f.Reason, f.Message)
	}
	return true
}

func isSuccessCriteriaMet(c *batchv1.JobCondition) bool {
	return c != nil && c.Type == batchv1.JobSuccessCriteriaMet && c.Status == corev1.ConditionTrue
}
