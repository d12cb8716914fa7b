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

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

func onExitCodes(action batchv1.PodFailurePolicyAction, op batchv1.PodFailurePolicyOnExitCodesOperator, values ...int32) batchv1.PodFailurePolicyRule {
	return batchv1.PodFailurePolicyRule{Action: action, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: op, Values: values}}
}

func onCondition(action batchv1.PodFailurePolicyAction, t corev1.PodConditionType) batchv1.PodFailurePolicyRule {
	return batchv1.PodFailurePolicyRule{Action: action, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: t, Status: corev1.ConditionTrue}}}
}

func TestMatchPodFailurePolicy(t *testing.T) {
	failJob42 := onExitCodes(batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyOnExitCodesOpIn, 42)
	ignoreDisruption := onCondition(batchv1.PodFailurePolicyActionIgnore, corev1.DisruptionTarget)
	cases := []struct {
		name    string
		rules   []batchv1.PodFailurePolicyRule
		pod     *corev1.Pod
		want    policyAction
		counted bool
		message string
	}{
		{name: "no rule matches: counted", rules: []batchv1.PodFailurePolicyRule{failJob42}, pod: newPod("p", corev1.PodFailed, exitCode(1, t0)), want: actionNone, counted: true},
		{
			name: "FailJob on exit code, upstream message", rules: []batchv1.PodFailurePolicyRule{failJob42},
			pod: newPod("p", corev1.PodFailed, exitCode(42, t0)), want: actionFailJob, counted: true,
			message: "Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 0",
		},
		{
			name: "NotIn matches other non-zero codes", rules: []batchv1.PodFailurePolicyRule{onExitCodes(batchv1.PodFailurePolicyActionCount, batchv1.PodFailurePolicyOnExitCodesOpNotIn, 42)},
			pod: newPod("p", corev1.PodFailed, exitCode(3, t0)), want: actionCount, counted: true,
		},
		{
			name: "exit code 0 never matches", rules: []batchv1.PodFailurePolicyRule{onExitCodes(batchv1.PodFailurePolicyActionIgnore, batchv1.PodFailurePolicyOnExitCodesOpNotIn, 1)},
			pod: newPod("p", corev1.PodFailed, exitCode(0, t0)), want: actionNone, counted: true,
		},
		{
			name: "Ignore on pod condition is not counted", rules: []batchv1.PodFailurePolicyRule{ignoreDisruption},
			pod: newPod("p", corev1.PodFailed, podCond(corev1.DisruptionTarget, corev1.ConditionTrue)), want: actionIgnore, counted: false,
		},
		{
			name:  "FailJob on pod condition, upstream message",
			rules: []batchv1.PodFailurePolicyRule{onCondition(batchv1.PodFailurePolicyActionFailJob, corev1.DisruptionTarget)},
			pod:   newPod("p", corev1.PodFailed, podCond(corev1.DisruptionTarget, corev1.ConditionTrue)), want: actionFailJob, counted: true,
			message: "Pod ns/p has condition DisruptionTarget matching FailJob rule at index 0",
		},
		{
			name: "first matching rule wins", rules: []batchv1.PodFailurePolicyRule{ignoreDisruption, failJob42},
			pod: newPod("p", corev1.PodFailed, exitCode(42, t0), podCond(corev1.DisruptionTarget, corev1.ConditionTrue)), want: actionIgnore, counted: false,
		},
		{
			name: "rule index in the message", rules: []batchv1.PodFailurePolicyRule{ignoreDisruption, failJob42},
			pod: newPod("p", corev1.PodFailed, exitCode(42, t0)), want: actionFailJob, counted: true,
			message: "Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 1",
		},
		{
			name: "regular containers before init containers", rules: []batchv1.PodFailurePolicyRule{onExitCodes(batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyOnExitCodesOpIn, 5, 6)},
			pod: newPod("p", corev1.PodFailed, func(p *corev1.Pod) {
				p.Status.InitContainerStatuses = []corev1.ContainerStatus{terminated("init", 5, t0)}
				p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("main", 6, t0)}
			}),
			want: actionFailJob, counted: true, message: "Container main for pod ns/p failed with exit code 6 matching FailJob rule at index 0",
		},
		{
			name: "init container exit code", rules: []batchv1.PodFailurePolicyRule{onExitCodes(batchv1.PodFailurePolicyActionFailIndex, batchv1.PodFailurePolicyOnExitCodesOpIn, 5)},
			pod: newPod("p", corev1.PodFailed, func(p *corev1.Pod) {
				p.Status.InitContainerStatuses = []corev1.ContainerStatus{terminated("init", 5, t0)}
				p.Status.ContainerStatuses = nil
			}),
			want: actionFailIndex, counted: true,
		},
		{
			name: "containerName restricts the match",
			rules: []batchv1.PodFailurePolicyRule{{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
				ContainerName: ptr.To("other"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1},
			}}},
			pod: newPod("p", corev1.PodFailed, exitCode(1, t0)), want: actionNone, counted: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := matchPodFailurePolicy(&batchv1.PodFailurePolicy{Rules: tc.rules}, tc.pod)
			assert.Equal(t, tc.want, m.action)
			assert.Equal(t, tc.counted, m.countFailed)
			assert.Equal(t, tc.message, m.failJobMessage)
		})
	}
}
