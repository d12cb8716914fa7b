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
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	"github.com/jobserver-dev/jobserver/pkg/controllermanager"
	clientset "github.com/jobserver-dev/jobserver/pkg/generated/clientset/versioned"
	"github.com/jobserver-dev/jobserver/test/integration/framework"
	"github.com/jobserver-dev/jobserver/test/kit"
)

// TestController runs jobserver, not standalone, against a real
// kube-apiserver and etcd, and checks that Jobs created through its API get
// their pods in the cluster and the status upstream's Job controller would
// write. There is no kubelet: the tests play it by writing pod status.
//
// The scenarios in "Jobs" share one jobserver and run in parallel, each in
// its own namespace. The later ones restart and replace jobservers, so they
// run one after the other. Every jobserver stores Jobs in the cluster's
// etcd (under its own prefix), so successive and concurrent replicas see
// the same Jobs, as in a highly available deployment.
func TestController(t *testing.T) {
	cluster := framework.StartCluster(t)
	env := &controllerEnv{
		t:       t,
		cluster: cluster,
		so: framework.ServerOptions{
			Cluster:     cluster,
			EtcdServers: cluster.EtcdURL,
			CertDir:     t.TempDir(),
		},
	}
	env.server = framework.StartServer(t, env.so)

	t.Run("Jobs", func(t *testing.T) {
		t.Run("NonParallel", func(t *testing.T) { t.Parallel(); testNonParallelJob(t, env) })
		t.Run("ParallelWithCompletions", func(t *testing.T) { t.Parallel(); testParallelJobWithCompletions(t, env) })
		t.Run("Indexed", func(t *testing.T) { t.Parallel(); testIndexedJob(t, env) })
		t.Run("BackoffLimitExceeded", func(t *testing.T) { t.Parallel(); testBackoffLimitExceeded(t, env) })
		t.Run("SuspendResume", func(t *testing.T) { t.Parallel(); testSuspendResume(t, env) })
		t.Run("OrphanedPodReleased", func(t *testing.T) { t.Parallel(); testOrphanedPodReleased(t, env) })
		t.Run("AdoptionAndRelease", func(t *testing.T) { t.Parallel(); testAdoptionAndRelease(t, env) })
		t.Run("ParallelWithoutCompletions", func(t *testing.T) { t.Parallel(); testParallelJobWithoutCompletions(t, env) })
		t.Run("ChangingParallelism", func(t *testing.T) { t.Parallel(); testChangingParallelism(t, env) })
		t.Run("ActiveDeadline", func(t *testing.T) { t.Parallel(); testActiveDeadline(t, env) })
		t.Run("FinalizersClearedWhenBackoffLimitExceeded", func(t *testing.T) { t.Parallel(); testFinalizersClearedWhenBackoffLimitExceeded(t, env) })
		t.Run("ExponentialBackoff", func(t *testing.T) { t.Parallel(); testExponentialBackoff(t, env) })
		t.Run("Logs", func(t *testing.T) { t.Parallel(); testJobLogs(t, env) })
	})
	t.Run("Metrics", func(t *testing.T) { testControllerMetrics(t, env) })
	t.Run("FrontProxyOnceReady", func(t *testing.T) { testFrontProxyOnceReady(t, env) })
	t.Run("ControllerRestartMidJob", func(t *testing.T) { testControllerRestartMidJob(t, env) })
	t.Run("LeaderHandover", func(t *testing.T) { testLeaderHandover(t, env) })
	t.Run("LeaseLost", func(t *testing.T) { testLeaseLost(t, env) })
	t.Run("KubeAPIServerOutage", func(t *testing.T) { testKubeAPIServerOutage(t, env) })
	t.Run("StoreMismatch", func(t *testing.T) { testStoreMismatch(t, env) })
	t.Run("ExternalEtcdOutage", func(t *testing.T) { testExternalEtcdOutage(t, env) })
	t.Run("EtcdMemberKilled", func(t *testing.T) { testEtcdMemberKilled(t, env) })
}

// controllerEnv is the cluster and the jobserver currently serving.
type controllerEnv struct {
	// t is TestController's own T: the servers live as long as it.
	t       *testing.T
	cluster *framework.Cluster
	so      framework.ServerOptions
	server  *framework.Server
}

// startServer starts a jobserver that outlives the calling subtest (it is
// stopped when TestController ends, or earlier by the test).
func (e *controllerEnv) startServer(t *testing.T, so framework.ServerOptions) *framework.Server {
	return framework.StartServer(outliving{T: t, parent: e.t}, so)
}

// outliving is a subtest's T whose cleanups run when parent ends.
type outliving struct {
	*testing.T
	parent *testing.T
}

func (o outliving) Cleanup(f func()) { o.parent.Cleanup(f) }

// TempDir is the parent's: what lives on must keep its files.
func (o outliving) TempDir() string { return o.parent.TempDir() }

// setup returns a fresh namespace (in the cluster; jobserver's admission
// checks it exists there) and clients for it.
func (e *controllerEnv) setup(t *testing.T, prefix string) (context.Context, *jobTest) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	ns := e.cluster.CreateNamespace(t, prefix)
	return ctx, &jobTest{t: t, ns: ns, kube: e.cluster.Kube, jobs: e.server.Clientset(t)}
}

// jobTest holds one scenario's namespace and clients.
type jobTest struct {
	t    *testing.T
	ns   string
	kube kubernetes.Interface
	jobs clientset.Interface
}

func (j *jobTest) create(ctx context.Context, job *batchv1.Job) *batchv1.Job {
	j.t.Helper()
	created, err := j.jobs.BatchV1().Jobs(j.ns).Create(ctx, job, metav1.CreateOptions{})
	require.NoError(j.t, err)
	return created
}

func (j *jobTest) get(ctx context.Context, name string) *batchv1.Job {
	j.t.Helper()
	job, err := j.jobs.BatchV1().Jobs(j.ns).Get(ctx, name, metav1.GetOptions{})
	require.NoError(j.t, err)
	return job
}

