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
	"slices"

	corev1 "k8s.io/api/core/v1"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

// policyAction is the action of the pod failure policy rule a failed pod
// matched; actionNone when no rule matched (the failure is counted).
type policyAction string

const (
	actionNone      policyAction = ""
	actionFailJob                = policyAction(batchv1.PodFailurePolicyActionFailJob)
	actionFailIndex              = policyAction(batchv1.PodFailurePolicyActionFailIndex)
	actionIgnore                 = policyAction(batchv1.PodFailurePolicyActionIgnore)
	actionCount                  = policyAction(batchv1.PodFailurePolicyActionCount)
)

// policyMatch is the outcome of matching a failed pod against the policy.
type policyMatch struct {
	// action of the first matching rule, or actionNone.
	action policyAction
	// countFailed is false only for Ignore: the failure is neither counted
	// in status.failed nor held against backoffLimit.
	countFailed bool
	// failJobMessage is set for FailJob, with upstream's wording.
	failJobMessage string
}

// matchPodFailurePolicy evaluates the rules in order against a failed pod;
// the first matching rule wins. A rule matches on exit codes (terminated
// containers with a non-zero code, regular containers before init
// containers) or on pod conditions.
func matchPodFailurePolicy(policy *batchv1.PodFailurePolicy, p *corev1.Pod) policyMatch {
	if policy == nil {
		return policyMatch{countFailed: true}
	}
	for i, rule := range policy.Rules {
		var failJobMessage string
		switch {
		case rule.OnExitCodes != nil:
			cs := matchOnExitCodes(&p.Status, rule.OnExitCodes)
			if cs == nil {
				continue
			}
			failJobMessage = fmt.Sprintf("Container %s for pod %s/%s failed with exit code %v matching %v rule at index %d",
				cs.Name, p.Namespace, p.Name, cs.State.Terminated.ExitCode, rule.Action, i)
		case rule.OnPodConditions != nil:
			c := matchOnPodConditions(&p.Status, rule.OnPodConditions)
			if c == nil {
				continue
			}
			failJobMessage = fmt.Sprintf("Pod %s/%s has condition %v matching %v rule at index %d",
				p.Namespace, p.Name, c.Type, rule.Action, i)
		default:
			continue
		}
		switch rule.Action {
		case batchv1.PodFailurePolicyActionIgnore:
			return policyMatch{action: actionIgnore}
		case batchv1.PodFailurePolicyActionFailIndex:
			return policyMatch{action: actionFailIndex, countFailed: true}
		case batchv1.PodFailurePolicyActionCount:
			return policyMatch{action: actionCount, countFailed: true}
		case batchv1.PodFailurePolicyActionFailJob:
			return policyMatch{action: actionFailJob, countFailed: true, failJobMessage: failJobMessage}
		}
		// An unknown action (rejected by validation) matches nothing, as upstream.
	}
	return policyMatch{countFailed: true}
}

func matchOnExitCodes(status *corev1.PodStatus, req *batchv1.PodFailurePolicyOnExitCodesRequirement) *corev1.ContainerStatus {
	if cs := matchingContainer(status.ContainerStatuses, req); cs != nil {
		return cs
	}
	return matchingContainer(status.InitContainerStatuses, req)
}

func matchingContainer(statuses []corev1.ContainerStatus, req *batchv1.PodFailurePolicyOnExitCodesRequirement) *corev1.ContainerStatus {
	for i := range statuses {
		cs := &statuses[i]
		if cs.State.Terminated == nil || cs.State.Terminated.ExitCode == 0 {
			continue
		}
		if req.ContainerName != nil && *req.ContainerName != cs.Name {
			continue
		}
		code := cs.State.Terminated.ExitCode
		switch req.Operator {
		case batchv1.PodFailurePolicyOnExitCodesOpIn:
			if slices.Contains(req.Values, code) {
				return cs
			}
		case batchv1.PodFailurePolicyOnExitCodesOpNotIn:
			if !slices.Contains(req.Values, code) {
				return cs
			}
		}
	}
	return nil
}

func matchOnPodConditions(status *corev1.PodStatus, patterns []batchv1.PodFailurePolicyOnPodConditionsPattern) *corev1.PodCondition {
	for i := range status.Conditions {
		c := &status.Conditions[i]
		for _, pattern := range patterns {
			if c.Type == pattern.Type && c.Status == pattern.Status {
				return c
			}
		}
	}
	return nil
}

// failJobMessage returns the message of the first failed pod matching a
// FailJob rule, or "".
func failJobMessage(job *batchv1.Job, pods []*corev1.Pod) string {
	if job.Spec.PodFailurePolicy == nil {
		return ""
	}
	for _, p := range pods {
		if !isPodFailed(p, job) {
			continue
		}
		if m := matchPodFailurePolicy(job.Spec.PodFailurePolicy, p); m.action == actionFailJob {
			return m.failJobMessage
		}
	}
	return ""
}

// countedFailures is the number of pods whose failure the policy does not
// ignore.
func countedFailures(job *batchv1.Job, failed []*corev1.Pod) int32 {
	var n int32
	for _, p := range failed {
		if matchPodFailurePolicy(job.Spec.PodFailurePolicy, p).countFailed {
			n++
		}
	}
	return n
}
