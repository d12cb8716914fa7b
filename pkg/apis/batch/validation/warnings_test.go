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
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
)

func TestWarningsForJob(t *testing.T) {
	const indexedWarning = "spec: In Indexed Jobs with a number of completions higher than 10^5 and a parallelism higher than 10^4, Kubernetes might not be able to track completedIndexes when a big number of indexes fail"
	cases := map[string]struct {
		job, old *batch.Job
		want     []string
	}{
		"valid Job": {job: validJob()},
		"name not a DNS label on create": {
			job:  jobWith(func(j *batch.Job) { j.Name = "my.job" }),
			want: []string{`metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: [must not contain dots]`},
		},
		"name not a DNS label on update": {
			job: jobWith(func(j *batch.Job) { j.Name = "my.job" }),
			old: jobWith(func(j *batch.Job) { j.Name = "my.job" }),
		},
		"Indexed with high completions and parallelism": {
			job:  validIndexedJob(100_001, 10_001),
			want: []string{indexedWarning},
		},
		"Indexed with high completions and parallelism on update": {
			job:  validIndexedJob(100_001, 10_001),
			old:  validIndexedJob(100_001, 10_000),
			want: []string{indexedWarning},
		},
		"Indexed at the limits": {job: validIndexedJob(100_000, 100_000)},
		"NonIndexed with high completions and parallelism": {job: jobWith(func(j *batch.Job) {
			j.Spec.Completions = ptr.To[int32](100_001)
			j.Spec.Parallelism = ptr.To[int32](10_001)
		})},
		"deprecated node label and annotation": {
			job: jobWith(func(j *batch.Job) {
				j.Spec.Template.Spec.NodeSelector = map[string]string{"beta.kubernetes.io/os": "linux"}
				j.Spec.Template.Annotations = map[string]string{"scheduler.alpha.kubernetes.io/critical-pod": ""}
			}),
			want: []string{
				`spec.template.spec.nodeSelector[beta.kubernetes.io/os]: deprecated since v1.14; use "kubernetes.io/os" instead`,
				`spec.template.metadata.annotations[scheduler.alpha.kubernetes.io/critical-pod]: non-functional in v1.16+; use the "priorityClassName" field instead`,
			},
		},
		"deprecated node label in node affinity": {
			job: jobWith(func(j *batch.Job) {
				na := nodeAffinity("a")
				na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Key = "failure-domain.beta.kubernetes.io/zone"
				j.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: na}
			}),
			want: []string{`spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key: failure-domain.beta.kubernetes.io/zone is deprecated since v1.17; use "topology.kubernetes.io/zone" instead`},
		},
		"deprecated volume plugin": {
			job: jobWith(func(j *batch.Job) {
				j.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "repo", VolumeSource: corev1.VolumeSource{GitRepo: &corev1.GitRepoVolumeSource{Repository: "r"}}}}
			}),
			want: []string{`spec.template.spec.volumes[0].gitRepo: deprecated in v1.11, and disabled by default in v1.33+`},
		},
		"negative grace period": {
			job:  jobWith(func(j *batch.Job) { j.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To[int64](-5) }),
			want: []string{`spec.template.spec.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will be treated as 1`},
		},
		"fractional memory": {
			job: jobWith(func(j *batch.Job) {
				j.Spec.Template.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1.5")}
			}),
			want: []string{`spec.template.spec.containers[0].resources.limits[memory]: fractional byte value "1500m" is invalid, must be an integer`},
		},
		"duplicate env var": {
			job: jobWith(func(j *batch.Job) {
				j.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "A", Value: "$(A)2"}, {Name: "A", Value: "3"}}
			}),
			want: []string{`spec.template.spec.containers[0].env[2]: hides previous definition of "A", which may be dropped when using apply`},
		},
		"duplicate image pull secrets and an empty one": {
			job: jobWith(func(j *batch.Job) {
				j.Spec.Template.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "a"}, {Name: "a"}, {}}
			}),
			want: []string{
				`spec.template.spec.imagePullSecrets[1].name: duplicate name "a"`,
				`spec.template.spec.imagePullSecrets[2].name: invalid empty name ""`,
			},
		},
		"ports": {
			job: jobWith(func(j *batch.Job) {
				j.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP}}}}
				j.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{
					{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP},
					{ContainerPort: 81, HostIP: "10.0.0.1", Protocol: corev1.ProtocolTCP},
				}
			}),
			want: []string{
				`spec.template.spec.containers[0].ports[0]: duplicate port definition with spec.template.spec.initContainers[0].ports[0]`,
				`spec.template.spec.containers[0].ports[1]: hostIP set without hostPort: {Name: HostPort:0 ContainerPort:81 Protocol:TCP HostIP:10.0.0.1}`,
				`spec.template.spec.containers[0].ports[0]: duplicate port name "http" with spec.template.spec.initContainers[0].ports[0], services and probes that select ports by name will use spec.template.spec.initContainers[0].ports[0]`,
			},
		},
		"pod affinity term without selector": {
			job: jobWith(func(j *batch.Job) {
				j.Spec.Template.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: "kubernetes.io/hostname"}},
				}}
			}),
			want: []string{`spec.template.spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector: a null labelSelector results in matching no pod`},
		},
		"topology spread constraint without selector": {
			job: jobWith(func(j *batch.Job) {
				j.Spec.Template.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.DoNotSchedule}}
			}),
			want: []string{`spec.template.spec.topologySpreadConstraints[0].labelSelector: a null labelSelector results in matching no pod`},
		},
		"seccomp annotation without field": {
			job: jobWith(func(j *batch.Job) {
				j.Spec.Template.Annotations = map[string]string{corev1.SeccompPodAnnotationKey: "runtime/default"}
			}),
			want: []string{`spec.template.metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: non-functional in v1.27+; use the "seccompProfile" field instead`},
		},
		"topology spread selector present": {job: jobWith(func(j *batch.Job) {
			j.Spec.Template.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
				MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.DoNotSchedule,
				LabelSelector: &metav1.LabelSelector{},
			}}
		})},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			assert.ElementsMatch(t, tc.want, WarningsForJob(tc.job, tc.old))
		})
	}
}
