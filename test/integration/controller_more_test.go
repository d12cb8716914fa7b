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
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	"github.com/jobserver-dev/jobserver/test/kit"
)

// More of upstream's test/integration/job scenarios, run by TestController
// (controller_test.go) against the real kube-apiserver.

// testParallelJobWithoutCompletions (TestParallelJob): parallelism 3 and no
// completions: after the first success no new Pods, the others finish.
func testParallelJobWithoutCompletions(t *testing.T, env *controllerEnv) {
	ctx, jt := env.setup(t, "anyof")
	watcher := jt.watchPods(ctx)
	job := newJob("anyof")
	job.Spec.Parallelism = ptr.To[int32](3)
	job = jt.create(ctx, job)

	active := jt.waitActivePods(ctx, job, 3)
	jt.waitJob(ctx, job.Name, "ready=0 active=3", func(j *batchv1.Job) bool { return j.Status.Active == 3 })
	jt.finishPod(ctx, active[0].Name, 0, time.Now())
	jt.waitJob(ctx, job.Name, "succeeded=1 active=2", func(j *batchv1.Job) bool {
		return j.Status.Succeeded == 1 && j.Status.Active == 2
	})
	// No replacement for the succeeded Pod, and no condition yet.
	// (The listing uses the test's ctx: the poll's own ends mid-request.)
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 3*time.Second, true, func(context.Context) (bool, error) {
		return len(activePods(jt.pods(ctx, job))) != 2, nil
	})
	require.ErrorIs(t, err, context.DeadlineExceeded, "the other two Pods keep running, no new one")
	assert.False(t, kit.HasTrueCondition(jt.get(ctx, job.Name), batchv1.JobComplete))

	jt.finishPod(ctx, active[1].Name, 0, time.Now())
	jt.finishPod(ctx, active[2].Name, 0, time.Now())
	done := jt.waitJob(ctx, job.Name, "Complete", func(j *batchv1.Job) bool { return kit.HasTrueCondition(j, batchv1.JobComplete) })
	assert.Equal(t, int32(3), done.Status.Succeeded)
	jt.assertFinishedCleanly(ctx, done)
	_, created := watcher.stats()
	assert.Equal(t, 3, created)
}

