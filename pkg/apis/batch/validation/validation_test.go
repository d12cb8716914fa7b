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

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
)

func TestValidateJobCreate(t *testing.T) {
	longName := strings.Repeat("a", 64)
	cases := map[string]struct {
		job  *batch.Job
		opts *JobValidationOptions // JobCreateValidationOptions when nil
		want []wantErr
	}{
		// Valid Jobs.
		"valid NonIndexed": {job: validJob()},
		"valid Indexed":    {job: validIndexedJob(5, 3)},
		"valid parallel without completions": {job: jobWith(func(j *batch.Job) {
			j.Spec.Completions = nil
			j.Spec.Parallelism = ptr.To[int32](5)
		})},
		"valid zero parallelism and completions": {job: jobWith(func(j *batch.Job) {
			j.Spec.Completions = ptr.To[int32](0)
			j.Spec.Parallelism = ptr.To[int32](0)
		})},
		"valid restartPolicy Never": {job: jobWith(func(j *batch.Job) {
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
		})},
		"valid activeDeadlineSeconds 0 (the doc says positive, upstream accepts 0)": {job: jobWith(func(j *batch.Job) {
			j.Spec.ActiveDeadlineSeconds = ptr.To[int64](0)
		})},
		"valid ttlSecondsAfterFinished 0 and backoffLimit 0": {job: jobWith(func(j *batch.Job) {
			j.Spec.TTLSecondsAfterFinished = ptr.To[int32](0)
			j.Spec.BackoffLimit = ptr.To[int32](0)
		})},
		"valid manual selector": {job: jobWith(func(j *batch.Job) {
			j.Spec.ManualSelector = ptr.To(true)
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}
			j.Spec.Template.Labels = map[string]string{"a": "b"}
		})},
		"valid manual selector without uid": {job: jobWith(func(j *batch.Job) {
			j.UID = ""
			j.Spec.ManualSelector = ptr.To(true)
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}
			j.Spec.Template.Labels = map[string]string{"a": "b"}
		})},
		"valid generated selector with extra user template labels": {job: jobWith(func(j *batch.Job) {
			j.Spec.Template.Labels["app"] = "quiz"
		})},
		"valid legacy labels only when prefixed labels are not required": {
			job: jobWith(func(j *batch.Job) {
				delete(j.Spec.Template.Labels, names.JobNameLabel)
				delete(j.Spec.Template.Labels, names.ControllerUIDLabel)
				j.Spec.Selector.MatchLabels = map[string]string{names.LegacyControllerUIDLabel: string(testUID)}
			}),
			opts: &JobValidationOptions{},
		},
		"valid podReplacementPolicy Failed": {job: jobWith(func(j *batch.Job) {
			j.Spec.PodReplacementPolicy = ptr.To(batch.Failed)
		})},
		"valid podReplacementPolicy unset": {job: jobWith(func(j *batch.Job) {
			j.Spec.PodReplacementPolicy = nil
		})},
		"valid backoffLimitPerIndex with OnFailure (Never is not enforced)": {job: indexedJobWith(4, 2, func(j *batch.Job) {
			j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
			j.Spec.MaxFailedIndexes = ptr.To[int32](4)
		})},
		"valid high completions with backoffLimitPerIndex within the limits": {job: indexedJobWith(100_001, 10_000, func(j *batch.Job) {
			j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
			j.Spec.MaxFailedIndexes = ptr.To[int32](10_000)
		})},
		"valid high completions and parallelism without backoffLimitPerIndex": {job: indexedJobWith(1_000_000, 100_000, func(j *batch.Job) {
			j.Name = "a"
			j.Spec.Template.Labels = generatedLabels("a", testUID)
		})},
		"valid managedBy of jobserver": {job: jobWith(func(j *batch.Job) {
			j.Spec.ManagedBy = ptr.To(names.JobControllerName)
		})},
		"valid custom managedBy": {job: jobWith(func(j *batch.Job) {
			j.Spec.ManagedBy = ptr.To("example.com/custom-controller")
		})},
		"valid suspended Job": {job: jobWith(func(j *batch.Job) {
			j.Spec.Suspend = ptr.To(true)
		})},
		"valid Indexed name at the hostname limit": {job: indexedJobWith(10, 1, func(j *batch.Job) {
			j.Name = strings.Repeat("a", 61)
			j.Spec.Template.Labels = generatedLabels(j.Name, testUID)
		})},

		// Metadata.
		"name not a DNS subdomain": {
			job: jobWith(func(j *batch.Job) {
				j.Name = "Bad_Name"
				j.Spec.Template.Labels = generatedLabels(j.Name, testUID)
			}),
			want: []wantErr{invalid("metadata.name", "a lowercase RFC 1123 subdomain")},
		},
		"missing name": {
			job: jobWith(func(j *batch.Job) {
				j.Name = ""
				j.Spec.Template.Labels = generatedLabels("", testUID)
			}),
			want: []wantErr{required("metadata.name")},
		},
		"missing namespace": {
			job:  jobWith(func(j *batch.Job) { j.Namespace = "" }),
			want: []wantErr{required("metadata.namespace")},
		},
		"invalid Job label": {
			job:  jobWith(func(j *batch.Job) { j.Labels = map[string]string{"a b": "c"} }),
			want: []wantErr{invalid("metadata.labels")},
		},
		"finalizer neither standard nor qualified": {
			job:  jobWith(func(j *batch.Job) { j.Finalizers = []string{"custom"} }),
			want: []wantErr{invalid("metadata.finalizers[0]", "neither a standard finalizer name nor is it fully qualified")},
		},
		// Upstream reports template label errors at spec.template.labels
		// (ValidatePodTemplateSpec), not at spec.template.metadata.labels.
		"name longer than 63 fails on the generated job-name labels": {
			job: jobWith(func(j *batch.Job) {
				j.Name = longName
				j.Spec.Template.Labels = generatedLabels(longName, testUID)
			}),
			want: []wantErr{
				invalid("spec.template.labels", "must be no more than 63 bytes"),
				invalid("spec.template.labels", "must be no more than 63 bytes"),
			},
		},
		"Indexed name too long for the highest index hostname": {
			job: indexedJobWith(100, 1, func(j *batch.Job) {
				j.Name = strings.Repeat("a", 61)
				j.Spec.Template.Labels = generatedLabels(j.Name, testUID)
			}),
			want: []wantErr{invalid("metadata.name", "will not able to create pod with invalid DNS label: "+strings.Repeat("a", 61)+"-99")},
		},

		// Generated selector.
		"missing uid": {
			job: jobWith(func(j *batch.Job) {
				j.UID = ""
				j.Spec.Template.Labels = generatedLabels(testName, "")
				j.Spec.Selector.MatchLabels[names.ControllerUIDLabel] = ""
			}),
			want: []wantErr{required("metadata.uid")},
		},
		"missing legacy controller-uid label": {
			job:  jobWith(func(j *batch.Job) { delete(j.Spec.Template.Labels, names.LegacyControllerUIDLabel) }),
			want: []wantErr{required("spec.template.metadata.labels[controller-uid]", "must be '1a2b3c'")},
		},
		"missing legacy job-name label": {
			job:  jobWith(func(j *batch.Job) { delete(j.Spec.Template.Labels, names.LegacyJobNameLabel) }),
			want: []wantErr{required("spec.template.metadata.labels[job-name]", "must be 'myjob'")},
		},
		"missing prefixed job-name label": {
			job:  jobWith(func(j *batch.Job) { delete(j.Spec.Template.Labels, names.JobNameLabel) }),
			want: []wantErr{required("spec.template.metadata.labels[batch.kubernetes.io/job-name]", "must be 'myjob'")},
		},
		"missing prefixed controller-uid label": {
			job: jobWith(func(j *batch.Job) {
				delete(j.Spec.Template.Labels, names.ControllerUIDLabel)
				j.Spec.Selector.MatchLabels = map[string]string{names.LegacyControllerUIDLabel: string(testUID)}
			}),
			want: []wantErr{required("spec.template.metadata.labels[batch.kubernetes.io/controller-uid]", "must be '1a2b3c'")},
		},
		"user label conflicting with the generated controller-uid": {
			job: jobWith(func(j *batch.Job) {
				j.Spec.Template.Labels[names.ControllerUIDLabel] = "4d5e6f"
			}),
			want: []wantErr{
				invalid("spec.template.metadata.labels[batch.kubernetes.io/controller-uid]", "must be '1a2b3c'"),
				invalid("spec.template.metadata.labels", "`selector` does not match template `labels`"),
			},
		},
		"user label conflicting with the generated job-name": {
			job:  jobWith(func(j *batch.Job) { j.Spec.Template.Labels[names.LegacyJobNameLabel] = "other" }),
			want: []wantErr{invalid("spec.template.metadata.labels[job-name]", "must be 'myjob'")},
		},
		"selector not auto-generated": {
			job: jobWith(func(j *batch.Job) {
				j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}
				j.Spec.Template.Labels["a"] = "b"
			}),
			want: []wantErr{invalid("spec.selector", "`selector` not auto-generated")},
		},

		// Selector.
		"selector required": {
			job: jobWith(func(j *batch.Job) {
				j.Spec.ManualSelector = ptr.To(true)
				j.Spec.Selector = nil
			}),
			want: []wantErr{
				required("spec.selector"),
				invalid("spec.template.metadata.labels", "`selector` does not match template `labels`"),
			},
		},
		"manual selector not matching the template labels": {
			job: jobWith(func(j *batch.Job) {
				j.Spec.ManualSelector = ptr.To(true)
				j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}
				j.Spec.Template.Labels = map[string]string{"y": "z"}
			}),
			want: []wantErr{invalid("spec.template.metadata.labels", "`selector` does not match template `labels`")},
		},
		"invalid selector": {
			job: jobWith(func(j *batch.Job) {
				j.Spec.ManualSelector = ptr.To(true)
				j.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bad"}}}
			}),
			want: []wantErr{
				invalid("spec.selector.matchExpressions[0].operator"),
			},
		},

		// Counts and durations.
		"negative parallelism": {
			job:  jobWith(func(j *batch.Job) { j.Spec.Parallelism = ptr.To[int32](-1) }),
			want: []wantErr{invalid("spec.parallelism", "must be greater than or equal to 0")},
		},
		"negative completions": {
			job:  jobWith(func(j *batch.Job) { j.Spec.Completions = ptr.To[int32](-1) }),
			want: []wantErr{invalid("spec.completions", "must be greater than or equal to 0")},
		},
		"negative activeDeadlineSeconds": {
			job:  jobWith(func(j *batch.Job) { j.Spec.ActiveDeadlineSeconds = ptr.To[int64](-1) }),
			want: []wantErr{invalid("spec.activeDeadlineSeconds", "must be greater than or equal to 0")},
		},
		"negative backoffLimit": {
			job:  jobWith(func(j *batch.Job) { j.Spec.BackoffLimit = ptr.To[int32](-1) }),
			want: []wantErr{invalid("spec.backoffLimit", "must be greater than or equal to 0")},
		},
		"negative ttlSecondsAfterFinished": {
			job:  jobWith(func(j *batch.Job) { j.Spec.TTLSecondsAfterFinished = ptr.To[int32](-1) }),
			want: []wantErr{invalid("spec.ttlSecondsAfterFinished", "must be greater than or equal to 0")},
		},

		// Completion mode.
		"unknown completionMode": {
			job:  jobWith(func(j *batch.Job) { j.Spec.CompletionMode = ptr.To(batch.CompletionMode("Foo")) }),
			want: []wantErr{notSupported("spec.completionMode", `supported values: "NonIndexed", "Indexed"`)},
		},
		"Indexed without completions": {
			job:  indexedJobWith(5, 3, func(j *batch.Job) { j.Spec.Completions = nil }),
			want: []wantErr{required("spec.completions", "when completion mode is Indexed")},
		},
		"Indexed with parallelism above 100000": {
			job:  validIndexedJob(200_000, 100_001),
			want: []wantErr{invalid("spec.parallelism", "must be less than or equal to 100000 when completion mode is Indexed")},
		},

		// backoffLimitPerIndex and maxFailedIndexes.
		"backoffLimitPerIndex on a NonIndexed Job": {
			job:  jobWith(func(j *batch.Job) { j.Spec.BackoffLimitPerIndex = ptr.To[int32](1) }),
			want: []wantErr{invalid("spec.backoffLimitPerIndex", "requires indexed completion mode")},
		},
		"negative backoffLimitPerIndex": {
			job:  indexedJobWith(5, 3, func(j *batch.Job) { j.Spec.BackoffLimitPerIndex = ptr.To[int32](-1) }),
			want: []wantErr{invalid("spec.backoffLimitPerIndex", "must be greater than or equal to 0")},
		},
		"maxFailedIndexes on a NonIndexed Job": {
			job: jobWith(func(j *batch.Job) { j.Spec.MaxFailedIndexes = ptr.To[int32](1) }),
			want: []wantErr{
				required("spec.backoffLimitPerIndex", "when maxFailedIndexes is specified"),
				invalid("spec.maxFailedIndexes", "requires indexed completion mode"),
			},
		},
		"maxFailedIndexes without backoffLimitPerIndex": {
			job:  indexedJobWith(5, 3, func(j *batch.Job) { j.Spec.MaxFailedIndexes = ptr.To[int32](1) }),
			want: []wantErr{required("spec.backoffLimitPerIndex", "when maxFailedIndexes is specified")},
		},
		"negative maxFailedIndexes": {
			job: indexedJobWith(5, 3, func(j *batch.Job) {
				j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
				j.Spec.MaxFailedIndexes = ptr.To[int32](-1)
			}),
			want: []wantErr{invalid("spec.maxFailedIndexes", "must be greater than or equal to 0")},
		},
		"maxFailedIndexes above completions": {
			job: indexedJobWith(10, 3, func(j *batch.Job) {
				j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
				j.Spec.MaxFailedIndexes = ptr.To[int32](11)
			}),
			want: []wantErr{invalid("spec.maxFailedIndexes", "must be less than or equal to completions")},
		},
		"maxFailedIndexes above 100000": {
			job: indexedJobWith(100_000, 3, func(j *batch.Job) {
				j.Name = "a"
				j.Spec.Template.Labels = generatedLabels("a", testUID)
				j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
				j.Spec.MaxFailedIndexes = ptr.To[int32](100_001)
			}),
			want: []wantErr{
				invalid("spec.maxFailedIndexes", "must be less than or equal to completions"),
				invalid("spec.maxFailedIndexes", "must be less than or equal to 100000"),
			},
		},
		"high completions with backoffLimitPerIndex need maxFailedIndexes": {
			job: indexedJobWith(100_001, 3, func(j *batch.Job) {
				j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
			}),
			want: []wantErr{required("spec.maxFailedIndexes", "must be specified when completions is above 100000")},
		},
		"high completions with backoffLimitPerIndex cap parallelism": {
			job: indexedJobWith(100_001, 50_000, func(j *batch.Job) {
				j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
				j.Spec.MaxFailedIndexes = ptr.To[int32](1)
			}),
			want: []wantErr{invalid("spec.parallelism", "must be less than or equal to 10000 when completions are above 100000 and used with backoff limit per index")},
		},
		"high completions with backoffLimitPerIndex cap maxFailedIndexes": {
			job: indexedJobWith(100_001, 3, func(j *batch.Job) {
				j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
				j.Spec.MaxFailedIndexes = ptr.To[int32](50_000)
			}),
			want: []wantErr{invalid("spec.maxFailedIndexes", "must be less than or equal to 10000 when completions are above 100000 and used with backoff limit per index")},
		},

		// managedBy.
		"managedBy not a domain-prefixed path": {
			job:  jobWith(func(j *batch.Job) { j.Spec.ManagedBy = ptr.To("invalid custom controller name") }),
			want: []wantErr{invalid("spec.managedBy", "must be a domain-prefixed path")},
		},
		"managedBy too long": {
			job:  jobWith(func(j *batch.Job) { j.Spec.ManagedBy = ptr.To("example.com/" + strings.Repeat("x", 60)) }),
			want: []wantErr{tooLong("spec.managedBy")},
		},

		// podReplacementPolicy.
		"empty podReplacementPolicy": {
			job:  jobWith(func(j *batch.Job) { j.Spec.PodReplacementPolicy = ptr.To(batch.PodReplacementPolicy("")) }),
			want: []wantErr{notSupported("spec.podReplacementPolicy", `supported values: "Failed", "TerminatingOrFailed"`)},
		},
		"TerminatingOrFailed with a podFailurePolicy": {
			job: jobWith(func(j *batch.Job) {
				j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
				j.Spec.PodFailurePolicy = &batch.PodFailurePolicy{Rules: []batch.PodFailurePolicyRule{ignoreDisruptionRule()}}
			}),
			want: []wantErr{notSupported("spec.podReplacementPolicy", `supported values: "Failed"`)},
		},

		// restartPolicy.
		"restartPolicy Always": {
			job:  jobWith(func(j *batch.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways }),
			want: []wantErr{required("spec.template.spec.restartPolicy", `valid values: "OnFailure", "Never"`)},
		},
		"restartPolicy empty": {
			job:  jobWith(func(j *batch.Job) { j.Spec.Template.Spec.RestartPolicy = "" }),
			want: []wantErr{required("spec.template.spec.restartPolicy", `valid values: "OnFailure", "Never"`)},
		},
		"restartPolicy unknown": {
			job:  jobWith(func(j *batch.Job) { j.Spec.Template.Spec.RestartPolicy = "Sometimes" }),
			want: []wantErr{notSupported("spec.template.spec.restartPolicy", `supported values: "OnFailure", "Never"`)},
		},
		"restartPolicy OnFailure with a podFailurePolicy": {
			job: jobWith(func(j *batch.Job) {
				j.Spec.PodReplacementPolicy = ptr.To(batch.Failed)
				j.Spec.PodFailurePolicy = &batch.PodFailurePolicy{Rules: []batch.PodFailurePolicyRule{ignoreDisruptionRule()}}
			}),
			want: []wantErr{invalid("spec.template.spec.restartPolicy", `only "Never" is supported when podFailurePolicy is specified`)},
		},

		// Every problem at once.
		"all errors are reported together": {
			job: jobWith(func(j *batch.Job) {
				j.Spec.Parallelism = ptr.To[int32](-1)
				j.Spec.BackoffLimit = ptr.To[int32](-1)
				j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
				j.Spec.Template.Spec.Containers[0].Image = ""
			}),
			want: []wantErr{
				invalid("spec.parallelism"),
				invalid("spec.backoffLimit"),
				required("spec.template.spec.restartPolicy"),
				required("spec.template.spec.containers[0].image"),
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			opts := JobCreateValidationOptions(tc.job)
			if tc.opts != nil {
				opts = *tc.opts
			}
			assertErrors(t, ValidateJobCreate(tc.job, opts), tc.want...)
		})
	}
}

