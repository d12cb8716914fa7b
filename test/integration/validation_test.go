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

package integration

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	"github.com/jobserver-dev/jobserver/test/integration/framework"
)

// TestJobCreateValidation sends invalid Jobs: each is refused with 422 and
// the exact field path, and nothing is stored.
func TestJobCreateValidation(t *testing.T) {
	s := framework.StartServer(t, framework.ServerOptions{})
	jobs := s.Clientset(t).BatchV1().Jobs(ns)
	ctx := testContext(t)

	for _, tc := range []struct {
		name   string
		mutate func(*batchv1.Job)
		fields []string
	}{
		{"bad name", func(j *batchv1.Job) { j.Name = "Bad_Name" }, []string{"metadata.name"}},
		{"restartPolicy Always", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways }, []string{"spec.template.spec.restartPolicy"}},
		{"restartPolicy unset", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "" }, []string{"spec.template.spec.restartPolicy"}},
		{"no containers", func(j *batchv1.Job) { j.Spec.Template.Spec.Containers = nil }, []string{"spec.template.spec.containers"}},
		{"no image", func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "" }, []string{"spec.template.spec.containers[0].image"}},
		{"duplicate container name", func(j *batchv1.Job) {
			j.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "main", Image: "busybox"}}
		}, []string{"spec.template.spec.initContainers[0].name"}},
		{"probe without a handler", func(j *batchv1.Job) {
			j.Spec.Template.Spec.Containers[0].LivenessProbe = &corev1.Probe{}
		}, []string{"spec.template.spec.containers[0].livenessProbe"}},
		{"preStop sleep past the grace period", func(j *batchv1.Job) {
			j.Spec.Template.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 60}}}
		}, []string{"spec.template.spec.containers[0].lifecycle.preStop.sleep"}},
		{"net sysctl with hostNetwork", func(j *batchv1.Job) {
			j.Spec.Template.Spec.HostNetwork = true
			j.Spec.Template.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.core.somaxconn", Value: "1024"}}}
		}, []string{"spec.template.spec.securityContext.sysctls[0].name"}},
		{"short-lived projected token", func(j *batchv1.Job) {
			j.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](60)}}},
			}}}}
		}, []string{"spec.template.spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds"}},
		{"volume mount without volume", func(j *batchv1.Job) {
			j.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}, []string{"spec.template.spec.containers[0].volumeMounts[0].name"}},
		{"negative parallelism", func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](-1) }, []string{"spec.parallelism"}},
		{"negative completions", func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](-1) }, []string{"spec.completions"}},
		{"negative backoffLimit", func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr.To[int32](-1) }, []string{"spec.backoffLimit"}},
		{"negative activeDeadlineSeconds", func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = ptr.To[int64](-1) }, []string{"spec.activeDeadlineSeconds"}},
		{"negative ttl", func(j *batchv1.Job) { j.Spec.TTLSecondsAfterFinished = ptr.To[int32](-1) }, []string{"spec.ttlSecondsAfterFinished"}},
		{"unknown completionMode", func(j *batchv1.Job) { j.Spec.CompletionMode = ptr.To(batchv1.CompletionMode("Sometimes")) }, []string{"spec.completionMode"}},
		{"Indexed without completions", func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
			j.Spec.Parallelism = ptr.To[int32](2)
		}, []string{"spec.completions"}},
		{"Indexed with successPolicy and no completions (upstream panics)", func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
			j.Spec.Parallelism = ptr.To[int32](2)
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededCount: ptr.To[int32](1)}}}
		}, []string{"spec.completions"}},
		{"successPolicy needs Indexed", func(j *batchv1.Job) {
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededCount: ptr.To[int32](1)}}}
		}, []string{"spec.successPolicy"}},
		{"backoffLimitPerIndex needs Indexed", func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = ptr.To[int32](1) }, []string{"spec.backoffLimitPerIndex"}},
		{"podFailurePolicy needs restartPolicy Never", func(j *batchv1.Job) {
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:      batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1}},
			}}}
		}, []string{"spec.template.spec.restartPolicy"}},
		{"exit codes out of order", func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:      batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{5, 2}},
			}}}
		}, []string{"spec.podFailurePolicy.rules[0].onExitCodes.values"}},
		{"podReplacementPolicy with podFailurePolicy", func(j *batchv1.Job) {
			j.Spec.PodReplacementPolicy = ptr.To(batchv1.TerminatingOrFailed)
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:      batchv1.PodFailurePolicyActionIgnore,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{3}},
			}}}
		}, []string{"spec.podReplacementPolicy"}},
		{"manualSelector without selector", func(j *batchv1.Job) { j.Spec.ManualSelector = ptr.To(true) }, []string{"spec.selector"}},
		{"selector not matching template", func(j *batchv1.Job) {
			j.Spec.ManualSelector = ptr.To(true)
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "a"}}
			j.Spec.Template.Labels = map[string]string{"app": "b"}
		}, []string{"spec.template.metadata.labels"}},
		{"invalid managedBy", func(j *batchv1.Job) { j.Spec.ManagedBy = ptr.To("not a path") }, []string{"spec.managedBy"}},
		{"name too long for the job-name label", func(j *batchv1.Job) { j.Name = strings.Repeat("a", 64) }, []string{"spec.template.labels"}},
		{"several errors at once", func(j *batchv1.Job) {
			j.Spec.Parallelism = ptr.To[int32](-1)
			j.Spec.Template.Spec.Containers[0].Image = ""
		}, []string{"spec.parallelism", "spec.template.spec.containers[0].image"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := newJob("invalid")
			tc.mutate(job)
			_, err := jobs.Create(ctx, job, metav1.CreateOptions{})
			requireInvalid(t, err, tc.fields...)
		})
	}
	list, err := jobs.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, list.Items, "no invalid Job was stored")
}

