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
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
)

var startTime = metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))

// runningJob is a started, unsuspended Job with one active Pod.
func runningJob() *batch.Job {
	job := validJob()
	job.Status.StartTime = &startTime
	job.Status.Active = 1
	return job
}

// suspendedNotStartedJob was created suspended: the suspended-template rule
// holds (docs/job-semantics.md#template-updates-of-a-suspended-job).
func suspendedNotStartedJob() *batch.Job {
	job := validJob()
	job.Spec.Suspend = ptr.To(true)
	return job
}

// suspendedAfterStartJob ran, was suspended and the controller confirmed it
// with Suspended=True: the suspended-template rule holds.
func suspendedAfterStartJob() *batch.Job {
	job := suspendedNotStartedJob()
	job.Status.StartTime = &startTime
	job.Status.Conditions = []batch.JobCondition{{Type: batch.JobSuspended, Status: corev1.ConditionTrue}}
	return job
}

// suspendingJob was just suspended: the controller has not yet removed its
// Pods nor set Suspended=True, so the suspended-template rule does not hold.
func suspendingJob() *batch.Job {
	job := runningJob()
	job.Spec.Suspend = ptr.To(true)
	return job
}

func netSysctlWithHostNetwork(spec *corev1.PodSpec) {
	spec.HostNetwork = true
	spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.core.somaxconn", Value: "1024"}}}
}

func withResources(cpu string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)},
	}
}

func nodeAffinity(zone string) *corev1.NodeAffinity {
	return &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: "topology.kubernetes.io/zone", Operator: corev1.NodeSelectorOpIn, Values: []string{zone},
				}},
			}},
		},
	}
}

