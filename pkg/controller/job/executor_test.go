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
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	jobfake "github.com/jobserver-dev/jobserver/pkg/generated/clientset/versioned/fake"
	jobinformers "github.com/jobserver-dev/jobserver/pkg/generated/informers/externalversions"
)

// These tests apply Decisions through the executor against fake
// clientsets, for its ordering rules; the integration tests run it
// against a real kube-apiserver.

// executorTest is a controller on fake clients whose caches are filled
// directly (the informers never run).
type executorTest struct {
	t        *testing.T
	c        *Controller
	kube     *kubefake.Clientset
	jobs     *jobfake.Clientset
	recorder *record.FakeRecorder
	clock    *clocktesting.FakeClock
	// jobIndexer is the Job informer's cache.
	jobIndexer cache.Indexer

	mu    sync.Mutex
	calls []string // "verb resource name", in order
}

func newExecutorTest(t *testing.T, job *batchv1.Job, ps ...*corev1.Pod) *executorTest {
	t.Helper()
	var podObjs []runtime.Object
	for _, p := range ps {
		podObjs = append(podObjs, p)
	}
	et := &executorTest{
		t:        t,
		kube:     kubefake.NewClientset(podObjs...),
		jobs:     jobfake.NewClientset(job),
		recorder: record.NewFakeRecorder(100),
		clock:    clocktesting.NewFakeClock(t0),
	}
	generated := 0
	et.kube.PrependReactor("*", "pods", func(action clienttesting.Action) (bool, runtime.Object, error) {
		et.record(action)
		if create, ok := action.(clienttesting.CreateAction); ok {
			// The fake does not generate names.
			pod := create.GetObject().(*corev1.Pod)
			generated++
			pod.Name = fmt.Sprintf("%s%d", pod.GenerateName, generated)
			pod.UID = types.UID("uid-" + pod.Name)
		}
		return false, nil, nil
	})
	et.jobs.PrependReactor("*", "jobs", func(action clienttesting.Action) (bool, runtime.Object, error) {
		et.record(action)
		if update, ok := action.(clienttesting.UpdateAction); ok {
			// The fake keeps resourceVersions as given; a real server
			// advances them on every write.
			job := update.GetObject().(*batchv1.Job)
			rv, _ := strconv.Atoi(job.ResourceVersion)
			job.ResourceVersion = strconv.Itoa(rv + 1)
		}
		return false, nil, nil
	})

	jobFactory := jobinformers.NewSharedInformerFactory(et.jobs, 0)
	podFactory := informers.NewSharedInformerFactory(et.kube, 0)
	c, err := NewController(context.Background(), Config{
		JobClient:   et.jobs,
		KubeClient:  et.kube,
		JobInformer: jobFactory.Batch().V1().Jobs(),
		PodInformer: podFactory.Core().V1().Pods(),
		Clock:       et.clock,
		Recorder:    et.recorder,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		c.queue.ShutDown()
		c.orphanQueue.ShutDown()
	})
	et.jobIndexer = jobFactory.Batch().V1().Jobs().Informer().GetIndexer()
	require.NoError(t, et.jobIndexer.Add(job))
	for _, p := range ps {
		require.NoError(t, c.podIndexer.Add(p))
	}
	et.c = c
	return et
}

func (et *executorTest) record(action clienttesting.Action) {
	et.mu.Lock()
	defer et.mu.Unlock()
	name := ""
	switch a := action.(type) {
	case clienttesting.CreateAction:
		if m, err := metaName(a.GetObject()); err == nil {
			name = m
		}
	case clienttesting.UpdateAction:
		if m, err := metaName(a.GetObject()); err == nil {
			name = m
		}
	case clienttesting.GetAction:
		name = a.GetName()
	case clienttesting.DeleteAction:
		name = a.GetName()
	case clienttesting.PatchAction:
		name = a.GetName()
	}
	resource := action.GetResource().Resource
	if action.GetSubresource() != "" {
		resource += "/" + action.GetSubresource()
	}
	et.calls = append(et.calls, strings.TrimSpace(action.GetVerb()+" "+resource+" "+name))
}