// testChangingParallelism (TestParallelJobChangingParallelism): scaling
// down deletes Pods without counting them as failures, even past the
// backoff limit; scaling up creates Pods again.
func testChangingParallelism(t *testing.T, env *controllerEnv) {
	ctx, jt := env.setup(t, "scale")
	job := newJob("scale")
	job.Spec.Parallelism = ptr.To[int32](5)
	job.Spec.BackoffLimit = ptr.To[int32](2)
	job = jt.create(ctx, job)
	jt.waitActivePods(ctx, job, 5)

	_, err := jt.jobs.BatchV1().Jobs(jt.ns).Patch(ctx, job.Name, types.MergePatchType, []byte(`{"spec":{"parallelism":1}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	jt.waitJob(ctx, job.Name, "active=1", func(j *batchv1.Job) bool { return j.Status.Active == 1 })
	scaled := jt.waitJob(ctx, job.Name, "terminating=0", func(j *batchv1.Job) bool { return ptr.Deref(j.Status.Terminating, 0) == 0 })
	assert.Equal(t, int32(0), scaled.Status.Failed, "Pods removed by scaling down are not failures")
	assert.False(t, kit.HasTrueCondition(scaled, batchv1.JobFailed), "4 removals > backoffLimit 2 do not fail the Job")

	_, err = jt.jobs.BatchV1().Jobs(jt.ns).Patch(ctx, job.Name, types.MergePatchType, []byte(`{"spec":{"parallelism":3}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	active := jt.waitActivePods(ctx, job, 3)
	for _, p := range active {
		jt.finishPod(ctx, p.Name, 0, time.Now())
	}
	done := jt.waitJob(ctx, job.Name, "Complete", func(j *batchv1.Job) bool { return kit.HasTrueCondition(j, batchv1.JobComplete) })
	assert.Equal(t, int32(0), done.Status.Failed)
	jt.assertFinishedCleanly(ctx, done)
}

// testActiveDeadline: the Job fails with DeadlineExceeded, its running Pods
// are deleted and counted as failed, their finalizers released.
func testActiveDeadline(t *testing.T, env *controllerEnv) {
	ctx, jt := env.setup(t, "deadline")
	job := newJob("deadline")
	job.Spec.Parallelism = ptr.To[int32](2)
	job.Spec.Completions = ptr.To[int32](4)
	job.Spec.ActiveDeadlineSeconds = ptr.To[int64](3)
	job = jt.create(ctx, job)
	jt.waitActivePods(ctx, job, 2)

	done := jt.waitJob(ctx, job.Name, "Failed", func(j *batchv1.Job) bool { return kit.HasTrueCondition(j, batchv1.JobFailed) })
	failed := kit.Condition(done, batchv1.JobFailed)
	assert.Equal(t, batchv1.JobReasonDeadlineExceeded, failed.Reason)
	assert.Equal(t, "Job was active longer than specified deadline", failed.Message)
	assert.GreaterOrEqual(t, failed.LastTransitionTime.Sub(done.Status.StartTime.Time), 3*time.Second)
	assert.Equal(t, int32(2), done.Status.Failed, "the running Pods count as failed")
	jt.assertFinishedCleanly(ctx, done)
	jt.waitEvents(ctx, job, "DeadlineExceeded")
}

// testFinalizersClearedWhenBackoffLimitExceeded: with backoffLimit 0, one
// failure fails the Job; the other Pods are deleted, counted, released.
func testFinalizersClearedWhenBackoffLimitExceeded(t *testing.T, env *controllerEnv) {
	ctx, jt := env.setup(t, "limit0")
	job := newJob("limit0")
	job.Spec.Parallelism = ptr.To[int32](3)
	job.Spec.Completions = ptr.To[int32](3)
	job.Spec.BackoffLimit = ptr.To[int32](0)
	job = jt.create(ctx, job)
	active := jt.waitActivePods(ctx, job, 3)

	jt.finishPod(ctx, active[0].Name, 1, time.Now())
	done := jt.waitJob(ctx, job.Name, "Failed", func(j *batchv1.Job) bool { return kit.HasTrueCondition(j, batchv1.JobFailed) })
	assert.Equal(t, batchv1.JobReasonBackoffLimitExceeded, kit.Condition(done, batchv1.JobFailed).Reason)
	assert.Equal(t, int32(3), done.Status.Failed, "the failure and the two Pods deleted with the Job")
	jt.assertFinishedCleanly(ctx, done)
}

// testExponentialBackoff (TestJobPodsCreatedWithExponentialBackoff): the
// second replacement waits at least twice the first delay.
func testExponentialBackoff(t *testing.T, env *controllerEnv) {
	ctx, jt := env.setup(t, "expo")
	job := newJob("expo")
	job.Spec.BackoffLimit = ptr.To[int32](3)
	job = jt.create(ctx, job)

	var delays []time.Duration
	pod := jt.waitActivePods(ctx, job, 1)[0]
	for i := 0; i < 2; i++ {
		failedAt := time.Now().Truncate(time.Second)
		jt.finishPod(ctx, pod.Name, 1, failedAt)
		next := jt.waitActivePods(ctx, job, 1)[0]
		require.NotEqual(t, pod.Name, next.Name)
		delays = append(delays, next.CreationTimestamp.Sub(failedAt))
		pod = next
	}
	t.Logf("replacement delays: %v", delays)
	assert.GreaterOrEqual(t, delays[0], 10*time.Second)
	assert.GreaterOrEqual(t, delays[1], 20*time.Second)
	assert.Less(t, delays[1], 45*time.Second)
}
