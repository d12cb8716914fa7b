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
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"

	batchv1ac "github.com/jobserver-dev/jobserver/pkg/generated/applyconfiguration/batch/v1"
	"github.com/jobserver-dev/jobserver/test/integration/framework"
)

func TestJobPatches(t *testing.T) {
	s := framework.StartServer(t, framework.ServerOptions{})
	jobs := s.Clientset(t).BatchV1().Jobs(ns)
	ctx := testContext(t)

	// Suspended and never started: the template's resources may change.
	job := newJob("patched")
	job.Spec.Suspend = ptr.To(true)
	job.Spec.Template.Spec.Containers = append(job.Spec.Template.Spec.Containers,
		corev1.Container{Name: "sidecar", Image: "busybox:1.36"})
	_, err := jobs.Create(ctx, job, metav1.CreateOptions{})
	require.NoError(t, err)

	t.Run("merge", func(t *testing.T) {
		got, err := jobs.Patch(ctx, "patched", types.MergePatchType, []byte(`{"spec":{"parallelism":3}}`), metav1.PatchOptions{})
		require.NoError(t, err)
		assert.Equal(t, ptr.To[int32](3), got.Spec.Parallelism)
		assert.Equal(t, int64(2), got.Generation)
	})
	t.Run("json", func(t *testing.T) {
		got, err := jobs.Patch(ctx, "patched", types.JSONPatchType, []byte(`[{"op":"replace","path":"/spec/backoffLimit","value":2}]`), metav1.PatchOptions{})
		require.NoError(t, err)
		assert.Equal(t, ptr.To[int32](2), got.Spec.BackoffLimit)
	})
	t.Run("strategic merges containers by name", func(t *testing.T) {
		patch := `{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","resources":{"requests":{"cpu":"100m"}}}]}}}}`
		got, err := jobs.Patch(ctx, "patched", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		require.NoError(t, err)
		cs := got.Spec.Template.Spec.Containers
		require.Len(t, cs, 2, "strategic merge keeps the other container")
		assert.Equal(t, "main", cs[0].Name)
		assert.Equal(t, "busybox:1.36", cs[1].Image, "and the patched container's other fields")
		assert.True(t, cs[1].Resources.Requests.Cpu().Equal(resource.MustParse("100m")))
	})
	t.Run("merge replaces lists", func(t *testing.T) {
		patch := `{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"busybox","resources":{"limits":{"cpu":"1"}}}]}}}}`
		// A JSON merge patch replaces the whole list, and a changed container
		// list is not one of the allowed suspended-Job mutations.
		_, err := jobs.Patch(ctx, "patched", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		requireInvalid(t, err, "spec.template.spec")
	})
	t.Run("invalid patch changes nothing", func(t *testing.T) {
		before, err := jobs.Get(ctx, "patched", metav1.GetOptions{})
		require.NoError(t, err)
		_, err = jobs.Patch(ctx, "patched", types.MergePatchType, []byte(`{"spec":{"parallelism":-1,"backoffLimit":1}}`), metav1.PatchOptions{})
		requireInvalid(t, err, "spec.parallelism")
		after, err := jobs.Get(ctx, "patched", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, before.ResourceVersion, after.ResourceVersion)
		assert.Equal(t, ptr.To[int32](2), after.Spec.BackoffLimit)
	})
}

func TestJobServerSideApply(t *testing.T) {
	s := framework.StartServer(t, framework.ServerOptions{})
	jobs := s.Clientset(t).BatchV1().Jobs(ns)
	ctx := testContext(t)

	apply := batchv1ac.Job("ssa", ns).WithSpec(batchv1ac.JobSpec().
		WithParallelism(2).
		WithCompletions(4).
		WithTemplate(corev1ac.PodTemplateSpec().WithSpec(corev1ac.PodSpec().
			WithRestartPolicy(corev1.RestartPolicyOnFailure).
			WithContainers(corev1ac.Container().WithName("main").WithImage("busybox").WithCommand("true")))))
	created, err := jobs.Apply(ctx, apply, metav1.ApplyOptions{FieldManager: "alice"})
	require.NoError(t, err)
	assert.Equal(t, ptr.To[int32](2), created.Spec.Parallelism)
	managers := map[string]metav1.ManagedFieldsOperationType{}
	for _, m := range created.ManagedFields {
		managers[m.Manager] = m.Operation
	}
	assert.Equal(t, map[string]metav1.ManagedFieldsOperationType{"alice": metav1.ManagedFieldsOperationApply}, managers)

	// Re-applying the same configuration is a no-op.
	again, err := jobs.Apply(ctx, apply, metav1.ApplyOptions{FieldManager: "alice"})
	require.NoError(t, err)
	assert.Equal(t, created.ResourceVersion, again.ResourceVersion)

	// Another manager setting alice's field conflicts...
	bob := batchv1ac.Job("ssa", ns).WithSpec(batchv1ac.JobSpec().WithParallelism(3))
	_, err = jobs.Apply(ctx, bob, metav1.ApplyOptions{FieldManager: "bob"})
	require.True(t, apierrors.IsConflict(err), "want 409 Conflict, got %v", err)
	assert.Contains(t, err.Error(), "alice")
	assert.Contains(t, err.Error(), ".spec.parallelism")

	// ...unless forced, which takes the field over.
	forced, err := jobs.Apply(ctx, bob, metav1.ApplyOptions{FieldManager: "bob", Force: true})
	require.NoError(t, err)
	assert.Equal(t, ptr.To[int32](3), forced.Spec.Parallelism)
	assert.Equal(t, ptr.To[int32](4), forced.Spec.Completions, "alice's other fields stay")

	// Status is not applied through the main resource (reset fields).
	withStatus := batchv1ac.Job("ssa", ns).WithStatus(batchv1ac.JobStatus().WithActive(5))
	applied, err := jobs.Apply(ctx, withStatus, metav1.ApplyOptions{FieldManager: "carol"})
	require.NoError(t, err)
	assert.Equal(t, int32(0), applied.Status.Active)

	// ...but through /status, where the spec is ignored.
	statusApply := batchv1ac.Job("ssa", ns).
		WithSpec(batchv1ac.JobSpec().WithParallelism(9)).
		WithStatus(batchv1ac.JobStatus().WithActive(1).WithReady(1))
	applied, err = jobs.ApplyStatus(ctx, statusApply, metav1.ApplyOptions{FieldManager: "controller", Force: true})
	require.NoError(t, err)
	assert.Equal(t, int32(1), applied.Status.Active)
	assert.Equal(t, ptr.To[int32](3), applied.Spec.Parallelism)
}
