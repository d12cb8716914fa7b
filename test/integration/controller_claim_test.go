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
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	"github.com/jobserver-dev/jobserver/test/kit"
)

// testAdoptionAndRelease: the claim rules of upstream's
// PodControllerRefManager. Pods orphaned by `kubectl delete job
// --cascade=orphan` are adopted by a new Job whose manual selector matches
// them, instead of being duplicated; a pod relabelled out of the selector,
// or stripped of jobserver's ownership label, is released (controller
// reference and tracking finalizer removed, the pod itself kept) and
// replaced.
func testAdoptionAndRelease(t *testing.T, env *controllerEnv) {
	ctx, jt := env.setup(t, "adopt")
	manual := func(name string) *batchv1.Job {
		job := newJob(name)
		job.Spec.ManualSelector = ptr.To(true)
		job.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "adopt"}}
		job.Spec.Template.Labels = map[string]string{"app": "adopt"}
		job.Spec.Parallelism = ptr.To[int32](2)
		job.Spec.Completions = ptr.To[int32](2)
		return job
	}
	watcher := jt.watchPods(ctx)
	first := jt.create(ctx, manual("first"))
	orphans := jt.waitActivePods(ctx, first, 2)

	// kubectl delete job first --cascade=orphan. There is no garbage
	// collector in this cluster, so the test does its part: drop the pods'
	// controller references, then the Job's orphan finalizer.
	require.NoError(t, jt.jobs.BatchV1().Jobs(jt.ns).Delete(ctx, first.Name, metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationOrphan),
	}))
	for _, p := range orphans {
		_, err := jt.kube.CoreV1().Pods(jt.ns).Patch(ctx, p.Name, types.MergePatchType,
			[]byte(`{"metadata":{"ownerReferences":null}}`), metav1.PatchOptions{})
		require.NoError(t, err)
	}
	_, err := jt.jobs.BatchV1().Jobs(jt.ns).Patch(ctx, first.Name, types.MergePatchType,
		[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	// With no Job to adopt them, the orphans lose the finalizer.
	for _, p := range orphans {
		jt.waitFinalizerRemoved(ctx, p.Name)
	}

	second := jt.create(ctx, manual("second"))
	for _, p := range orphans {
		pod := jt.waitPod(ctx, p.Name, "adopted by Job second", func(pod *corev1.Pod) bool {
			ref := metav1.GetControllerOf(pod)
			return ref != nil && ref.UID == second.UID
		})
		assert.Contains(t, pod.Finalizers, names.JobTrackingFinalizer, "adopted pod %s", pod.Name)
		assert.Equal(t, string(second.UID), pod.Labels[names.PodOwnershipLabel], "adopted pod %s", pod.Name)
		ref := metav1.GetControllerOf(pod)
		assert.Equal(t, batchv1.SchemeGroupVersion.String(), ref.APIVersion)
		assert.Equal(t, "Job", ref.Kind)
		assert.Equal(t, "second", ref.Name)
		assert.Equal(t, ptr.To(true), ref.BlockOwnerDeletion)
	}
	jt.waitJob(ctx, second.Name, "2 active", func(j *batchv1.Job) bool { return j.Status.Active == 2 })
	assert.Len(t, jt.allPods(ctx), 2, "pods in the namespace after adoption")

	// Release by selector: relabelled out of the selector, a pod loses the
	// controller reference and the finalizer, and is replaced.
	_, err = jt.kube.CoreV1().Pods(jt.ns).Patch(ctx, orphans[0].Name, types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"app":"debug"}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	jt.waitReleased(ctx, orphans[0].Name)
	jt.waitOwnedActive(ctx, second, 2)

	// Release by ownership label: the informer no longer sees the pod;
	// jobserver reads it live, releases it, and the Job replaces it.
	_, err = jt.kube.CoreV1().Pods(jt.ns).Patch(ctx, orphans[1].Name, types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"`+names.PodOwnershipLabel+`":null}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	jt.waitReleased(ctx, orphans[1].Name)
	active := jt.waitOwnedActive(ctx, second, 2)
	for _, p := range active {
		assert.NotContains(t, []string{orphans[0].Name, orphans[1].Name}, p.Name, "released pods are not the Job's")
	}

	for _, p := range active {
		jt.finishPod(ctx, p.Name, 0, time.Now())
	}
	done := jt.waitJob(ctx, second.Name, "Complete", func(j *batchv1.Job) bool { return kit.HasTrueCondition(j, batchv1.JobComplete) })
	assert.Equal(t, int32(2), done.Status.Succeeded)
	assert.Equal(t, int32(0), done.Status.Failed, "released pods are not failures")
	jt.assertFinishedCleanly(ctx, done)
	// The two orphans (adopted, then released, still there) and the two
	// replacements: nothing else was ever created.
	assert.Len(t, jt.allPods(ctx), 4, "pods in the namespace")
	_, created := watcher.stats()
	assert.Equal(t, 4, created, "pods ever created in the namespace")
}

// allPods lists every pod of the test's namespace.
func (j *jobTest) allPods(ctx context.Context) []corev1.Pod {
	j.t.Helper()
	list, err := j.kube.CoreV1().Pods(j.ns).List(ctx, metav1.ListOptions{})
	require.NoError(j.t, err)
	return list.Items
}

// waitPod waits until cond holds for the pod and returns it.
func (j *jobTest) waitPod(ctx context.Context, name, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	j.t.Helper()
	var pod *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var err error
		pod, err = j.kube.CoreV1().Pods(j.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return cond(pod), nil
	})
	require.NoError(j.t, err, "waiting for pod %s: %s", name, what)
	return pod
}

// waitReleased waits until the pod, still there, has neither a controller
// nor the tracking finalizer.
func (j *jobTest) waitReleased(ctx context.Context, name string) {
	j.t.Helper()
	j.waitPod(ctx, name, "released", func(pod *corev1.Pod) bool {
		return metav1.GetControllerOf(pod) == nil && !slices.Contains(pod.Finalizers, names.JobTrackingFinalizer)
	})
}

// waitOwnedActive waits until exactly n active pods are controlled by the
// Job, and returns them.
func (j *jobTest) waitOwnedActive(ctx context.Context, job *batchv1.Job, n int) []corev1.Pod {
	j.t.Helper()
	var owned []corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		owned = owned[:0]
		for _, p := range activePods(j.allPods(ctx)) {
			if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == job.UID {
				owned = append(owned, p)
			}
		}
		return len(owned) == n, nil
	})
	require.NoError(j.t, err, "waiting for %d active pods controlled by Job %s, have %d", n, job.Name, len(owned))
	return owned
}
