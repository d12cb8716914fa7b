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
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestValidateSecurityContexts(t *testing.T) {
	const (
		psc = "spec.template.spec.securityContext."
		csc = "spec.template.spec.containers[0].securityContext"
	)
	cases := map[string]struct {
		mutate func(spec *corev1.PodSpec)
		want   []wantErr
	}{
		"valid restricted-style contexts": {mutate: func(spec *corev1.PodSpec) {
			spec.SecurityContext = &corev1.PodSecurityContext{
				RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](1000),
				FSGroup: ptr.To[int64](2000), SupplementalGroups: []int64{3000},
				FSGroupChangePolicy:      ptr.To(corev1.FSGroupChangeOnRootMismatch),
				SupplementalGroupsPolicy: ptr.To(corev1.SupplementalGroupsPolicyStrict),
				SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				AppArmorProfile:          &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: ptr.To("k8s-default")},
			}
			spec.Containers[0].SecurityContext = &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr.To(false), RunAsUser: ptr.To[int64](0),
				Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}},
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("profiles/audit.json")},
				ProcMount:      ptr.To(corev1.DefaultProcMount),
			}
		}},
		"pod IDs out of range": {
			mutate: func(spec *corev1.PodSpec) {
				spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](-1), RunAsGroup: ptr.To[int64](1 << 31),
					FSGroup: ptr.To[int64](-2), SupplementalGroups: []int64{1, -3}}
			},
			want: []wantErr{
				invalid(psc+"runAsUser", "between 0 and 2147483647"),
				invalid(psc + "runAsGroup"),
				invalid(psc + "fsGroup"),
				invalid(psc + "supplementalGroups[1]"),
			},
		},
		"pod enumerations": {
			mutate: func(spec *corev1.PodSpec) {
				spec.SecurityContext = &corev1.PodSecurityContext{
					FSGroupChangePolicy:      ptr.To[corev1.PodFSGroupChangePolicy]("Sometimes"),
					SupplementalGroupsPolicy: ptr.To[corev1.SupplementalGroupsPolicy]("Loose"),
				}
			},
			want: []wantErr{notSupported(psc + "fsGroupChangePolicy"), notSupported(psc + "supplementalGroupsPolicy")},
		},
		"seccomp profiles": {
			mutate: func(spec *corev1.PodSpec) {
				spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{}}
				spec.Containers[0].SecurityContext = &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{
					Type: corev1.SeccompProfileTypeRuntimeDefault, LocalhostProfile: ptr.To("p.json")}}
				spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox",
					SecurityContext: &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost}}}}
			},
			want: []wantErr{
				required(psc+"seccompProfile.type", "type is required when seccompProfile is set"),
				invalid(csc+".seccompProfile.localhostProfile", "can only be set when seccomp type is Localhost"),
				required("spec.template.spec.initContainers[0].securityContext.seccompProfile.localhostProfile", "must be set when seccomp type is Localhost"),
			},
		},
		"apparmor profiles": {
			mutate: func(spec *corev1.PodSpec) {
				spec.SecurityContext = &corev1.PodSecurityContext{AppArmorProfile: &corev1.AppArmorProfile{Type: "Strict"}}
				spec.Containers[0].SecurityContext = &corev1.SecurityContext{AppArmorProfile: &corev1.AppArmorProfile{
					Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: ptr.To(" padded ")}}
			},
			want: []wantErr{
				notSupported(psc + "appArmorProfile.type"),
				invalid(csc+".appArmorProfile.localhostProfile", "must not be padded with whitespace"),
			},
		},
		"apparmor profile too long": {
			mutate: func(spec *corev1.PodSpec) {
				spec.Containers[0].SecurityContext = &corev1.SecurityContext{AppArmorProfile: &corev1.AppArmorProfile{
					Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: ptr.To(strings.Repeat("a", 4096))}}
			},
			want: []wantErr{tooLong(csc + ".appArmorProfile.localhostProfile")},
		},
		"container IDs, procMount, allowPrivilegeEscalation contradictions": {
			mutate: func(spec *corev1.PodSpec) {
				spec.Containers[0].SecurityContext = &corev1.SecurityContext{
					RunAsUser: ptr.To[int64](-1), RunAsGroup: ptr.To[int64](-1),
					ProcMount:                ptr.To[corev1.ProcMountType]("Masked"),
					AllowPrivilegeEscalation: ptr.To(false), Privileged: ptr.To(true),
					Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"CAP_SYS_ADMIN"}},
				}
			},
			want: []wantErr{
				invalid(csc + ".runAsUser"),
				invalid(csc + ".runAsGroup"),
				notSupported(csc + ".procMount"),
				invalid(csc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"),
				invalid(csc, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"),
			},
		},
		"sysctls": {
			mutate: func(spec *corev1.PodSpec) {
				spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{
					{Name: "kernel.shm_rmid_forced", Value: "1"},
					{Name: "net/ipv4/ip_local_port_range", Value: "1024 65535"},
					{Name: ""},
					{Name: "Kernel.Bad..Name"},
					{Name: "kernel.shm_rmid_forced", Value: "0"},
				}}
			},
			want: []wantErr{
				required(psc + "sysctls[2].name"),
				invalid(psc+"sysctls[3].name", "must have at most 253 characters and match regex"),
				duplicate(psc + "sysctls[4].name"),
			},
		},
		"sysctls of a namespace shared with the node": {
			mutate: func(spec *corev1.PodSpec) {
				spec.HostNetwork, spec.HostIPC = true, true
				spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{
					{Name: "net.core.somaxconn", Value: "1024"},
					{Name: "kernel.msgmax", Value: "65536"},
					{Name: "kernel.domainname", Value: "example"},
				}}
			},
			want: []wantErr{
				invalid(psc+"sysctls[0].name", "may not be specified when 'hostNetwork' is true"),
				invalid(psc+"sysctls[1].name", "may not be specified when 'hostIPC' is true"),
			},
		},
		"seLinuxChangePolicy": {
			mutate: func(spec *corev1.PodSpec) {
				spec.SecurityContext = &corev1.PodSecurityContext{SELinuxChangePolicy: ptr.To[corev1.PodSELinuxChangePolicy]("Never")}
			},
			want: []wantErr{notSupported(psc + "seLinuxChangePolicy")},
		},
		"valid seLinux and windows options": {mutate: func(spec *corev1.PodSpec) {
			spec.SecurityContext = &corev1.PodSecurityContext{
				SELinuxChangePolicy: ptr.To(corev1.SELinuxChangePolicyMountOption),
				SELinuxOptions:      &corev1.SELinuxOptions{Level: "s0:c123,c456"},
				WindowsOptions:      &corev1.WindowsSecurityContextOptions{RunAsUserName: ptr.To(`NT AUTHORITY\NETWORK SERVICE`), GMSACredentialSpecName: ptr.To("gmsa-webapp-1")},
			}
			spec.Containers[0].SecurityContext = &corev1.SecurityContext{
				WindowsOptions: &corev1.WindowsSecurityContextOptions{RunAsUserName: ptr.To("ContainerUser")},
			}
		}},
		"windows options": {
			mutate: func(spec *corev1.PodSpec) {
				spec.SecurityContext = &corev1.PodSecurityContext{WindowsOptions: &corev1.WindowsSecurityContextOptions{
					GMSACredentialSpecName: ptr.To("Not_A_Name"),
					GMSACredentialSpec:     ptr.To(""),
					RunAsUserName:          ptr.To(`a\b\c`),
				}}
				spec.Containers[0].SecurityContext = &corev1.SecurityContext{WindowsOptions: &corev1.WindowsSecurityContextOptions{
					GMSACredentialSpec: ptr.To(strings.Repeat("x", 64*1024+1)),
					RunAsUserName:      ptr.To(`.domain\user:name`),
				}}
				spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", SecurityContext: &corev1.SecurityContext{
					WindowsOptions: &corev1.WindowsSecurityContextOptions{RunAsUserName: ptr.To("...")}}}}
			},
			want: []wantErr{
				invalid(psc+"windowsOptions.gmsaCredentialSpecName", "RFC 1123 subdomain"),
				invalid(psc+"windowsOptions.gmsaCredentialSpec", "cannot be an empty string"),
				invalid(psc+"windowsOptions.runAsUserName", "more than one backslash"),
				invalid(csc+".windowsOptions.gmsaCredentialSpec", "size must be under 64 KiB"),
				invalid(csc+".windowsOptions.runAsUserName", "Domain doesn't match the NetBios nor the DNS format"),
				invalid(csc+".windowsOptions.runAsUserName", "User cannot contain the following characters"),
				invalid("spec.template.spec.initContainers[0].securityContext.windowsOptions.runAsUserName", "only periods or spaces"),
			},
		},
		"procMount Unmasked needs hostUsers false": {
			mutate: func(spec *corev1.PodSpec) {
				spec.Containers[0].SecurityContext = &corev1.SecurityContext{ProcMount: ptr.To(corev1.UnmaskedProcMount)}
			},
			want: []wantErr{invalid(csc+".procMount", "`hostUsers` must be false to use `Unmasked`")},
		},
		"a user namespace excludes host namespaces and volumeDevices": {
			mutate: func(spec *corev1.PodSpec) {
				spec.HostUsers = ptr.To(false)
				spec.HostNetwork, spec.HostPID, spec.HostIPC = true, true, true
				spec.Volumes = []corev1.Volume{{Name: "raw", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "raw"}}}}
				spec.Containers[0].VolumeDevices = []corev1.VolumeDevice{{Name: "raw", DevicePath: "/dev/xvda"}}
			},
			want: []wantErr{
				forbidden("spec.template.spec.hostNetwork", "when `hostUsers` is false"),
				forbidden("spec.template.spec.HostPID"),
				forbidden("spec.template.spec.HostIPC"),
				forbidden("spec.template.spec.containers[0].volumeDevices"),
			},
		},
		"procMount Unmasked in a user namespace": {mutate: func(spec *corev1.PodSpec) {
			spec.HostUsers = ptr.To(false)
			spec.Containers[0].SecurityContext = &corev1.SecurityContext{ProcMount: ptr.To(corev1.UnmaskedProcMount)}
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			job := podSpecJob(tc.mutate)
			assertErrors(t, ValidateJobCreate(job, JobCreateValidationOptions(job)), tc.want...)
		})
	}
}
