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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestRemainingBackoff(t *testing.T) {
	cases := []struct {
		name     string
		failures int32
		elapsed  time.Duration
		want     time.Duration
	}{
		{name: "no failures, no delay", failures: 0, want: 0},
		{name: "first failure waits 10s", failures: 1, elapsed: 0, want: 10 * time.Second},
		{name: "first failure, 4s elapsed", failures: 1, elapsed: 4 * time.Second, want: 6 * time.Second},
		{name: "second failure waits 20s", failures: 2, want: 20 * time.Second},
		{name: "third failure waits 40s", failures: 3, want: 40 * time.Second},
		{name: "seventh failure waits 640s capped at 10m", failures: 7, want: 10 * time.Minute},
		{name: "many failures stay capped", failures: 40, want: 10 * time.Minute},
		{name: "delay over", failures: 2, elapsed: 25 * time.Second, want: 0},
		{name: "delay exactly over", failures: 1, elapsed: 10 * time.Second, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, remainingBackoff(t0.Add(tc.elapsed), tc.failures, t0))
		})
	}
}

func TestBackoffRecordUpdate(t *testing.T) {
	failedAt := func(name string, s int) *corev1.Pod { return newPod(name, corev1.PodFailed, finishedAt(at(s))) }
	succeededAt := func(name string, s int) *corev1.Pod { return newPod(name, corev1.PodSucceeded, finishedAt(at(s))) }
	cases := []struct {
		name      string
		start     BackoffRecord
		succeeded []*corev1.Pod
		failed    []*corev1.Pod
		want      BackoffRecord
	}{
		{name: "nothing new keeps the record", start: BackoffRecord{2, at(5)}, want: BackoffRecord{2, at(5)}},
		{
			name:   "failures add up, latest finish time wins",
			start:  BackoffRecord{1, at(1)},
			failed: pods(failedAt("a", 9), failedAt("b", 7)),
			want:   BackoffRecord{3, at(9)},
		},
		{
			name:      "a success resets",
			start:     BackoffRecord{4, at(1)},
			succeeded: pods(succeededAt("s", 10)),
			want:      BackoffRecord{},
		},
		{
			name:      "only failures after the last success count",
			start:     BackoffRecord{4, at(1)},
			succeeded: pods(succeededAt("s", 10)),
			failed:    pods(failedAt("a", 5), failedAt("b", 12), failedAt("c", 15)),
			want:      BackoffRecord{2, at(15)},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.start.update(tc.succeeded, tc.failed))
		})
	}
}

func TestFinishTime(t *testing.T) {
	cases := []struct {
		name string
		pod  *corev1.Pod
		want time.Time
	}{
		{
			name: "latest container finish",
			pod: newPod("p", corev1.PodFailed, func(p *corev1.Pod) {
				p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("a", 1, at(3)), terminated("b", 0, at(7))}
			}),
			want: at(7),
		},
		{
			name: "a running container falls back to Ready=False",
			pod: newPod("p", corev1.PodFailed, func(p *corev1.Pod) {
				p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: "side"})
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(at(4))}}
			}),
			want: at(4),
		},
		{
			name: "deletion time minus grace period",
			pod: newPod("p", corev1.PodRunning, notReady(), deleting(at(40)), func(p *corev1.Pod) {
				p.DeletionGracePeriodSeconds = ptr.To[int64](30)
			}),
			want: at(10),
		},
		{name: "creation time as last resort", pod: newPod("p", corev1.PodPending, created(at(2))), want: at(2)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, finishTime(tc.pod))
		})
	}
}
