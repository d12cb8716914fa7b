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
	"fmt"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilsysctl "k8s.io/component-helpers/node/util/sysctl"
)

// Pod and container security contexts (upstream core validation
// validatePodSpecSecurityContext and ValidateSecurityContext): user and
// group IDs, the enumerations, seccomp and AppArmor profiles, and
// allowPrivilegeEscalation=false with what contradicts it, sysctls, the
// SELinux change policy, Windows options, procMount Unmasked without a
// user namespace and what a user namespace excludes. Not ported: the rule that depends on the cluster
// (kube-apiserver's --allow-privileged), and the checks of Pods whose
// spec.os.name is windows.

var (
	supportedSeccompProfileTypes     = []corev1.SeccompProfileType{corev1.SeccompProfileTypeLocalhost, corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined}
	supportedAppArmorProfileTypes    = []corev1.AppArmorProfileType{corev1.AppArmorProfileTypeLocalhost, corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined}
	supportedFSGroupChangePolicies   = []corev1.PodFSGroupChangePolicy{corev1.FSGroupChangeOnRootMismatch, corev1.FSGroupChangeAlways}
	supportedSupplementalGroupsRules = []corev1.SupplementalGroupsPolicy{corev1.SupplementalGroupsPolicyMerge, corev1.SupplementalGroupsPolicyStrict}
	supportedProcMountTypes          = []corev1.ProcMountType{corev1.DefaultProcMount, corev1.UnmaskedProcMount}
	supportedSELinuxChangePolicies   = []corev1.PodSELinuxChangePolicy{corev1.SELinuxChangePolicyMountOption, corev1.SELinuxChangePolicyRecursive}
)

// Sysctl names, as upstream's IsValidSysctlName: dot- or slash-separated
// segments, at most 253 characters.
const (
	sysctlSegmentFmt      = "[a-z0-9]([-_a-z0-9]*[a-z0-9])?"
	sysctlContainSlashFmt = "(" + sysctlSegmentFmt + "[\\./])*" + sysctlSegmentFmt
	sysctlMaxLength       = 253
)

var sysctlNameRegexp = regexp.MustCompile("^" + sysctlContainSlashFmt + "$")

// Windows options (upstream validateWindowsSecurityContextOptions).
const (
	maxGMSACredentialSpecLengthInKiB = 64
	maxGMSACredentialSpecLength      = maxGMSACredentialSpecLengthInKiB * 1024
	maxRunAsUserNameDomainLength     = 256
	maxRunAsUserNameUserLength       = 104
)

var (
	ctrlRegex                      = regexp.MustCompile(`[[:cntrl:]]+`)
	validNetBiosRegex              = regexp.MustCompile(`^[^\\/:\*\?"<>|\.][^\\/:\*\?"<>|]{0,14}$`)
	windowsDNSLabelFormat          = `[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?`
	validWindowsUserDomainDNSRegex = regexp.MustCompile(fmt.Sprintf(`^%s(?:\.%s)*$`, windowsDNSLabelFormat, windowsDNSLabelFormat))
	invalidUserNameCharsRegex      = regexp.MustCompile(`["/\\:;|=,\+\*\?<>@\[\]]`)
	invalidUserNameDotsSpacesRegex = regexp.MustCompile(`^[\. ]+$`)
)

// validatePodSecurityContext checks the Pod's security context and, since
// they depend on it, the procMount of each container.
func validatePodSecurityContext(spec *corev1.PodSpec, specPath *field.Path) field.ErrorList {
	allErrs := validateHostUsers(spec, specPath)
	allErrs = append(allErrs, validateUnmaskedProcMounts(spec, specPath)...)
	sc := spec.SecurityContext
	if sc == nil {
		return allErrs
	}
	fldPath := specPath.Child("securityContext")
	allErrs = append(allErrs, validatePodSecurityContextFields(sc, spec, fldPath)...)
	return allErrs
}