// pods lists the Job's pods in the cluster (by the ownership label), oldest
// first.
func (j *jobTest) pods(ctx context.Context, job *batchv1.Job) []corev1.Pod {
	j.t.Helper()
	list, err := j.kube.CoreV1().Pods(j.ns).List(ctx, metav1.ListOptions{
		LabelSelector: names.PodOwnershipLabel + "=" + string(job.UID),
	})
	require.NoError(j.t, err)
	pods := list.Items
	slices.SortStableFunc(pods, func(a, b corev1.Pod) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	return pods
}

func activePods(pods []corev1.Pod) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, p)
		}
	}
	return out
}

// waitActivePods waits until the Job has exactly n active pods and returns
// them.
func (j *jobTest) waitActivePods(ctx context.Context, job *batchv1.Job, n int) []corev1.Pod {
	j.t.Helper()
	var active []corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		active = activePods(j.pods(ctx, job))
		return len(active) == n, nil
	})
	require.NoError(j.t, err, "waiting for %d active pods of Job %s, have %d", n, job.Name, len(active))
	return active
}

// waitJob waits until cond holds for the Job and returns it.
func (j *jobTest) waitJob(ctx context.Context, name, what string, cond func(*batchv1.Job) bool) *batchv1.Job {
	j.t.Helper()
	var job *batchv1.Job
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var err error
		job, err = j.jobs.BatchV1().Jobs(j.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return cond(job), nil
	})
	require.NoError(j.t, err, "waiting for Job %s: %s; status: %+v", name, what, statusOf(job))
	return job
}

func statusOf(job *batchv1.Job) any {
	if job == nil {
		return nil
	}
	return job.Status
}

// finishPod plays the kubelet: the pod's containers ran and exited with
// exitCode at finishedAt; the pod is Succeeded for 0, Failed otherwise.
func (j *jobTest) finishPod(ctx context.Context, name string, exitCode int32, finishedAt time.Time) {
	j.t.Helper()
	phase, reason := corev1.PodSucceeded, "Completed"
	if exitCode != 0 {
		phase, reason = corev1.PodFailed, "Error"
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod, err := j.kube.CoreV1().Pods(j.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		pod.Status.Phase = phase
		pod.Status.ContainerStatuses = nil
		for _, c := range pod.Spec.Containers {
			pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{
				Name:  c.Name,
				Image: c.Image,
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode:   exitCode,
					Reason:     reason,
					StartedAt:  metav1.NewTime(finishedAt.Add(-time.Second)),
					FinishedAt: metav1.NewTime(finishedAt),
				}},
			})
		}
		_, err = j.kube.CoreV1().Pods(j.ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		return err
	})
	require.NoError(j.t, err, "setting the status of pod %s", name)
}

// waitFinalizerRemoved waits until the pod lost the tracking finalizer
// (or is gone).
func (j *jobTest) waitFinalizerRemoved(ctx context.Context, name string) {
	j.t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		pod, err := j.kube.CoreV1().Pods(j.ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		return !slices.Contains(pod.Finalizers, names.JobTrackingFinalizer), nil
	})
	require.NoError(j.t, err, "waiting for the tracking finalizer of pod %s to go", name)
}

// waitEvents waits until the cluster has events with every given reason
// about the Job, and returns them.
func (j *jobTest) waitEvents(ctx context.Context, job *batchv1.Job, reasons ...string) []corev1.Event {
	j.t.Helper()
	var events []corev1.Event
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := j.kube.CoreV1().Events(j.ns).List(ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.uid=" + string(job.UID),
		})
		if err != nil {
			return false, err
		}
		events = list.Items
		for _, r := range reasons {
			if !slices.ContainsFunc(events, func(e corev1.Event) bool { return e.Reason == r }) {
				return false, nil
			}
		}
		return true, nil
	})
	require.NoError(j.t, err, "waiting for events %v about Job %s; have %v", reasons, job.Name, eventReasons(events))
	return events
}

func eventReasons(events []corev1.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Reason+": "+e.Message)
	}
	return out
}

// assertFinishedCleanly checks what every finished Job shows: nothing
// active, terminating or uncounted, and no pod left with the finalizer.
func (j *jobTest) assertFinishedCleanly(ctx context.Context, job *batchv1.Job) {
	j.t.Helper()
	assert.Equal(j.t, int32(0), job.Status.Active, "active")
	assert.Equal(j.t, ptr.To[int32](0), job.Status.Terminating, "terminating")
	if u := job.Status.UncountedTerminatedPods; u != nil {
		assert.Empty(j.t, u.Succeeded, "uncounted succeeded")
		assert.Empty(j.t, u.Failed, "uncounted failed")
	}
	for _, p := range j.pods(ctx, job) {
		j.waitFinalizerRemoved(ctx, p.Name)
	}
}

// podWatcher records the highest number of active pods of a namespace
// seen at any event.
type podWatcher struct {
	mu        sync.Mutex
	pods      map[types.UID]*corev1.Pod
	maxActive int
	created   int
}

func (j *jobTest) watchPods(ctx context.Context) *podWatcher {
	j.t.Helper()
	w, err := j.kube.CoreV1().Pods(j.ns).Watch(ctx, metav1.ListOptions{})
	require.NoError(j.t, err)
	pw := &podWatcher{pods: map[types.UID]*corev1.Pod{}}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			pw.mu.Lock()
			switch ev.Type {
			case watch.Added:
				pw.created++
				pw.pods[pod.UID] = pod
			case watch.Modified:
				pw.pods[pod.UID] = pod
			case watch.Deleted:
				delete(pw.pods, pod.UID)
			}
			active := 0
			for _, p := range pw.pods {
				if len(activePods([]corev1.Pod{*p})) == 1 {
					active++
				}
			}
			pw.maxActive = max(pw.maxActive, active)
			pw.mu.Unlock()
		}
	}()
	return pw
}

func (pw *podWatcher) stats() (maxActive, created int) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	return pw.maxActive, pw.created
}

// --- scenarios ---------------------------------------------------------

