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
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

// Pod classification. A pod is in exactly one of these states:
//   - active: not Succeeded, not Failed, no deletionTimestamp;
//   - terminating: not Succeeded, not Failed, deletionTimestamp set;
//   - terminal: Succeeded or Failed.

func isPodActive(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && p.DeletionTimestamp == nil
}

func isPodTerminating(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && p.DeletionTimestamp != nil
}

func isPodReady(p *corev1.Pod) bool {
	c := podCondition(p, corev1.PodReady)
	return c != nil && c.Status == corev1.ConditionTrue
}

func podCondition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// isPodFailed reports whether p counts as a failed pod of job: phase Failed,
// or, unless podReplacementPolicy is Failed, being deleted without having
// succeeded (an orphaned or evicted pod may never reach phase Failed).
func isPodFailed(p *corev1.Pod, job *batchv1.Job) bool {
	if p.Status.Phase == corev1.PodFailed {
		return true
	}
	if onlyReplaceFailedPods(job) {
		return false
	}
	return p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded
}

// onlyReplaceFailedPods is podReplacementPolicy Failed: a terminating pod is
// neither failed nor replaced until it reaches phase Failed.
func onlyReplaceFailedPods(job *batchv1.Job) bool {
	return job.Spec.PodReplacementPolicy != nil && *job.Spec.PodReplacementPolicy == batchv1.Failed
}

func hasTrackingFinalizer(p *corev1.Pod) bool {
	return slices.Contains(p.Finalizers, names.JobTrackingFinalizer)
}

func filterPods(pods []*corev1.Pod, keep func(*corev1.Pod) bool) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
}

func countPods(pods []*corev1.Pod, match func(*corev1.Pod) bool) int32 {
	var n int32
	for _, p := range pods {
		if match(p) {
			n++
		}
	}
	return n
}

// sortForRemoval orders pods so that the ones to delete first come first:
// unscheduled before scheduled; Pending before Unknown before Running; not
// ready before ready; among ready pods the more recently ready first; more
// container restarts first; newer before older (the order of upstream's
// controller.ActivePods).
func sortForRemoval(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool { return removeBefore(pods[i], pods[j]) })
}

var phaseOrdinal = map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}

func removeBefore(a, b *corev1.Pod) bool {
	if a.Spec.NodeName != b.Spec.NodeName && (a.Spec.NodeName == "" || b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if phaseOrdinal[a.Status.Phase] != phaseOrdinal[b.Status.Phase] {
		return phaseOrdinal[a.Status.Phase] < phaseOrdinal[b.Status.Phase]
	}
	if isPodReady(a) != isPodReady(b) {
		return !isPodReady(a)
	}
	if isPodReady(a) && isPodReady(b) {
		ta, tb := podCondition(a, corev1.PodReady).LastTransitionTime.Time, podCondition(b, corev1.PodReady).LastTransitionTime.Time
		if !ta.Equal(tb) {
			return afterOrZero(ta, tb)
		}
	}
	ra, sa := maxRestarts(a)
	rb, sb := maxRestarts(b)
	if ra != rb {
		return ra > rb
	}
	if sa != sb {
		return sa > sb
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return afterOrZero(a.CreationTimestamp.Time, b.CreationTimestamp.Time)
	}
	return false
}

// afterOrZero orders a zero time first, then the later time first.
func afterOrZero(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero()
	}
	return a.After(b)
}

// maxRestarts returns the highest restart count of p's regular containers
// and of its sidecar (restartable init) containers.
func maxRestarts(p *corev1.Pod) (regular, sidecar int32) {
	for _, c := range p.Status.ContainerStatuses {
		regular = max(regular, c.RestartCount)
	}
	sidecars := sidecarNames(p)
	for _, c := range p.Status.InitContainerStatuses {
		if sidecars.Has(c.Name) {
			sidecar = max(sidecar, c.RestartCount)
		}
	}
	return regular, sidecar
}

func sidecarNames(p *corev1.Pod) sets.Set[string] {
	names := sets.New[string]()
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			names.Insert(c.Name)
		}
	}
	return names
}

// finishTime is when p finished: the latest finishedAt of its containers
// (all of them, sidecars included, must have terminated), else the time its
// Ready condition turned False, else its deletion time minus the grace
// period, else its creation time.
func finishTime(p *corev1.Pod) time.Time {
	if t, ok := containersFinishTime(p); ok {
		return t
	}
	if c := podCondition(p, corev1.PodReady); c != nil && c.Status == corev1.ConditionFalse && !c.LastTransitionTime.IsZero() {
		return c.LastTransitionTime.Time
	}
	if p.DeletionTimestamp != nil {
		var grace int64
		if p.DeletionGracePeriodSeconds != nil {
			grace = *p.DeletionGracePeriodSeconds
		}
		return p.DeletionTimestamp.Add(-time.Duration(grace) * time.Second)
	}
	return p.CreationTimestamp.Time
}

func containersFinishTime(p *corev1.Pod) (time.Time, bool) {
	var latest time.Time
	found := false
	consider := func(statuses []corev1.ContainerStatus, include func(corev1.ContainerStatus) bool) bool {
		for _, cs := range statuses {
			if include != nil && !include(cs) {
				continue
			}
			if cs.State.Terminated == nil || cs.State.Terminated.FinishedAt.IsZero() {
				return false
			}
			if !found || latest.Before(cs.State.Terminated.FinishedAt.Time) {
				latest = cs.State.Terminated.FinishedAt.Time
				found = true
			}
		}
		return true
	}
	if !consider(p.Status.ContainerStatuses, nil) {
		return time.Time{}, false
	}
	sidecars := sidecarNames(p)
	if !consider(p.Status.InitContainerStatuses, func(cs corev1.ContainerStatus) bool { return sidecars.Has(cs.Name) }) {
		return time.Time{}, false
	}
	return latest, found
}

// sortByFinishTime sorts pods by finishTime, earliest first.
func sortByFinishTime(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool { return finishTime(pods[i]).Before(finishTime(pods[j])) })
}
