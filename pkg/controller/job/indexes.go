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
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
)

// noIndex is the completion index of a pod without a valid one.
const noIndex = -1

// interval is an inclusive range of completion indexes.
type interval struct {
	First int
	Last  int
}

// orderedIntervals is a sorted list of disjoint, non-adjacent intervals: the
// in-memory form of status.completedIndexes and status.failedIndexes.
type orderedIntervals []interval

// parseIndexes reads an interval string such as "1,3-5,7". Indexes at or
// above completions are dropped (elastic Indexed Jobs may shrink), and so is
// anything that does not parse: the status is written by this controller, so
// a corrupt value is only ever tolerated, never produced.
func parseIndexes(s string, completions int) orderedIntervals {
	if s == "" {
		return nil
	}
	var result orderedIntervals
	for _, part := range strings.Split(s, ",") {
		bounds := strings.SplitN(part, "-", 2)
		first, err := strconv.Atoi(bounds[0])
		if err != nil || first < 0 {
			continue
		}
		if first >= completions {
			break
		}
		last := first
		if len(bounds) == 2 {
			if last, err = strconv.Atoi(bounds[1]); err != nil || last < first {
				continue
			}
			last = min(last, completions-1)
		}
		if n := len(result); n > 0 && result[n-1].Last >= first-1 {
			result[n-1].Last = max(result[n-1].Last, last)
			continue
		}
		result = append(result, interval{first, last})
	}
	return result
}

// withIndexes returns the union of oi and the given indexes, which must be
// sorted ascending.
func (oi orderedIntervals) withIndexes(indexes []int) orderedIntervals {
	add := make(orderedIntervals, len(indexes))
	for i, ix := range indexes {
		add[i] = interval{ix, ix}
	}
	return oi.merge(add)
}

// merge returns the union of two ordered interval lists.
func (oi orderedIntervals) merge(other orderedIntervals) orderedIntervals {
	var result orderedIntervals
	appendOne := func(iv interval) {
		if n := len(result); n > 0 && iv.First <= result[n-1].Last+1 {
			result[n-1].Last = max(result[n-1].Last, iv.Last)
			return
		}
		result = append(result, iv)
	}
	i, j := 0, 0
	for i < len(oi) && j < len(other) {
		if oi[i].First < other[j].First {
			appendOne(oi[i])
			i++
		} else {
			appendOne(other[j])
			j++
		}
	}
	for ; i < len(oi); i++ {
		appendOne(oi[i])
	}
	for ; j < len(other); j++ {
		appendOne(other[j])
	}
	return result
}

// total is the number of indexes in oi.
func (oi orderedIntervals) total() int {
	n := 0
	for _, iv := range oi {
		n += iv.Last - iv.First + 1
	}
	return n
}

// has reports whether ix is in oi.
func (oi orderedIntervals) has(ix int) bool {
	i := sort.Search(len(oi), func(i int) bool { return oi[i].Last >= ix })
	return i < len(oi) && oi[i].First <= ix
}

// String formats oi the way upstream does: ascending, comma-separated, runs
// of three or more as "a-b", a pair as "a,b".
func (oi orderedIntervals) String() string {
	var b strings.Builder
	for _, iv := range oi {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(iv.First))
		switch {
		case iv.Last == iv.First+1:
			b.WriteByte(',')
			b.WriteString(strconv.Itoa(iv.Last))
		case iv.Last > iv.First+1:
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(iv.Last))
		}
	}
	return b.String()
}

// completionIndex returns the pod's completion index from its annotation, or
// noIndex.
func completionIndex(p *corev1.Pod) int {
	v, ok := p.Annotations[names.JobCompletionIndexAnnotation]
	if !ok {
		return noIndex
	}
	ix, err := strconv.Atoi(v)
	if err != nil || ix < 0 {
		return noIndex
	}
	return ix
}

// indexesOf returns the set of valid completion indexes of pods.
func indexesOf(pods []*corev1.Pod) sets.Set[int] {
	result := sets.New[int]()
	for _, p := range pods {
		if ix := completionIndex(p); ix != noIndex {
			result.Insert(ix)
		}
	}
	return result
}

// sortedByIndex returns a copy of pods sorted by completion index, pods
// without one first. The sort is stable so equal indexes keep input order.
func sortedByIndex(pods []*corev1.Pod) []*corev1.Pod {
	out := append([]*corev1.Pod(nil), pods...)
	sort.SliceStable(out, func(i, j int) bool { return completionIndex(out[i]) < completionIndex(out[j]) })
	return out
}