func metaName(obj runtime.Object) (string, error) {
	m, err := metaAccessor(obj)
	if err != nil {
		return "", err
	}
	if m.GetName() == "" {
		return m.GetGenerateName(), nil
	}
	return m.GetName(), nil
}

func metaAccessor(obj runtime.Object) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no metadata", obj)
	}
	return m, nil
}

// waitQueued waits until the Job queue holds n keys. The delaying queue
// arms its timer on the fake clock from its own goroutine, possibly after
// the test stepped the clock past the item's time, so the clock keeps
// moving in small steps while waiting.
func (et *executorTest) waitQueued(n int) {
	et.t.Helper()
	assert.Eventually(et.t, func() bool {
		if et.c.queue.Len() == n {
			return true
		}
		et.clock.Step(100 * time.Millisecond)
		return false
	}, 10*time.Second, 10*time.Millisecond, "waiting for %d queued Job keys", n)
}

// callsOf returns the recorded calls with the given prefix.
func (et *executorTest) callsOf(prefix string) []string {
	et.mu.Lock()
	defer et.mu.Unlock()
	var out []string
	for _, c := range et.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// writeCalls are the recorded calls that change something.
func (et *executorTest) writeCalls() []string {
	et.mu.Lock()
	defer et.mu.Unlock()
	var out []string
	for _, c := range et.calls {
		if !strings.HasPrefix(c, "get ") && !strings.HasPrefix(c, "list ") && !strings.HasPrefix(c, "watch ") {
			out = append(out, c)
		}
	}
	return out
}

func (et *executorTest) events() []string {
	var out []string
	for {
		select {
		case e := <-et.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// owned makes a test pod one the controller created for the Job of
// helpers_test.go: ownership label and controller reference.
func owned() podOpt {
	return func(p *corev1.Pod) {
		p.Labels[names.PodOwnershipLabel] = "job-uid"
		p.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: "batch.jobserver.dev/v1", Kind: "Job", Name: "job", UID: "job-uid",
			Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
		}}
	}
}

func conflictOn(resource string) clienttesting.ReactionFunc {
	return func(action clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: resource}, "x", fmt.Errorf("stale"))
	}
}

