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

package v1

import (
	"math"

	"github.com/distribution/reference"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

func addDefaultingFuncs(scheme *runtime.Scheme) error {
	return RegisterDefaults(scheme)
}

// SetDefaults_Job applies the defaults of batch/v1 Job (Kubernetes 1.37,
// pkg/apis/batch/v1/defaults.go).
func SetDefaults_Job(obj *Job) {
	// For a non-parallel job, you can leave both completions and parallelism
	// unset; both then default to 1. completions stays nil when only
	// parallelism is given: the Job then finishes at the first success.
	if obj.Spec.Completions == nil && obj.Spec.Parallelism == nil {
		obj.Spec.Completions = ptr.To[int32](1)
		obj.Spec.Parallelism = ptr.To[int32](1)
	}
	if obj.Spec.Parallelism == nil {
		obj.Spec.Parallelism = ptr.To[int32](1)
	}
	if obj.Spec.BackoffLimit == nil {
		if obj.Spec.BackoffLimitPerIndex != nil {
			obj.Spec.BackoffLimit = ptr.To[int32](math.MaxInt32)
		} else {
			obj.Spec.BackoffLimit = ptr.To[int32](6)
		}
	}
	// The Job's own labels default to the template's (the maps are shared, as
	// upstream, so the generated template labels show on the Job too).
	labels := obj.Spec.Template.Labels
	if labels != nil && len(obj.Labels) == 0 {
		obj.Labels = labels
	}
	if obj.Spec.CompletionMode == nil {
		obj.Spec.CompletionMode = ptr.To(NonIndexedCompletion)
	}
	if obj.Spec.Suspend == nil {
		obj.Spec.Suspend = ptr.To(false)
	}
	if obj.Spec.PodReplacementPolicy == nil {
		if obj.Spec.PodFailurePolicy != nil {
			obj.Spec.PodReplacementPolicy = ptr.To(Failed)
		} else {
			obj.Spec.PodReplacementPolicy = ptr.To(TerminatingOrFailed)
		}
	}
	if obj.Spec.ManualSelector == nil {
		obj.Spec.ManualSelector = ptr.To(false)
	}
}

// SetDefaults_PodFailurePolicyOnPodConditionsPattern defaults the status of a
// pod-condition pattern to True.
func SetDefaults_PodFailurePolicyOnPodConditionsPattern(obj *PodFailurePolicyOnPodConditionsPattern) {
	if obj.Status == "" {
		obj.Status = corev1.ConditionTrue
	}
}

// The functions below port the core/v1 defaults that apply to a pod template
// (k8s.io/kubernetes pkg/apis/core/v1/defaults.go), which the main module
// cannot import. defaulter-gen walks the Job's template and calls them, so a
// Job read back shows the same template a batch/v1 Job would.

// SetDefaults_PodSpec defaults a pod template's spec.
func SetDefaults_PodSpec(obj *corev1.PodSpec) {
	if len(obj.ServiceAccountName) == 0 {
		obj.ServiceAccountName = obj.DeprecatedServiceAccount
	}
	obj.DeprecatedServiceAccount = obj.ServiceAccountName
	if obj.DNSPolicy == "" {
		obj.DNSPolicy = corev1.DNSClusterFirst
	}
	if obj.RestartPolicy == "" {
		obj.RestartPolicy = corev1.RestartPolicyAlways
	}
	if obj.SecurityContext == nil {
		obj.SecurityContext = &corev1.PodSecurityContext{}
	}
	if obj.TerminationGracePeriodSeconds == nil {
		obj.TerminationGracePeriodSeconds = ptr.To[int64](corev1.DefaultTerminationGracePeriodSeconds)
	}
	if obj.SchedulerName == "" {
		obj.SchedulerName = corev1.DefaultSchedulerName
	}
}

// SetDefaults_Container defaults a container: pull policy from the image tag
// and the termination message settings.
func SetDefaults_Container(obj *corev1.Container) {
	if obj.ImagePullPolicy == "" {
		if imageTag(obj.Image) == "latest" {
			obj.ImagePullPolicy = corev1.PullAlways
		} else {
			obj.ImagePullPolicy = corev1.PullIfNotPresent
		}
	}
	if obj.TerminationMessagePath == "" {
		obj.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if obj.TerminationMessagePolicy == "" {
		obj.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
}

// imageTag returns the tag of an image reference as upstream's
// parsers.ParseImageName sees it: "latest" when it has neither a tag nor a
// digest, "" when it is pinned by digest only or cannot be parsed.
func imageTag(image string) string {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return ""
	}
	if tagged, ok := named.(reference.Tagged); ok {
		return tagged.Tag()
	}
	if _, ok := named.(reference.Digested); ok {
		return ""
	}
	return "latest"
}

// SetDefaults_Volume gives a volume without a source an emptyDir, and an
// image volume its pull policy as for a container image (Always for
// :latest, IfNotPresent otherwise).
func SetDefaults_Volume(obj *corev1.Volume) {
	if ptr.AllPtrFieldsNil(&obj.VolumeSource) {
		obj.VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	}
	if obj.Image != nil && obj.Image.PullPolicy == "" {
		if imageTag(obj.Image.Reference) == "latest" {
			obj.Image.PullPolicy = corev1.PullAlways
		} else {
			obj.Image.PullPolicy = corev1.PullIfNotPresent
		}
	}
}

// SetDefaults_ServiceAccountTokenProjection defaults a projected token's
// lifetime to one hour.
func SetDefaults_ServiceAccountTokenProjection(obj *corev1.ServiceAccountTokenProjection) {
	if obj.ExpirationSeconds == nil {
		obj.ExpirationSeconds = ptr.To[int64](3600)
	}
}

// SetDefaults_PersistentVolumeClaimSpec defaults the volume mode of an
// ephemeral volume's claim template to Filesystem.
func SetDefaults_PersistentVolumeClaimSpec(obj *corev1.PersistentVolumeClaimSpec) {
	if obj.VolumeMode == nil {
		obj.VolumeMode = ptr.To(corev1.PersistentVolumeFilesystem)
	}
}

// SetDefaults_Probe defaults probe timings.
func SetDefaults_Probe(obj *corev1.Probe) {
	if obj.TimeoutSeconds == 0 {
		obj.TimeoutSeconds = 1
	}
	if obj.PeriodSeconds == 0 {
		obj.PeriodSeconds = 10
	}
	if obj.SuccessThreshold == 0 {
		obj.SuccessThreshold = 1
	}
	if obj.FailureThreshold == 0 {
		obj.FailureThreshold = 3
	}
}

// SetDefaults_SecretVolumeSource defaults the file mode of secret volumes.
func SetDefaults_SecretVolumeSource(obj *corev1.SecretVolumeSource) {
	if obj.DefaultMode == nil {
		obj.DefaultMode = ptr.To[int32](corev1.SecretVolumeSourceDefaultMode)
	}
}

// SetDefaults_ConfigMapVolumeSource defaults the file mode of configMap volumes.
func SetDefaults_ConfigMapVolumeSource(obj *corev1.ConfigMapVolumeSource) {
	if obj.DefaultMode == nil {
		obj.DefaultMode = ptr.To[int32](corev1.ConfigMapVolumeSourceDefaultMode)
	}
}

// SetDefaults_DownwardAPIVolumeSource defaults the file mode of downwardAPI volumes.
func SetDefaults_DownwardAPIVolumeSource(obj *corev1.DownwardAPIVolumeSource) {
	if obj.DefaultMode == nil {
		obj.DefaultMode = ptr.To[int32](corev1.DownwardAPIVolumeSourceDefaultMode)
	}
}

// SetDefaults_ProjectedVolumeSource defaults the file mode of projected volumes.
func SetDefaults_ProjectedVolumeSource(obj *corev1.ProjectedVolumeSource) {
	if obj.DefaultMode == nil {
		obj.DefaultMode = ptr.To[int32](corev1.ProjectedVolumeSourceDefaultMode)
	}
}

// SetDefaults_HTTPGetAction defaults the path and scheme of HTTP probes and hooks.
func SetDefaults_HTTPGetAction(obj *corev1.HTTPGetAction) {
	if obj.Path == "" {
		obj.Path = "/"
	}
	if obj.Scheme == "" {
		obj.Scheme = corev1.URISchemeHTTP
	}
}

// SetDefaults_ObjectFieldSelector defaults fieldRef.apiVersion to v1.
func SetDefaults_ObjectFieldSelector(obj *corev1.ObjectFieldSelector) {
	if obj.APIVersion == "" {
		obj.APIVersion = "v1"
	}
}

// SetDefaults_HostPathVolumeSource defaults the hostPath type to "".
func SetDefaults_HostPathVolumeSource(obj *corev1.HostPathVolumeSource) {
	if obj.Type == nil {
		obj.Type = ptr.To(corev1.HostPathUnset)
	}
}

// SetDefaults_ResourceList rounds every quantity up to milli precision, as
// upstream does for compatibility (0.5m becomes 1m).
func SetDefaults_ResourceList(obj *corev1.ResourceList) {
	for name, q := range *obj {
		q.RoundUp(-3)
		(*obj)[name] = q
	}
}