func validatePodSecurityContextFields(sc *corev1.PodSecurityContext, spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	allErrs := validateIDs(sc.RunAsUser, sc.RunAsGroup, fldPath)
	if sc.FSGroup != nil {
		for _, msg := range utilvalidation.IsValidGroupID(*sc.FSGroup) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("fsGroup"), *sc.FSGroup, msg))
		}
	}
	for i, gid := range sc.SupplementalGroups {
		for _, msg := range utilvalidation.IsValidGroupID(gid) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("supplementalGroups").Index(i), gid, msg))
		}
	}
	if p := sc.FSGroupChangePolicy; p != nil && !slices.Contains(supportedFSGroupChangePolicies, *p) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("fsGroupChangePolicy"), *p, supportedFSGroupChangePolicies))
	}
	if p := sc.SupplementalGroupsPolicy; p != nil && !slices.Contains(supportedSupplementalGroupsRules, *p) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("supplementalGroupsPolicy"), *p, supportedSupplementalGroupsRules))
	}
	allErrs = append(allErrs, validateSysctls(sc.Sysctls, spec, fldPath.Child("sysctls"))...)
	allErrs = append(allErrs, validateSeccompProfile(sc.SeccompProfile, fldPath.Child("seccompProfile"))...)
	allErrs = append(allErrs, validateWindowsOptions(sc.WindowsOptions, fldPath.Child("windowsOptions"))...)
	allErrs = append(allErrs, validateAppArmorProfile(sc.AppArmorProfile, fldPath.Child("appArmorProfile"))...)
	if p := sc.SELinuxChangePolicy; p != nil && !slices.Contains(supportedSELinuxChangePolicies, *p) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("seLinuxChangePolicy"), *p, supportedSELinuxChangePolicies))
	}
	return allErrs
}

// validateSysctls: names valid and unique, and no sysctl of a namespace the
// Pod shares with the node (net.* with hostNetwork, IPC ones with hostIPC).
func validateSysctls(sysctls []corev1.Sysctl, spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	names := make(map[string]struct{}, len(sysctls))
	for i, s := range sysctls {
		namePath := fldPath.Index(i).Child("name")
		switch _, seen := names[s.Name]; {
		case len(s.Name) == 0:
			allErrs = append(allErrs, field.Required(namePath, ""))
		case len(s.Name) > sysctlMaxLength || !sysctlNameRegexp.MatchString(s.Name):
			allErrs = append(allErrs, field.Invalid(namePath, s.Name,
				fmt.Sprintf("must have at most %d characters and match regex %s", sysctlMaxLength, sysctlNameRegexp)))
		case seen:
			allErrs = append(allErrs, field.Duplicate(namePath, s.Name))
		}
		ns, _, _ := utilsysctl.GetNamespace(s.Name)
		switch {
		case spec.HostNetwork && ns == utilsysctl.NetNamespace:
			allErrs = append(allErrs, field.Invalid(namePath, s.Name, "may not be specified when 'hostNetwork' is true"))
		case spec.HostIPC && ns == utilsysctl.IPCNamespace:
			allErrs = append(allErrs, field.Invalid(namePath, s.Name, "may not be specified when 'hostIPC' is true"))
		}
		names[s.Name] = struct{}{}
	}
	return allErrs
}

// validateHostUsers: a Pod in its own user namespace (hostUsers: false)
// may not share the node's network, PID or IPC namespace, nor use
// volumeDevices. (The field paths HostPID and HostIPC are upstream's.)
func validateHostUsers(spec *corev1.PodSpec, specPath *field.Path) field.ErrorList {
	if spec.HostUsers == nil || *spec.HostUsers {
		return nil
	}
	var allErrs field.ErrorList
	if spec.HostNetwork {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("hostNetwork"), "when `hostUsers` is false"))
	}
	if spec.HostPID {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("HostPID"), "when `hostUsers` is false"))
	}
	if spec.HostIPC {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("HostIPC"), "when `hostUsers` is false"))
	}
	visitContainers(spec, specPath, func(ctr *corev1.Container, path *field.Path) {
		if len(ctr.VolumeDevices) > 0 {
			allErrs = append(allErrs, field.Forbidden(path.Child("volumeDevices"), "when `hostUsers` is false"))
		}
	})
	return allErrs
}