func TestSyncAppliesStatusBeforeActions(t *testing.T) {
	// Two pods finished: record them (status), then release their
	// finalizers, in that order; the success of the Job is for later.
	job := newJob(completions(3), parallelism(2))
	et := newExecutorTest(t, job,
		newPod("a", corev1.PodSucceeded, owned()),
		newPod("b", corev1.PodFailed, owned(), exitCode(1, at(5))))
	et.clock.SetTime(at(10))

	require.NoError(t, et.c.sync(context.Background(), "ns/job"))
	writes := et.writeCalls()
	require.NotEmpty(t, writes)
	assert.Equal(t, "update jobs/status job", writes[0], "the status is written first")
	assert.ElementsMatch(t, []string{"patch pods a", "patch pods b"}, et.callsOf("patch pods"))
	assert.Empty(t, et.callsOf("create pods"), "the replacement waits for the failure's backoff")

	updated, err := et.jobs.BatchV1().Jobs("ns").Get(context.Background(), "job", metav1.GetOptions{})
	require.NoError(t, err)
	assert.ElementsMatch(t, []types.UID{"uid-a"}, updated.Status.UncountedTerminatedPods.Succeeded)
	assert.ElementsMatch(t, []types.UID{"uid-b"}, updated.Status.UncountedTerminatedPods.Failed)
	for _, name := range []string{"a", "b"} {
		pod, err := et.kube.CoreV1().Pods("ns").Get(context.Background(), name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.NotContains(t, pod.Finalizers, names.JobTrackingFinalizer, "pod %s", name)
	}
	// The cache still shows the finalizers: the expectations say they went.
	st := et.c.expectations.state("ns/job", job.UID, et.c.lookupPod("ns"))
	assert.True(t, st.finalizerRemovals.HasAll("uid-a", "uid-b"))
	assert.False(t, st.podsPending)
	// The Job comes back when the backoff expires, 10 s after the failure.
	et.clock.Step(4 * time.Second)
	assert.Equal(t, 0, et.c.queue.Len())
	et.clock.Step(time.Second)
	et.waitQueued(1)
	// The backoff record holds the failure.
	assert.Equal(t, int32(1), et.c.backoffRecord("ns/job", job.UID).FailuresAfterLastSuccess)
	// The Job object the status write returned is what the next sync uses.
	assert.Equal(t, updated.ResourceVersion, et.c.freshestJob("ns/job", job).ResourceVersion)
}

func TestSyncStatusConflictAppliesNothing(t *testing.T) {
	job := newJob(completions(3), parallelism(2))
	et := newExecutorTest(t, job,
		newPod("a", corev1.PodSucceeded, owned()),
		newPod("b", corev1.PodFailed, owned(), exitCode(1, t0)))
	et.jobs.PrependReactor("update", "jobs", conflictOn("jobs"))

	err := et.c.sync(context.Background(), "ns/job")
	require.Error(t, err)
	assert.True(t, apierrors.IsConflict(err), "got %v", err)
	assert.Empty(t, et.callsOf("patch pods"), "no finalizer removed on an unpersisted status")
	assert.Empty(t, et.callsOf("create pods"))
	assert.Empty(t, et.callsOf("delete pods"))
	assert.Empty(t, et.events())
	assert.Equal(t, BackoffRecord{}, et.c.backoffRecord("ns/job", job.UID), "the backoff record waits for the status write")
}

func TestSyncSkipsDeleteWhenFinalizerRemovalFails(t *testing.T) {
	// Suspending: each active pod loses its finalizer, then is deleted
	// (never counted as failed). If the finalizer stays, so does the pod.
	job := newJob(completions(2), parallelism(2), suspended())
	et := newExecutorTest(t, job,
		newPod("a", corev1.PodRunning, owned()),
		newPod("b", corev1.PodRunning, owned()))
	et.kube.PrependReactor("patch", "pods", func(action clienttesting.Action) (bool, runtime.Object, error) {
		if action.(clienttesting.PatchAction).GetName() == "b" {
			return true, nil, apierrors.NewInternalError(fmt.Errorf("boom"))
		}
		return false, nil, nil
	})

	err := et.c.sync(context.Background(), "ns/job")
	require.Error(t, err)
	assert.Equal(t, []string{"delete pods a"}, et.callsOf("delete pods"))
	calls := et.writeCalls()
	assert.Less(t, slices.Index(calls, "patch pods a"), slices.Index(calls, "delete pods a"), "finalizer before delete: %v", calls)
	assert.Contains(t, et.events(), "Normal SuccessfulDelete Deleted pod: a")
	// The failed removal is not expected; the delete is.
	st := et.c.expectations.state("ns/job", job.UID, et.c.lookupPod("ns"))
	assert.False(t, st.finalizerRemovals.Has("uid-b"))
	assert.True(t, st.finalizerRemovals.Has("uid-a"))
	assert.True(t, st.podsPending)
}

func TestSyncSlowStartStopsAfterAFailedBatch(t *testing.T) {
	job := newJob(completions(10), parallelism(10))
	et := newExecutorTest(t, job)
	creates := 0
	et.kube.PrependReactor("create", "pods", func(action clienttesting.Action) (bool, runtime.Object, error) {
		creates++
		if creates == 3 { // the second pod of batch 1
			return true, nil, apierrors.NewInternalError(fmt.Errorf("quota"))
		}
		return false, nil, nil
	})

	err := et.c.sync(context.Background(), "ns/job")
	require.Error(t, err)
	assert.Equal(t, 3, creates, "batch 0 (1 pod) and batch 1 (2 pods); batch 2 is not tried")
	events := et.events()
	assert.Equal(t, 2, countPrefix(events, "Normal SuccessfulCreate Created pod: job-"))
	assert.Equal(t, 1, countPrefix(events, "Warning FailedCreate Error creating: "))
	// The two created pods are awaited; the failed one is not.
	et.c.expectations.mu.Lock()
	pending := len(et.c.expectations.jobs["ns/job"].pending)
	et.c.expectations.mu.Unlock()
	assert.Equal(t, 2, pending)
}

func TestSyncIgnoresCreateErrorsOfATerminatingNamespace(t *testing.T) {
	job := newJob(completions(4), parallelism(4))
	et := newExecutorTest(t, job)
	creates := 0
	et.kube.PrependReactor("create", "pods", func(action clienttesting.Action) (bool, runtime.Object, error) {
		creates++
		err := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", fmt.Errorf("namespace ns is being terminated"))
		err.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause}}
		return true, nil, err
	})

	require.NoError(t, et.c.sync(context.Background(), "ns/job"))
	assert.Equal(t, 1, creates, "no further batch")
	assert.Equal(t, 0, countPrefix(et.events(), "Warning FailedCreate"))
}

