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
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MutableParts says which groups of a pod template's otherwise immutable
// parts may change: those of a suspended Job's template
// (docs/job-semantics.md#template-updates-of-a-suspended-job).
type MutableParts uint8

const (
	// SchedulingDirectives: node affinity, node selector, tolerations,
	// scheduling gates, and the template's labels and annotations.
	SchedulingDirectives MutableParts = 1 << iota
	// PodResources: the resources of containers and init containers.
	PodResources
	// AllMutableParts is every group.
	AllMutableParts = SchedulingDirectives | PodResources
)

// mutablePart is one part of a pod spec that may change in place.
type mutablePart struct {
	group MutableParts
	// take copies the part from src into dst and returns the paths (below
	// the pod spec's path) where the two differed.
	take func(dst, src *corev1.PodSpec, specPath *field.Path) []*field.Path
}

// mutablePodSpecParts is THE list of the pod spec parts that may change in
// place. It drives both the immutability check (ValidatePodTemplateUpdate)
// and the ratchet of ValidatePodTemplateSpec (an error the stored spec
// already had counts only in a changed part).
//
// Of the affinity only nodeAffinity may change, as upstream: pod
// (anti-)affinity is not a scheduling directive a queue controller sets, so
// a change to it is refused, and only a changed nodeAffinity counts as a
// changed part.
var mutablePodSpecParts = []mutablePart{
	{SchedulingDirectives, func(dst, src *corev1.PodSpec, p *field.Path) []*field.Path {
		return take(&dst.NodeSelector, src.NodeSelector, p.Child("nodeSelector"))
	}},
	{SchedulingDirectives, func(dst, src *corev1.PodSpec, p *field.Path) []*field.Path {
		return take(&dst.Tolerations, src.Tolerations, p.Child("tolerations"))
	}},
	{SchedulingDirectives, takeNodeAffinity},
	{SchedulingDirectives, func(dst, src *corev1.PodSpec, p *field.Path) []*field.Path {
		return take(&dst.SchedulingGates, src.SchedulingGates, p.Child("schedulingGates"))
	}},
	{PodResources, func(dst, src *corev1.PodSpec, p *field.Path) []*field.Path {
		return takeResources(dst.Containers, src.Containers, p.Child("containers"))
	}},
	{PodResources, func(dst, src *corev1.PodSpec, p *field.Path) []*field.Path {
		return takeResources(dst.InitContainers, src.InitContainers, p.Child("initContainers"))
	}},
}

// take sets *dst to src and returns path if they differed.
func take[T any](dst *T, src T, path *field.Path) []*field.Path {
	if apiequality.Semantic.DeepEqual(*dst, src) {
		return nil
	}
	*dst = src
	return []*field.Path{path}
}

// takeNodeAffinity copies src's node affinity into dst. An affinity that
// held nothing but node affinity may be added or removed as a whole.
func takeNodeAffinity(dst, src *corev1.PodSpec, p *field.Path) []*field.Path {
	var from, to *corev1.NodeAffinity
	if src.Affinity != nil {
		from = src.Affinity.NodeAffinity
	}
	if dst.Affinity != nil {
		to = dst.Affinity.NodeAffinity
	}
	var changed []*field.Path
	if !apiequality.Semantic.DeepEqual(from, to) {
		changed = []*field.Path{p.Child("affinity", "nodeAffinity")}
	}
	switch {
	case src.Affinity == nil && dst.Affinity != nil:
		dst.Affinity.NodeAffinity = nil
		if *dst.Affinity == (corev1.Affinity{}) {
			dst.Affinity = nil
		}
	case src.Affinity != nil && dst.Affinity == nil:
		dst.Affinity = &corev1.Affinity{NodeAffinity: src.Affinity.NodeAffinity}
	case src.Affinity != nil && dst.Affinity != nil:
		dst.Affinity.NodeAffinity = src.Affinity.NodeAffinity
	}
	return changed
}

// takeResources copies the resources of src's containers into dst's,
// position by position where the names match; lists of different lengths
// are left alone (the comparison then fails).
func takeResources(dst, src []corev1.Container, p *field.Path) []*field.Path {
	if len(dst) != len(src) {
		return nil
	}
	var changed []*field.Path
	for i := range src {
		if dst[i].Name != src[i].Name {
			continue
		}
		changed = append(changed, take(&dst[i].Resources, src[i].Resources, p.Index(i).Child("resources"))...)
	}
	return changed
}

// takeMutableParts copies the parts of groups from src into dst and returns
// the paths of the parts that differed.
func takeMutableParts(dst, src *corev1.PodSpec, groups MutableParts, specPath *field.Path) []*field.Path {
	var changed []*field.Path
	for _, part := range mutablePodSpecParts {
		if part.group&groups != 0 {
			changed = append(changed, part.take(dst, src, specPath)...)
		}
	}
	return changed
}

// ValidatePodTemplateUpdate refuses any change of template from oldTemplate
// outside the parts of allowed. With PodResources allowed only the pod spec
// is compared (as upstream: the template's metadata is not checked then);
// otherwise the whole template is, its labels and annotations being
// mutable with SchedulingDirectives.
func ValidatePodTemplateUpdate(template, oldTemplate *corev1.PodTemplateSpec, allowed MutableParts, fldPath *field.Path) field.ErrorList {
	probe := oldTemplate.DeepCopy()
	takeMutableParts(&probe.Spec, &template.Spec, allowed, fldPath.Child("spec"))
	if allowed&SchedulingDirectives != 0 {
		probe.Labels, probe.Annotations = template.Labels, template.Annotations
	}
	if allowed&PodResources == 0 {
		return apimachineryvalidation.ValidateImmutableField(template, probe, fldPath)
	}
	if !apiequality.Semantic.DeepEqual(&template.Spec, &probe.Spec) {
		return field.ErrorList{field.Invalid(fldPath.Child("spec"), template.Spec, apimachineryvalidation.FieldImmutableErrorMsg)}
	}
	return nil
}

// changedMutableParts returns the paths of the mutable parts in which spec
// differs from stored, and whether nothing else differs.
func changedMutableParts(spec, stored *corev1.PodSpec, specPath *field.Path) ([]string, bool) {
	probe := stored.DeepCopy()
	var changed []string
	for _, p := range takeMutableParts(probe, spec, AllMutableParts, specPath) {
		changed = append(changed, p.String())
	}
	return changed, apiequality.Semantic.DeepEqual(probe, spec)
}

// within reports whether the field path f is one of paths or below one.
func within(f string, paths []string) bool {
	for _, p := range paths {
		if f == p || strings.HasPrefix(f, p+".") || strings.HasPrefix(f, p+"[") {
			return true
		}
	}
	return false
}
