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

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
)

// podSpecJob is validJob with its pod spec changed by mutate.
func podSpecJob(mutate func(spec *corev1.PodSpec)) *batch.Job {
	return jobWith(func(j *batch.Job) { mutate(&j.Spec.Template.Spec) })
}

// containerJob is validJob with its container changed by mutate.
func containerJob(mutate func(c *corev1.Container)) *batch.Job {
	return podSpecJob(func(spec *corev1.PodSpec) { mutate(&spec.Containers[0]) })
}

func TestValidatePodTemplate(t *testing.T) {
	const (
		ps = "spec.template.spec."
		c0 = ps + "containers[0]."
	)
	quantities := func(kv ...string) corev1.ResourceList {
		list := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			list[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return list
	}
	configMapVolume := func(name string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cm"},
		}}}
	}
	emptyDirVolume := func(name string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	}
	cases := map[string]struct {
		job  *batch.Job
		want []wantErr
	}{
		// Valid templates.
		"valid full container": {job: podSpecJob(func(spec *corev1.PodSpec) {
			spec.Volumes = []corev1.Volume{
				configMapVolume("script"),
				emptyDirVolume("scratch"),
				{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "pvc"}}},
				{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: ptr.To[int32](0o644)}}},
			}
			spec.Containers[0].Env = []corev1.EnvVar{
				{Name: "PLAIN", Value: "x"},
				{Name: "1st-relaxed.name with space", Value: "x"},
				{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
				{Name: "INDEX", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels['batch.kubernetes.io/job-completion-index']"}}},
				{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
				{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "password"}}},
				{Name: "FROM_FILE", ValueFrom: &corev1.EnvVarSource{FileKeyRef: &corev1.FileKeySelector{VolumeName: "scratch", Path: "env", Key: "KEY"}}},
			}
			spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{Prefix: "CM_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}}
			spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
				{Name: "script", MountPath: "/script.js", SubPath: "script.js"},
				{Name: "data", MountPath: "/data"},
			}
			spec.Containers[0].Ports = []corev1.ContainerPort{
				{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
				{Name: "metrics", ContainerPort: 9090, HostPort: 9090, Protocol: corev1.ProtocolUDP},
			}
			spec.Containers[0].Resources = corev1.ResourceRequirements{
				Requests: quantities("cpu", "100m", "memory", "64Mi", "example.com/gpu", "1"),
				Limits:   quantities("cpu", "1", "memory", "128Mi", "example.com/gpu", "1", "hugepages-2Mi", "4Mi"),
			}
			spec.InitContainers = []corev1.Container{
				{Name: "setup", Image: "busybox"},
				{
					Name: "sidecar", Image: "busybox", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}},
				},
			}
			spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
			spec.Tolerations = []corev1.Toleration{
				{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "batch", Effect: corev1.TaintEffectNoSchedule},
				{Operator: corev1.TolerationOpExists},
				{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](30)},
			}
			spec.Affinity = &corev1.Affinity{NodeAffinity: nodeAffinity("a")}
			spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/gate"}}
			spec.ServiceAccountName = "runner"
			spec.DeprecatedServiceAccount = "runner"
			spec.ActiveDeadlineSeconds = ptr.To[int64](60)
			spec.Hostname = "worker"
			spec.Subdomain = "workers"
			spec.PriorityClassName = "high"
		})},
		"valid negative terminationGracePeriodSeconds (a warning upstream)": {job: podSpecJob(func(spec *corev1.PodSpec) {
			spec.TerminationGracePeriodSeconds = ptr.To[int64](-1)
		})},
		"valid fields left to defaulting": {job: podSpecJob(func(spec *corev1.PodSpec) {
			spec.DNSPolicy = ""
			spec.TerminationGracePeriodSeconds = nil
			spec.Containers[0].ImagePullPolicy = ""
			spec.Containers[0].TerminationMessagePolicy = ""
			spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80}}
		})},
		"valid container restartPolicy with rules": {job: containerJob(func(c *corev1.Container) {
			c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyNever)
			c.RestartPolicyRules = []corev1.ContainerRestartRule{{
				Action:    corev1.ContainerRestartRuleActionRestart,
				ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: corev1.ContainerRestartRuleOnExitCodesOpIn, Values: []int32{42}},
			}}
		})},

		// Template metadata.
		"invalid template label": {
			job:  jobWith(func(j *batch.Job) { j.Spec.Template.Labels["a b"] = "c" }),
			want: []wantErr{invalid("spec.template.labels")},
		},
		"invalid template annotation": {
			job:  jobWith(func(j *batch.Job) { j.Spec.Template.Annotations = map[string]string{"a b": "c"} }),
			want: []wantErr{invalid("spec.template.annotations")},
		},

		// Containers.
		"no containers": {
			job:  podSpecJob(func(spec *corev1.PodSpec) { spec.Containers = nil }),
			want: []wantErr{required(ps + "containers")},
		},
		"container without name": {
			job:  containerJob(func(c *corev1.Container) { c.Name = "" }),
			want: []wantErr{required(c0 + "name")},
		},
		"container name not a DNS label": {
			job:  containerJob(func(c *corev1.Container) { c.Name = "Main_Container" }),
			want: []wantErr{invalid(c0+"name", "a lowercase RFC 1123 label")},
		},
		"duplicate container names": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.Containers = append(spec.Containers, spec.Containers[0])
			}),
			want: []wantErr{duplicate(ps + "containers[1].name")},
		},
		"init container named like a container": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.InitContainers = []corev1.Container{{Name: "main", Image: "busybox"}}
			}),
			want: []wantErr{duplicate(ps + "initContainers[0].name")},
		},
		"duplicate init container names": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox"}, {Name: "init", Image: "busybox"}}
			}),
			want: []wantErr{duplicate(ps + "initContainers[1].name")},
		},
		"container without image": {
			job:  containerJob(func(c *corev1.Container) { c.Image = "" }),
			want: []wantErr{required(c0 + "image")},
		},
		"init container without image": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.InitContainers = []corev1.Container{{Name: "init"}}
			}),
			want: []wantErr{required(ps + "initContainers[0].image")},
		},
		"unknown imagePullPolicy": {
			job:  containerJob(func(c *corev1.Container) { c.ImagePullPolicy = "Sometimes" }),
			want: []wantErr{notSupported(c0+"imagePullPolicy", `supported values: "Always", "IfNotPresent", "Never"`)},
		},
		"unknown terminationMessagePolicy": {
			job:  containerJob(func(c *corev1.Container) { c.TerminationMessagePolicy = "Other" }),
			want: []wantErr{notSupported(c0 + "terminationMessagePolicy")},
		},
		"probe on a plain init container": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.InitContainers = []corev1.Container{{
					Name: "init", Image: "busybox",
					LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}},
					Lifecycle:     &corev1.Lifecycle{},
				}}
			}),
			want: []wantErr{
				forbidden(ps+"initContainers[0].livenessProbe", "may not be set for init containers without restartPolicy=Always"),
				forbidden(ps+"initContainers[0].lifecycle", "may not be set for init containers without restartPolicy=Always"),
			},
		},
		"unknown init container restartPolicy": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", RestartPolicy: ptr.To(corev1.ContainerRestartPolicy("Sometimes"))}}
			}),
			want: []wantErr{notSupported(ps + "initContainers[0].restartPolicy")},
		},
		"container restart rule without exit codes": {
			job: containerJob(func(c *corev1.Container) {
				c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyNever)
				c.RestartPolicyRules = []corev1.ContainerRestartRule{{Action: corev1.ContainerRestartRuleActionRestart}}
			}),
			want: []wantErr{required(c0 + "restartPolicyRules[0].exitCodes")},
		},
		"ephemeral containers": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox"}}}
			}),
			want: []wantErr{forbidden(ps+"ephemeralContainers", "ephemeral containers not allowed in pod template")},
		},

		// Environment.
		"env var without name": {
			job:  containerJob(func(c *corev1.Container) { c.Env = []corev1.EnvVar{{Value: "x"}} }),
			want: []wantErr{required(c0 + "env[0].name")},
		},
		"env var name with '='": {
			job:  containerJob(func(c *corev1.Container) { c.Env = []corev1.EnvVar{{Name: "A=B"}} }),
			want: []wantErr{invalid(c0+"env[0].name", "printable ASCII characters other than '='")},
		},
		"env var name with non-ASCII": {
			job:  containerJob(func(c *corev1.Container) { c.Env = []corev1.EnvVar{{Name: "ÉTÉ"}} }),
			want: []wantErr{invalid(c0 + "env[0].name")},
		},
		"env valueFrom without source": {
			job: containerJob(func(c *corev1.Container) {
				c.Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{}}}
			}),
			want: []wantErr{invalid(c0+"env[0].valueFrom", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef`, `secretKeyRef` or `fileKeyRef`")},
		},
		"env valueFrom with two sources": {
			job: containerJob(func(c *corev1.Container) {
				c.Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{
					FieldRef:         &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"},
					ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"},
				}}}
			}),
			want: []wantErr{invalid(c0+"env[0].valueFrom", "may not have more than one field specified at a time")},
		},
		"env value and valueFrom": {
			job: containerJob(func(c *corev1.Container) {
				c.Env = []corev1.EnvVar{{Name: "A", Value: "x", ValueFrom: &corev1.EnvVarSource{
					FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"},
				}}}
			}),
			want: []wantErr{invalid(c0+"env[0].valueFrom", "may not be specified when `value` is not empty")},
		},
		"env fieldRef to an unsupported field": {
			job: containerJob(func(c *corev1.Container) {
				c.Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{
					FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "status.phase"},
				}}}
			}),
			want: []wantErr{notSupported(c0 + "env[0].valueFrom.fieldRef.fieldPath")},
		},
		"env fieldRef of another version": {
			job: containerJob(func(c *corev1.Container) {
				c.Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{
					FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v2", FieldPath: "metadata.name"},
				}}}
			}),
			want: []wantErr{invalid(c0+"env[0].valueFrom.fieldRef.fieldPath", "unsupported pod version: v2")},
		},
		"env secretKeyRef without key": {
			job: containerJob(func(c *corev1.Container) {
				c.Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{
					SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}},
				}}}
			}),
			want: []wantErr{required(c0 + "env[0].valueFrom.secretKeyRef.key")},
		},
		"env configMapKeyRef with an invalid name": {
			job: containerJob(func(c *corev1.Container) {
				c.Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{
					ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "Bad_Name"}, Key: "k"},
				}}}
			}),
			want: []wantErr{invalid(c0 + "env[0].valueFrom.configMapKeyRef.name")},
		},
		"env resourceFieldRef to an unknown resource": {
			job: containerJob(func(c *corev1.Container) {
				c.Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{
					ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.gpu"},
				}}}
			}),
			want: []wantErr{notSupported(c0 + "env[0].valueFrom.resourceFieldRef.resource")},
		},
		"env fileKeyRef to a volume that is not an emptyDir": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.Volumes = []corev1.Volume{configMapVolume("cm")}
				spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{
					FileKeyRef: &corev1.FileKeySelector{VolumeName: "cm", Path: "env", Key: "KEY"},
				}}}
			}),
			want: []wantErr{invalid(c0+"env[0].valueFrom.fileKeyRef.volumeName", "referenced volume must be of type emptyDir")},
		},
		"env fileKeyRef to a missing volume": {
			job: containerJob(func(c *corev1.Container) {
				c.Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{
					FileKeyRef: &corev1.FileKeySelector{VolumeName: "nope", Path: "env", Key: "KEY"},
				}}}
			}),
			want: []wantErr{notFound(c0 + "env[0].valueFrom.fileKeyRef.volumeName")},
		},
		"envFrom without source": {
			job:  containerJob(func(c *corev1.Container) { c.EnvFrom = []corev1.EnvFromSource{{Prefix: "P_"}} }),
			want: []wantErr{invalid(c0+"envFrom", "must specify one of: `configMapRef` or `secretRef`")},
		},
		"envFrom with an invalid prefix and no name": {
			job: containerJob(func(c *corev1.Container) {
				c.EnvFrom = []corev1.EnvFromSource{{Prefix: "A=", SecretRef: &corev1.SecretEnvSource{}}}
			}),
			want: []wantErr{
				invalid(c0 + "envFrom[0].prefix"),
				required(c0 + "envFrom[0].secretRef.name"),
			},
		},

		// Volumes and mounts.
		"volume without source": {
			job:  podSpecJob(func(spec *corev1.PodSpec) { spec.Volumes = []corev1.Volume{{Name: "v"}} }),
			want: []wantErr{required(ps+"volumes[0]", "must specify a volume type")},
		},
		"volume with two sources": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{
					HostPath: &corev1.HostPathVolumeSource{Path: "/tmp"},
					EmptyDir: &corev1.EmptyDirVolumeSource{},
				}}}
			}),
			want: []wantErr{forbidden(ps+"volumes[0].emptyDir", "may not specify more than 1 volume type")},
		},
		"volume without name": {
			job:  podSpecJob(func(spec *corev1.PodSpec) { spec.Volumes = []corev1.Volume{emptyDirVolume("")} }),
			want: []wantErr{required(ps + "volumes[0].name")},
		},
		"volume name not a DNS label": {
			job:  podSpecJob(func(spec *corev1.PodSpec) { spec.Volumes = []corev1.Volume{emptyDirVolume("My_Volume")} }),
			want: []wantErr{invalid(ps + "volumes[0].name")},
		},
		"duplicate volume names": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.Volumes = []corev1.Volume{emptyDirVolume("v"), configMapVolume("v")}
			}),
			want: []wantErr{duplicate(ps + "volumes[1].name")},
		},
		"configMap volume without name and with a bad mode and item": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					DefaultMode: ptr.To[int32](0o1000),
					Items:       []corev1.KeyToPath{{Key: "k", Path: "/abs"}},
				}}}}
			}),
			want: []wantErr{
				required(ps + "volumes[0].configMap.name"),
				invalid(ps+"volumes[0].configMap.defaultMode", "must be a number between 0 and 0777 (octal), both inclusive"),
				invalid(ps+"volumes[0].configMap.items[0].path", "must be a relative path"),
			},
		},
		"secret volume without secretName": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{}}}}
			}),
			want: []wantErr{required(ps + "volumes[0].secret.secretName")},
		},
		"hostPath volume with backsteps": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/a/../b"}}}}
			}),
			want: []wantErr{invalid(ps+"volumes[0].hostPath.path", "must not contain '..'")},
		},
		"persistentVolumeClaim volume without claimName": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{}}}}
			}),
			want: []wantErr{required(ps + "volumes[0].persistentVolumeClaim.claimName")},
		},
		"emptyDir with a negative sizeLimit": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				q := resource.MustParse("-1Gi")
				spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &q}}}}
			}),
			want: []wantErr{forbidden(ps + "volumes[0].emptyDir.sizeLimit")},
		},
		"mount of a missing volume": {
			job:  containerJob(func(c *corev1.Container) { c.VolumeMounts = []corev1.VolumeMount{{Name: "nope", MountPath: "/x"}} }),
			want: []wantErr{notFound(c0 + "volumeMounts[0].name")},
		},
		"mount of an invalid volume": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.Volumes = []corev1.Volume{{Name: "v"}}
				spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "v", MountPath: "/x"}}
			}),
			want: []wantErr{required(ps + "volumes[0]"), notFound(c0 + "volumeMounts[0].name")},
		},
		"mount without mountPath": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.Volumes = []corev1.Volume{emptyDirVolume("v")}
				spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "v"}}
			}),
			want: []wantErr{required(c0 + "volumeMounts[0].mountPath")},
		},
		"mounts with the same mountPath": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.Volumes = []corev1.Volume{emptyDirVolume("a"), emptyDirVolume("b")}
				spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "a", MountPath: "/x"}, {Name: "b", MountPath: "/x"}}
			}),
			want: []wantErr{invalid(c0+"volumeMounts[1].mountPath", "must be unique")},
		},
		"mount with an absolute subPath": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.Volumes = []corev1.Volume{emptyDirVolume("v")}
				spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "v", MountPath: "/x", SubPath: "/etc"}}
			}),
			// Upstream reports it on the list's path.
			want: []wantErr{invalid(c0+"volumeMounts.subPath", "must be a relative path")},
		},
		"block device on a non-PVC volume": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.Volumes = []corev1.Volume{emptyDirVolume("v")}
				spec.Containers[0].VolumeDevices = []corev1.VolumeDevice{{Name: "v", DevicePath: "/dev/x"}}
			}),
			want: []wantErr{invalid(c0+"volumeDevices[0].name", "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode")},
		},

		// Ports.
		"containerPort missing": {
			job:  containerJob(func(c *corev1.Container) { c.Ports = []corev1.ContainerPort{{Protocol: corev1.ProtocolTCP}} }),
			want: []wantErr{required(c0 + "ports[0].containerPort")},
		},
		"containerPort out of range": {
			job:  containerJob(func(c *corev1.Container) { c.Ports = []corev1.ContainerPort{{ContainerPort: 70000}} }),
			want: []wantErr{invalid(c0+"ports[0].containerPort", "must be between 1 and 65535, inclusive")},
		},
		"hostPort out of range": {
			job:  containerJob(func(c *corev1.Container) { c.Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: -1}} }),
			want: []wantErr{invalid(c0+"ports[0].hostPort", "must be between 1 and 65535, inclusive")},
		},
		"unknown protocol": {
			job:  containerJob(func(c *corev1.Container) { c.Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: "HTTP"}} }),
			want: []wantErr{notSupported(c0+"ports[0].protocol", `supported values: "SCTP", "TCP", "UDP"`)},
		},
		"port name not an IANA_SVC_NAME": {
			job:  containerJob(func(c *corev1.Container) { c.Ports = []corev1.ContainerPort{{Name: "Http_Port", ContainerPort: 80}} }),
			want: []wantErr{invalid(c0 + "ports[0].name")},
		},
		"duplicate port names": {
			job: containerJob(func(c *corev1.Container) {
				c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 80}, {Name: "http", ContainerPort: 81}}
			}),
			want: []wantErr{duplicate(c0 + "ports[1].name")},
		},
		"host port used by two containers": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080, Protocol: corev1.ProtocolTCP}}
				spec.Containers = append(spec.Containers, corev1.Container{
					Name: "second", Image: "busybox",
					Ports: []corev1.ContainerPort{{ContainerPort: 81, HostPort: 8080, Protocol: corev1.ProtocolTCP}},
				})
			}),
			want: []wantErr{duplicate(ps + "containers[1].ports[0].hostPort")},
		},
		"hostNetwork with a hostPort other than the containerPort": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.HostNetwork = true
				spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
			}),
			want: []wantErr{invalid(c0+"ports[0].hostPort", "must match `containerPort` when `hostNetwork` is true")},
		},

		// Resources.
		"negative request": {
			job: containerJob(func(c *corev1.Container) {
				c.Resources.Requests = quantities("cpu", "-1")
			}),
			want: []wantErr{invalid(c0+"resources.requests[cpu]", "must be greater than or equal to 0")},
		},
		"request above limit": {
			job: containerJob(func(c *corev1.Container) {
				c.Resources.Requests = quantities("memory", "2Gi")
				c.Resources.Limits = quantities("memory", "1Gi")
			}),
			want: []wantErr{invalid(c0+"resources.requests", "must be less than or equal to memory limit of 1Gi")},
		},
		"unknown resource name": {
			job: containerJob(func(c *corev1.Container) {
				c.Resources.Limits = quantities("gpu", "1")
			}),
			want: []wantErr{
				invalid(c0+"resources.limits[gpu]", "must be a standard resource type or fully qualified"),
				invalid(c0+"resources.limits[gpu]", "must be a standard resource for containers"),
			},
		},
		"resource name not qualified": {
			job: containerJob(func(c *corev1.Container) {
				c.Resources.Limits = quantities("bad name", "1")
			}),
			want: []wantErr{
				invalid(c0+"resources.limits[bad name]", "name part must consist of"),
				invalid(c0+"resources.limits[bad name]", "must be a standard resource for containers"),
			},
		},
		"fractional extended resource": {
			job: containerJob(func(c *corev1.Container) {
				c.Resources.Requests = quantities("example.com/gpu", "500m")
				c.Resources.Limits = quantities("example.com/gpu", "500m")
			}),
			want: []wantErr{
				invalid(c0+"resources.limits[example.com/gpu]", "must be an integer"),
				invalid(c0+"resources.requests[example.com/gpu]", "must be an integer"),
			},
		},
		"extended resource request without limit": {
			job: containerJob(func(c *corev1.Container) {
				c.Resources.Requests = quantities("example.com/gpu", "1")
			}),
			want: []wantErr{required(c0+"resources.limits", "Limit must be set for non overcommitable resources")},
		},
		"extended resource request different from limit": {
			job: containerJob(func(c *corev1.Container) {
				c.Resources.Requests = quantities("example.com/gpu", "1")
				c.Resources.Limits = quantities("example.com/gpu", "2")
			}),
			want: []wantErr{invalid(c0+"resources.requests", "must be equal to example.com/gpu limit of 2")},
		},
		"hugepages without cpu or memory": {
			job: containerJob(func(c *corev1.Container) {
				c.Resources.Limits = quantities("hugepages-2Mi", "4Mi")
			}),
			want: []wantErr{forbidden(c0+"resources", "HugePages require cpu or memory")},
		},
		"hugepages not a multiple of the page size": {
			job: containerJob(func(c *corev1.Container) {
				c.Resources.Limits = quantities("memory", "1Gi", "hugepages-2Mi", "3Mi")
			}),
			want: []wantErr{invalid(c0+"resources.limits[hugepages-2Mi]", "is not positive integer multiple of hugepages-2Mi")},
		},
		"resource claim not in the pod": {
			job: containerJob(func(c *corev1.Container) {
				c.Resources.Claims = []corev1.ResourceClaim{{Name: "gpu"}}
			}),
			want: []wantErr{notFound(c0 + "resources.claims[0]")},
		},

		// Pod-level fields.
		"pod activeDeadlineSeconds 0": {
			job:  podSpecJob(func(spec *corev1.PodSpec) { spec.ActiveDeadlineSeconds = ptr.To[int64](0) }),
			want: []wantErr{invalid(ps+"activeDeadlineSeconds", "must be between 1 and 2147483647, inclusive")},
		},
		"unknown dnsPolicy": {
			job:  podSpecJob(func(spec *corev1.PodSpec) { spec.DNSPolicy = "Custom" }),
			want: []wantErr{notSupported(ps+"dnsPolicy", `supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"`)},
		},
		"dnsPolicy None without dnsConfig": {
			job:  podSpecJob(func(spec *corev1.PodSpec) { spec.DNSPolicy = corev1.DNSNone }),
			want: []wantErr{required(ps+"dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None")},
		},
		"invalid nodeSelector": {
			job:  podSpecJob(func(spec *corev1.PodSpec) { spec.NodeSelector = map[string]string{"a b": "c"} }),
			want: []wantErr{invalid(ps + "nodeSelector")},
		},
		"toleration without key nor Exists": {
			job:  podSpecJob(func(spec *corev1.PodSpec) { spec.Tolerations = []corev1.Toleration{{Value: "x"}} }),
			want: []wantErr{invalid(ps+"tolerations[0].operator", "operator must be Exists when `key` is empty")},
		},
		"toleration with an unknown operator and effect": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: "Matches", Effect: "Never"}}
			}),
			want: []wantErr{notSupported(ps + "tolerations[0].operator"), notSupported(ps + "tolerations[0].effect")},
		},
		"tolerationSeconds without NoExecute": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule, TolerationSeconds: ptr.To[int64](1)}}
			}),
			want: []wantErr{invalid(ps+"tolerations[0].effect", "effect must be 'NoExecute' when `tolerationSeconds` is set")},
		},
		"duplicate and invalid scheduling gates": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "a"}, {Name: "a"}, {Name: "b c"}}
			}),
			want: []wantErr{duplicate(ps + "schedulingGates[1]"), invalid(ps + "schedulingGates[2]")},
		},
		"node affinity without terms": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}}}
			}),
			want: []wantErr{required(ps + "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms")},
		},
		"node affinity with an unknown operator": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				na := nodeAffinity("a")
				na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Operator = "Like"
				spec.Affinity = &corev1.Affinity{NodeAffinity: na}
			}),
			want: []wantErr{invalid(ps+"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator", "not a valid selector operator")},
		},
		"pod anti-affinity without topologyKey": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
					PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
						Weight:          0,
						PodAffinityTerm: corev1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{}},
					}},
				}}
			}),
			want: []wantErr{
				invalid(ps+"affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight", "must be in the range 1-100"),
				required(ps+"affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey", "can not be empty"),
				invalid(ps+"affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey", "name part must be non-empty"),
				invalid(ps+"affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey", "name part must consist of"),
			},
		},
		"invalid hostname and subdomain": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.Hostname = "Host_Name"
				spec.Subdomain = "a.b"
			}),
			want: []wantErr{invalid(ps + "hostname"), invalid(ps + "subdomain")},
		},
		"invalid serviceAccountName, nodeName and priorityClassName": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.ServiceAccountName = "Bad_SA"
				spec.DeprecatedServiceAccount = "Bad_SA"
				spec.NodeName = "Bad_Node"
				spec.PriorityClassName = "Bad_Class"
			}),
			want: []wantErr{invalid(ps + "serviceAccountName"), invalid(ps + "nodeName"), invalid(ps + "priorityClassName")},
		},
		"deprecated serviceAccount out of sync": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.ServiceAccountName = "a"
				spec.DeprecatedServiceAccount = "b"
			}),
			want: []wantErr{invalid(ps+"deprecatedServiceAccount", `must be the same as serviceAccountName: "a"`)},
		},
		"invalid hostAlias": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.HostAliases = []corev1.HostAlias{{IP: "not-an-ip", Hostnames: []string{"Bad_Host"}}}
			}),
			want: []wantErr{invalid(ps + "hostAliases[0].ip"), invalid(ps + "hostAliases[0].hostnames[0]")},
		},
		"unknown preemptionPolicy": {
			job:  podSpecJob(func(spec *corev1.PodSpec) { spec.PreemptionPolicy = ptr.To(corev1.PreemptionPolicy("Sometimes")) }),
			want: []wantErr{notSupported(ps + "preemptionPolicy")},
		},
		"invalid readiness gate": {
			job: podSpecJob(func(spec *corev1.PodSpec) {
				spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "bad type"}}
			}),
			want: []wantErr{invalid(ps + "readinessGates[0].conditionType")},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			assertErrors(t, ValidateJobCreate(tc.job, JobCreateValidationOptions(tc.job)), tc.want...)
		})
	}
}