func TestSyncRecordsDecisionEvents(t *testing.T) {
	job := newJob(completions(1))
	job.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	job.Status.Succeeded = 1
	job.Status.Conditions = []batchv1.JobCondition{{
		Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue,
		Reason: batchv1.JobReasonCompletionsReached, LastTransitionTime: metav1.NewTime(t0),
	}}
	et := newExecutorTest(t, job)

	require.NoError(t, et.c.sync(context.Background(), "ns/job"))
	assert.Equal(t, []string{"Normal Completed Job completed"}, et.events())
	updated, err := et.jobs.BatchV1().Jobs("ns").Get(context.Background(), "job", metav1.GetOptions{})
	require.NoError(t, err)
	assert.True(t, IsJobFinished(updated))
}

func TestSyncDeletesExpiredJobAfterLiveCheck(t *testing.T) {
	finished := withCondition(batchv1.JobComplete, corev1.ConditionTrue, batchv1.JobReasonCompletionsReached, "", t0)
	t.Run("expired", func(t *testing.T) {
		job := newJob(ttl(10), finished)
		et := newExecutorTest(t, job)
		et.clock.SetTime(at(11))
		var deleteOpts *metav1.DeleteOptions
		et.jobs.PrependReactor("delete", "jobs", func(action clienttesting.Action) (bool, runtime.Object, error) {
			opts := action.(clienttesting.DeleteAction).GetDeleteOptions()
			deleteOpts = &opts
			return false, nil, nil
		})
		require.NoError(t, et.c.sync(context.Background(), "ns/job"))
		assert.Equal(t, []string{"get jobs job", "delete jobs job"}, et.callsOf(""))
		require.NotNil(t, deleteOpts)
		assert.Equal(t, ptr.To(metav1.DeletePropagationForeground), deleteOpts.PropagationPolicy)
		assert.Equal(t, ptr.To(job.UID), deleteOpts.Preconditions.UID)
	})
	t.Run("TTL extended meanwhile", func(t *testing.T) {
		job := newJob(ttl(10), finished)
		et := newExecutorTest(t, job)
		live := job.DeepCopy()
		live.Spec.TTLSecondsAfterFinished = ptr.To[int32](3600)
		_, err := et.jobs.BatchV1().Jobs("ns").Update(context.Background(), live, metav1.UpdateOptions{})
		require.NoError(t, err)
		et.clock.SetTime(at(11))
		require.NoError(t, et.c.sync(context.Background(), "ns/job"))
		assert.Empty(t, et.callsOf("delete"), "the live Job's TTL has not expired")
	})
}