// validateUnmaskedProcMounts: procMount Unmasked needs the Pod in its own
// user namespace (hostUsers: false).
func validateUnmaskedProcMounts(spec *corev1.PodSpec, specPath *field.Path) field.ErrorList {
	if spec.HostUsers != nil && !*spec.HostUsers {
		return nil
	}
	var allErrs field.ErrorList
	visitContainers(spec, specPath, func(ctr *corev1.Container, path *field.Path) {
		if sc := ctr.SecurityContext; sc != nil && sc.ProcMount != nil && *sc.ProcMount == corev1.UnmaskedProcMount {
			allErrs = append(allErrs, field.Invalid(path.Child("securityContext", "procMount"), sc.ProcMount, "`hostUsers` must be false to use `Unmasked`"))
		}
	})
	return allErrs
}

// validateWindowsOptions ports upstream's checks of the GMSA credential
// spec and runAsUserName ([DOMAIN\]USER).
func validateWindowsOptions(opts *corev1.WindowsSecurityContextOptions, fldPath *field.Path) field.ErrorList {
	if opts == nil {
		return nil
	}
	var allErrs field.ErrorList
	if opts.GMSACredentialSpecName != nil {
		allErrs = append(allErrs, validateDNS1123Subdomain(*opts.GMSACredentialSpecName, fldPath.Child("gmsaCredentialSpecName"))...)
	}
	if opts.GMSACredentialSpec != nil {
		if l := len(*opts.GMSACredentialSpec); l == 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("gmsaCredentialSpec"), opts.GMSACredentialSpec, "gmsaCredentialSpec cannot be an empty string"))
		} else if l > maxGMSACredentialSpecLength {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("gmsaCredentialSpec"), opts.GMSACredentialSpec,
				fmt.Sprintf("gmsaCredentialSpec size must be under %d KiB", maxGMSACredentialSpecLengthInKiB)))
		}
	}
	if opts.RunAsUserName != nil {
		allErrs = append(allErrs, validateRunAsUserName(*opts.RunAsUserName, fldPath.Child("runAsUserName"))...)
	}
	return allErrs
}

func validateRunAsUserName(name string, fldPath *field.Path) field.ErrorList {
	invalid := func(msg string) field.ErrorList { return field.ErrorList{field.Invalid(fldPath, name, msg)} }
	if len(name) == 0 {
		return invalid("runAsUserName cannot be an empty string")
	}
	if ctrlRegex.MatchString(name) {
		return invalid("runAsUserName cannot contain control characters")
	}
	parts := strings.Split(name, "\\")
	if len(parts) > 2 {
		return invalid("runAsUserName cannot contain more than one backslash")
	}
	domain, user, hasDomain := "", parts[0], len(parts) == 2
	if hasDomain {
		domain, user = parts[0], parts[1]
	}
	var allErrs field.ErrorList
	if len(domain) >= maxRunAsUserNameDomainLength {
		allErrs = append(allErrs, invalid(fmt.Sprintf("runAsUserName's Domain length must be under %d characters", maxRunAsUserNameDomainLength))...)
	}
	if hasDomain && !validNetBiosRegex.MatchString(domain) && !validWindowsUserDomainDNSRegex.MatchString(domain) {
		allErrs = append(allErrs, invalid("runAsUserName's Domain doesn't match the NetBios nor the DNS format")...)
	}
	if l := len(user); l == 0 {
		allErrs = append(allErrs, invalid("runAsUserName's User cannot be empty")...)
	} else if l > maxRunAsUserNameUserLength {
		allErrs = append(allErrs, invalid(fmt.Sprintf("runAsUserName's User length must not be longer than %d characters", maxRunAsUserNameUserLength))...)
	}
	if invalidUserNameDotsSpacesRegex.MatchString(user) {
		allErrs = append(allErrs, invalid("runAsUserName's User cannot contain only periods or spaces")...)
	}
	if invalidUserNameCharsRegex.MatchString(user) {
		allErrs = append(allErrs, invalid(`runAsUserName's User cannot contain the following characters: "/\:;|=,+*?<>@[]`)...)
	}
	return allErrs
}

