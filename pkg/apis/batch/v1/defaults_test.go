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

package v1_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/install"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

func minimalJob() *batchv1.Job {
	return &batchv1.Job{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
	}}}}
}

// TestSetDefaultsJob covers each default of batch/v1 (docs/job-semantics.md §1).
func TestSetDefaultsJob(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*batchv1.Job)
		check  func(*testing.T, *batchv1.Job)
	}{
		{"completions and parallelism both unset: both 1", nil, func(t *testing.T, j *batchv1.Job) {
			assert.Equal(t, ptr.To[int32](1), j.Spec.Completions)
			assert.Equal(t, ptr.To[int32](1), j.Spec.Parallelism)
		}},
		{"only parallelism set: completions stay unset", func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](3) }, func(t *testing.T, j *batchv1.Job) {
			assert.Nil(t, j.Spec.Completions)
			assert.Equal(t, ptr.To[int32](3), j.Spec.Parallelism)
		}},
		{"only completions set: parallelism 1", func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](5) }, func(t *testing.T, j *batchv1.Job) {
			assert.Equal(t, ptr.To[int32](5), j.Spec.Completions)
			assert.Equal(t, ptr.To[int32](1), j.Spec.Parallelism)
		}},
		{"backoffLimit 6", nil, func(t *testing.T, j *batchv1.Job) { assert.Equal(t, ptr.To[int32](6), j.Spec.BackoffLimit) }},
		{"backoffLimit MaxInt32 with backoffLimitPerIndex", func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = ptr.To[int32](1) }, func(t *testing.T, j *batchv1.Job) {
			assert.Equal(t, ptr.To[int32](math.MaxInt32), j.Spec.BackoffLimit)
		}},
		{"explicit backoffLimit kept", func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr.To[int32](0) }, func(t *testing.T, j *batchv1.Job) {
			assert.Equal(t, ptr.To[int32](0), j.Spec.BackoffLimit)
		}},
		{"completionMode NonIndexed", nil, func(t *testing.T, j *batchv1.Job) {
			assert.Equal(t, ptr.To(batchv1.NonIndexedCompletion), j.Spec.CompletionMode)
		}},
		{"suspend false", nil, func(t *testing.T, j *batchv1.Job) { assert.Equal(t, ptr.To(false), j.Spec.Suspend) }},
		{"manualSelector false", nil, func(t *testing.T, j *batchv1.Job) { assert.Equal(t, ptr.To(false), j.Spec.ManualSelector) }},
		{"podReplacementPolicy TerminatingOrFailed", nil, func(t *testing.T, j *batchv1.Job) {
			assert.Equal(t, ptr.To(batchv1.TerminatingOrFailed), j.Spec.PodReplacementPolicy)
		}},
		{"podReplacementPolicy Failed with podFailurePolicy", func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget}},
			}}}
		}, func(t *testing.T, j *batchv1.Job) {
			assert.Equal(t, ptr.To(batchv1.Failed), j.Spec.PodReplacementPolicy)
			assert.Equal(t, corev1.ConditionTrue, j.Spec.PodFailurePolicy.Rules[0].OnPodConditions[0].Status, "pod condition status defaults to True")
		}},
		{"Job labels from template labels", func(j *batchv1.Job) { j.Spec.Template.Labels = map[string]string{"app": "x"} }, func(t *testing.T, j *batchv1.Job) {
			assert.Equal(t, map[string]string{"app": "x"}, j.Labels)
		}},
		{"own Job labels kept", func(j *batchv1.Job) {
			j.Labels = map[string]string{"team": "a"}
			j.Spec.Template.Labels = map[string]string{"app": "x"}
		}, func(t *testing.T, j *batchv1.Job) { assert.Equal(t, map[string]string{"team": "a"}, j.Labels) }},
		{"pod template defaults", nil, func(t *testing.T, j *batchv1.Job) {
			spec := j.Spec.Template.Spec
			assert.Equal(t, corev1.RestartPolicyAlways, spec.RestartPolicy, "as core/v1; validation then asks for OnFailure or Never")
			assert.Equal(t, corev1.DNSClusterFirst, spec.DNSPolicy)
			assert.Equal(t, ptr.To[int64](30), spec.TerminationGracePeriodSeconds)
			assert.Equal(t, "default-scheduler", spec.SchedulerName)
			assert.Equal(t, &corev1.PodSecurityContext{}, spec.SecurityContext)
			c := spec.Containers[0]
			assert.Equal(t, corev1.PullAlways, c.ImagePullPolicy)
			assert.Equal(t, "/dev/termination-log", c.TerminationMessagePath)
			assert.Equal(t, corev1.TerminationMessageReadFile, c.TerminationMessagePolicy)
		}},
		{"container port protocol, pull policy for a tagged image, volume source", func(j *batchv1.Job) {
			j.Spec.Template.Spec.Containers[0].Image = "busybox:1.36"
			j.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80}}
			j.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "v"}, {Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}}}
		}, func(t *testing.T, j *batchv1.Job) {
			c := j.Spec.Template.Spec.Containers[0]
			assert.Equal(t, corev1.PullIfNotPresent, c.ImagePullPolicy)
			assert.Equal(t, corev1.ProtocolTCP, c.Ports[0].Protocol)
			assert.NotNil(t, j.Spec.Template.Spec.Volumes[0].EmptyDir)
			assert.Equal(t, ptr.To[int32](0o644), j.Spec.Template.Spec.Volumes[1].ConfigMap.DefaultMode)
		}},
		{"projected token lifetime, claim template volume mode, image volume pull policies", func(j *batchv1.Job) {
			j.Spec.Template.Spec.Volumes = []corev1.Volume{
				{Name: "t", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "kept", ExpirationSeconds: ptr.To[int64](7200)}},
				}}}},
				{Name: "e", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{}}}},
				{Name: "latest", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "model"}}},
				{Name: "tagged", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "model:v1"}}},
				{Name: "empty", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{}}},
				{Name: "set", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "model", PullPolicy: corev1.PullNever}}},
			}
		}, func(t *testing.T, j *batchv1.Job) {
			vols := j.Spec.Template.Spec.Volumes
			assert.Equal(t, ptr.To[int64](3600), vols[0].Projected.Sources[0].ServiceAccountToken.ExpirationSeconds)
			assert.Equal(t, ptr.To[int64](7200), vols[0].Projected.Sources[1].ServiceAccountToken.ExpirationSeconds)
			assert.Equal(t, ptr.To(corev1.PersistentVolumeFilesystem), vols[1].Ephemeral.VolumeClaimTemplate.Spec.VolumeMode)
			assert.Equal(t, corev1.PullAlways, vols[2].Image.PullPolicy)
			assert.Equal(t, corev1.PullIfNotPresent, vols[3].Image.PullPolicy)
			assert.Equal(t, corev1.PullIfNotPresent, vols[4].Image.PullPolicy)
			assert.Equal(t, corev1.PullNever, vols[5].Image.PullPolicy)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := minimalJob()
			if tc.mutate != nil {
				tc.mutate(job)
			}
			batchv1.SetObjectDefaults_Job(job)
			tc.check(t, job)
		})
	}
}