func TestJobUpdateValidation(t *testing.T) {
	s := framework.StartServer(t, framework.ServerOptions{})
	jobs := s.Clientset(t).BatchV1().Jobs(ns)
	ctx := testContext(t)

	running, err := jobs.Create(ctx, newJob("running"), metav1.CreateOptions{})
	require.NoError(t, err)
	indexed := newJob("indexed")
	indexed.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	indexed.Spec.Completions = ptr.To[int32](3)
	indexed.Spec.Parallelism = ptr.To[int32](3)
	indexed, err = jobs.Create(ctx, indexed, metav1.CreateOptions{})
	require.NoError(t, err)

	for _, tc := range []struct {
		name   string
		job    *batchv1.Job
		mutate func(*batchv1.Job)
		fields []string // empty: the update is accepted
	}{
		{"template of a running Job", running, func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "busybox:2" }, []string{"spec.template"}},
		{"nodeSelector of a running Job", running, func(j *batchv1.Job) { j.Spec.Template.Spec.NodeSelector = map[string]string{"a": "b"} }, []string{"spec.template"}},
		{"selector", running, func(j *batchv1.Job) { j.Spec.Selector.MatchLabels["x"] = "y"; j.Spec.Template.Labels["x"] = "y" }, []string{"spec.selector"}},
		{"completionMode", running, func(j *batchv1.Job) { j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion) }, []string{"spec.completionMode"}},
		{"NonIndexed completions", running, func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](2) }, []string{"spec.completions"}},
		{"managedBy", running, func(j *batchv1.Job) { j.Spec.ManagedBy = ptr.To("example.com/other") }, []string{"spec.managedBy"}},
		{"parallelism is mutable", running, func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](4) }, nil},
		{"activeDeadlineSeconds is mutable", running, func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = ptr.To[int64](60) }, nil},
		{"Indexed completions alone", indexed, func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](5) }, []string{"spec.completions"}},
		{"Indexed completions with parallelism", indexed, func(j *batchv1.Job) {
			j.Spec.Completions = ptr.To[int32](5)
			j.Spec.Parallelism = ptr.To[int32](5)
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			current, err := jobs.Get(ctx, tc.job.Name, metav1.GetOptions{})
			require.NoError(t, err)
			tc.mutate(current)
			_, err = jobs.Update(ctx, current, metav1.UpdateOptions{})
			if len(tc.fields) == 0 {
				require.NoError(t, err)
				return
			}
			requireInvalid(t, err, tc.fields...)
		})
	}

	t.Run("suspended, not started: scheduling directives and resources change, with unsuspend", func(t *testing.T) {
		job := newJob("suspended")
		job.Spec.Suspend = ptr.To(true)
		_, err := jobs.Create(ctx, job, metav1.CreateOptions{})
		require.NoError(t, err)
		current, err := jobs.Get(ctx, "suspended", metav1.GetOptions{})
		require.NoError(t, err)
		current.Spec.Suspend = ptr.To(false)
		current.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"}
		current.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}}
		current.Spec.Template.Annotations = map[string]string{"note": "x"}
		current.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: *ptrQuantity("250m")}
		updated, err := jobs.Update(ctx, current, metav1.UpdateOptions{})
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"disk": "ssd"}, updated.Spec.Template.Spec.NodeSelector)
		assert.False(t, *updated.Spec.Suspend)

		// Now running: the same kind of change is refused.
		updated.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "hdd"}
		_, err = jobs.Update(ctx, updated, metav1.UpdateOptions{})
		requireInvalid(t, err, "spec.template")
	})
}