func validateContainerSecurityContext(sc *corev1.SecurityContext, fldPath *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	allErrs := validateIDs(sc.RunAsUser, sc.RunAsGroup, fldPath)
	if p := sc.ProcMount; p != nil && !slices.Contains(supportedProcMountTypes, *p) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("procMount"), *p, supportedProcMountTypes))
	}
	allErrs = append(allErrs, validateSeccompProfile(sc.SeccompProfile, fldPath.Child("seccompProfile"))...)
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		if sc.Privileged != nil && *sc.Privileged {
			allErrs = append(allErrs, field.Invalid(fldPath, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if sc.Capabilities != nil && slices.Contains(sc.Capabilities.Add, "CAP_SYS_ADMIN") {
			allErrs = append(allErrs, field.Invalid(fldPath, sc, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
		}
	}
	allErrs = append(allErrs, validateWindowsOptions(sc.WindowsOptions, fldPath.Child("windowsOptions"))...)
	allErrs = append(allErrs, validateAppArmorProfile(sc.AppArmorProfile, fldPath.Child("appArmorProfile"))...)
	return allErrs
}

func validateIDs(runAsUser, runAsGroup *int64, fldPath *field.Path) field.ErrorList {
	allErrs := validateUserField(runAsUser, fldPath.Child("runAsUser"))
	if runAsGroup != nil {
		for _, msg := range utilvalidation.IsValidGroupID(*runAsGroup) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("runAsGroup"), *runAsGroup, msg))
		}
	}
	return allErrs
}

func validateSeccompProfile(sp *corev1.SeccompProfile, fldPath *field.Path) field.ErrorList {
	if sp == nil {
		return nil
	}
	var allErrs field.ErrorList
	switch {
	case sp.Type == "":
		allErrs = append(allErrs, field.Required(fldPath.Child("type"), "type is required when seccompProfile is set"))
	case !slices.Contains(supportedSeccompProfileTypes, sp.Type):
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("type"), sp.Type, supportedSeccompProfileTypes))
	}
	if sp.Type == corev1.SeccompProfileTypeLocalhost {
		if sp.LocalhostProfile == nil || len(*sp.LocalhostProfile) == 0 {
			allErrs = append(allErrs, field.Required(fldPath.Child("localhostProfile"), "must be set when seccomp type is Localhost"))
		} else {
			allErrs = append(allErrs, validateLocalDescendingPath(*sp.LocalhostProfile, fldPath.Child("localhostProfile"))...)
		}
	} else if sp.LocalhostProfile != nil {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("localhostProfile"), sp, "can only be set when seccomp type is Localhost"))
	}
	return allErrs
}

func validateAppArmorProfile(profile *corev1.AppArmorProfile, fldPath *field.Path) field.ErrorList {
	if profile == nil {
		return nil
	}
	const maxLocalhostProfileLength = 4095 // PATH_MAX - 1
	var allErrs field.ErrorList
	switch profile.Type {
	case corev1.AppArmorProfileTypeLocalhost:
		lp := profile.LocalhostProfile
		switch {
		case lp == nil:
			allErrs = append(allErrs, field.Required(fldPath.Child("localhostProfile"), "must be set when AppArmor type is Localhost"))
		case strings.TrimSpace(*lp) != *lp:
			allErrs = append(allErrs, field.Invalid(fldPath.Child("localhostProfile"), *lp, "must not be padded with whitespace"))
		case *lp == "":
			allErrs = append(allErrs, field.Required(fldPath.Child("localhostProfile"), "must be set when AppArmor type is Localhost"))
		}
		if lp != nil && len(*lp) > maxLocalhostProfileLength {
			allErrs = append(allErrs, field.TooLong(fldPath.Child("localhostProfile"), *lp, maxLocalhostProfileLength))
		}
	case corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined:
		if profile.LocalhostProfile != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("localhostProfile"), profile.LocalhostProfile, "can only be set when AppArmor type is Localhost"))
		}
	case "":
		allErrs = append(allErrs, field.Required(fldPath.Child("type"), "type is required when appArmorProfile is set"))
	default:
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("type"), profile.Type, supportedAppArmorProfileTypes))
	}
	return allErrs
}