// TestIndexedSuccessPolicyWithoutCompletions: upstream 1.37.2 panics here
// (nil dereference of spec.completions); jobserver reports the missing field.
func TestIndexedSuccessPolicyWithoutCompletions(t *testing.T) {
	cases := map[string]*batch.SuccessPolicy{
		"succeededIndexes": {Rules: []batch.SuccessPolicyRule{{SucceededIndexes: ptr.To("0-2")}}},
		"succeededCount":   {Rules: []batch.SuccessPolicyRule{{SucceededCount: ptr.To[int32](1)}}},
		"both":             {Rules: []batch.SuccessPolicyRule{{SucceededIndexes: ptr.To("0,2"), SucceededCount: ptr.To[int32](1)}}},
	}
	for name, policy := range cases {
		t.Run(name, func(t *testing.T) {
			job := indexedJobWith(3, 3, func(j *batch.Job) {
				j.Spec.Completions = nil
				j.Spec.SuccessPolicy = policy
			})
			var errs field.ErrorList
			assert.NotPanics(t, func() { errs = ValidateJobCreate(job, JobCreateValidationOptions(job)) })
			assertErrors(t, errs, required("spec.completions"))
			assert.Equal(t, "spec.completions: Required value: when completion mode is Indexed", errs[0].Error())
		})
	}
}

func TestValidateJobNilJob(t *testing.T) {
	assert.NotPanics(t, func() {
		assert.NotEmpty(t, ValidateJobCreate(nil, JobValidationOptions{}))
		assert.NotEmpty(t, ValidateJobUpdate(nil, validJob(), JobValidationOptions{}))
		assert.NotEmpty(t, ValidateJobUpdate(validJob(), nil, JobValidationOptions{}))
		assert.NotEmpty(t, ValidateJobUpdateStatus(nil, nil, JobStatusValidationOptions{}))
		assert.Nil(t, WarningsForJob(nil, nil))
	})
}