func TestSyncUsesLastWrittenJobWhileCacheLags(t *testing.T) {
	// A pod finished; the first sync records it. The second sync sees the
	// cache still at the old Job (its UID not recorded) and the pod
	// without the finalizer (released): it must not count the pod from the
	// old status, i.e. must use the Job the status write returned.
	job := newJob(completions(2), parallelism(1))
	et := newExecutorTest(t, job, newPod("a", corev1.PodSucceeded, owned()))
	ctx := context.Background()
	require.NoError(t, et.c.sync(ctx, "ns/job"))
	released := newPod("a", corev1.PodSucceeded, owned(), noFinalizer())
	require.NoError(t, et.c.podIndexer.Update(released))

	require.NoError(t, et.c.sync(ctx, "ns/job"))
	got, err := et.jobs.BatchV1().Jobs("ns").Get(ctx, "job", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), got.Status.Succeeded, "counted exactly once")
	assert.Empty(t, got.Status.UncountedTerminatedPods.Succeeded)
}

func TestOrphanedPodsLoseTheFinalizer(t *testing.T) {
	ctx := context.Background()
	otherOwner := func(p *corev1.Pod) {
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "rs-uid", Controller: ptr.To(true)}}
	}
	for _, tc := range []struct {
		name        string
		pod         *corev1.Pod
		jobInAPI    bool
		wantRelease bool
	}{
		{name: "Job deleted", pod: newPod("a", corev1.PodRunning, owned()), wantRelease: true},
		{name: "no controller left (orphan propagation)", pod: newPod("a", corev1.PodRunning, owned(),
			func(p *corev1.Pod) { p.OwnerReferences = nil }), wantRelease: true},
		{name: "Job still in the API, cache lagging", pod: newPod("a", corev1.PodRunning, owned()), jobInAPI: true},
		{name: "controlled by something else", pod: newPod("a", corev1.PodRunning, owned(), otherOwner)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := newJob()
			et := newExecutorTest(t, job, tc.pod)
			require.NoError(t, et.jobIndexer.Delete(job))
			if !tc.jobInAPI {
				require.NoError(t, et.jobs.BatchV1().Jobs("ns").Delete(ctx, "job", metav1.DeleteOptions{}))
			}

			require.NoError(t, et.c.sync(ctx, "ns/job"))
			if tc.pod.OwnerReferences != nil && tc.pod.OwnerReferences[0].Kind == "Job" {
				require.Equal(t, 1, et.c.orphanQueue.Len(), "a sync that finds its Job gone queues the Job's pods")
			}
			require.NoError(t, et.c.syncOrphanPod(ctx, "ns/a"))

			pod, err := et.kube.CoreV1().Pods("ns").Get(ctx, "a", metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, !tc.wantRelease, slices.Contains(pod.Finalizers, names.JobTrackingFinalizer))
			if !tc.wantRelease {
				assert.Empty(t, et.callsOf("patch"))
			}
		})
	}
}

func TestRemoveFinalizerPatch(t *testing.T) {
	pod := newPod("a", corev1.PodSucceeded)
	pod.Finalizers = []string{"example.com/keep", names.JobTrackingFinalizer}
	patch, err := removeFinalizerPatch(pod, "", "")
	require.NoError(t, err)
	assert.JSONEq(t, `[
		{"op":"test","path":"/metadata/uid","value":"uid-a"},
		{"op":"test","path":"/metadata/finalizers/1","value":"batch.jobserver.dev/job-tracking"},
		{"op":"remove","path":"/metadata/finalizers/1"}]`, string(patch))

	patch, err = removeFinalizerPatch(newPod("b", corev1.PodSucceeded, noFinalizer()), "", "")
	require.NoError(t, err)
	assert.Nil(t, patch)
}