// testNonParallelJob: one pod with the upstream shape plus jobserver's
// ownership label and finalizer; its success completes the Job.
func testNonParallelJob(t *testing.T, env *controllerEnv) {
	ctx, jt := env.setup(t, "nonparallel")
	job := jt.create(ctx, newJob("pi"))

	pods := jt.waitActivePods(ctx, job, 1)
	pod := pods[0]
	uid := string(job.UID)
	assert.Equal(t, "pi-", pod.GenerateName)
	assert.Equal(t, map[string]string{
		"job-name":                           "pi",
		"controller-uid":                     uid,
		"batch.kubernetes.io/job-name":       "pi",
		"batch.kubernetes.io/controller-uid": uid,
		names.PodOwnershipLabel:              uid,
	}, pod.Labels)
	assert.Equal(t, []metav1.OwnerReference{{
		APIVersion:         "batch.jobserver.dev/v1",
		Kind:               "Job",
		Name:               "pi",
		UID:                job.UID,
		Controller:         ptr.To(true),
		BlockOwnerDeletion: ptr.To(true),
	}}, pod.OwnerReferences)
	assert.Equal(t, []string{names.JobTrackingFinalizer}, pod.Finalizers)
	assert.Equal(t, corev1.RestartPolicyNever, pod.Spec.RestartPolicy)

	running := jt.waitJob(ctx, "pi", "active=1", func(j *batchv1.Job) bool { return j.Status.Active == 1 })
	require.NotNil(t, running.Status.StartTime)
	assert.Equal(t, ptr.To[int32](0), running.Status.Ready)

	jt.finishPod(ctx, pod.Name, 0, time.Now())
	done := jt.waitJob(ctx, "pi", "Complete", func(j *batchv1.Job) bool { return kit.HasTrueCondition(j, batchv1.JobComplete) })
	assert.Equal(t, int32(1), done.Status.Succeeded)
	assert.Equal(t, int32(0), done.Status.Failed)
	require.NotNil(t, done.Status.CompletionTime)
	assert.Equal(t, kit.Condition(done, batchv1.JobComplete).LastTransitionTime, *done.Status.CompletionTime)
	assert.True(t, kit.HasTrueCondition(done, batchv1.JobSuccessCriteriaMet))
	assert.Equal(t, batchv1.JobReasonCompletionsReached, kit.Condition(done, batchv1.JobComplete).Reason)
	jt.assertFinishedCleanly(ctx, done)
	assert.Len(t, jt.pods(ctx, job), 1, "no pod beyond the first")

	events := jt.waitEvents(ctx, job, "SuccessfulCreate", "Completed")
	for _, e := range events {
		assert.Equal(t, corev1.ObjectReference{
			APIVersion: "batch.jobserver.dev/v1", Kind: "Job", Namespace: jt.ns, Name: "pi", UID: job.UID,
		}, e.InvolvedObject)
		assert.Equal(t, "jobserver-controller", e.Source.Component)
		if e.Reason == "SuccessfulCreate" {
			assert.Equal(t, "Created pod: "+pod.Name, e.Message)
		}
	}
}

// testParallelJobWithCompletions: completions 5, parallelism 2: never more
// than 2 active pods, exactly 5 pods, Complete after 5 successes.
func testParallelJobWithCompletions(t *testing.T, env *controllerEnv) {
	ctx, jt := env.setup(t, "parallel")
	watcher := jt.watchPods(ctx)
	job := newJob("parallel")
	job.Spec.Completions = ptr.To[int32](5)
	job.Spec.Parallelism = ptr.To[int32](2)
	job = jt.create(ctx, job)

	for succeeded := 0; succeeded < 5; succeeded++ {
		want := min(2, 5-succeeded)
		active := jt.waitActivePods(ctx, job, want)
		jt.waitJob(ctx, job.Name, fmt.Sprintf("succeeded=%d active=%d", succeeded, want), func(j *batchv1.Job) bool {
			return j.Status.Succeeded == int32(succeeded) && j.Status.Active == int32(want)
		})
		jt.finishPod(ctx, active[0].Name, 0, time.Now())
	}
	done := jt.waitJob(ctx, job.Name, "Complete", func(j *batchv1.Job) bool { return kit.HasTrueCondition(j, batchv1.JobComplete) })
	assert.Equal(t, int32(5), done.Status.Succeeded)
	assert.Equal(t, int32(0), done.Status.Failed)
	jt.assertFinishedCleanly(ctx, done)
	assert.Len(t, jt.pods(ctx, job), 5, "exactly one pod per completion")
	maxActive, created := watcher.stats()
	assert.LessOrEqual(t, maxActive, 2, "active pods never exceed parallelism")
	assert.Equal(t, 5, created, "pods created")
}

// testIndexedJob: one pod per index, with the index label and annotation,
// hostname and JOB_COMPLETION_INDEX; completedIndexes "0-2".
func testIndexedJob(t *testing.T, env *controllerEnv) {
	ctx, jt := env.setup(t, "indexed")
	job := newJob("indexed")
	job.Spec.Completions = ptr.To[int32](3)
	job.Spec.Parallelism = ptr.To[int32](3)
	job.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	job = jt.create(ctx, job)

	pods := jt.waitActivePods(ctx, job, 3)
	var indexes []string
	for _, p := range pods {
		ix := p.Labels[names.JobCompletionIndexAnnotation]
		indexes = append(indexes, ix)
		assert.Equal(t, ix, p.Annotations[names.JobCompletionIndexAnnotation], "annotation of %s", p.Name)
		assert.Equal(t, "indexed-"+ix, p.Spec.Hostname)
		assert.Equal(t, "indexed-"+ix+"-", p.GenerateName)
		assert.Empty(t, p.Spec.Subdomain)
		assert.Contains(t, p.Spec.Containers[0].Env, corev1.EnvVar{
			Name: "JOB_COMPLETION_INDEX",
			ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
				APIVersion: "v1", FieldPath: "metadata.labels['batch.kubernetes.io/job-completion-index']",
			}},
		})
	}
	slices.Sort(indexes)
	assert.Equal(t, []string{"0", "1", "2"}, indexes)

	// Finish index 1 first: completedIndexes is a set, in order.
	byIndex := map[string]string{}
	for _, p := range pods {
		byIndex[p.Labels[names.JobCompletionIndexAnnotation]] = p.Name
	}
	jt.finishPod(ctx, byIndex["1"], 0, time.Now())
	jt.waitJob(ctx, job.Name, `completedIndexes "1"`, func(j *batchv1.Job) bool { return j.Status.CompletedIndexes == "1" })
	jt.finishPod(ctx, byIndex["0"], 0, time.Now())
	jt.finishPod(ctx, byIndex["2"], 0, time.Now())
	done := jt.waitJob(ctx, job.Name, "Complete", func(j *batchv1.Job) bool { return kit.HasTrueCondition(j, batchv1.JobComplete) })
	assert.Equal(t, "0-2", done.Status.CompletedIndexes)
	assert.Equal(t, int32(3), done.Status.Succeeded)
	jt.assertFinishedCleanly(ctx, done)
	assert.Len(t, jt.pods(ctx, job), 3)
}

