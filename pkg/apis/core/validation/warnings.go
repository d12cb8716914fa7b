/*
Copyright 2021 The Kubernetes Authors.
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
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// deprecatedNodeLabels are node labels whose use in a selector draws a
// warning (upstream pkg/api/node).
var deprecatedNodeLabels = map[string]string{
	`beta.kubernetes.io/arch`:                       `deprecated since v1.14; use "kubernetes.io/arch" instead`,
	`beta.kubernetes.io/os`:                         `deprecated since v1.14; use "kubernetes.io/os" instead`,
	`failure-domain.beta.kubernetes.io/region`:      `deprecated since v1.17; use "topology.kubernetes.io/region" instead`,
	`failure-domain.beta.kubernetes.io/zone`:        `deprecated since v1.17; use "topology.kubernetes.io/zone" instead`,
	`beta.kubernetes.io/instance-type`:              `deprecated since v1.17; use "node.kubernetes.io/instance-type" instead`,
	`app.kubernetes.io/created-by`:                  `deprecated since v1.9`,
	`scheduler.alpha.kubernetes.io/preferAvoidPods`: `deprecated since v1.22; use Taints and Tolerations instead`,
	`node-role.kubernetes.io/master`:                `use "node-role.kubernetes.io/control-plane" instead`,
}

// deprecatedAnnotations are pod annotations that no longer work.
var deprecatedAnnotations = []struct{ key, message string }{
	{`scheduler.alpha.kubernetes.io/critical-pod`, `non-functional in v1.16+; use the "priorityClassName" field instead`},
	{`security.alpha.kubernetes.io/sysctls`, `non-functional in v1.11+; use the "sysctls" field instead`},
	{`security.alpha.kubernetes.io/unsafe-sysctls`, `non-functional in v1.11+; use the "sysctls" field instead`},
}

// WarningsForPodTemplate returns the warnings for a pod template: the part of upstream pkg/api/pod/warnings.go that
// needs no feature gates or other packages: deprecated node labels and
// annotations, deprecated volume plugins, duplicates that apply would drop,
// fractional byte quantities, ambiguous ports, a negative grace period and
// selectors that match nothing.
func WarningsForPodTemplate(fldPath *field.Path, tpl *corev1.PodTemplateSpec) []string {
	var warnings []string
	spec := &tpl.Spec
	specPath := fldPath.Child("spec")

	for _, k := range sortedKeys(spec.NodeSelector) {
		if msg, deprecated := deprecatedNodeLabels[k]; deprecated {
			warnings = append(warnings, fmt.Sprintf("%s: %s", specPath.Child("nodeSelector").Key(k), msg))
		}
	}
	if spec.Affinity != nil && spec.Affinity.NodeAffinity != nil {
		na := spec.Affinity.NodeAffinity
		naPath := specPath.Child("affinity", "nodeAffinity")
		if na.RequiredDuringSchedulingIgnoredDuringExecution != nil {
			termsPath := naPath.Child("requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
			for i, term := range na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
				warnings = append(warnings, warningsForNodeSelectorTerm(term, false, termsPath.Index(i))...)
			}
		}
		for i, term := range na.PreferredDuringSchedulingIgnoredDuringExecution {
			warnings = append(warnings, warningsForNodeSelectorTerm(term.Preference, true, naPath.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i).Child("preference"))...)
		}
	}
	for i, c := range spec.TopologySpreadConstraints {
		cPath := specPath.Child("topologySpreadConstraints").Index(i)
		if msg, deprecated := deprecatedNodeLabels[c.TopologyKey]; deprecated {
			warnings = append(warnings, fmt.Sprintf("%s: %s is %s", cPath.Child("topologyKey"), c.TopologyKey, msg))
		}
		if c.LabelSelector == nil {
			warnings = append(warnings, fmt.Sprintf("%s: a null labelSelector results in matching no pod", cPath.Child("labelSelector")))
		}
	}

	for _, d := range deprecatedAnnotations {
		if _, exists := tpl.Annotations[d.key]; exists {
			warnings = append(warnings, fmt.Sprintf("%s: %s", fldPath.Child("metadata", "annotations").Key(d.key), d.message))
		}
	}

	for i, v := range spec.Volumes {
		volPath := specPath.Child("volumes").Index(i)
		switch {
		case v.PhotonPersistentDisk != nil:
			warnings = append(warnings, fmt.Sprintf("%s: deprecated in v1.11, non-functional in v1.16+", volPath.Child("photonPersistentDisk")))
		case v.GitRepo != nil:
			// GitRepoVolumeDriver is off by default since 1.33.
			warnings = append(warnings, fmt.Sprintf("%s: deprecated in v1.11, and disabled by default in v1.33+", volPath.Child("gitRepo")))
		case v.ScaleIO != nil:
			warnings = append(warnings, fmt.Sprintf("%s: deprecated in v1.16, non-functional in v1.22+", volPath.Child("scaleIO")))
		case v.Flocker != nil:
			warnings = append(warnings, fmt.Sprintf("%s: deprecated in v1.22, non-functional in v1.25+", volPath.Child("flocker")))
		case v.StorageOS != nil:
			warnings = append(warnings, fmt.Sprintf("%s: deprecated in v1.22, non-functional in v1.25+", volPath.Child("storageOS")))
		case v.Quobyte != nil:
			warnings = append(warnings, fmt.Sprintf("%s: deprecated in v1.22, non-functional in v1.25+", volPath.Child("quobyte")))
		case v.Glusterfs != nil:
			warnings = append(warnings, fmt.Sprintf("%s: deprecated in v1.25, non-functional in v1.26+", volPath.Child("glusterfs")))
		case v.CephFS != nil:
			warnings = append(warnings, fmt.Sprintf("%s: deprecated in v1.28, non-functional in v1.31+", volPath.Child("cephfs")))
		case v.RBD != nil:
			warnings = append(warnings, fmt.Sprintf("%s: deprecated in v1.28, non-functional in v1.31+", volPath.Child("rbd")))
		}
	}

	if len(spec.HostAliases) > 1 {
		seen := sets.New[string]()
		for i, alias := range spec.HostAliases {
			if seen.Has(alias.IP) {
				warnings = append(warnings, fmt.Sprintf("%s: duplicate ip %q", specPath.Child("hostAliases").Index(i).Child("ip"), alias.IP))
			}
			seen.Insert(alias.IP)
		}
	}
	seenSecrets := sets.New[string]()
	for i, secret := range spec.ImagePullSecrets {
		namePath := specPath.Child("imagePullSecrets").Index(i).Child("name")
		if seenSecrets.Has(secret.Name) {
			warnings = append(warnings, fmt.Sprintf("%s: duplicate name %q", namePath, secret.Name))
		}
		seenSecrets.Insert(secret.Name)
	}
	for i, secret := range spec.ImagePullSecrets {
		if len(secret.Name) == 0 {
			warnings = append(warnings, fmt.Sprintf("%s: invalid empty name %q", specPath.Child("imagePullSecrets").Index(i).Child("name"), secret.Name))
		}
	}

	for _, name := range []corev1.ResourceName{corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		if value, ok := spec.Overhead[name]; ok && isFractionalByteValue(value) {
			warnings = append(warnings, fmt.Sprintf("%s: fractional byte value %q is invalid, must be an integer", specPath.Child("overhead").Key(string(name)), value.String()))
		}
	}

	if spec.SecurityContext == nil || spec.SecurityContext.SeccompProfile == nil {
		if _, exists := tpl.Annotations[corev1.SeccompPodAnnotationKey]; exists {
			warnings = append(warnings, fmt.Sprintf(`%s: non-functional in v1.27+; use the "seccompProfile" field instead`, fldPath.Child("metadata", "annotations").Key(corev1.SeccompPodAnnotationKey)))
		}
	}

	visitContainers(spec, specPath, func(c *corev1.Container, cPath *field.Path) {
		if c.SecurityContext == nil || c.SecurityContext.SeccompProfile == nil {
			key := corev1.SeccompContainerAnnotationKeyPrefix + c.Name
			if _, exists := tpl.Annotations[key]; exists {
				warnings = append(warnings, fmt.Sprintf(`%s: non-functional in v1.27+; use the "seccompProfile" field instead`, fldPath.Child("metadata", "annotations").Key(key)))
			}
		}
		for _, name := range []corev1.ResourceName{corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
			if value, ok := c.Resources.Limits[name]; ok && isFractionalByteValue(value) {
				warnings = append(warnings, fmt.Sprintf("%s: fractional byte value %q is invalid, must be an integer", cPath.Child("resources", "limits").Key(string(name)), value.String()))
			}
			if value, ok := c.Resources.Requests[name]; ok && isFractionalByteValue(value) {
				warnings = append(warnings, fmt.Sprintf("%s: fractional byte value %q is invalid, must be an integer", cPath.Child("resources", "requests").Key(string(name)), value.String()))
			}
		}
		warnings = append(warnings, warningsForDuplicateEnv(c.Env, cPath.Child("env"))...)
	})

	warnings = append(warnings, warningsForPorts(spec, specPath)...)

	if spec.TerminationGracePeriodSeconds != nil && *spec.TerminationGracePeriodSeconds < 0 {
		warnings = append(warnings, fmt.Sprintf("%s: must be >= 0; negative values are invalid and will be treated as 1", specPath.Child("terminationGracePeriodSeconds")))
	}

	if spec.Affinity != nil {
		if pa := spec.Affinity.PodAffinity; pa != nil {
			warnings = append(warnings, warningsForPodAffinityTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution, pa.PreferredDuringSchedulingIgnoredDuringExecution, specPath.Child("affinity", "podAffinity"))...)
		}
		if paa := spec.Affinity.PodAntiAffinity; paa != nil {
			warnings = append(warnings, warningsForPodAffinityTerms(paa.RequiredDuringSchedulingIgnoredDuringExecution, paa.PreferredDuringSchedulingIgnoredDuringExecution, specPath.Child("affinity", "podAntiAffinity"))...)
		}
	}

	if spec.DNSConfig != nil {
		for i, ns := range spec.DNSConfig.Nameservers {
			warnings = append(warnings, utilvalidation.GetWarningsForIP(specPath.Child("dnsConfig", "nameservers").Index(i), ns)...)
		}
	}
	for i, alias := range spec.HostAliases {
		warnings = append(warnings, utilvalidation.GetWarningsForIP(specPath.Child("hostAliases").Index(i).Child("ip"), alias.IP)...)
	}
	return warnings
}

func warningsForNodeSelectorTerm(term corev1.NodeSelectorTerm, checkLabelValue bool, fldPath *field.Path) []string {
	var warnings []string
	for i, expr := range term.MatchExpressions {
		exprPath := fldPath.Child("matchExpressions").Index(i)
		if msg, deprecated := deprecatedNodeLabels[expr.Key]; deprecated {
			warnings = append(warnings, fmt.Sprintf("%s: %s is %s", exprPath.Child("key"), expr.Key, msg))
		}
		if checkLabelValue {
			for j, value := range expr.Values {
				for _, msg := range utilvalidation.IsValidLabelValue(value) {
					warnings = append(warnings, fmt.Sprintf("%s: %s is invalid, %s", exprPath.Child("values").Index(j), value, msg))
				}
			}
		}
	}
	return warnings
}

// warningsForDuplicateEnv warns about a repeated env var name whose value
// does not build on the previous one: the previous definition is hidden,
// and server-side apply may drop one of them.
func warningsForDuplicateEnv(env []corev1.EnvVar, fldPath *field.Path) []string {
	var warnings []string
	seen := sets.New[string]()
	for i, item := range env {
		if !seen.Has(item.Name) {
			seen.Insert(item.Name)
			continue
		}
		ref := fmt.Sprintf("$(%s)", item.Name)
		if item.ValueFrom != nil || item.Value == ref || !strings.Contains(item.Value, ref) {
			warnings = append(warnings, fmt.Sprintf("%s: hides previous definition of %q, which may be dropped when using apply", fldPath.Index(i), item.Name))
		}
	}
	return warnings
}

// warningsForPorts warns about hostIP without hostPort, duplicate or
// overlapping port definitions and duplicate port names across containers.
func warningsForPorts(spec *corev1.PodSpec, specPath *field.Path) []string {
	type portBlock struct {
		field *field.Path
		port  corev1.ContainerPort
	}
	var warnings []string
	allPorts := map[string][]portBlock{}
	allPortNames := map[string]*field.Path{}
	visitContainers(spec, specPath, func(c *corev1.Container, cPath *field.Path) {
		for i, port := range c.Ports {
			portPath := cPath.Child("ports").Index(i)
			if port.HostIP != "" && port.HostPort == 0 {
				warnings = append(warnings, fmt.Sprintf("%s: hostIP set without hostPort: %+v", portPath, port))
			}
			k := fmt.Sprintf("%d/%s", port.ContainerPort, port.Protocol)
			for _, other := range allPorts[k] {
				switch a, b := port.HostIP == "", other.port.HostIP == ""; {
				case port.HostIP == other.port.HostIP && port.HostPort == other.port.HostPort:
					warnings = append(warnings, fmt.Sprintf("%s: duplicate port definition with %s", portPath, other.field))
				case port.HostPort == 0 || other.port.HostPort == 0:
					warnings = append(warnings, fmt.Sprintf("%s: overlapping port definition with %s", portPath, other.field))
				case port.HostPort == other.port.HostPort && a != b:
					warnings = append(warnings, fmt.Sprintf("%s: dangerously ambiguous port definition with %s", portPath, other.field))
				}
			}
			allPorts[k] = append(allPorts[k], portBlock{field: portPath, port: port})
		}
	})
	visitContainers(spec, specPath, func(c *corev1.Container, cPath *field.Path) {
		for i, port := range c.Ports {
			if port.Name == "" {
				continue
			}
			portPath := cPath.Child("ports").Index(i)
			if other, found := allPortNames[port.Name]; found {
				warnings = append(warnings, fmt.Sprintf("%s: duplicate port name %q with %s, services and probes that select ports by name will use %s", portPath, port.Name, other, other))
			} else {
				allPortNames[port.Name] = portPath
			}
		}
	})
	return warnings
}

func warningsForPodAffinityTerms(required []corev1.PodAffinityTerm, preferred []corev1.WeightedPodAffinityTerm, fldPath *field.Path) []string {
	var warnings []string
	for i, t := range required {
		if t.LabelSelector == nil {
			warnings = append(warnings, fmt.Sprintf("%s: a null labelSelector results in matching no pod", fldPath.Child("requiredDuringSchedulingIgnoredDuringExecution").Index(i).Child("labelSelector")))
		}
	}
	for i, t := range preferred {
		if t.PodAffinityTerm.LabelSelector == nil {
			warnings = append(warnings, fmt.Sprintf("%s: a null labelSelector results in matching no pod", fldPath.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i).Child("podAffinityTerm", "labelSelector")))
		}
	}
	return warnings
}

// visitContainers calls visit for each init container and then each
// container, with its path (ephemeral containers are not allowed in a
// template).
func visitContainers(spec *corev1.PodSpec, specPath *field.Path, visit func(*corev1.Container, *field.Path)) {
	for i := range spec.InitContainers {
		visit(&spec.InitContainers[i], specPath.Child("initContainers").Index(i))
	}
	for i := range spec.Containers {
		visit(&spec.Containers[i], specPath.Child("containers").Index(i))
	}
}

func isFractionalByteValue(q resource.Quantity) bool {
	return q.MilliValue()%1000 != 0
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