func TestValidateJobUpdate(t *testing.T) {
	const immutable = "field is immutable"
	withInit := func(j *batch.Job) {
		j.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "busybox"}}
	}
	cases := map[string]struct {
		old    *batch.Job
		update func(*batch.Job)
		opts   *JobValidationOptions // JobUpdateValidationOptions when nil
		want   []wantErr
	}{
		"no change": {old: runningJob(), update: func(*batch.Job) {}},
		"mutable fields": {old: runningJob(), update: func(j *batch.Job) {
			j.Spec.Parallelism = ptr.To[int32](3)
			j.Spec.BackoffLimit = ptr.To[int32](1)
			j.Spec.ActiveDeadlineSeconds = ptr.To[int64](10)
			j.Spec.TTLSecondsAfterFinished = ptr.To[int32](100)
			j.Spec.Suspend = ptr.To(true)
			j.Labels = map[string]string{"new": "label"}
			j.Annotations = map[string]string{"new": "annotation"}
		}},
		"podReplacementPolicy is mutable": {old: runningJob(), update: func(j *batch.Job) {
			j.Spec.PodReplacementPolicy = ptr.To(batch.Failed)
		}},
		"maxFailedIndexes is mutable": {
			old: indexedJobWith(5, 5, func(j *batch.Job) {
				j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
				j.Spec.MaxFailedIndexes = ptr.To[int32](1)
			}),
			update: func(j *batch.Job) { j.Spec.MaxFailedIndexes = ptr.To[int32](3) },
		},
		"the new spec is validated": {
			old:    runningJob(),
			update: func(j *batch.Job) { j.Spec.Parallelism = ptr.To[int32](-1) },
			want:   []wantErr{invalid("spec.parallelism", "must be greater than or equal to 0")},
		},
		// A pod spec stored under older, laxer rules (here: a net sysctl
		// with hostNetwork, refused since) does not block updates that leave
		// it as it is, such as the garbage collector removing a finalizer.
		"a stored pod spec that newer rules refuse, unchanged": {
			old: jobWith(func(j *batch.Job) {
				j.Status.StartTime, j.Status.Active = &startTime, 1
				netSysctlWithHostNetwork(&j.Spec.Template.Spec)
			}),
			update: func(j *batch.Job) {
				j.Finalizers = []string{metav1.FinalizerDeleteDependents}
				j.Labels = map[string]string{"new": "label"}
				j.Spec.Suspend = ptr.To(true)
			},
		},
		"a stored pod spec that newer rules refuse, changed where allowed": {
			old: jobWith(func(j *batch.Job) {
				j.Spec.Suspend = ptr.To(true)
				netSysctlWithHostNetwork(&j.Spec.Template.Spec)
			}),
			update: func(j *batch.Job) { j.Spec.Template.Spec.Containers[0].Resources = withResources("2") },
		},
		"a stored pod spec that newer rules refuse, changed with a new error": {
			old: jobWith(func(j *batch.Job) {
				j.Spec.Suspend = ptr.To(true)
				netSysctlWithHostNetwork(&j.Spec.Template.Spec)
			}),
			update: func(j *batch.Job) {
				j.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "bad key", Operator: corev1.TolerationOpExists}}
			},
			want: []wantErr{invalid("spec.template.spec.tolerations[0].key")},
		},
		"a stored problem in a part the update changes is reported again": {
			old: jobWith(func(j *batch.Job) {
				j.Spec.Suspend = ptr.To(true)
				j.Spec.Template.Spec.NodeSelector = map[string]string{"pool": "bad value"}
			}),
			update: func(j *batch.Job) { j.Spec.Template.Spec.NodeSelector["zone"] = "bad value" },
			want:   []wantErr{invalid("spec.template.spec.nodeSelector"), invalid("spec.template.spec.nodeSelector")},
		},
		"a stored resource problem is reported when the resources change": {
			old: jobWith(func(j *batch.Job) {
				j.Spec.Suspend = ptr.To(true)
				j.Spec.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{
					Requests: corev1.ResourceList{"example.com/gpu": resource.MustParse("1")}}
			}),
			update: func(j *batch.Job) {
				j.Spec.Template.Spec.Containers[0].Resources.Requests["example.com/gpu"] = resource.MustParse("8")
			},
			want: []wantErr{required("spec.template.spec.containers[0].resources.limits")},
		},
		// Of the affinity only nodeAffinity may change, so only it is a
		// changed part: a problem the stored pod affinity had stays stored.
		"a stored pod affinity problem does not count against a node affinity change": {
			old: jobWith(func(j *batch.Job) {
				j.Spec.Suspend = ptr.To(true)
				j.Spec.Template.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: ""}}}}
			}),
			update: func(j *batch.Job) {
				j.Spec.Template.Spec.Affinity.NodeAffinity = &corev1.NodeAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
						MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "pool", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}}}}}}
			},
		},
		"a pod affinity change of a suspended Job is refused": {
			old: jobWith(func(j *batch.Job) { j.Spec.Suspend = ptr.To(true) }),
			update: func(j *batch.Job) {
				j.Spec.Template.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: "zone"}}}}
			},
			want: []wantErr{invalid("spec.template.spec", immutable)},
		},
		"an unchanged pod spec: the template's metadata is still validated": {
			old: jobWith(func(j *batch.Job) {
				j.Spec.Suspend = ptr.To(true)
				netSysctlWithHostNetwork(&j.Spec.Template.Spec)
			}),
			update: func(j *batch.Job) { j.Spec.Template.Labels["bad key"] = "v" },
			want:   []wantErr{invalid("spec.template.labels", "name part must consist of")},
		},
		"name is immutable": {
			old:    runningJob(),
			update: func(j *batch.Job) { j.Name = "other" },
			want:   []wantErr{invalid("metadata.name", immutable)},
		},
		"uid is immutable": {
			old:    runningJob(),
			update: func(j *batch.Job) { j.UID = "other" },
			want:   []wantErr{invalid("metadata.uid", immutable)},
		},
		"selector is immutable": {
			old: runningJob(),
			update: func(j *batch.Job) {
				j.Spec.Selector.MatchLabels[names.LegacyJobNameLabel] = testName
			},
			want: []wantErr{invalid("spec.selector", immutable)},
		},
		"completionMode is immutable": {
			old:    runningJob(),
			update: func(j *batch.Job) { j.Spec.CompletionMode = ptr.To(batch.IndexedCompletion) },
			want:   []wantErr{invalid("spec.completionMode", immutable)},
		},
		"NonIndexed completions are immutable": {
			old:    runningJob(),
			update: func(j *batch.Job) { j.Spec.Completions = ptr.To[int32](2) },
			want:   []wantErr{invalid("spec.completions", immutable)},
		},
		"NonIndexed completions cannot be unset": {
			old:    runningJob(),
			update: func(j *batch.Job) { j.Spec.Completions = nil },
			want:   []wantErr{invalid("spec.completions", immutable)},
		},
		"Indexed completions and parallelism to the same value": {
			old: validIndexedJob(5, 5),
			update: func(j *batch.Job) {
				j.Spec.Completions = ptr.To[int32](8)
				j.Spec.Parallelism = ptr.To[int32](8)
			},
		},
		"Indexed completions to the new parallelism when they differed": {
			old: validIndexedJob(5, 2),
			update: func(j *batch.Job) {
				j.Spec.Completions = ptr.To[int32](4)
				j.Spec.Parallelism = ptr.To[int32](4)
			},
		},
		"Indexed completions and parallelism to different values": {
			old: validIndexedJob(5, 5),
			update: func(j *batch.Job) {
				j.Spec.Completions = ptr.To[int32](8)
				j.Spec.Parallelism = ptr.To[int32](7)
			},
			want: []wantErr{invalid("spec.completions", "can only be modified in tandem with spec.parallelism")},
		},
		"Indexed parallelism alone below completions": {
			old:    validIndexedJob(5, 5),
			update: func(j *batch.Job) { j.Spec.Parallelism = ptr.To[int32](2) },
		},
		"Indexed parallelism alone above completions": {
			old:    validIndexedJob(5, 5),
			update: func(j *batch.Job) { j.Spec.Parallelism = ptr.To[int32](9) },
		},
		"Indexed completions set to nil does not panic": {
			old:    validIndexedJob(5, 5),
			update: func(j *batch.Job) { j.Spec.Completions = nil },
			want:   []wantErr{required("spec.completions", "when completion mode is Indexed")},
		},
		"Indexed completions changed with parallelism unset does not panic": {
			old: validIndexedJob(5, 5),
			update: func(j *batch.Job) {
				j.Spec.Completions = ptr.To[int32](6)
				j.Spec.Parallelism = nil
			},
			want: []wantErr{invalid("spec.completions", "can only be modified in tandem with spec.parallelism")},
		},
		"Indexed scale-up beyond what the name allows": {
			old: indexedJobWith(5, 5, func(j *batch.Job) {
				j.Name = strings.Repeat("a", 61)
				j.Spec.Template.Labels = generatedLabels(j.Name, testUID)
			}),
			update: func(j *batch.Job) {
				j.Spec.Completions = ptr.To[int32](100)
				j.Spec.Parallelism = ptr.To[int32](100)
			},
			want: []wantErr{invalid("metadata.name", "will not able to create pod with invalid DNS label")},
		},
		"add podFailurePolicy": {
			old: jobWith(func(j *batch.Job) {
				j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
				j.Spec.PodReplacementPolicy = ptr.To(batch.Failed)
			}),
			update: func(j *batch.Job) {
				j.Spec.PodFailurePolicy = &batch.PodFailurePolicy{Rules: []batch.PodFailurePolicyRule{ignoreDisruptionRule()}}
			},
			want: []wantErr{invalid("spec.podFailurePolicy", immutable)},
		},
		"update podFailurePolicy": {
			old: jobWithPodFailurePolicy(ignoreDisruptionRule()),
			update: func(j *batch.Job) {
				j.Spec.PodFailurePolicy.Rules[0].Action = batch.PodFailurePolicyActionFailJob
			},
			want: []wantErr{invalid("spec.podFailurePolicy", immutable)},
		},
		"remove podFailurePolicy": {
			old:    jobWithPodFailurePolicy(ignoreDisruptionRule()),
			update: func(j *batch.Job) { j.Spec.PodFailurePolicy = nil },
			want:   []wantErr{invalid("spec.podFailurePolicy", immutable)},
		},
		"add successPolicy": {
			old: validIndexedJob(5, 5),
			update: func(j *batch.Job) {
				j.Spec.SuccessPolicy = &batch.SuccessPolicy{Rules: []batch.SuccessPolicyRule{{SucceededCount: ptr.To[int32](1)}}}
			},
			want: []wantErr{invalid("spec.successPolicy", immutable)},
		},
		"update successPolicy": {
			old:    jobWithSuccessPolicy(batch.SuccessPolicyRule{SucceededCount: ptr.To[int32](1)}),
			update: func(j *batch.Job) { j.Spec.SuccessPolicy.Rules[0].SucceededCount = ptr.To[int32](2) },
			want:   []wantErr{invalid("spec.successPolicy", immutable)},
		},
		"remove successPolicy": {
			old:    jobWithSuccessPolicy(batch.SuccessPolicyRule{SucceededCount: ptr.To[int32](1)}),
			update: func(j *batch.Job) { j.Spec.SuccessPolicy = nil },
			want:   []wantErr{invalid("spec.successPolicy", immutable)},
		},
		"set backoffLimitPerIndex": {
			old:    validIndexedJob(5, 5),
			update: func(j *batch.Job) { j.Spec.BackoffLimitPerIndex = ptr.To[int32](1) },
			want:   []wantErr{invalid("spec.backoffLimitPerIndex", immutable)},
		},
		"update backoffLimitPerIndex": {
			old:    indexedJobWith(5, 5, func(j *batch.Job) { j.Spec.BackoffLimitPerIndex = ptr.To[int32](1) }),
			update: func(j *batch.Job) { j.Spec.BackoffLimitPerIndex = ptr.To[int32](2) },
			want:   []wantErr{invalid("spec.backoffLimitPerIndex", immutable)},
		},
		"unset backoffLimitPerIndex": {
			old:    indexedJobWith(5, 5, func(j *batch.Job) { j.Spec.BackoffLimitPerIndex = ptr.To[int32](1) }),
			update: func(j *batch.Job) { j.Spec.BackoffLimitPerIndex = nil },
			want:   []wantErr{invalid("spec.backoffLimitPerIndex", immutable)},
		},
		"set managedBy": {
			old:    runningJob(),
			update: func(j *batch.Job) { j.Spec.ManagedBy = ptr.To("example.com/foo") },
			want:   []wantErr{invalid("spec.managedBy", immutable)},
		},
		"update managedBy": {
			old:    jobWith(func(j *batch.Job) { j.Spec.ManagedBy = ptr.To("example.com/foo") }),
			update: func(j *batch.Job) { j.Spec.ManagedBy = ptr.To("example.com/bar") },
			want:   []wantErr{invalid("spec.managedBy", immutable)},
		},
		"unset managedBy": {
			old:    jobWith(func(j *batch.Job) { j.Spec.ManagedBy = ptr.To("example.com/foo") }),
			update: func(j *batch.Job) { j.Spec.ManagedBy = nil },
			want:   []wantErr{invalid("spec.managedBy", immutable)},
		},
		"a stored selector with an invalid label value stays updatable": {
			old: jobWith(func(j *batch.Job) {
				j.Spec.ManualSelector = ptr.To(true)
				j.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "a", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"-bad"}},
				}}
			}),
			update: func(j *batch.Job) { j.Spec.Parallelism = ptr.To[int32](2) },
		},

		// The template of a running Job.
		"template image of a running Job": {
			old:    runningJob(),
			update: func(j *batch.Job) { j.Spec.Template.Spec.Containers[0].Image = "busybox:2" },
			want:   []wantErr{invalid("spec.template", immutable)},
		},
		"nodeSelector of a running Job": {
			old:    runningJob(),
			update: func(j *batch.Job) { j.Spec.Template.Spec.NodeSelector = map[string]string{"a": "b"} },
			want:   []wantErr{invalid("spec.template", immutable)},
		},
		"resources of a running Job": {
			old:    runningJob(),
			update: func(j *batch.Job) { j.Spec.Template.Spec.Containers[0].Resources = withResources("1") },
			want:   []wantErr{invalid("spec.template", immutable)},
		},
		"template of a Job suspended in the same update": {
			old: runningJob(),
			update: func(j *batch.Job) {
				j.Spec.Suspend = ptr.To(true)
				j.Spec.Template.Spec.NodeSelector = map[string]string{"a": "b"}
			},
			want: []wantErr{invalid("spec.template", immutable)},
		},

		// The suspended-template rule: suspended, not started or Suspended=True, no active Pods.
		"M: nodeSelector": {
			old:    suspendedNotStartedJob(),
			update: func(j *batch.Job) { j.Spec.Template.Spec.NodeSelector = map[string]string{"a": "b"} },
		},
		"M: nodeSelector together with resuming": {
			old: suspendedNotStartedJob(),
			update: func(j *batch.Job) {
				j.Spec.Suspend = ptr.To(false)
				j.Spec.Template.Spec.NodeSelector = map[string]string{"a": "b"}
			},
		},
		"M: tolerations": {
			old: suspendedNotStartedJob(),
			update: func(j *batch.Job) {
				j.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}}
			},
		},
		"M: schedulingGates": {
			old: suspendedNotStartedJob(),
			update: func(j *batch.Job) {
				j.Spec.Template.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/gate"}}
			},
		},
		"M: add node affinity": {
			old:    suspendedNotStartedJob(),
			update: func(j *batch.Job) { j.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: nodeAffinity("a")} },
		},
		"M: update node affinity": {
			old: jobWith(func(j *batch.Job) {
				j.Spec.Suspend = ptr.To(true)
				j.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: nodeAffinity("a")}
			}),
			update: func(j *batch.Job) { j.Spec.Template.Spec.Affinity.NodeAffinity = nodeAffinity("b") },
		},
		"M: remove affinity holding only node affinity": {
			old: jobWith(func(j *batch.Job) {
				j.Spec.Suspend = ptr.To(true)
				j.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: nodeAffinity("a")}
			}),
			update: func(j *batch.Job) { j.Spec.Template.Spec.Affinity = nil },
		},
		"M: remove affinity holding pod affinity": {
			old: jobWith(func(j *batch.Job) {
				j.Spec.Suspend = ptr.To(true)
				j.Spec.Template.Spec.Affinity = &corev1.Affinity{
					NodeAffinity: nodeAffinity("a"),
					PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
						LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}},
						TopologyKey:   "kubernetes.io/hostname",
					}}},
				}
			}),
			update: func(j *batch.Job) { j.Spec.Template.Spec.Affinity = nil },
			want:   []wantErr{invalid("spec.template.spec", immutable)},
		},
		"M: template labels and annotations": {
			old: suspendedNotStartedJob(),
			update: func(j *batch.Job) {
				j.Spec.Template.Labels["team"] = "a"
				j.Spec.Template.Annotations = map[string]string{"note": "x"}
			},
		},
		"M: removing a generated label breaks the selector match": {
			old:    suspendedNotStartedJob(),
			update: func(j *batch.Job) { delete(j.Spec.Template.Labels, names.ControllerUIDLabel) },
			want:   []wantErr{invalid("spec.template.metadata.labels", "`selector` does not match template `labels`")},
		},
		"M: container resources": {
			old:    suspendedNotStartedJob(),
			update: func(j *batch.Job) { j.Spec.Template.Spec.Containers[0].Resources = withResources("2") },
		},
		"M: init container resources": {
			old: jobWith(func(j *batch.Job) {
				j.Spec.Suspend = ptr.To(true)
				withInit(j)
			}),
			update: func(j *batch.Job) { j.Spec.Template.Spec.InitContainers[0].Resources = withResources("500m") },
		},
		"M: resources after the controller confirmed the suspension": {
			old:    suspendedAfterStartJob(),
			update: func(j *batch.Job) { j.Spec.Template.Spec.Containers[0].Resources = withResources("2") },
		},
		"M: image": {
			old:    suspendedNotStartedJob(),
			update: func(j *batch.Job) { j.Spec.Template.Spec.Containers[0].Image = "busybox:2" },
			want:   []wantErr{invalid("spec.template.spec", immutable)},
		},
		"M: resources together with another container change": {
			old: suspendedNotStartedJob(),
			update: func(j *batch.Job) {
				j.Spec.Template.Spec.Containers[0].Resources = withResources("2")
				j.Spec.Template.Spec.Containers[0].Command = []string{"true"}
			},
			want: []wantErr{invalid("spec.template.spec", immutable)},
		},
		"M: adding a container": {
			old: suspendedNotStartedJob(),
			update: func(j *batch.Job) {
				j.Spec.Template.Spec.Containers = append(j.Spec.Template.Spec.Containers, corev1.Container{Name: "sidecar", Image: "busybox"})
			},
			want: []wantErr{invalid("spec.template.spec", immutable)},
		},
		"M: adding an init container": {
			old:    suspendedNotStartedJob(),
			update: withInit,
			want:   []wantErr{invalid("spec.template.spec", immutable)},
		},
		"M: reordering containers with new resources": {
			old: jobWith(func(j *batch.Job) {
				j.Spec.Suspend = ptr.To(true)
				j.Spec.Template.Spec.Containers = append(j.Spec.Template.Spec.Containers, corev1.Container{Name: "second", Image: "busybox"})
			}),
			update: func(j *batch.Job) {
				c := j.Spec.Template.Spec.Containers
				c[0], c[1] = c[1], c[0]
				c[0].Resources = withResources("1")
			},
			want: []wantErr{invalid("spec.template.spec", immutable)},
		},
		"not M: suspended but the controller has not confirmed it": {
			old:    suspendingJob(),
			update: func(j *batch.Job) { j.Spec.Template.Spec.NodeSelector = map[string]string{"a": "b"} },
			want:   []wantErr{invalid("spec.template", immutable)},
		},
		"not M: suspended with active Pods": {
			old: jobWith(func(j *batch.Job) {
				j.Spec.Suspend = ptr.To(true)
				j.Status.Active = 1
			}),
			update: func(j *batch.Job) { j.Spec.Template.Spec.Containers[0].Resources = withResources("2") },
			want:   []wantErr{invalid("spec.template", immutable)},
		},
		"suspended with only scheduling directives allowed: resources stay immutable": {
			old:    suspendedNotStartedJob(),
			update: func(j *batch.Job) { j.Spec.Template.Spec.Containers[0].Resources = withResources("2") },
			opts:   &JobValidationOptions{AllowMutableSchedulingDirectives: true, RequirePrefixedLabels: true},
			want:   []wantErr{invalid("spec.template", immutable)},
		},
		"suspended with only resources allowed: nodeSelector stays immutable": {
			old:    suspendedNotStartedJob(),
			update: func(j *batch.Job) { j.Spec.Template.Spec.NodeSelector = map[string]string{"a": "b"} },
			opts:   &JobValidationOptions{AllowMutablePodResources: true, RequirePrefixedLabels: true},
			want:   []wantErr{invalid("spec.template.spec", immutable)},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			oldJob := tc.old
			oldJob.ResourceVersion = "1"
			job := oldJob.DeepCopy()
			tc.update(job)
			opts := JobUpdateValidationOptions(job, oldJob)
			if tc.opts != nil {
				opts = *tc.opts
			}
			assertErrors(t, ValidateJobUpdate(job, oldJob, opts), tc.want...)
		})
	}
}