// testBackoffLimitExceeded: backoffLimit 1, restartPolicy Never: the first
// failure is replaced no sooner than 10 s after it, the second fails the
// Job with BackoffLimitExceeded and failed=2.
func testBackoffLimitExceeded(t *testing.T, env *controllerEnv) {
	ctx, jt := env.setup(t, "backoff")
	job := newJob("flaky")
	job.Spec.BackoffLimit = ptr.To[int32](1)
	job = jt.create(ctx, job)

	first := jt.waitActivePods(ctx, job, 1)[0]
	// Second precision, as the API stores it.
	failedAt := time.Now().Truncate(time.Second)
	jt.finishPod(ctx, first.Name, 1, failedAt)
	jt.waitJob(ctx, job.Name, "failed=1", func(j *batchv1.Job) bool { return j.Status.Failed == 1 })

	second := jt.waitActivePods(ctx, job, 1)[0]
	require.NotEqual(t, first.Name, second.Name)
	delay := second.CreationTimestamp.Sub(failedAt)
	assert.GreaterOrEqual(t, delay, 10*time.Second, "replacement delay after the first failure")
	assert.Less(t, delay, 30*time.Second, "replacement delay after the first failure")

	jt.finishPod(ctx, second.Name, 1, time.Now())
	done := jt.waitJob(ctx, job.Name, "Failed", func(j *batchv1.Job) bool { return kit.HasTrueCondition(j, batchv1.JobFailed) })
	failed := kit.Condition(done, batchv1.JobFailed)
	assert.Equal(t, batchv1.JobReasonBackoffLimitExceeded, failed.Reason)
	assert.Equal(t, "Job has reached the specified backoff limit", failed.Message)
	assert.True(t, kit.HasTrueCondition(done, batchv1.JobFailureTarget))
	assert.Equal(t, int32(2), done.Status.Failed)
	assert.Equal(t, int32(0), done.Status.Succeeded)
	assert.Nil(t, done.Status.CompletionTime)
	jt.assertFinishedCleanly(ctx, done)
	assert.Len(t, jt.pods(ctx, job), 2)
	events := jt.waitEvents(ctx, job, "BackoffLimitExceeded")
	for _, e := range events {
		if e.Reason == "BackoffLimitExceeded" {
			assert.Equal(t, corev1.EventTypeWarning, e.Type)
		}
	}
}

// testSuspendResume: suspending deletes the active pods without counting
// them; resuming creates new ones; Suspended/Resumed events are in the
// cluster about the Job.
func testSuspendResume(t *testing.T, env *controllerEnv) {
	ctx, jt := env.setup(t, "suspend")
	job := newJob("pausable")
	job.Spec.Completions = ptr.To[int32](4)
	job.Spec.Parallelism = ptr.To[int32](2)
	job = jt.create(ctx, job)
	before := jt.waitActivePods(ctx, job, 2)

	setSuspend := func(suspend bool) {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			j := jt.get(ctx, job.Name)
			j.Spec.Suspend = ptr.To(suspend)
			_, err := jt.jobs.BatchV1().Jobs(jt.ns).Update(ctx, j, metav1.UpdateOptions{})
			return err
		})
		require.NoError(t, err)
	}

	setSuspend(true)
	suspended := jt.waitJob(ctx, job.Name, "Suspended, no pods", func(j *batchv1.Job) bool {
		return kit.HasTrueCondition(j, batchv1.JobSuspended) && j.Status.Active == 0 && ptr.Deref(j.Status.Terminating, 0) == 0
	})
	assert.Equal(t, "JobSuspended", kit.Condition(suspended, batchv1.JobSuspended).Reason)
	assert.Nil(t, suspended.Status.StartTime, "startTime is cleared while suspended")
	assert.Equal(t, int32(0), suspended.Status.Failed, "suspension is not a failure")
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true,
		func(ctx context.Context) (bool, error) { return len(jt.pods(ctx, job)) == 0, nil }),
		"the suspended Job's pods are deleted (their finalizer removed)")

	setSuspend(false)
	after := jt.waitActivePods(ctx, job, 2)
	resumed := jt.waitJob(ctx, job.Name, "resumed", func(j *batchv1.Job) bool {
		c := kit.Condition(j, batchv1.JobSuspended)
		return c != nil && c.Status == corev1.ConditionFalse && j.Status.Active == 2
	})
	assert.Equal(t, "JobResumed", kit.Condition(resumed, batchv1.JobSuspended).Reason)
	assert.NotNil(t, resumed.Status.StartTime)
	assert.Equal(t, int32(0), resumed.Status.Failed)
	for _, p := range after {
		assert.False(t, slices.ContainsFunc(before, func(b corev1.Pod) bool { return b.UID == p.UID }), "new pods after resume")
	}

	events := jt.waitEvents(ctx, job, "Suspended", "Resumed", "SuccessfulDelete")
	for _, e := range events {
		assert.Equal(t, job.UID, e.InvolvedObject.UID)
		assert.Equal(t, "batch.jobserver.dev/v1", e.InvolvedObject.APIVersion)
		assert.Equal(t, "Job", e.InvolvedObject.Kind)
		assert.Equal(t, "jobserver-controller", e.Source.Component)
	}
}

