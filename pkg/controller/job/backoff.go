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

// Pod recreation backoff (upstream backoff_utils.go).
const (
	// DefaultPodFailureBackoff is the delay after the first failure.
	DefaultPodFailureBackoff = 10 * time.Second
	// MaxPodFailureBackoff caps the doubling delay.
	MaxPodFailureBackoff = 10 * time.Minute
)

// BackoffRecord is the executor's in-memory memory of a Job's recent pod
// failures: how many pods failed since the last success and when the latest
// of them finished. It is deliberately not persisted (as upstream): after a
// restart the first replacement is created without delay.
//
// With backoffLimitPerIndex the delay is per index and needs no record: it is
// derived from the failed pod's job-index-failure-count annotations and
// finish time.
type BackoffRecord struct {
	FailuresAfterLastSuccess int32
	// LastFailureTime is the finish time of the latest counted failure; zero
	// when FailuresAfterLastSuccess is 0.
	LastFailureTime time.Time
}

// update folds pods that finished since the record was taken into it.
// Failures that finished after the latest new success count; a success
// resets the count. Ignored failures count too (upstream does the same).
func (b BackoffRecord) update(newSucceeded, newFailed []*corev1.Pod) BackoffRecord {
	if len(newSucceeded) == 0 && len(newFailed) == 0 {
		return b
	}
	succeeded := append([]*corev1.Pod(nil), newSucceeded...)
	failed := append([]*corev1.Pod(nil), newFailed...)
	sortByFinishTime(succeeded)
	sortByFinishTime(failed)
	if len(succeeded) == 0 {
		return BackoffRecord{
			FailuresAfterLastSuccess: b.FailuresAfterLastSuccess + int32(len(failed)),
			LastFailureTime:          finishTime(failed[len(failed)-1]),
		}
	}
	var out BackoffRecord
	lastSuccess := finishTime(succeeded[len(succeeded)-1])
	for i := len(failed) - 1; i >= 0; i-- {
		t := finishTime(failed[i])
		if !t.After(lastSuccess) {
			break
		}
		if out.FailuresAfterLastSuccess == 0 {
			out.LastFailureTime = t
		}
		out.FailuresAfterLastSuccess++
	}
	return out
}

// remaining is how long pod creation must still wait at now.
func (b BackoffRecord) remaining(now time.Time) time.Duration {
	return remainingBackoff(now, b.FailuresAfterLastSuccess, b.LastFailureTime)
}

// remainingBackoff returns how much of the delay 10s·2^(failures−1), capped
// at 10 minutes and counted from lastFailure, is left at now.
func remainingBackoff(now time.Time, failures int32, lastFailure time.Time) time.Duration {
	if failures <= 0 {
		return 0
	}
	delay := DefaultPodFailureBackoff
	for i := int32(1); i < failures; i++ {
		delay *= 2
		if delay >= MaxPodFailureBackoff {
			delay = MaxPodFailureBackoff
			break
		}
	}
	elapsed := now.Sub(lastFailure)
	if delay < elapsed {
		return 0
	}
	return delay - elapsed
}

// indexBackoff is the delay left before the index of the failed pod p may
// get a replacement: the index's failures so far (counted and ignored, from
// p's annotations) plus p's own failure, counted from p's finish time.
func indexBackoff(now time.Time, p *corev1.Pod) time.Duration {
	if p == nil {
		return 0
	}
	return remainingBackoff(now, absoluteIndexFailureCount(p)+1, finishTime(p))
}
