/*
Copyright 2014 The Kubernetes Authors.
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

// The pod spec and its containers. Fields that the v1 defaulting of every
// request always fills (dnsPolicy, imagePullPolicy, terminationMessagePolicy,
// port protocol, terminationGracePeriodSeconds) are checked for valid values
// but not required, so Go callers may leave them empty.

import (
	"fmt"
	"math"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

const (
	maxDNSNameservers            = 3
	maxDNSSearchPaths            = 32
	maxDNSSearchListChars        = 2048
	maxContainerRestartRules     = 20
	maxContainerRestartExitCodes = 255
)

var (
	supportedPortProtocols = sets.New(corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP)
	supportedPullPolicies  = sets.New(corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever)
	// In the order upstream lists them in errors.
	supportedDNSPolicies                = []corev1.DNSPolicy{corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone}
	supportedTerminationMessagePolicies = []corev1.TerminationMessagePolicy{corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError}
	supportedPreemptionPolicies         = []corev1.PreemptionPolicy{corev1.PreemptLowerPriority, corev1.PreemptNever}
	supportedContainerRestartPolicies   = sets.New(
		corev1.ContainerRestartPolicyAlways,
		corev1.ContainerRestartPolicyNever,
		corev1.ContainerRestartPolicyOnFailure)
	// RestartAllContainersOnContainerExits is beta and on in 1.37.
	supportedContainerRestartRuleActions = sets.New(
		corev1.ContainerRestartRuleActionRestart,
		corev1.ContainerRestartRuleActionRestartAllContainers)
	supportedContainerRestartRuleOperators = sets.New(
		corev1.ContainerRestartRuleOnExitCodesOpIn,
		corev1.ContainerRestartRuleOnExitCodesOpNotIn)
)

// ValidatePodTemplateSpec validates a pod template (a Job's, a CronJob's
// jobTemplate's) with the rules kube-apiserver applies to the Pods made from
// it. On create storedPodSpec is nil; on update it is the stored pod spec,
// and an error that one already had is held only against a change of the
// part it lies in (see validatePodSpecUpdate). spec.restartPolicy is left to
// the caller, whose rules are stricter.
func ValidatePodTemplateSpec(tpl *corev1.PodTemplateSpec, storedPodSpec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	allErrs := metav1validation.ValidateLabels(tpl.Labels, fldPath.Child("labels"))
	allErrs = append(allErrs, apimachineryvalidation.ValidateAnnotations(tpl.Annotations, fldPath.Child("annotations"))...)
	allErrs = append(allErrs, validatePodSpecUpdate(&tpl.Spec, storedPodSpec, fldPath.Child("spec"))...)
	if len(tpl.Spec.EphemeralContainers) > 0 {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return allErrs
}

// validatePodSpecUpdate validates spec. When stored is set (an update), an
// unchanged spec is not validated again, and an error the stored spec
// already had is not held against a change elsewhere: it is reported only
// if it lies in a part of the spec the update changes. Only the parts in
// mutablePodSpecParts can differ (ValidatePodTemplateUpdate refuses any
// other change); if another part differs, every error counts.
func validatePodSpecUpdate(spec, stored *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	if stored == nil {
		return validatePodSpec(spec, fldPath)
	}
	if apiequality.Semantic.DeepEqual(spec, stored) {
		return nil
	}
	allErrs := validatePodSpec(spec, fldPath)
	changed, onlyMutable := changedMutableParts(spec, stored, fldPath)
	if len(allErrs) == 0 || !onlyMutable {
		return allErrs
	}
	had := sets.New[string]()
	for _, err := range validatePodSpec(stored, fldPath) {
		had.Insert(err.Error())
	}
	var newErrs field.ErrorList
	for _, err := range allErrs {
		if !had.Has(err.Error()) || within(err.Field, changed) {
			newErrs = append(newErrs, err)
		}
	}
	return newErrs
}

// validatePodSpec validates the template's pod spec. spec.restartPolicy is
// left to the caller (the Job's rule is stricter).
func validatePodSpec(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	vols, allErrs := validateVolumes(spec.Volumes, fldPath.Child("volumes"))
	podClaimNames := sets.New[string]()
	for _, claim := range spec.ResourceClaims {
		podClaimNames.Insert(claim.Name)
	}
	gracePeriod := spec.TerminationGracePeriodSeconds
	allErrs = append(allErrs, validateContainers(spec.Containers, vols, podClaimNames, gracePeriod, fldPath.Child("containers"))...)
	allErrs = append(allErrs, validateInitContainers(spec.InitContainers, spec.Containers, vols, podClaimNames, gracePeriod, fldPath.Child("initContainers"))...)
	allErrs = append(allErrs, validatePodHostNetworkDeps(spec, fldPath)...)
	if spec.DNSPolicy != "" && !slices.Contains(supportedDNSPolicies, spec.DNSPolicy) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("dnsPolicy"), spec.DNSPolicy, supportedDNSPolicies))
	}
	allErrs = append(allErrs, metav1validation.ValidateLabels(spec.NodeSelector, fldPath.Child("nodeSelector"))...)
	allErrs = append(allErrs, validateAffinity(spec.Affinity, fldPath.Child("affinity"))...)
	allErrs = append(allErrs, validatePodDNSConfig(spec.DNSConfig, spec.DNSPolicy, fldPath.Child("dnsConfig"))...)
	for i, gate := range spec.ReadinessGates {
		allErrs = append(allErrs, ValidateQualifiedName(string(gate.ConditionType), fldPath.Child("readinessGates").Index(i).Child("conditionType"))...)
	}
	allErrs = append(allErrs, validateSchedulingGates(spec.SchedulingGates, fldPath.Child("schedulingGates"))...)
	if len(spec.ServiceAccountName) > 0 {
		allErrs = append(allErrs, validateNameFunc(apimachineryvalidation.NameIsDNSSubdomain, spec.ServiceAccountName, fldPath.Child("serviceAccountName"))...)
	}
	// The v1 defaults copy serviceAccountName into the deprecated field.
	if dsa := spec.DeprecatedServiceAccount; dsa != "" && dsa != spec.ServiceAccountName { //nolint:staticcheck // SA1019 the deprecated field must stay in sync
		allErrs = append(allErrs, field.Invalid(fldPath.Child("deprecatedServiceAccount"), dsa, fmt.Sprintf("must be the same as serviceAccountName: %q", spec.ServiceAccountName)))
	}
	if len(spec.NodeName) > 0 {
		allErrs = append(allErrs, validateNameFunc(apimachineryvalidation.NameIsDNSSubdomain, spec.NodeName, fldPath.Child("nodeName"))...)
	}
	if spec.ActiveDeadlineSeconds != nil {
		if v := *spec.ActiveDeadlineSeconds; v < 1 || v > math.MaxInt32 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("activeDeadlineSeconds"), v, utilvalidation.InclusiveRangeError(1, math.MaxInt32)))
		}
	}
	if len(spec.Hostname) > 0 {
		allErrs = append(allErrs, validateDNS1123Label(spec.Hostname, fldPath.Child("hostname"))...)
	}
	if len(spec.Subdomain) > 0 {
		allErrs = append(allErrs, validateDNS1123Label(spec.Subdomain, fldPath.Child("subdomain"))...)
	}
	allErrs = append(allErrs, validateTolerations(spec.Tolerations, fldPath.Child("tolerations"))...)
	allErrs = append(allErrs, validateTopologySpreadConstraints(spec.TopologySpreadConstraints, fldPath.Child("topologySpreadConstraints"))...)
	allErrs = append(allErrs, validatePodSecurityContext(spec, fldPath)...)
	for i, alias := range spec.HostAliases {
		aliasPath := fldPath.Child("hostAliases").Index(i)
		allErrs = append(allErrs, utilvalidation.IsValidIPForLegacyField(aliasPath.Child("ip"), alias.IP, true, nil)...)
		for j, hostname := range alias.Hostnames {
			allErrs = append(allErrs, validateDNS1123Subdomain(hostname, aliasPath.Child("hostnames").Index(j))...)
		}
	}
	if len(spec.PriorityClassName) > 0 {
		allErrs = append(allErrs, validateNameFunc(apimachineryvalidation.NameIsDNSSubdomain, spec.PriorityClassName, fldPath.Child("priorityClassName"))...)
	}
	allErrs = append(allErrs, validateFileKeyRefVolumes(spec, fldPath)...)
	if spec.PreemptionPolicy != nil && !slices.Contains(supportedPreemptionPolicies, *spec.PreemptionPolicy) {
		if *spec.PreemptionPolicy == "" {
			allErrs = append(allErrs, field.Required(fldPath.Child("preemptionPolicy"), ""))
		} else {
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("preemptionPolicy"), *spec.PreemptionPolicy, supportedPreemptionPolicies))
		}
	}
	return allErrs
}

// validateContainers checks the regular containers: at least one, unique
// names, probes and lifecycle hooks, and the rules common to all containers.
func validateContainers(containers []corev1.Container, vols map[string]*corev1.VolumeSource, podClaimNames sets.Set[string], gracePeriod *int64, fldPath *field.Path) field.ErrorList {
	if len(containers) == 0 {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var allErrs field.ErrorList
	names := sets.New[string]()
	for i := range containers {
		ctr := &containers[i]
		idxPath := fldPath.Index(i)
		allErrs = append(allErrs, validateContainerCommon(ctr, vols, podClaimNames, idxPath)...)
		allErrs = append(allErrs, validateContainerProbesAndHooks(ctr, gracePeriod, idxPath)...)
		// Collisions with init containers are reported on the init container.
		if names.Has(ctr.Name) {
			allErrs = append(allErrs, field.Duplicate(idxPath.Child("name"), ctr.Name))
		} else {
			names.Insert(ctr.Name)
		}
		// ContainerRestartRules is beta and on in 1.37.
		allErrs = append(allErrs, validateContainerRestartPolicy(ctr.RestartPolicy, ctr.RestartPolicyRules, idxPath)...)
	}
	// Host ports must not collide across the containers, which run together.
	allErrs = append(allErrs, checkHostPortConflicts(containers, fldPath)...)
	return allErrs
}

// validateInitContainers checks init containers: names unique across init
// and regular containers; probes and lifecycle only on sidecars
// (restartPolicy Always), and valid there.
func validateInitContainers(initContainers, containers []corev1.Container, vols map[string]*corev1.VolumeSource, podClaimNames sets.Set[string], gracePeriod *int64, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	names := sets.New[string]()
	for _, ctr := range containers {
		names.Insert(ctr.Name)
	}
	for i := range initContainers {
		ctr := &initContainers[i]
		idxPath := fldPath.Index(i)
		allErrs = append(allErrs, validateContainerCommon(ctr, vols, podClaimNames, idxPath)...)

		restartAlways := ptr.Deref(ctr.RestartPolicy, "") == corev1.ContainerRestartPolicyAlways
		if ctr.RestartPolicy == nil {
			if len(ctr.RestartPolicyRules) > 0 {
				allErrs = append(allErrs, field.Required(idxPath.Child("restartPolicy"), "must specify restartPolicy when restart rules are used"))
			}
		} else {
			allErrs = append(allErrs, validateContainerRestartPolicy(ctr.RestartPolicy, ctr.RestartPolicyRules, idxPath)...)
		}

		if names.Has(ctr.Name) {
			allErrs = append(allErrs, field.Duplicate(idxPath.Child("name"), ctr.Name))
		} else if len(ctr.Name) > 0 {
			names.Insert(ctr.Name)
		}
		// Init containers run one by one, so only ports within one collide.
		allErrs = append(allErrs, checkHostPortConflicts([]corev1.Container{*ctr}, fldPath)...)

		if restartAlways {
			allErrs = append(allErrs, validateContainerProbesAndHooks(ctr, gracePeriod, idxPath)...)
		} else {
			const detail = "may not be set for init containers without restartPolicy=Always"
			if ctr.Lifecycle != nil {
				allErrs = append(allErrs, field.Forbidden(idxPath.Child("lifecycle"), detail))
			}
			if ctr.LivenessProbe != nil {
				allErrs = append(allErrs, field.Forbidden(idxPath.Child("livenessProbe"), detail))
			}
			if ctr.ReadinessProbe != nil {
				allErrs = append(allErrs, field.Forbidden(idxPath.Child("readinessProbe"), detail))
			}
			if ctr.StartupProbe != nil {
				allErrs = append(allErrs, field.Forbidden(idxPath.Child("startupProbe"), detail))
			}
		}
	}
	return allErrs
}

// validateContainerRestartPolicy checks a container's restartPolicy and
// restartPolicyRules.
func validateContainerRestartPolicy(policy *corev1.ContainerRestartPolicy, rules []corev1.ContainerRestartRule, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	policyPath := fldPath.Child("restartPolicy")
	if policy == nil {
		if len(rules) == 0 {
			return nil
		}
		allErrs = append(allErrs, field.Required(policyPath, "must specify restartPolicy when restart rules are used"))
	} else if !supportedContainerRestartPolicies.Has(*policy) {
		allErrs = append(allErrs, field.NotSupported(policyPath, *policy, sets.List(supportedContainerRestartPolicies)))
	}
	rulesPath := fldPath.Child("restartPolicyRules")
	if len(rules) > maxContainerRestartRules {
		allErrs = append(allErrs, field.TooMany(rulesPath, len(rules), maxContainerRestartRules))
	}
	for i, rule := range rules {
		rulePath := rulesPath.Index(i)
		if !supportedContainerRestartRuleActions.Has(rule.Action) {
			allErrs = append(allErrs, field.NotSupported(rulePath.Child("action"), rule.Action, sets.List(supportedContainerRestartRuleActions)))
		}
		if rule.ExitCodes == nil {
			allErrs = append(allErrs, field.Required(rulePath.Child("exitCodes"), "must be specified"))
			continue
		}
		if !supportedContainerRestartRuleOperators.Has(rule.ExitCodes.Operator) {
			allErrs = append(allErrs, field.NotSupported(rulePath.Child("exitCodes", "operator"), rule.ExitCodes.Operator, sets.List(supportedContainerRestartRuleOperators)))
		}
		if len(rule.ExitCodes.Values) > maxContainerRestartExitCodes {
			allErrs = append(allErrs, field.TooMany(rulePath.Child("exitCodes", "values"), len(rule.ExitCodes.Values), maxContainerRestartExitCodes))
		}
	}
	return allErrs
}

// validateContainerCommon applies the rules shared by all containers.
func validateContainerCommon(ctr *corev1.Container, vols map[string]*corev1.VolumeSource, podClaimNames sets.Set[string], fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	namePath := fldPath.Child("name")
	if len(ctr.Name) == 0 {
		allErrs = append(allErrs, field.Required(namePath, ""))
	} else {
		allErrs = append(allErrs, validateDNS1123Label(ctr.Name, namePath)...)
	}
	// Whitespace-only images are accepted, as upstream does.
	if len(ctr.Image) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("image"), ""))
	}
	if p := ctr.TerminationMessagePolicy; p != "" && !slices.Contains(supportedTerminationMessagePolicies, p) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("terminationMessagePolicy"), p, supportedTerminationMessagePolicies))
	}
	allErrs = append(allErrs, validateContainerPorts(ctr.Ports, fldPath.Child("ports"))...)
	allErrs = append(allErrs, validateEnv(ctr.Env, fldPath.Child("env"))...)
	allErrs = append(allErrs, validateEnvFrom(ctr.EnvFrom, fldPath.Child("envFrom"))...)
	allErrs = append(allErrs, validateVolumeMounts(ctr, vols, fldPath.Child("volumeMounts"))...)
	allErrs = append(allErrs, validateVolumeDevices(ctr, vols, fldPath.Child("volumeDevices"))...)
	if p := ctr.ImagePullPolicy; p != "" && !supportedPullPolicies.Has(p) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("imagePullPolicy"), p, sets.List(supportedPullPolicies)))
	}
	allErrs = append(allErrs, validateResourceRequirements(&ctr.Resources, podClaimNames, fldPath.Child("resources"))...)
	allErrs = append(allErrs, validateContainerSecurityContext(ctr.SecurityContext, fldPath.Child("securityContext"))...)
	return allErrs
}

// validateContainerPorts checks ports: IANA_SVC_NAME names unique within the
// container, containerPort 1-65535, hostPort 0-65535, protocol TCP, UDP or
// SCTP.
func validateContainerPorts(ports []corev1.ContainerPort, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		idxPath := fldPath.Index(i)
		if len(port.Name) > 0 {
			if msgs := utilvalidation.IsValidPortName(port.Name); len(msgs) != 0 {
				for _, msg := range msgs {
					allErrs = append(allErrs, field.Invalid(idxPath.Child("name"), port.Name, msg))
				}
			} else if names.Has(port.Name) {
				allErrs = append(allErrs, field.Duplicate(idxPath.Child("name"), port.Name))
			} else {
				names.Insert(port.Name)
			}
		}
		if port.ContainerPort == 0 {
			allErrs = append(allErrs, field.Required(idxPath.Child("containerPort"), ""))
		} else {
			for _, msg := range utilvalidation.IsValidPortNum(int(port.ContainerPort)) {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("containerPort"), port.ContainerPort, msg))
			}
		}
		if port.HostPort != 0 {
			for _, msg := range utilvalidation.IsValidPortNum(int(port.HostPort)) {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("hostPort"), port.HostPort, msg))
			}
		}
		if port.Protocol != "" && !supportedPortProtocols.Has(port.Protocol) {
			allErrs = append(allErrs, field.NotSupported(idxPath.Child("protocol"), port.Protocol, sets.List(supportedPortProtocols)))
		}
	}
	return allErrs
}

// checkHostPortConflicts reports a protocol/hostIP/hostPort used twice.
func checkHostPortConflicts(containers []corev1.Container, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	seen := sets.New[string]()
	for ci, ctr := range containers {
		portsPath := fldPath.Index(ci).Child("ports")
		for pi, port := range ctr.Ports {
			if port.HostPort == 0 {
				continue
			}
			key := fmt.Sprintf("%s/%s/%d", port.Protocol, port.HostIP, port.HostPort)
			if seen.Has(key) {
				allErrs = append(allErrs, field.Duplicate(portsPath.Index(pi).Child("hostPort"), key))
			} else {
				seen.Insert(key)
			}
		}
	}
	return allErrs
}

// validatePodHostNetworkDeps: with hostNetwork a template's hostPort must be
// unset or equal to containerPort.
func validatePodHostNetworkDeps(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	if !spec.HostNetwork {
		return nil
	}
	var allErrs field.ErrorList
	for i, ctr := range spec.Containers {
		for j, port := range ctr.Ports {
			if port.HostPort != 0 && port.HostPort != port.ContainerPort {
				allErrs = append(allErrs, field.Invalid(fldPath.Child("containers").Index(i).Child("ports").Index(j).Child("hostPort"), port.HostPort, "must match `containerPort` when `hostNetwork` is true"))
			}
		}
	}
	return allErrs
}

// validatePodDNSConfig: dnsPolicy None needs a dnsConfig with a nameserver.
func validatePodDNSConfig(cfg *corev1.PodDNSConfig, policy corev1.DNSPolicy, fldPath *field.Path) field.ErrorList {
	if policy == corev1.DNSNone {
		if cfg == nil {
			return field.ErrorList{field.Required(fldPath, fmt.Sprintf("must provide `dnsConfig` when `dnsPolicy` is %s", corev1.DNSNone))}
		}
		if len(cfg.Nameservers) == 0 {
			return field.ErrorList{field.Required(fldPath.Child("nameservers"), fmt.Sprintf("must provide at least one DNS nameserver when `dnsPolicy` is %s", corev1.DNSNone))}
		}
	}
	if cfg == nil {
		return nil
	}
	var allErrs field.ErrorList
	if len(cfg.Nameservers) > maxDNSNameservers {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("nameservers"), cfg.Nameservers, fmt.Sprintf("must not have more than %v nameservers", maxDNSNameservers)))
	}
	for i, ns := range cfg.Nameservers {
		allErrs = append(allErrs, utilvalidation.IsValidIPForLegacyField(fldPath.Child("nameservers").Index(i), ns, true, nil)...)
	}
	if len(cfg.Searches) > maxDNSSearchPaths {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("searches"), cfg.Searches, fmt.Sprintf("must not have more than %v search paths", maxDNSSearchPaths)))
	}
	if len(strings.Join(cfg.Searches, " ")) > maxDNSSearchListChars {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("searches"), cfg.Searches, fmt.Sprintf("must not have more than %v characters (including spaces) in the search list", maxDNSSearchListChars)))
	}
	for i, search := range cfg.Searches {
		if search != "." {
			search = strings.TrimSuffix(search, ".")
			for _, msg := range utilvalidation.IsDNS1123SubdomainWithUnderscore(search) {
				allErrs = append(allErrs, field.Invalid(fldPath.Child("searches").Index(i), search, msg))
			}
		}
	}
	for i, option := range cfg.Options {
		if len(option.Name) == 0 {
			allErrs = append(allErrs, field.Required(fldPath.Child("options").Index(i), "must not be empty"))
		}
	}
	return allErrs
}

func validateDNS1123Label(value string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range utilvalidation.IsDNS1123Label(value) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg))
	}
	return allErrs
}

func validateDNS1123Subdomain(value string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range utilvalidation.IsDNS1123Subdomain(value) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg))
	}
	return allErrs
}

// ValidateQualifiedName checks a qualified name ([prefix/]name), such as a
// condition type or a label key.
func ValidateQualifiedName(value string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range utilvalidation.IsQualifiedName(value) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg))
	}
	return allErrs
}

func validateNameFunc(fn apimachineryvalidation.ValidateNameFunc, name string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range fn(name, false) {
		allErrs = append(allErrs, field.Invalid(fldPath, name, msg))
	}
	return allErrs
}