// testOrphanedPodReleased: a Job deleted with orphan propagation leaves
// its pods behind; the controller removes their tracking finalizer so they
// do not hang in Terminating. A pod without the ownership label is not the
// controller's (its informer does not even list it), finalizer or not.
func testOrphanedPodReleased(t *testing.T, env *controllerEnv) {
	ctx, jt := env.setup(t, "orphan")
	foreign, err := jt.kube.CoreV1().Pods(jt.ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "foreign", Finalizers: []string{names.JobTrackingFinalizer}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	job := jt.create(ctx, newJob("abandoned"))
	pod := jt.waitActivePods(ctx, job, 1)[0]
	require.NoError(t, jt.jobs.BatchV1().Jobs(jt.ns).Delete(ctx, job.Name, metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationOrphan),
	}))
	jt.waitFinalizerRemoved(ctx, pod.Name)
	// The pod itself stays (there is no garbage collector here, and the
	// Job orphaned it anyway): only the finalizer went.
	_, err = jt.kube.CoreV1().Pods(jt.ns).Get(ctx, pod.Name, metav1.GetOptions{})
	assert.NoError(t, err)

	foreign, err = jt.kube.CoreV1().Pods(jt.ns).Get(ctx, foreign.Name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{names.JobTrackingFinalizer}, foreign.Finalizers, "a pod without the ownership label is left alone")
}

// testControllerMetrics: the controller's metrics are on jobserver's
// /metrics, with the syncs of the scenarios above.
func testControllerMetrics(t *testing.T, env *controllerEnv) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	kube, err := kubernetes.NewForConfig(env.server.AdminConfig)
	require.NoError(t, err)
	raw, err := kube.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	require.NoError(t, err)
	metrics := string(raw)
	for _, want := range []string{
		`jobserver_job_controller_job_syncs_total{result="success"}`,
		`jobserver_job_controller_job_sync_duration_seconds_bucket{result="success",le="+Inf"}`,
		`jobserver_job_controller_pods_created_total{result="success"}`,
		`jobserver_job_controller_pods_deleted_total{result="success"}`,
		`jobserver_job_controller_pod_finalizers_removed_total{result="success"}`,
		`workqueue_adds_total{name="job"}`,
		`leader_election_master_status{name="jobserver-controller"} 1`,
	} {
		assert.Contains(t, metrics, want)
	}
	// At least what the scenarios above did.
	assert.GreaterOrEqual(t, metricValue(t, metrics, `jobserver_job_controller_pods_created_total{result="success"}`), 16.0)
	assert.GreaterOrEqual(t, metricValue(t, metrics,
		`jobserver_job_controller_jobs_finished_total{condition="Complete",reason="CompletionsReached"}`), 3.0)
	assert.GreaterOrEqual(t, metricValue(t, metrics,
		`jobserver_job_controller_jobs_finished_total{condition="Failed",reason="BackoffLimitExceeded"}`), 1.0)
}

func metricValue(t *testing.T, metrics, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(metrics, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			require.NoError(t, err)
			return v
		}
	}
	t.Fatalf("no series %s", series)
	return 0
}

// testControllerRestartMidJob: while jobserver is down, one pod succeeds,
// one fails and one is deleted (the finalizer keeps it, Terminating). A
// new jobserver on the same storage counts each exactly once, replaces the
// failed and the deleted pod, and completes the Job.
func testControllerRestartMidJob(t *testing.T, env *controllerEnv) {
	ctx, jt := env.setup(t, "restart")
	job := newJob("durable")
	job.Spec.Completions = ptr.To[int32](3)
	job.Spec.Parallelism = ptr.To[int32](3)
	job = jt.create(ctx, job)
	pods := jt.waitActivePods(ctx, job, 3)
	jt.waitJob(ctx, job.Name, "active=3", func(j *batchv1.Job) bool { return j.Status.Active == 3 })

	env.server.Stop()
	now := time.Now()
	// The success finishes last, so no failure is "after the last
	// success" and the replacements need no backoff delay.
	jt.finishPod(ctx, pods[1].Name, 1, now.Add(-30*time.Second))
	require.NoError(t, jt.kube.CoreV1().Pods(jt.ns).Delete(ctx, pods[2].Name, metav1.DeleteOptions{}))
	jt.finishPod(ctx, pods[0].Name, 0, now.Add(5*time.Second))
	deleted, err := jt.kube.CoreV1().Pods(jt.ns).Get(ctx, pods[2].Name, metav1.GetOptions{})
	require.NoError(t, err, "the tracking finalizer keeps the deleted pod")
	require.NotNil(t, deleted.DeletionTimestamp)

	env.server = env.startServer(t, env.so)
	jt.jobs = env.server.Clientset(t)

	counted := jt.waitJob(ctx, job.Name, "succeeded=1 failed=2", func(j *batchv1.Job) bool {
		return j.Status.Succeeded == 1 && j.Status.Failed == 2
	})
	assert.Empty(t, counted.Status.UncountedTerminatedPods.Succeeded)
	assert.Empty(t, counted.Status.UncountedTerminatedPods.Failed)
	for _, p := range pods {
		jt.waitFinalizerRemoved(ctx, p.Name)
	}
	_, err = jt.kube.CoreV1().Pods(jt.ns).Get(ctx, pods[2].Name, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the deleted pod is gone once its finalizer is removed")

	replacements := jt.waitActivePods(ctx, job, 2)
	for _, p := range replacements {
		jt.finishPod(ctx, p.Name, 0, time.Now())
	}
	done := jt.waitJob(ctx, job.Name, "Complete", func(j *batchv1.Job) bool { return kit.HasTrueCondition(j, batchv1.JobComplete) })
	assert.Equal(t, int32(3), done.Status.Succeeded)
	assert.Equal(t, int32(2), done.Status.Failed)
	jt.assertFinishedCleanly(ctx, done)
	assert.Len(t, jt.pods(ctx, job), 4, "3 original pods (one deleted) and 2 replacements")
}

// testLeaderHandover: a second replica waits while the first leads (no
// duplicate pods), and takes over when the first shuts down (it releases
// the Lease), finishing the Job with exact counts.
func testLeaderHandover(t *testing.T, env *controllerEnv) {
	ctx, jt := env.setup(t, "handover")
	leaseHolder := func() string {
		lease, err := env.cluster.Kube.CoordinationV1().Leases(framework.JobserverNamespace).Get(ctx, controllermanager.LeaderElectionLeaseName, metav1.GetOptions{})
		require.NoError(t, err)
		return ptr.Deref(lease.Spec.HolderIdentity, "")
	}
	leader := leaseHolder()
	require.NotEmpty(t, leader)
	standby := env.startServer(t, env.so)
	// Its elector's watchdog is on /healthz and /livez (and fails once it
	// is stuck).
	for _, path := range []string{"/healthz", "/livez"} {
		raw, err := kubernetes.NewForConfigOrDie(standby.AdminConfig).Discovery().RESTClient().Get().AbsPath(path).Param("verbose", "true").DoRaw(ctx)
		require.NoError(t, err)
		assert.Contains(t, string(raw), "[+]leaderElection ok", path)
	}

	job := newJob("handover")
	job.Spec.Completions = ptr.To[int32](2)
	job.Spec.Parallelism = ptr.To[int32](2)
	job = jt.create(ctx, job)
	pods := jt.waitActivePods(ctx, job, 2)
	jt.waitJob(ctx, job.Name, "active=2", func(j *batchv1.Job) bool { return j.Status.Active == 2 })
	assert.Equal(t, leader, leaseHolder(), "the standby replica does not take the Lease")

	env.server.Stop()
	env.server = standby
	jt.jobs = standby.Clientset(t)
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true,
		func(context.Context) (bool, error) { h := leaseHolder(); return h != "" && h != leader, nil }),
		"the standby replica takes the Lease")

	for _, p := range pods {
		jt.finishPod(ctx, p.Name, 0, time.Now())
	}
	done := jt.waitJob(ctx, job.Name, "Complete", func(j *batchv1.Job) bool { return kit.HasTrueCondition(j, batchv1.JobComplete) })
	assert.Equal(t, int32(2), done.Status.Succeeded)
	jt.assertFinishedCleanly(ctx, done)
	assert.Len(t, jt.pods(ctx, job), 2, "no pod was created twice")
}