func countPrefix(ss []string, prefix string) int {
	n := 0
	for _, s := range ss {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

func TestSyncAdoptsOrphansBeforeDeciding(t *testing.T) {
	// A pod jobserver created for an earlier Job (ownership label of
	// another UID), orphaned, matching this Job's selector: adopted and
	// counted in the same sync, so no second pod is created.
	orphan := newPod("a", corev1.PodRunning, func(p *corev1.Pod) { p.Labels[names.PodOwnershipLabel] = "earlier-uid" })
	ctx := context.Background()
	et := newExecutorTest(t, newJob(), orphan)

	require.NoError(t, et.c.sync(ctx, "ns/job"))
	assert.Equal(t, []string{"get jobs job", "patch pods a", "update jobs/status job"},
		slices.DeleteFunc(et.callsOf(""), func(c string) bool { return strings.HasPrefix(c, "list") || strings.HasPrefix(c, "watch") }),
		"a live read of the Job, the adoption, then the status with the pod active")
	pod, err := et.kube.CoreV1().Pods("ns").Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	ref := metav1.GetControllerOf(pod)
	require.NotNil(t, ref)
	assert.Equal(t, types.UID("job-uid"), ref.UID)
	assert.Equal(t, "job-uid", pod.Labels[names.PodOwnershipLabel])
	assert.Equal(t, []string{names.JobTrackingFinalizer}, pod.Finalizers, "merged, not duplicated")
	job, err := et.jobs.BatchV1().Jobs("ns").Get(ctx, "job", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), job.Status.Active)

	// Until the cache shows the adoption, the pod count is not managed.
	st := et.c.expectations.state("ns/job", "job-uid", et.c.lookupPod("ns"))
	assert.True(t, st.podsPending, "adoption awaited in the cache")
	require.NoError(t, et.c.podIndexer.Update(pod))
	st = et.c.expectations.state("ns/job", "job-uid", et.c.lookupPod("ns"))
	assert.False(t, st.podsPending, "adoption seen")
}

func TestSyncDoesNotAdoptForAJobBeingDeleted(t *testing.T) {
	orphan := newPod("a", corev1.PodRunning, func(p *corev1.Pod) { p.Labels[names.PodOwnershipLabel] = "earlier-uid" })
	ctx := context.Background()
	job := newJob()
	et := newExecutorTest(t, job, orphan)
	// The API has the deletion; the cache does not show it yet.
	deleting := job.DeepCopy()
	deleting.DeletionTimestamp = ptr.To(metav1.NewTime(t0))
	_, err := et.jobs.BatchV1().Jobs("ns").Update(ctx, deleting, metav1.UpdateOptions{})
	require.NoError(t, err)

	err = et.c.sync(ctx, "ns/job")
	require.ErrorContains(t, err, "being deleted")
	assert.Empty(t, et.callsOf("patch pods"), "nothing adopted")
	assert.Empty(t, et.callsOf("create pods"), "nothing created while the pods are unclear")
}

func TestSyncReleasesPodsOutsideTheSelector(t *testing.T) {
	// Relabelled out of the selector: the controller reference and the
	// finalizer go, the pod stays, and the Job replaces it.
	relabelled := newPod("a", corev1.PodRunning, owned(), func(p *corev1.Pod) { p.Labels[names.ControllerUIDLabel] = "debug" })
	ctx := context.Background()
	et := newExecutorTest(t, newJob(), relabelled)

	require.NoError(t, et.c.sync(ctx, "ns/job"))
	pod, err := et.kube.CoreV1().Pods("ns").Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Nil(t, metav1.GetControllerOf(pod), "controller reference removed")
	assert.Empty(t, pod.Finalizers, "tracking finalizer removed")
	assert.Len(t, et.callsOf("create pods"), 1, "replaced")
}

func TestOwnerlessPodWakesTheJobsThatWouldAdoptIt(t *testing.T) {
	// An ownerless pod matching a Job's selector wakes that Job (which
	// adopts it) and is queued for finalizer release (adoption adds the
	// finalizer back).
	orphan := newPod("a", corev1.PodRunning, func(p *corev1.Pod) { p.Labels[names.PodOwnershipLabel] = "earlier-uid" })
	et := newExecutorTest(t, newJob())
	et.c.addPod(orphan)
	assert.Equal(t, 1, et.c.orphanQueue.Len(), "queued for finalizer release")
	et.clock.Step(SyncJobBatchPeriod)
	et.waitQueued(1)
}

func TestSyncRemovesTheFinalizerOfAnAdoptedPodBeforeDeletingIt(t *testing.T) {
	// Two orphans whose finalizer the orphan worker already removed, one
	// Job with parallelism 1: both are adopted (finalizer added back), one
	// is excess. Its finalizer must go before it is deleted, although the
	// cache still shows it without one, or its deletion would count as a
	// failure.
	orphan := func(name string) *corev1.Pod {
		return newPod(name, corev1.PodRunning, noFinalizer(), func(p *corev1.Pod) { p.Labels[names.PodOwnershipLabel] = "earlier-uid" })
	}
	ctx := context.Background()
	et := newExecutorTest(t, newJob(), orphan("a"), orphan("b"))

	require.NoError(t, et.c.sync(ctx, "ns/job"))
	deletes := et.callsOf("delete pods")
	require.Len(t, deletes, 1, "one excess pod")
	victim := strings.Fields(deletes[0])[2]
	var forVictim []string
	for _, c := range et.writeCalls() {
		if strings.HasSuffix(c, " "+victim) {
			forVictim = append(forVictim, c)
		}
	}
	assert.Equal(t, []string{"patch pods " + victim, "patch pods " + victim, "delete pods " + victim}, forVictim,
		"adopted, finalizer removed, deleted")
	job, err := et.jobs.BatchV1().Jobs("ns").Get(ctx, "job", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(0), job.Status.Failed)
}

func TestSyncKeepsTheOwnerWhenReleasingDuringDeletion(t *testing.T) {
	// A Job being deleted does not release a pod out of its selector (the
	// garbage collector must delete it with the Job), but the finalizer,
	// which nobody else would remove, goes.
	relabelled := newPod("a", corev1.PodRunning, owned(), func(p *corev1.Pod) { p.Labels[names.ControllerUIDLabel] = "debug" })
	ctx := context.Background()
	job := newJob(func(j *batchv1.Job) { j.DeletionTimestamp = ptr.To(metav1.NewTime(t0)) })
	et := newExecutorTest(t, job, relabelled)

	require.NoError(t, et.c.sync(ctx, "ns/job"))
	pod, err := et.kube.CoreV1().Pods("ns").Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	ref := metav1.GetControllerOf(pod)
	require.NotNil(t, ref, "controller reference kept")
	assert.Equal(t, types.UID("job-uid"), ref.UID)
	assert.Empty(t, pod.Finalizers)
}

func TestPodStrippedOfTheOwnershipLabelIsReleased(t *testing.T) {
	// Removing the ownership label takes the pod out of the informer: its
	// delete event still shows the finalizer, so the orphan worker reads
	// it live and releases it.
	ctx := context.Background()
	pod := newPod("a", corev1.PodRunning, owned())
	et := newExecutorTest(t, newJob(), pod)
	_, err := et.kube.CoreV1().Pods("ns").Patch(ctx, "a", types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"`+names.PodOwnershipLabel+`":null}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	require.NoError(t, et.c.podIndexer.Delete(pod))

	et.c.deletePod(pod)
	require.Equal(t, 1, et.c.orphanQueue.Len())
	require.NoError(t, et.c.syncOrphanPod(ctx, "ns/a"))
	got, err := et.kube.CoreV1().Pods("ns").Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Nil(t, metav1.GetControllerOf(got), "controller reference removed")
	assert.Empty(t, got.Finalizers, "tracking finalizer removed")

	// A pod really gone: nothing to do, no error.
	require.NoError(t, et.kube.CoreV1().Pods("ns").Delete(ctx, "a", metav1.DeleteOptions{}))
	require.NoError(t, et.c.syncOrphanPod(ctx, "ns/a"))
}
