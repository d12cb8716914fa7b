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

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func baseTemplate() *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers:    []corev1.Container{{Name: "main", Image: "busybox"}},
	}}
}

// TestValidatePodTemplateUpdate: each part of the table may change only
// when its group is allowed; anything else is immutable.
func TestValidatePodTemplateUpdate(t *testing.T) {
	path := field.NewPath("spec", "template")
	nodeAffinity := &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: "pool", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}}}}}}
	cases := map[string]struct {
		change  func(*corev1.PodTemplateSpec)
		allowed MutableParts
		want    string // the error's field, or "" for none
	}{
		"nothing changes":                {func(*corev1.PodTemplateSpec) {}, 0, ""},
		"node selector, allowed":         {func(p *corev1.PodTemplateSpec) { p.Spec.NodeSelector = map[string]string{"a": "b"} }, SchedulingDirectives, ""},
		"node selector, not allowed":     {func(p *corev1.PodTemplateSpec) { p.Spec.NodeSelector = map[string]string{"a": "b"} }, PodResources, "spec.template.spec"},
		"node selector, nothing allowed": {func(p *corev1.PodTemplateSpec) { p.Spec.NodeSelector = map[string]string{"a": "b"} }, 0, "spec.template"},
		"tolerations, allowed": {func(p *corev1.PodTemplateSpec) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: "Exists"}}
		}, SchedulingDirectives, ""},
		"scheduling gates, allowed":    {func(p *corev1.PodTemplateSpec) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "g"}} }, SchedulingDirectives, ""},
		"node affinity added, allowed": {func(p *corev1.PodTemplateSpec) { p.Spec.Affinity = &corev1.Affinity{NodeAffinity: nodeAffinity} }, SchedulingDirectives, ""},
		"pod affinity added, never": {func(p *corev1.PodTemplateSpec) {
			p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{}}
		}, AllMutableParts, "spec.template.spec"},
		"labels, allowed with scheduling":    {func(p *corev1.PodTemplateSpec) { p.Labels = map[string]string{"a": "b"} }, SchedulingDirectives, ""},
		"labels, not checked with resources": {func(p *corev1.PodTemplateSpec) { p.Labels = map[string]string{"a": "b"} }, PodResources, ""},
		"resources, allowed":                 {func(p *corev1.PodTemplateSpec) { p.Spec.Containers[0].Resources = cpu("1") }, PodResources, ""},
		"resources, not allowed":             {func(p *corev1.PodTemplateSpec) { p.Spec.Containers[0].Resources = cpu("1") }, SchedulingDirectives, "spec.template"},
		"resources of a renamed container, never": {func(p *corev1.PodTemplateSpec) {
			p.Spec.Containers[0].Name, p.Spec.Containers[0].Resources = "other", cpu("1")
		}, AllMutableParts, "spec.template.spec"},
		"image, never": {func(p *corev1.PodTemplateSpec) { p.Spec.Containers[0].Image = "alpine" }, AllMutableParts, "spec.template.spec"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			old := baseTemplate()
			updated := old.DeepCopy()
			tc.change(updated)
			errs := ValidatePodTemplateUpdate(updated, old, tc.allowed, path)
			if tc.want == "" {
				assert.Empty(t, errs)
				return
			}
			if assert.Len(t, errs, 1) {
				assert.Equal(t, tc.want, errs[0].Field)
				assert.Contains(t, errs[0].Detail, "field is immutable")
			}
		})
	}
}

// TestChangedMutableParts: the ratchet sees exactly the parts that changed,
// and whether anything outside the table changed too.
func TestChangedMutableParts(t *testing.T) {
	old := baseTemplate().Spec
	spec := old.DeepCopy()
	spec.NodeSelector = map[string]string{"a": "b"}
	spec.Containers[0].Resources = cpu("1")
	spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{}}
	changed, only := changedMutableParts(spec, &old, field.NewPath("spec"))
	assert.ElementsMatch(t, []string{"spec.nodeSelector", "spec.affinity.nodeAffinity", "spec.containers[0].resources"}, changed)
	assert.True(t, only)

	spec.Hostname = "other"
	_, only = changedMutableParts(spec, &old, field.NewPath("spec"))
	assert.False(t, only)
}

func cpu(q string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(q)}}
}
