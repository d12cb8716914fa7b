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

package job

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
)

func validJob() *batch.Job {
	return &batch.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", UID: "uid-1"},
		Spec: batch.JobSpec{
			Completions:          ptr.To[int32](1),
			Parallelism:          ptr.To[int32](1),
			BackoffLimit:         ptr.To[int32](6),
			CompletionMode:       ptr.To(batch.NonIndexedCompletion),
			Suspend:              ptr.To(false),
			ManualSelector:       ptr.To(false),
			PodReplacementPolicy: ptr.To(batch.TerminatingOrFailed),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				DNSPolicy:     corev1.DNSClusterFirst,
				Containers: []corev1.Container{{Name: "c", Image: "busybox",
					ImagePullPolicy: corev1.PullAlways, TerminationMessagePolicy: corev1.TerminationMessageReadFile}},
			}},
		},
	}
}

var strategy = NewStrategy(runtime.NewScheme())

func TestPrepareForCreate(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		mutate func(*batch.Job)
		check  func(*testing.T, *batch.Job)
		// wantInvalid is the field path of the validation error, if any.
		wantInvalid string
	}{
		{"status reset and generation 1", func(j *batch.Job) {
			j.Status.Succeeded = 3
			j.Generation = 9
		}, func(t *testing.T, j *batch.Job) {
			assert.Equal(t, batch.JobStatus{}, j.Status)
			assert.Equal(t, int64(1), j.Generation)
		}, ""},
		{"generated selector and the four labels", nil, func(t *testing.T, j *batch.Job) {
			assert.Equal(t, map[string]string{
				"job-name": "pi", "batch.kubernetes.io/job-name": "pi",
				"controller-uid": "uid-1", "batch.kubernetes.io/controller-uid": "uid-1",
			}, j.Spec.Template.Labels)
			assert.Equal(t, map[string]string{"batch.kubernetes.io/controller-uid": "uid-1"}, j.Spec.Selector.MatchLabels)
			assert.Equal(t, j.Spec.Template.Labels, j.Labels, "stored labels as defaulting would show them")
		}, ""},
		{"user template labels kept", func(j *batch.Job) {
			j.Spec.Template.Labels = map[string]string{"app": "x"}
		}, func(t *testing.T, j *batch.Job) {
			assert.Equal(t, "pi", j.Spec.Template.Labels["batch.kubernetes.io/job-name"])
			assert.Equal(t, "x", j.Spec.Template.Labels["app"])
		}, ""},
		{"a wrong generated label is kept, then refused", func(j *batch.Job) {
			j.Spec.Template.Labels = map[string]string{"job-name": "custom"}
		}, func(t *testing.T, j *batch.Job) {
			assert.Equal(t, "custom", j.Spec.Template.Labels["job-name"])
		}, "spec.template.metadata.labels[job-name]"},
		{"own Job labels kept", func(j *batch.Job) { j.Labels = map[string]string{"team": "a"} }, func(t *testing.T, j *batch.Job) {
			assert.Equal(t, map[string]string{"team": "a"}, j.Labels)
		}, ""},
		{"manualSelector: nothing generated", func(j *batch.Job) {
			j.Spec.ManualSelector = ptr.To(true)
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
			j.Spec.Template.Labels = map[string]string{"app": "x"}
		}, func(t *testing.T, j *batch.Job) {
			assert.Equal(t, map[string]string{"app": "x"}, j.Spec.Template.Labels)
			assert.Equal(t, map[string]string{"app": "x"}, j.Spec.Selector.MatchLabels)
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := validJob()
			if tc.mutate != nil {
				tc.mutate(job)
			}
			strategy.PrepareForCreate(ctx, job)
			tc.check(t, job)
			errs := strategy.Validate(ctx, job)
			if tc.wantInvalid == "" {
				assert.Empty(t, errs, "a prepared valid Job validates")
				return
			}
			require.Len(t, errs, 1)
			assert.Equal(t, tc.wantInvalid, errs[0].Field)
		})
	}
}

func TestPrepareForUpdate(t *testing.T) {
	ctx := context.Background()
	old := validJob()
	strategy.PrepareForCreate(ctx, old)
	old.Status.Active = 1

	for _, tc := range []struct {
		name           string
		mutate         func(*batch.Job)
		wantGeneration int64
	}{
		{"spec change bumps generation", func(j *batch.Job) { j.Spec.Parallelism = ptr.To[int32](2) }, 2},
		{"label change does not", func(j *batch.Job) { j.Labels = map[string]string{"a": "b"} }, 1},
		{"status change is ignored", func(j *batch.Job) { j.Status.Active = 7 }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := old.DeepCopy()
			tc.mutate(job)
			strategy.PrepareForUpdate(ctx, job, old)
			assert.Equal(t, tc.wantGeneration, job.Generation)
			assert.Equal(t, old.Status, job.Status, "status kept from the stored Job")
		})
	}
}

func TestStatusStrategy(t *testing.T) {
	ctx := context.Background()
	statusStrategy := NewStatusStrategy(strategy)
	old := validJob()
	strategy.PrepareForCreate(ctx, old)
	old.ResourceVersion = "1"
	job := old.DeepCopy()
	job.Spec.Parallelism = ptr.To[int32](5)
	job.Status.Active = 1
	statusStrategy.PrepareForUpdate(ctx, job, old)
	assert.Equal(t, old.Spec, job.Spec, "spec kept")
	assert.Equal(t, int32(1), job.Status.Active, "status taken")
	assert.Empty(t, statusStrategy.ValidateUpdate(ctx, job, old))

	job.Status.Succeeded = -1
	errs := statusStrategy.ValidateUpdate(ctx, job, old)
	require.NotEmpty(t, errs)
	assert.Equal(t, "status.succeeded", errs[0].Field)
}