// firstPendingIndexes returns up to count of the lowest indexes below
// completions that have no active pod, have not succeeded and have not
// failed; under podReplacementPolicy Failed an index whose pod is still
// terminating is not pending either.
func (s *syncState) firstPendingIndexes(count int) []int {
	if count <= 0 {
		return nil
	}
	busy := s.succeededIndexes.withIndexes(sets.List(indexesOf(s.activePods)))
	if onlyReplaceFailedPods(s.job) {
		busy = busy.withIndexes(sets.List(indexesOf(filterPods(s.pods, isPodTerminating))))
	}
	if s.failedIndexes != nil {
		busy = busy.merge(*s.failedIndexes)
	}
	completions := s.completions()
	result := make([]int, 0, count)
	candidate := 0
	for _, iv := range busy {
		for ; candidate < completions && len(result) < count && candidate < iv.First; candidate++ {
			result = append(result, candidate)
		}
		candidate = max(candidate, iv.Last+1)
	}
	for ; candidate < completions && len(result) < count; candidate++ {
		result = append(result, candidate)
	}
	return result
}

// calculateSucceededIndexes returns the completed indexes recorded in the
// status and those plus the indexes of succeeded pods that still carry the
// tracking finalizer.
func (s *syncState) calculateSucceededIndexes() (prev, current orderedIntervals) {
	completions := s.completions()
	prev = parseIndexes(s.job.Status.CompletedIndexes, completions)
	added := sets.New[int]()
	for _, p := range s.pods {
		ix := completionIndex(p)
		if p.Status.Phase == corev1.PodSucceeded && ix != noIndex && ix < completions && hasTrackingFinalizer(p) {
			added.Insert(ix)
		}
	}
	return prev, prev.withIndexes(sets.List(added))
}

// calculateFailedIndexes returns the failed indexes recorded in the status
// plus those of pods (still carrying the finalizer) whose failure fails their
// index: a FailIndex rule, or a counted failure of a pod whose
// job-index-failure-count already reached backoffLimitPerIndex.
func (s *syncState) calculateFailedIndexes() *orderedIntervals {
	completions := s.completions()
	var prev orderedIntervals
	if s.job.Status.FailedIndexes != nil {
		prev = parseIndexes(*s.job.Status.FailedIndexes, completions)
	}
	added := sets.New[int]()
	for _, p := range s.pods {
		ix := completionIndex(p)
		if ix != noIndex && ix < completions && hasTrackingFinalizer(p) && s.isIndexFailed(p) {
			added.Insert(ix)
		}
	}
	result := prev.withIndexes(sets.List(added))
	return &result
}

// isIndexFailed reports whether the failure of p fails its whole index.
func (s *syncState) isIndexFailed(p *corev1.Pod) bool {
	if !isPodFailed(p, s.job) {
		return false
	}
	counted := true
	if pfp := s.job.Spec.PodFailurePolicy; pfp != nil {
		m := matchPodFailurePolicy(pfp, p)
		if m.action == actionFailIndex {
			return true
		}
		counted = m.countFailed
	}
	return counted && indexFailureCount(p) >= *s.job.Spec.BackoffLimitPerIndex
}

// podsWithDelayedFinalizerRemoval returns, per index, the failed pod whose
// finalizer is kept until a replacement exists: the replacement inherits its
// failure counts (annotations) and its finish time sets the index's backoff.
// Only indexes that are neither succeeded, failed nor active qualify.
func (s *syncState) podsWithDelayedFinalizerRemoval() map[int]*corev1.Pod {
	completions := s.completions()
	active := indexesOf(s.activePods)
	result := make(map[int]*corev1.Pod)
	for _, p := range s.pods {
		if !s.hasFinalizer(p) || !isPodFailed(p, s.job) {
			continue
		}
		ix := completionIndex(p)
		if ix == noIndex || ix >= completions {
			continue
		}
		if s.succeededIndexes.has(ix) || (s.failedIndexes != nil && s.failedIndexes.has(ix)) || active.Has(ix) {
			continue
		}
		last, ok := result[ix]
		if !ok || (absoluteIndexFailureCount(last) <= absoluteIndexFailureCount(p) && !finishTime(p).Before(finishTime(last))) {
			result[ix] = p
		}
	}
	return result
}

// indexFailureCount is the job-index-failure-count annotation of p (0 when
// missing or invalid).
func indexFailureCount(p *corev1.Pod) int32 {
	return annotationCount(p, names.JobIndexFailureCountAnnotation)
}

// absoluteIndexFailureCount counts the failures of p's index, including
// those the pod failure policy ignored.
func absoluteIndexFailureCount(p *corev1.Pod) int32 {
	return indexFailureCount(p) + annotationCount(p, names.JobIndexIgnoredFailureCountAnnotation)
}

func annotationCount(p *corev1.Pod, key string) int32 {
	v, ok := p.Annotations[key]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 0 {
		return 0
	}
	return int32(n)
}

// replacementFailureCounts returns the failure counts a pod replacing failed
// inherits: failed's counts plus its own failure, counted or ignored.
func (s *syncState) replacementFailureCounts(failed *corev1.Pod) (counted, ignored int32) {
	if failed == nil {
		return 0, 0
	}
	counted, ignored = indexFailureCount(failed), annotationCount(failed, names.JobIndexIgnoredFailureCountAnnotation)
	if pfp := s.job.Spec.PodFailurePolicy; pfp != nil && !matchPodFailurePolicy(pfp, failed).countFailed {
		return counted, ignored + 1
	}
	return counted + 1, ignored
}