// testLeaseLost: a leader that cannot renew its Lease (another holder took
// it) stops its controller but keeps serving the API, and leads again, in
// the same process, once the Lease is free.
func testLeaseLost(t *testing.T, env *controllerEnv) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env.server.Stop()
	so := env.so
	so.ExtraFlags = []string{"--leader-elect-lease-duration=3s", "--leader-elect-renew-deadline=2s", "--leader-elect-retry-period=500ms"}
	server := env.startServer(t, so)
	env.server = server
	leases := env.cluster.Kube.CoordinationV1().Leases(framework.JobserverNamespace)

	var holder string
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		lease, err := leases.Get(ctx, controllermanager.LeaderElectionLeaseName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		holder = ptr.Deref(lease.Spec.HolderIdentity, "")
		// The previous server released the Lease; this one takes it.
		return holder != "" && lease.Spec.RenewTime != nil && time.Since(lease.Spec.RenewTime.Time) < 2*time.Second, nil
	}))

	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		lease, err := leases.Get(ctx, controllermanager.LeaderElectionLeaseName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		lease.Spec.HolderIdentity = ptr.To("usurper")
		lease.Spec.LeaseDurationSeconds = ptr.To[int32](3600)
		lease.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
		_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
		return err
	})
	require.NoError(t, err)

	// The controller stops; the process and its API stay. A Job created
	// now gets no Pod while the usurper holds the Lease.
	ns := env.cluster.CreateNamespace(t, "leaselost")
	jt := &jobTest{t: t, ns: ns, kube: env.cluster.Kube, jobs: server.Clientset(t)}
	time.Sleep(3 * time.Second) // beyond the renew deadline: the controller has stopped
	job := jt.create(ctx, newJob("while-usurped"))
	time.Sleep(3 * time.Second)
	assert.Empty(t, jt.pods(ctx, job), "no controller acts while another replica holds the Lease")
	exited, runErr := server.WaitExit(time.Second)
	require.False(t, exited, "jobserver keeps running after losing the Lease (exit: %v)", runErr)
	_, err = jt.jobs.BatchV1().Jobs(ns).Get(ctx, "while-usurped", metav1.GetOptions{})
	require.NoError(t, err, "the API keeps serving")
	lease, err := leases.Get(ctx, controllermanager.LeaderElectionLeaseName, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "usurper", ptr.Deref(lease.Spec.HolderIdentity, ""), "the stopped replica did not take the Lease back")

	// The usurper lets the Lease go: the same process leads again and the
	// Job gets its Pod.
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		lease, err := leases.Get(ctx, controllermanager.LeaderElectionLeaseName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		lease.Spec.HolderIdentity = ptr.To("")
		lease.Spec.LeaseDurationSeconds = ptr.To[int32](1)
		_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
		return err
	}))
	jt.waitActivePods(ctx, job, 1)
	lease, err = leases.Get(ctx, controllermanager.LeaderElectionLeaseName, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, holder, ptr.Deref(lease.Spec.HolderIdentity, ""), "the same replica leads again")
}

// testKubeAPIServerOutage: kube-apiserver stopped for 15 s mid-Job. The
// Lease cannot be renewed, so the controller stops, but jobserver's process
// does not exit and its API keeps answering (the admin's certificate and
// system:masters are checked locally). Once kube-apiserver is back, the
// same process leads again and the Job completes with exact counts.
func testKubeAPIServerOutage(t *testing.T, env *controllerEnv) {
	ctx, jt := env.setup(t, "kasoutage")
	job, pods := jt.startMidJob(ctx, "outage")

	env.cluster.StopKubeAPIServer(t)
	for outage := time.Now(); time.Since(outage) < 15*time.Second; {
		_, err := jt.jobs.BatchV1().Jobs(jt.ns).Get(ctx, job.Name, metav1.GetOptions{})
		require.NoError(t, err, "jobserver's API answers while kube-apiserver is down")
		exited, exitErr := env.server.WaitExit(time.Second)
		require.False(t, exited, "jobserver exited during the outage: %v", exitErr)
	}
	env.cluster.StartKubeAPIServer(t)

	// Play the kubelet: finish each active pod once, until the Job is done.
	done := jt.finishUntilComplete(ctx, job, "the controller resumes after the outage", pods[0].Name)
	assert.Equal(t, int32(4), done.Status.Succeeded)
	assert.Equal(t, int32(0), done.Status.Failed)
	jt.assertFinishedCleanly(ctx, done)
	assert.Len(t, jt.pods(ctx, job), 4, "each completion by one pod: none created twice")
	exited, exitErr := env.server.WaitExit(0)
	assert.False(t, exited, "jobserver still runs: %v", exitErr)
}

