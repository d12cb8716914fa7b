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

package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestValidateTopologySpreadConstraints(t *testing.T) {
	const tsc = "spec.template.spec.topologySpreadConstraints"
	valid := func() corev1.TopologySpreadConstraint {
		return corev1.TopologySpreadConstraint{MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}}
	}
	cases := map[string]struct {
		constraints func() []corev1.TopologySpreadConstraint
		want        []wantErr
	}{
		"valid, with minDomains, policies and matchLabelKeys": {constraints: func() []corev1.TopologySpreadConstraint {
			c := valid()
			c.MinDomains = ptr.To[int32](2)
			c.NodeAffinityPolicy, c.NodeTaintsPolicy = ptr.To(corev1.NodeInclusionPolicyHonor), ptr.To(corev1.NodeInclusionPolicyIgnore)
			c.MatchLabelKeys = []string{"batch.kubernetes.io/job-completion-index"}
			other := valid()
			other.WhenUnsatisfiable = corev1.ScheduleAnyway
			return []corev1.TopologySpreadConstraint{c, other}
		}},
		"maxSkew, topologyKey, whenUnsatisfiable": {constraints: func() []corev1.TopologySpreadConstraint {
			c := valid()
			c.MaxSkew, c.TopologyKey, c.WhenUnsatisfiable = 0, "", "Maybe"
			return []corev1.TopologySpreadConstraint{c}
		}, want: []wantErr{
			invalid(tsc+"[0].maxSkew", "must be greater than zero"),
			required(tsc+"[0].topologyKey", "can not be empty"),
			notSupported(tsc + "[0].whenUnsatisfiable"),
		}},
		"repeated {topologyKey, whenUnsatisfiable}": {constraints: func() []corev1.TopologySpreadConstraint {
			return []corev1.TopologySpreadConstraint{valid(), valid()}
		}, want: []wantErr{duplicate(tsc + "[0].{topologyKey, whenUnsatisfiable}")}},
		"minDomains": {constraints: func() []corev1.TopologySpreadConstraint {
			a, b := valid(), valid()
			a.MinDomains = ptr.To[int32](0)
			b.TopologyKey, b.WhenUnsatisfiable, b.MinDomains = "zone", corev1.ScheduleAnyway, ptr.To[int32](2)
			return []corev1.TopologySpreadConstraint{a, b}
		}, want: []wantErr{
			invalid(tsc+"[0].minDomains", "must be greater than zero"),
			invalid(tsc+"[1].minDomains", "can only use minDomains if whenUnsatisfiable=DoNotSchedule"),
		}},
		"node inclusion policies": {constraints: func() []corev1.TopologySpreadConstraint {
			c := valid()
			c.NodeAffinityPolicy, c.NodeTaintsPolicy = ptr.To[corev1.NodeInclusionPolicy]("Sometimes"), ptr.To[corev1.NodeInclusionPolicy]("")
			return []corev1.TopologySpreadConstraint{c}
		}, want: []wantErr{notSupported(tsc + "[0].nodeAffinityPolicy"), notSupported(tsc + "[0].nodeTaintsPolicy")}},
		"matchLabelKeys without a selector, bad key; bad selector": {constraints: func() []corev1.TopologySpreadConstraint {
			a, b := valid(), valid()
			a.LabelSelector, a.MatchLabelKeys = nil, []string{"bad key"}
			b.TopologyKey = "zone"
			b.LabelSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}}
			return []corev1.TopologySpreadConstraint{a, b}
		}, want: []wantErr{
			forbidden(tsc+"[0].matchLabelKeys", "must not be specified when labelSelector is not set"),
			invalid(tsc + "[0].matchLabelKeys[0]"),
			invalid(tsc + "[1].labelSelector.matchExpressions[0].operator"),
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			job := podSpecJob(func(spec *corev1.PodSpec) { spec.TopologySpreadConstraints = tc.constraints() })
			assertErrors(t, ValidateJobCreate(job, JobCreateValidationOptions(job)), tc.want...)
		})
	}
}