// TestDefaultsApplyOnDecode checks the scheme wiring: decoding a Job
// through the scheme applies the defaults.
func TestDefaultsApplyOnDecode(t *testing.T) {
	scheme := runtime.NewScheme()
	install.Install(scheme)
	job := minimalJob()
	scheme.Default(job)
	require.NotNil(t, job.Spec.BackoffLimit)
	assert.Equal(t, int32(6), *job.Spec.BackoffLimit)
}

// TestImagePullPolicyDefault: Always for :latest or no tag, IfNotPresent
// otherwise, including digests and references upstream cannot parse.
func TestImagePullPolicyDefault(t *testing.T) {
	const digest = "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for image, want := range map[string]corev1.PullPolicy{
		"busybox":                      corev1.PullAlways,
		"busybox:latest":               corev1.PullAlways,
		"docker.io/library/busybox":    corev1.PullAlways,
		"localhost:5000/team/tool":     corev1.PullAlways,
		"localhost:5000/team/tool:1.2": corev1.PullIfNotPresent,
		"busybox:1.36":                 corev1.PullIfNotPresent,
		"busybox@" + digest:            corev1.PullIfNotPresent,
		"busybox:latest@" + digest:     corev1.PullAlways,
		"Upper/Case":                   corev1.PullIfNotPresent,
		"":                             corev1.PullIfNotPresent,
	} {
		job := minimalJob()
		job.Spec.Template.Spec.Containers[0].Image = image
		job.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "img", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: image}}}}
		batchv1.SetObjectDefaults_Job(job)
		assert.Equal(t, want, job.Spec.Template.Spec.Containers[0].ImagePullPolicy, "container image %q", image)
		assert.Equal(t, want, job.Spec.Template.Spec.Volumes[0].Image.PullPolicy, "image volume %q", image)
	}
}

// TestResourceListsRoundedToMilli: quantities below milli precision are
// rounded up, in containers and in ephemeral claim templates, as upstream.
func TestResourceListsRoundedToMilli(t *testing.T) {
	job := minimalJob()
	spec := &job.Spec.Template.Spec
	spec.Containers[0].Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("0.5m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
	}
	spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{
		VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{Spec: corev1.PersistentVolumeClaimSpec{
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1500u")}},
		}},
	}}}}
	batchv1.SetObjectDefaults_Job(job)
	cpu := spec.Containers[0].Resources.Requests[corev1.ResourceCPU]
	assert.Equal(t, "1m", cpu.String())
	mem := spec.Containers[0].Resources.Requests[corev1.ResourceMemory]
	assert.Equal(t, "64Mi", mem.String(), "already precise enough: unchanged")
	storage := spec.Volumes[0].Ephemeral.VolumeClaimTemplate.Spec.Resources.Requests[corev1.ResourceStorage]
	assert.Equal(t, "2m", storage.String())
}
