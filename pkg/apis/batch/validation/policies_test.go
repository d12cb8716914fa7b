/*
Copyright 2026 The jobserver Authors.

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

package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
)

func ignoreDisruptionRule() batch.PodFailurePolicyRule {
	return batch.PodFailurePolicyRule{
		Action:          batch.PodFailurePolicyActionIgnore,
		OnPodConditions: []batch.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}},
	}
}

func exitCodesRule(action batch.PodFailurePolicyAction, op batch.PodFailurePolicyOnExitCodesOperator, values ...int32) batch.PodFailurePolicyRule {
	return batch.PodFailurePolicyRule{
		Action:      action,
		OnExitCodes: &batch.PodFailurePolicyOnExitCodesRequirement{Operator: op, Values: values},
	}
}

// jobWithPodFailurePolicy is a valid Job (restartPolicy Never, replacement
// Failed) with the given rules.
func jobWithPodFailurePolicy(rules ...batch.PodFailurePolicyRule) *batch.Job {
	return jobWith(func(j *batch.Job) {
		j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
		j.Spec.PodReplacementPolicy = ptr.To(batch.Failed)
		j.Spec.PodFailurePolicy = &batch.PodFailurePolicy{Rules: rules}
	})
}

func TestValidatePodFailurePolicy(t *testing.T) {
	const rule0 = "spec.podFailurePolicy.rules[0]"
	manyRules := make([]batch.PodFailurePolicyRule, 21)
	for i := range manyRules {
		manyRules[i] = ignoreDisruptionRule()
	}
	manyValues := make([]int32, 256)
	for i := range manyValues {
		manyValues[i] = int32(i + 1)
	}
	manyPatterns := make([]batch.PodFailurePolicyOnPodConditionsPattern, 21)
	for i := range manyPatterns {
		manyPatterns[i] = batch.PodFailurePolicyOnPodConditionsPattern{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}
	}
	cases := map[string]struct {
		job  *batch.Job
		want []wantErr
	}{
		"valid rules of every kind": {job: jobWithPodFailurePolicy(
			batch.PodFailurePolicyRule{
				Action: batch.PodFailurePolicyActionFailJob,
				OnExitCodes: &batch.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr.To("main"),
					Operator:      batch.PodFailurePolicyOnExitCodesOpIn,
					Values:        []int32{1, 2, 3},
				},
			},
			ignoreDisruptionRule(),
			exitCodesRule(batch.PodFailurePolicyActionCount, batch.PodFailurePolicyOnExitCodesOpNotIn, 0, 5, 6),
			batch.PodFailurePolicyRule{
				Action:          batch.PodFailurePolicyActionFailJob,
				OnPodConditions: []batch.PodFailurePolicyOnPodConditionsPattern{{Type: "example.com/MemoryLimitExceeded", Status: corev1.ConditionFalse}},
			},
			batch.PodFailurePolicyRule{
				Action:          batch.PodFailurePolicyActionIgnore,
				OnPodConditions: []batch.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionUnknown}},
			},
		)},
		"valid negative exit codes (Windows)": {job: jobWithPodFailurePolicy(
			exitCodesRule(batch.PodFailurePolicyActionFailJob, batch.PodFailurePolicyOnExitCodesOpIn, -10, 1),
		)},
		"valid containerName of an init container": {job: func() *batch.Job {
			j := jobWithPodFailurePolicy(batch.PodFailurePolicyRule{
				Action:      batch.PodFailurePolicyActionFailJob,
				OnExitCodes: &batch.PodFailurePolicyOnExitCodesRequirement{ContainerName: ptr.To("setup"), Operator: batch.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1}},
			})
			j.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "busybox"}}
			return j
		}()},
		"valid FailIndex with backoffLimitPerIndex": {job: func() *batch.Job {
			j := jobWithPodFailurePolicy(exitCodesRule(batch.PodFailurePolicyActionFailIndex, batch.PodFailurePolicyOnExitCodesOpIn, 42))
			j.Spec.CompletionMode = ptr.To(batch.IndexedCompletion)
			j.Spec.Completions = ptr.To[int32](5)
			j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
			return j
		}()},
		"valid 20 rules":        {job: jobWithPodFailurePolicy(manyRules[:20]...)},
		"valid empty rule list": {job: jobWithPodFailurePolicy()},

		"more than 20 rules": {
			job:  jobWithPodFailurePolicy(manyRules...),
			want: []wantErr{tooMany("spec.podFailurePolicy.rules")},
		},
		"missing action": {
			job:  jobWithPodFailurePolicy(exitCodesRule("", batch.PodFailurePolicyOnExitCodesOpIn, 1)),
			want: []wantErr{required(rule0+".action", `valid values: ["Count" "FailIndex" "FailJob" "Ignore"]`)},
		},
		"unknown action": {
			job:  jobWithPodFailurePolicy(exitCodesRule("UnknownAction", batch.PodFailurePolicyOnExitCodesOpIn, 1)),
			want: []wantErr{notSupported(rule0+".action", `supported values: "Count", "FailIndex", "FailJob", "Ignore"`)},
		},
		"FailIndex without backoffLimitPerIndex": {
			job:  jobWithPodFailurePolicy(exitCodesRule(batch.PodFailurePolicyActionFailIndex, batch.PodFailurePolicyOnExitCodesOpIn, 1)),
			want: []wantErr{invalid(rule0+".action", "requires the backoffLimitPerIndex to be set")},
		},
		"neither onExitCodes nor onPodConditions": {
			job:  jobWithPodFailurePolicy(batch.PodFailurePolicyRule{Action: batch.PodFailurePolicyActionFailJob}),
			want: []wantErr{invalid(rule0, "specifying one of OnExitCodes and OnPodConditions is required")},
		},
		"both onExitCodes and onPodConditions": {
			job: jobWithPodFailurePolicy(batch.PodFailurePolicyRule{
				Action:          batch.PodFailurePolicyActionFailJob,
				OnExitCodes:     &batch.PodFailurePolicyOnExitCodesRequirement{Operator: batch.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1}},
				OnPodConditions: []batch.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}},
			}),
			want: []wantErr{invalid(rule0, "specifying both OnExitCodes and OnPodConditions is not supported")},
		},
		"missing operator": {
			job:  jobWithPodFailurePolicy(exitCodesRule(batch.PodFailurePolicyActionFailJob, "", 1)),
			want: []wantErr{required(rule0+".onExitCodes.operator", `valid values: ["In" "NotIn"]`)},
		},
		"unknown operator": {
			job:  jobWithPodFailurePolicy(exitCodesRule(batch.PodFailurePolicyActionFailJob, "UnknownOperator", 1)),
			want: []wantErr{notSupported(rule0+".onExitCodes.operator", `supported values: "In", "NotIn"`)},
		},
		"unknown containerName": {
			job: jobWithPodFailurePolicy(batch.PodFailurePolicyRule{
				Action:      batch.PodFailurePolicyActionFailJob,
				OnExitCodes: &batch.PodFailurePolicyOnExitCodesRequirement{ContainerName: ptr.To("xyz"), Operator: batch.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1}},
			}),
			want: []wantErr{invalid(rule0+".onExitCodes.containerName", "must be one of the container or initContainer names in the pod template")},
		},
		"no exit code values": {
			job:  jobWithPodFailurePolicy(exitCodesRule(batch.PodFailurePolicyActionFailJob, batch.PodFailurePolicyOnExitCodesOpIn)),
			want: []wantErr{invalid(rule0+".onExitCodes.values", "at least one value is required")},
		},
		"more than 255 exit code values": {
			job:  jobWithPodFailurePolicy(exitCodesRule(batch.PodFailurePolicyActionFailJob, batch.PodFailurePolicyOnExitCodesOpIn, manyValues...)),
			want: []wantErr{tooMany(rule0 + ".onExitCodes.values")},
		},
		"duplicate exit code values": {
			job:  jobWithPodFailurePolicy(exitCodesRule(batch.PodFailurePolicyActionFailJob, batch.PodFailurePolicyOnExitCodesOpIn, 11, 11, 13)),
			want: []wantErr{duplicate(rule0 + ".onExitCodes.values[1]")},
		},
		"unordered exit code values": {
			job:  jobWithPodFailurePolicy(exitCodesRule(batch.PodFailurePolicyActionFailJob, batch.PodFailurePolicyOnExitCodesOpIn, 19, 11)),
			want: []wantErr{invalid(rule0+".onExitCodes.values", "must be ordered")},
		},
		"exit code 0 with In": {
			job:  jobWithPodFailurePolicy(exitCodesRule(batch.PodFailurePolicyActionFailJob, batch.PodFailurePolicyOnExitCodesOpIn, 0, 1)),
			want: []wantErr{invalid(rule0+".onExitCodes.values[0]", "must not be 0 for the In operator")},
		},
		"more than 20 pod condition patterns": {
			job: jobWithPodFailurePolicy(batch.PodFailurePolicyRule{
				Action:          batch.PodFailurePolicyActionIgnore,
				OnPodConditions: manyPatterns,
			}),
			want: []wantErr{tooMany(rule0 + ".onPodConditions")},
		},
		"empty pod condition type": {
			job: jobWithPodFailurePolicy(batch.PodFailurePolicyRule{
				Action:          batch.PodFailurePolicyActionIgnore,
				OnPodConditions: []batch.PodFailurePolicyOnPodConditionsPattern{{Status: corev1.ConditionTrue}},
			}),
			want: []wantErr{
				invalid(rule0+".onPodConditions[0].type", "name part must be non-empty"),
				invalid(rule0+".onPodConditions[0].type", "name part must consist of alphanumeric characters"),
			},
		},
		"pod condition type not a qualified name": {
			job: jobWithPodFailurePolicy(batch.PodFailurePolicyRule{
				Action:          batch.PodFailurePolicyActionIgnore,
				OnPodConditions: []batch.PodFailurePolicyOnPodConditionsPattern{{Type: "Invalid Condition Type", Status: corev1.ConditionTrue}},
			}),
			want: []wantErr{invalid(rule0+".onPodConditions[0].type", "name part must consist of alphanumeric characters")},
		},
		"missing pod condition status": {
			job: jobWithPodFailurePolicy(batch.PodFailurePolicyRule{
				Action:          batch.PodFailurePolicyActionIgnore,
				OnPodConditions: []batch.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget}},
			}),
			want: []wantErr{required(rule0+".onPodConditions[0].status", `valid values: ["False" "True" "Unknown"]`)},
		},
		"unknown pod condition status": {
			job: jobWithPodFailurePolicy(batch.PodFailurePolicyRule{
				Action:          batch.PodFailurePolicyActionIgnore,
				OnPodConditions: []batch.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: "UnknownStatus"}},
			}),
			want: []wantErr{notSupported(rule0+".onPodConditions[0].status", `supported values: "False", "True", "Unknown"`)},
		},
		"errors of several rules": {
			job: jobWithPodFailurePolicy(
				ignoreDisruptionRule(),
				exitCodesRule(batch.PodFailurePolicyActionFailJob, batch.PodFailurePolicyOnExitCodesOpIn, 0),
				batch.PodFailurePolicyRule{Action: batch.PodFailurePolicyActionCount},
			),
			want: []wantErr{
				invalid("spec.podFailurePolicy.rules[1].onExitCodes.values[0]"),
				invalid("spec.podFailurePolicy.rules[2]"),
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			assertErrors(t, ValidateJobCreate(tc.job, JobCreateValidationOptions(tc.job)), tc.want...)
		})
	}
}

// jobWithSuccessPolicy is a valid Indexed Job (completions=parallelism=5)
// with the given rules.
func jobWithSuccessPolicy(rules ...batch.SuccessPolicyRule) *batch.Job {
	return indexedJobWith(5, 5, func(j *batch.Job) {
		j.Spec.SuccessPolicy = &batch.SuccessPolicy{Rules: rules}
	})
}

func TestValidateSuccessPolicy(t *testing.T) {
	const rule0 = "spec.successPolicy.rules[0]"
	manyRules := make([]batch.SuccessPolicyRule, 21)
	for i := range manyRules {
		manyRules[i] = batch.SuccessPolicyRule{SucceededCount: ptr.To[int32](1)}
	}
	cases := map[string]struct {
		job  *batch.Job
		want []wantErr
	}{
		"valid succeededIndexes":   {job: jobWithSuccessPolicy(batch.SuccessPolicyRule{SucceededIndexes: ptr.To("0-2,4")})},
		"valid succeededCount":     {job: jobWithSuccessPolicy(batch.SuccessPolicyRule{SucceededCount: ptr.To[int32](3)})},
		"valid succeededCount = 0": {job: jobWithSuccessPolicy(batch.SuccessPolicyRule{SucceededCount: ptr.To[int32](0)})},
		"valid count of the listed indexes": {job: jobWithSuccessPolicy(batch.SuccessPolicyRule{
			SucceededIndexes: ptr.To("0,2-3"),
			SucceededCount:   ptr.To[int32](3),
		})},
		"valid 20 rules": {job: jobWithSuccessPolicy(manyRules[:20]...)},

		"on a NonIndexed Job": {
			job: jobWith(func(j *batch.Job) {
				j.Spec.SuccessPolicy = &batch.SuccessPolicy{Rules: []batch.SuccessPolicyRule{{SucceededCount: ptr.To[int32](1)}}}
			}),
			want: []wantErr{invalid("spec.successPolicy", "requires indexed completion mode")},
		},
		"no rules": {
			job:  jobWithSuccessPolicy(),
			want: []wantErr{required("spec.successPolicy.rules", "at least one rules must be specified when the successPolicy is specified")},
		},
		"more than 20 rules": {
			job:  jobWithSuccessPolicy(manyRules...),
			want: []wantErr{tooMany("spec.successPolicy.rules")},
		},
		"rule without indexes or count": {
			job:  jobWithSuccessPolicy(batch.SuccessPolicyRule{}),
			want: []wantErr{required(rule0, "at least one of succeededCount or succeededIndexes must be specified")},
		},
		"succeededIndexes not parsable": {
			job:  jobWithSuccessPolicy(batch.SuccessPolicyRule{SucceededIndexes: ptr.To("invalid-format")}),
			want: []wantErr{invalid(rule0+".succeededIndexes", `error parsing succeededIndexes: cannot convert string to integer for index: "invalid"`)},
		},
		"succeededIndexes beyond completions": {
			job:  jobWithSuccessPolicy(batch.SuccessPolicyRule{SucceededIndexes: ptr.To("0-5")}),
			want: []wantErr{invalid(rule0+".succeededIndexes", `too large index: "5"`)},
		},
		"succeededIndexes not increasing": {
			job:  jobWithSuccessPolicy(batch.SuccessPolicyRule{SucceededIndexes: ptr.To("3,1")}),
			want: []wantErr{invalid(rule0+".succeededIndexes", "non-increasing order, previous: 3, current: 1")},
		},
		"succeededIndexes longer than 64KiB": {
			// All zeros parse as index 0: only the length is wrong.
			job:  jobWithSuccessPolicy(batch.SuccessPolicyRule{SucceededIndexes: ptr.To(strings.Repeat("0", 64*1024+1))}),
			want: []wantErr{tooLong(rule0 + ".succeededIndexes")},
		},
		"negative succeededCount": {
			job:  jobWithSuccessPolicy(batch.SuccessPolicyRule{SucceededCount: ptr.To[int32](-1)}),
			want: []wantErr{invalid(rule0+".succeededCount", "must be greater than or equal to 0")},
		},
		"succeededCount above completions": {
			job:  jobWithSuccessPolicy(batch.SuccessPolicyRule{SucceededCount: ptr.To[int32](6)}),
			want: []wantErr{invalid(rule0+".succeededCount", "must be less than or equal to 5 (the number of specified completions)")},
		},
		"succeededCount above the listed indexes": {
			job: jobWithSuccessPolicy(batch.SuccessPolicyRule{
				SucceededIndexes: ptr.To("0-2"),
				SucceededCount:   ptr.To[int32](4),
			}),
			want: []wantErr{invalid(rule0+".succeededCount", "must be less than or equal to 3 (the number of indexes in the specified succeededIndexes field)")},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			assertErrors(t, ValidateJobCreate(tc.job, JobCreateValidationOptions(tc.job)), tc.want...)
		})
	}
}