func TestStrategyPolicies(t *testing.T) {
	ctx := context.Background()
	assert.Equal(t, rest.DeleteDependents, strategy.DefaultGarbageCollectionPolicy(ctx), "Background deletion by default")
	assert.True(t, strategy.NamespaceScoped())
	assert.False(t, strategy.AllowCreateOnUpdate(ctx))
	assert.True(t, strategy.AllowUnconditionalUpdate(ctx))
	reset := strategy.GetResetFields()["batch.jobserver.dev/v1"]
	require.NotNil(t, reset)
	assert.Equal(t, ".status", reset.String())
	statusReset := NewStatusStrategy(strategy).GetResetFields()["batch.jobserver.dev/v1"]
	require.NotNil(t, statusReset)
	assert.Equal(t, ".spec", statusReset.String())
}

func TestWarnings(t *testing.T) {
	ctx := context.Background()
	job := validJob()
	job.Name = "has.dots"
	strategy.PrepareForCreate(ctx, job)
	warnings := strategy.WarningsOnCreate(ctx, job)
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], "metadata.name")

	// On update, only when the spec changed.
	same := job.DeepCopy()
	strategy.PrepareForUpdate(ctx, same, job)
	assert.Empty(t, strategy.WarningsOnUpdate(ctx, same, job))
}

func TestSelectableFields(t *testing.T) {
	job := validJob()
	job.Status.Succeeded = 3
	assert.Equal(t, fields.Set{
		"metadata.name": "pi", "metadata.namespace": "default", "status.successful": "3",
	}, ToSelectableFields(job))
	_, _, err := GetAttrs(&batch.JobList{})
	assert.Error(t, err)
}

// withAlphaFields sets a field of each alpha feature Kubernetes 1.37 turns
// off by default.
func withAlphaFields(j *batch.Job) {
	spec := &j.Spec.Template.Spec
	spec.Volumes = []corev1.Volume{
		{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultUser: ptr.To[int64](1000),
			Items: []corev1.KeyToPath{{Key: "k", Path: "p", User: ptr.To[int64](1000)}}}}},
		{Name: "p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{DefaultUser: ptr.To[int64](1000),
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "t", ExpirationSeconds: ptr.To[int64](3600), User: ptr.To[int64](1000)}}}}}},
		{Name: "e", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Mode: ptr.To[int32](0o700)}}},
	}
	c := &spec.Containers[0]
	c.VolumeMounts = []corev1.VolumeMount{{Name: "e", MountPath: "/e", BindMountOptions: []string{"nosuid"}}}
	c.Lifecycle = &corev1.Lifecycle{StopSignal: ptr.To(corev1.SIGUSR1)}
	c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(80),
		Scheme: corev1.URISchemeHTTP, Protocol: ptr.To(corev1.HTTPProtocolHTTP2)}},
		TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3}
	c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000, Mode: ptr.To(corev1.GRPCProbeModeTLS)}},
		TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3}
}

func TestDisabledAlphaFieldsAreDropped(t *testing.T) {
	assertDropped := func(t *testing.T, j *batch.Job) {
		t.Helper()
		spec := j.Spec.Template.Spec
		assert.Nil(t, spec.Volumes[0].Secret.DefaultUser)
		assert.Nil(t, spec.Volumes[0].Secret.Items[0].User)
		assert.Nil(t, spec.Volumes[1].Projected.DefaultUser)
		assert.Nil(t, spec.Volumes[1].Projected.Sources[0].ServiceAccountToken.User)
		assert.Nil(t, spec.Volumes[2].EmptyDir.Mode)
		c := spec.Containers[0]
		assert.Nil(t, c.VolumeMounts[0].BindMountOptions)
		assert.Nil(t, c.Lifecycle, "a lifecycle left empty goes too")
		assert.Nil(t, c.LivenessProbe.GRPC.Mode)
		assert.Nil(t, c.ReadinessProbe.HTTPGet.Protocol)
		assert.Equal(t, int32(9000), c.LivenessProbe.GRPC.Port, "the rest of the probe stays")
	}
	ctx := context.Background()

	t.Run("create", func(t *testing.T) {
		job := validJob()
		withAlphaFields(job)
		job.Spec.Template.Annotations = map[string]string{"pod.beta.kubernetes.io/init-containers": "[]", "team": "a"}
		strategy.PrepareForCreate(ctx, job)
		assertDropped(t, job)
		assert.Equal(t, map[string]string{"team": "a"}, job.Spec.Template.Annotations, "legacy init container annotations go")
		assert.Empty(t, strategy.Validate(ctx, job))
	})
	t.Run("update of a template that did not use them", func(t *testing.T) {
		old := validJob()
		old.Spec.Suspend = ptr.To(true)
		job := old.DeepCopy()
		withAlphaFields(job)
		strategy.PrepareForUpdate(ctx, job, old)
		assertDropped(t, job)
	})
	t.Run("update of a template that used them keeps them", func(t *testing.T) {
		old := validJob()
		withAlphaFields(old)
		job := old.DeepCopy()
		job.Labels = map[string]string{"new": "label"}
		strategy.PrepareForUpdate(ctx, job, old)
		assert.Equal(t, old.Spec.Template.Spec, job.Spec.Template.Spec)
		assert.Equal(t, old.Generation, job.Generation)
	})
}