// testStoreMismatch: a jobserver started on an empty store (a lost volume, a
// wrong --etcd-servers) while the cluster has Pods of the recorded store's
// Jobs serves no Job (503 naming the record), is unready with the reason on
// /readyz/store-identity, and runs no controller: no Pod is created,
// changed or released. The documented recovery, starting it on its store
// again, brings the Job back and it completes. Deleting the record instead
// confirms the new store: it is served within one check period.
func testStoreMismatch(t *testing.T, env *controllerEnv) {
	ctx, jt := env.setup(t, "storemismatch")
	job, pods := jt.startMidJob(ctx, "mismatch")
	env.server.Stop()
	before := map[string][]string{}
	for _, p := range jt.pods(ctx, job) {
		before[p.Name] = p.Finalizers
	}

	so := env.so
	so.EtcdServers = "" // an embedded etcd on a fresh, empty data directory
	so.DataDir = ""
	so.LiveOnly = true
	wrong := env.startServer(t, so)
	kc, err := kubernetes.NewForConfig(wrong.AdminConfig)
	require.NoError(t, err)
	var reason string
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		raw, _ := kc.Discovery().RESTClient().Get().AbsPath("/readyz/store-identity").DoRaw(ctx)
		reason = string(raw)
		return strings.Contains(reason, "records store"), nil
	}), "/readyz/store-identity names the mismatch: %s", reason)
	assert.Contains(t, reason, "ConfigMap jobserver-system/jobserver-store")
	assert.Contains(t, reason, "is empty of jobserver's identity")
	_, err = kc.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	require.Error(t, err, "unready on the wrong store")

	wrongJobs := wrong.Clientset(t).BatchV1().Jobs(jt.ns)
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err = wrongJobs.Get(ctx, job.Name, metav1.GetOptions{})
		require.False(t, apierrors.IsNotFound(err), "never a 404 the garbage collector would act on")
		return apierrors.IsServiceUnavailable(err), nil // 401 until the client CA is loaded
	}), "503: %v", err)
	assert.ErrorContains(t, err, "jobserver-system/jobserver-store")
	_, err = wrongJobs.Create(ctx, newJob("written-to-the-wrong-store"), metav1.CreateOptions{})
	require.True(t, apierrors.IsServiceUnavailable(err), "nothing is written to the wrong store: %v", err)

	// No controller: a pod finishing is not counted (it keeps its
	// tracking finalizer), none is created, changed or released.
	jt.finishPod(ctx, pods[1].Name, 0, time.Now())
	time.Sleep(3 * time.Second)
	after := map[string][]string{}
	for _, p := range jt.pods(ctx, job) {
		after[p.Name] = p.Finalizers
	}
	assert.Equal(t, before, after, "the Job's pods are left as they were")
	assert.Contains(t, after[pods[1].Name], names.JobTrackingFinalizer, "the pod that finished is not counted")

	// The recovery: jobserver on its store again.
	wrong.Stop()
	env.server = env.startServer(t, env.so)
	jt.jobs = env.server.Clientset(t)
	back := jt.get(ctx, job.Name)
	assert.Equal(t, job.UID, back.UID, "the Job is back")
	done := jt.finishUntilComplete(ctx, job, "the Job completes on its store", pods[0].Name, pods[1].Name)
	assert.Equal(t, int32(4), done.Status.Succeeded)
	assert.Equal(t, int32(0), done.Status.Failed)
	assert.Len(t, jt.pods(ctx, job), 4, "each completion by one pod")

	// The confirmation: on an empty store, the record deleted.
	env.server.Stop()
	wrong = env.startServer(t, so)
	wrongJobs = wrong.Clientset(t).BatchV1().Jobs(jt.ns)
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err = wrongJobs.Get(ctx, job.Name, metav1.GetOptions{})
		return apierrors.IsServiceUnavailable(err), nil // once the client CA is loaded: 503
	}), "503 until confirmed: %v", err)
	env.cluster.ForgetStore(t)
	kc, err = kubernetes.NewForConfig(wrong.AdminConfig)
	require.NoError(t, err)
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := kc.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil, nil
	}), "ready once the record is deleted")
	_, err = wrongJobs.Get(ctx, job.Name, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the new store is served (it has no such Job): %v", err)
	record, err := env.cluster.Kube.CoreV1().ConfigMaps(framework.JobserverNamespace).Get(ctx, framework.StoreRecordName, metav1.GetOptions{})
	require.NoError(t, err, "the new store is recorded")
	assert.NotEmpty(t, record.Data["identity"])
	env.server = wrong
	jt.jobs = wrong.Clientset(t)
}

// testExternalEtcdOutage: jobserver's external etcd stopped for 30 s during
// a running Job, a pod finishing meanwhile. Requests fail (5xx or time
// out) but jobserver does not exit; it is ready again within 30 s of etcd's
// return, nothing written before is lost, and the Job completes with exact
// counts.
func testExternalEtcdOutage(t *testing.T, env *controllerEnv) {
	// Outlives the subtest, as the server does, and is stopped after it.
	etcd := framework.StartEtcdProcess(outliving{T: t, parent: env.t})
	env.server.Stop()          // one leader, whose Jobs are in this etcd
	env.cluster.ForgetStore(t) // a move to a new store, on purpose
	so := env.so
	so.EtcdServers = etcd.URL
	env.server = env.startServer(t, so)
	ctx, jt := env.setup(t, "etcdoutage")
	job, pods := jt.startMidJob(ctx, "outage")
	before := jt.get(ctx, job.Name)

	etcd.Stop()
	jt.finishPod(ctx, pods[1].Name, 0, time.Now()) // the kubelet goes on
	for outage := time.Now(); time.Since(outage) < 30*time.Second; {
		reqCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err := jt.jobs.BatchV1().Jobs(jt.ns).Get(reqCtx, job.Name, metav1.GetOptions{ResourceVersion: ""})
		cancel()
		require.Error(t, err, "a quorum read cannot succeed without etcd")
		assert.False(t, apierrors.IsNotFound(err), "never a false answer: %v", err)
		exited, exitErr := env.server.WaitExit(time.Second)
		require.False(t, exited, "jobserver exited during the etcd outage: %v", exitErr)
	}
	etcd.Start(t)
	back := time.Now()
	kc, err := kubernetes.NewForConfig(env.server.AdminConfig)
	require.NoError(t, err)
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := kc.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil, nil
	}), "ready again within 30 s of etcd's return")
	t.Logf("ready %v after etcd's return", time.Since(back).Round(100*time.Millisecond))
	after := jt.get(ctx, job.Name)
	assert.Equal(t, before.UID, after.UID, "the Job written before the outage is there")
	assert.GreaterOrEqual(t, after.Status.Succeeded, before.Status.Succeeded, "and so is its progress")

	done := jt.finishUntilComplete(ctx, job, "the Job completes after the outage", pods[0].Name, pods[1].Name)
	assert.Equal(t, int32(4), done.Status.Succeeded)
	assert.Equal(t, int32(0), done.Status.Failed)
	jt.assertFinishedCleanly(ctx, done)
	assert.Len(t, jt.pods(ctx, job), 4, "each completion by one pod, the one that finished during the outage counted once")
}