func TestJobUpdateValidationOptions(t *testing.T) {
	mutable := JobValidationOptions{AllowMutableSchedulingDirectives: true, AllowMutablePodResources: true, RequirePrefixedLabels: true}
	immutable := JobValidationOptions{RequirePrefixedLabels: true}
	cases := map[string]struct {
		old  *batch.Job
		want JobValidationOptions
	}{
		"running":                               {old: runningJob(), want: immutable},
		"unsuspended, not started":              {old: validJob(), want: immutable},
		"suspended, not started":                {old: suspendedNotStartedJob(), want: mutable},
		"suspended after start, Suspended=True": {old: suspendedAfterStartJob(), want: mutable},
		"suspended, started, no condition yet":  {old: suspendingJob(), want: immutable},
		"suspended, Suspended=False": {
			old: func() *batch.Job {
				j := suspendedAfterStartJob()
				j.Status.Conditions[0].Status = corev1.ConditionFalse
				return j
			}(),
			want: immutable,
		},
		"suspended, not started, active Pods": {
			old: func() *batch.Job {
				j := suspendedNotStartedJob()
				j.Status.Active = 2
				return j
			}(),
			want: immutable,
		},
		"old template without the prefixed labels": {
			old: jobWith(func(j *batch.Job) {
				delete(j.Spec.Template.Labels, names.JobNameLabel)
			}),
			want: JobValidationOptions{},
		},
		"suspend unset": {
			old:  jobWith(func(j *batch.Job) { j.Spec.Suspend = nil }),
			want: immutable,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			job := tc.old.DeepCopy()
			assert.Equal(t, tc.want, JobUpdateValidationOptions(job, tc.old))
		})
	}

	t.Run("create", func(t *testing.T) {
		assert.Equal(t, immutable, JobCreateValidationOptions(validJob()))
		assert.Equal(t, immutable, JobUpdateValidationOptions(validJob(), nil))
	})
}