// testEtcdMemberKilled: jobserver on a 3-member TLS etcd cluster (client
// and peer certificates). The member leading the etcd cluster is SIGKILLed
// mid-Job and started again later: reads keep working but for at most the
// election, and the Job completes with exact counts.
func testEtcdMemberKilled(t *testing.T, env *controllerEnv) {
	etcd := framework.StartEtcdCluster(outliving{T: t, parent: env.t}, 3)
	env.server.Stop()
	env.cluster.ForgetStore(t) // a move to a new store, on purpose
	so := env.so
	so.EtcdServers = etcd.URLs()
	so.ExtraFlags = append(so.ExtraFlags[:len(so.ExtraFlags):len(so.ExtraFlags)],
		"--etcd-cafile="+etcd.CAFile, "--etcd-certfile="+etcd.CertFile, "--etcd-keyfile="+etcd.KeyFile)
	env.server = env.startServer(t, so)
	ctx, jt := env.setup(t, "etcdmember")
	job, pods := jt.startMidJob(ctx, "member")

	leader := etcdLeader(ctx, t, etcd)
	etcd.Members[leader].Kill()
	// Quorum reads, one every 100 ms for 10 s: failures only while the two
	// others elect a leader (etcd's election timeout is 1 s).
	var longest, streak time.Duration
	var failures int
	for start := time.Now(); time.Since(start) < 10*time.Second; {
		began := time.Now()
		reqCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := jt.jobs.BatchV1().Jobs(jt.ns).Get(reqCtx, job.Name, metav1.GetOptions{})
		cancel()
		if err != nil {
			failures++
			streak += time.Since(began)
			longest = max(longest, streak)
		} else {
			streak = 0
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("member %d (the leader) killed: %d failed reads, longest run of failures %v", leader, failures, longest)
	assert.Less(t, longest, 5*time.Second, "requests fail for no longer than the election")
	jt.finishPod(ctx, pods[1].Name, 0, time.Now())
	etcd.Members[leader].Start(t)

	done := jt.finishUntilComplete(ctx, job, "the Job completes", pods[0].Name, pods[1].Name)
	assert.Equal(t, int32(4), done.Status.Succeeded)
	assert.Equal(t, int32(0), done.Status.Failed)
	jt.assertFinishedCleanly(ctx, done)
	assert.Len(t, jt.pods(ctx, job), 4, "each completion by one pod")
}

// etcdLeader returns the index of the member that leads the etcd cluster.
func etcdLeader(ctx context.Context, t *testing.T, etcd *framework.EtcdCluster) int {
	t.Helper()
	tlsInfo := transport.TLSInfo{CertFile: etcd.CertFile, KeyFile: etcd.KeyFile, TrustedCAFile: etcd.CAFile}
	tlsConfig, err := tlsInfo.ClientConfig()
	require.NoError(t, err)
	for i, m := range etcd.Members {
		client, err := clientv3.New(clientv3.Config{Endpoints: []string{m.URL}, TLS: tlsConfig, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		require.NoError(t, err)
		status, err := client.Status(ctx, m.URL)
		_ = client.Close()
		require.NoError(t, err)
		if status.Header.MemberId == status.Leader {
			return i
		}
	}
	t.Fatal("no etcd member leads")
	return -1
}

// finishUntilComplete plays the kubelet: it finishes each active pod of
// job once, successfully, until the Job is Complete, and returns it. The
// pods named in already were finished by the test before.
func (j *jobTest) finishUntilComplete(ctx context.Context, job *batchv1.Job, what string, already ...string) *batchv1.Job {
	j.t.Helper()
	finished := map[string]bool{}
	for _, name := range already {
		finished[name] = true
	}
	var done *batchv1.Job
	require.NoError(j.t, wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, p := range activePods(j.pods(ctx, job)) {
			if !finished[p.Name] {
				finished[p.Name] = true
				j.finishPod(ctx, p.Name, 0, time.Now())
			}
		}
		done = j.get(ctx, job.Name)
		return kit.HasTrueCondition(done, batchv1.JobComplete), nil
	}), what)
	return done
}

// startMidJob creates a Job of 4 completions, 2 at a time, waits for its 2
// pods and finishes the first (counted: succeeded=1), and returns the Job
// and the 2 pods: a Job in the middle of its run, for the fault tests.
func (j *jobTest) startMidJob(ctx context.Context, name string) (*batchv1.Job, []corev1.Pod) {
	j.t.Helper()
	job := newJob(name)
	job.Spec.Completions = ptr.To[int32](4)
	job.Spec.Parallelism = ptr.To[int32](2)
	job = j.create(ctx, job)
	pods := j.waitActivePods(ctx, job, 2)
	j.finishPod(ctx, pods[0].Name, 0, time.Now())
	j.waitJob(ctx, job.Name, "succeeded=1", func(j *batchv1.Job) bool { return j.Status.Succeeded == 1 })
	return job, pods
}
