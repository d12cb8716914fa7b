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
	"maps"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	versioned "github.com/jobserver-dev/jobserver/pkg/generated/clientset/versioned"
	jobinformers "github.com/jobserver-dev/jobserver/pkg/generated/informers/externalversions/batch/v1"
	joblisters "github.com/jobserver-dev/jobserver/pkg/generated/listers/batch/v1"
)

const (
	// SyncJobBatchPeriod batches the syncs caused by pod events and Job
	// status updates (upstream's syncJobBatchPeriod).
	SyncJobBatchPeriod = time.Second
	// DefaultJobAPIBackoff and MaxJobAPIBackoff bound the requeue delay of
	// a key whose sync failed.
	DefaultJobAPIBackoff = time.Second
	MaxJobAPIBackoff     = time.Minute
	// cacheSyncTimeout bounds the wait for the first LIST of Jobs and Pods.
	cacheSyncTimeout = 2 * time.Minute

	// jobUIDIndex indexes pods by the ownership label, i.e. by Job UID.
	jobUIDIndex = "jobUID"
	// apiParallelism bounds the concurrent pod API calls of one sync.
	apiParallelism = 16
)

// OwnedPodsSelector is the label selector the Pod informer must list and
// watch with: the pods jobserver created, and only those, so the
// controller's memory follows its own pods, not the whole cluster's.
func OwnedPodsSelector() string {
	return names.PodOwnershipLabel // "key" alone is the Exists operator
}

// Config is what NewController needs.
type Config struct {
	// JobClient reaches jobserver's own API (the loopback client).
	JobClient versioned.Interface
	// KubeClient reaches the cluster: pods and events.
	KubeClient kubernetes.Interface
	// JobInformer watches Jobs through JobClient.
	JobInformer jobinformers.JobInformer
	// PodInformer watches the cluster's pods labelled with the ownership
	// label (list options with OwnedPodsSelector).
	PodInformer coreinformers.PodInformer
	// Clock defaults to the real clock.
	Clock clock.WithTicker
	// Recorder, when set, replaces the event recorder on KubeClient (tests).
	Recorder record.EventRecorder
}

// Controller is the Job controller's executor: it keeps Jobs and their pods
// in informers, runs Decide for each Job that changed and applies the
// Decision with expectations (see the package documentation).
type Controller struct {
	jobClient  versioned.Interface
	kubeClient kubernetes.Interface
	clock      clock.WithTicker
	logger     klog.Logger

	jobLister  joblisters.JobLister
	jobSynced  cache.InformerSynced
	podLister  corelisters.PodLister
	podIndexer cache.Indexer
	podSynced  cache.InformerSynced

	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder

	// queue holds Job keys (namespace/name); orphanQueue holds keys of
	// pods whose tracking finalizer may have to go because their Job did.
	queue       workqueue.TypedRateLimitingInterface[string]
	orphanQueue workqueue.TypedRateLimitingInterface[string]

	expectations *expectations

	mu sync.Mutex
	// backoff is the in-memory BackoffRecord of each Job key.
	backoff map[string]backoffEntry
	// lastWritten is the Job each key's last successful status write
	// returned, kept until the informer shows that version or a newer one.
	lastWritten map[string]*batchv1.Job

	// syncHandler is sync, replaceable in tests.
	syncHandler func(ctx context.Context, key string) error
}

type backoffEntry struct {
	uid    types.UID
	record BackoffRecord
}

// NewController builds a controller and registers its event handlers and
// its pod index on the informers, which must not have started yet. It
// registers the metrics too.
func NewController(ctx context.Context, cfg Config) (*Controller, error) {
	logger := klog.FromContext(ctx)
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	c := &Controller{
		jobClient:  cfg.JobClient,
		kubeClient: cfg.KubeClient,
		clock:      cfg.Clock,
		logger:     logger,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](DefaultJobAPIBackoff, MaxJobAPIBackoff),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "job", Clock: cfg.Clock}),
		orphanQueue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](DefaultJobAPIBackoff, MaxJobAPIBackoff),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "job_orphan_pod", Clock: cfg.Clock}),
		expectations: newExpectations(cfg.Clock.Now),
		backoff:      map[string]backoffEntry{},
		lastWritten:  map[string]*batchv1.Job{},
	}
	c.syncHandler = c.sync
	if cfg.Recorder != nil {
		c.recorder = cfg.Recorder
	} else {
		c.broadcaster = record.NewBroadcaster(record.WithContext(ctx))
		c.recorder = c.broadcaster.NewRecorder(clientgoscheme.Scheme, corev1.EventSource{Component: names.EventReporter})
	}

	jobInformer := cfg.JobInformer.Informer()
	if _, err := jobInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addJob,
		UpdateFunc: c.updateJob,
		DeleteFunc: c.deleteJob,
	}); err != nil {
		return nil, fmt.Errorf("adding the Job event handler: %w", err)
	}
	c.jobLister = cfg.JobInformer.Lister()
	c.jobSynced = jobInformer.HasSynced

	podInformer := cfg.PodInformer.Informer()
	if err := podInformer.AddIndexers(cache.Indexers{
		jobUIDIndex:    indexByOwnershipLabel,
		ownerlessIndex: indexOwnerlessByNamespace,
	}); err != nil {
		return nil, fmt.Errorf("adding the pod index: %w", err)
	}
	if _, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
	}); err != nil {
		return nil, fmt.Errorf("adding the pod event handler: %w", err)
	}
	c.podLister = cfg.PodInformer.Lister()
	c.podIndexer = podInformer.GetIndexer()
	c.podSynced = podInformer.HasSynced

	RegisterMetrics()
	return c, nil
}

func indexByOwnershipLabel(obj any) ([]string, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil
	}
	if uid, ok := pod.Labels[names.PodOwnershipLabel]; ok {
		return []string{uid}, nil
	}
	return nil, nil
}

// Run waits for the informers' caches (the caller starts the informers),
// then syncs Jobs with the given number of workers until ctx ends. It
// returns once every worker has finished its current item.
func (c *Controller) Run(ctx context.Context, workers int) error {
	defer utilruntime.HandleCrashWithContext(ctx)
	logger := klog.FromContext(ctx)
	if c.broadcaster != nil {
		c.broadcaster.StartStructuredLogging(3)
		c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.kubeClient.CoreV1().Events("")})
		// Shutdown flushes nothing: events still queued are dropped, as
		// upstream's controllers do on exit.
		defer c.broadcaster.Shutdown()
	}

	var wg sync.WaitGroup
	defer func() {
		logger.Info("Shutting down the Job controller")
		// Workers finish the item at hand (their API calls end with ctx)
		// and leave the rest of the queue.
		c.queue.ShutDown()
		c.orphanQueue.ShutDown()
		wg.Wait()
	}()

	logger.Info("Starting the Job controller", "workers", workers)
	// A leader whose caches cannot sync (no RBAC for pods, the loopback
	// failing) must give the Lease up rather than hold it doing nothing.
	syncCtx, cancelSync := context.WithTimeout(ctx, cacheSyncTimeout)
	defer cancelSync()
	if !cache.WaitForNamedCacheSyncWithContext(syncCtx, c.jobSynced, c.podSynced) {
		return fmt.Errorf("the Job controller's caches did not sync within %v", cacheSyncTimeout)
	}
	for range workers {
		wg.Go(func() { wait.UntilWithContext(ctx, c.worker, time.Second) })
		wg.Go(func() { wait.UntilWithContext(ctx, c.orphanWorker, time.Second) })
	}
	<-ctx.Done()
	return nil
}

func (c *Controller) worker(ctx context.Context) {
	for c.processNextJob(ctx) {
	}
}

func (c *Controller) processNextJob(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	if ctx.Err() != nil {
		return false // stopping: leave the rest to the next leader
	}
	if err := c.syncHandler(ctx, key); err != nil {
		utilruntime.HandleErrorWithContext(ctx, err, "Syncing a Job failed; requeued with backoff", "key", key)
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

func (c *Controller) orphanWorker(ctx context.Context) {
	for c.processNextOrphan(ctx) {
	}
}

func (c *Controller) processNextOrphan(ctx context.Context) bool {
	key, quit := c.orphanQueue.Get()
	if quit {
		return false
	}
	defer c.orphanQueue.Done(key)
	if ctx.Err() != nil {
		return false
	}
	if err := c.syncOrphanPod(ctx, key); err != nil {
		utilruntime.HandleErrorWithContext(ctx, err, "Releasing an orphaned pod failed; requeued with backoff", "pod", key)
		c.orphanQueue.AddRateLimited(key)
		return true
	}
	c.orphanQueue.Forget(key)
	return true
}

// --- queueing ---------------------------------------------------------

func jobKey(job *batchv1.Job) string {
	return cache.MetaObjectToName(job).String()
}

// enqueueNow is for Job creation, deletion and spec changes.
func (c *Controller) enqueueNow(job *batchv1.Job) {
	c.queue.Add(jobKey(job))
}

// enqueueBatched is for pod events and other Job updates: one sync a
// second at most absorbs a burst of them.
func (c *Controller) enqueueBatched(job *batchv1.Job) {
	c.queue.AddAfter(jobKey(job), SyncJobBatchPeriod)
}

func (c *Controller) enqueueOrphan(pod *corev1.Pod) {
	c.orphanQueue.Add(cache.MetaObjectToName(pod).String())
}

// --- Job events ---------------------------------------------------------

func (c *Controller) addJob(obj any) {
	if job, ok := obj.(*batchv1.Job); ok {
		c.enqueueNow(job)
	}
}

func (c *Controller) updateJob(oldObj, curObj any) {
	old, ok1 := oldObj.(*batchv1.Job)
	cur, ok2 := curObj.(*batchv1.Job)
	if !ok1 || !ok2 {
		return
	}
	if old.UID != cur.UID {
		// Deleted and recreated between two observations.
		c.jobGone(old)
		c.enqueueNow(cur)
		return
	}
	if cur.Generation != old.Generation {
		c.enqueueNow(cur)
		return
	}
	if cur.ResourceVersion == old.ResourceVersion {
		return // a resync
	}
	c.enqueueBatched(cur)
}

func (c *Controller) deleteJob(obj any) {
	job, ok := obj.(*batchv1.Job)
	if !ok {
		tombstone, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if job, ok = tombstone.Obj.(*batchv1.Job); !ok {
			return
		}
	}
	c.jobGone(job)
	c.enqueueNow(job)
}

// jobGone drops what the controller remembers of a deleted Job, so a Job
// recreated under the same name starts afresh, and queues its pods for
// finalizer release.
func (c *Controller) jobGone(job *batchv1.Job) {
	key := jobKey(job)
	c.forgetJob(key, job.UID)
	pods, err := c.podIndexer.ByIndex(jobUIDIndex, string(job.UID))
	if err != nil {
		return
	}
	for _, obj := range pods {
		if pod, ok := obj.(*corev1.Pod); ok && hasTrackingFinalizer(pod) {
			c.enqueueOrphan(pod)
		}
	}
}

// forgetJob drops the state of key, if it belongs to uid (any UID when
// uid is empty).
func (c *Controller) forgetJob(key string, uid types.UID) {
	c.mu.Lock()
	if b, ok := c.backoff[key]; ok && (uid == "" || b.uid == uid) {
		delete(c.backoff, key)
	}
	if w, ok := c.lastWritten[key]; ok && (uid == "" || w.UID == uid) {
		delete(c.lastWritten, key)
	}
	c.mu.Unlock()
	c.expectations.mu.Lock()
	if je := c.expectations.jobs[key]; je != nil && (uid == "" || je.jobUID == uid) {
		delete(c.expectations.jobs, key)
	}
	c.expectations.mu.Unlock()
}

// --- pod events ---------------------------------------------------------

// controllerJobKey returns the key of the Job named by the pod's
// controller reference, if it is a batch.jobserver.dev Job.
func controllerJobKey(pod *corev1.Pod) (string, *metav1.OwnerReference) {
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.Kind != "Job" {
		return "", nil
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil || gv.Group != batchv1.GroupName {
		return "", nil
	}
	return pod.Namespace + "/" + ref.Name, ref
}

// resolveJob returns the cached Job that controls pod, or nil.
func (c *Controller) resolveJob(pod *corev1.Pod) *batchv1.Job {
	_, ref := controllerJobKey(pod)
	if ref == nil {
		return nil
	}
	job, err := c.jobLister.Jobs(pod.Namespace).Get(ref.Name)
	if err != nil || job.UID != ref.UID {
		return nil
	}
	return job
}

// podBelongs reports whether job counts pod among its pods: controlled by
// it (checked by the caller) and matching its selector.
func podBelongs(job *batchv1.Job, pod *corev1.Pod) bool {
	selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	return err == nil && !selector.Empty() && selector.Matches(labels.Set(pod.Labels))
}

func (c *Controller) observe(pod *corev1.Pod, gone bool) {
	if key, _ := controllerJobKey(pod); key != "" {
		c.expectations.observe(key, pod, gone)
	}
}

// podChanged wakes the Job that controls pod, or else the Jobs that would
// adopt it and queues it for finalizer release.
//
// Looking for adopters lists the namespace's Jobs, so it is done only when
// findAdopters is set: for a new pod, or one whose labels or controller
// reference changed (upstream addPod/updatePod), not for every status
// update of an orphan left standing.
func (c *Controller) podChanged(pod *corev1.Pod, findAdopters bool) {
	if findAdopters && metav1.GetControllerOf(pod) == nil {
		for _, job := range c.adoptingJobs(pod) {
			c.enqueueBatched(job)
		}
	}
	if job := c.resolveJob(pod); job != nil {
		// Its sync counts the pod, or releases it if it no longer matches
		// the selector.
		c.enqueueBatched(job)
		return
	}
	if hasTrackingFinalizer(pod) {
		c.enqueueOrphan(pod)
	}
}

func (c *Controller) addPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	c.observe(pod, false)
	c.podChanged(pod, true)
}

func (c *Controller) updatePod(oldObj, curObj any) {
	old, ok1 := oldObj.(*corev1.Pod)
	cur, ok2 := curObj.(*corev1.Pod)
	if !ok1 || !ok2 || cur.ResourceVersion == old.ResourceVersion {
		return
	}
	c.observe(cur, false)
	if oldKey, oldRef := controllerJobKey(old); oldKey != "" {
		if curKey, curRef := controllerJobKey(cur); curKey != oldKey || curRef == nil || curRef.UID != oldRef.UID {
			// The controller reference changed: wake the former owner too.
			c.expectations.observe(oldKey, cur, true)
			if job := c.resolveJob(old); job != nil {
				c.enqueueBatched(job)
			}
		}
	}
	controllerChanged := !apiequality.Semantic.DeepEqual(metav1.GetControllerOf(old), metav1.GetControllerOf(cur))
	c.podChanged(cur, controllerChanged || !maps.Equal(old.Labels, cur.Labels))
}

func (c *Controller) deletePod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		tombstone, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if pod, ok = tombstone.Obj.(*corev1.Pod); !ok {
			return
		}
	}
	c.observe(pod, true)
	if job := c.resolveJob(pod); job != nil {
		c.enqueueBatched(job)
	}
	if hasTrackingFinalizer(pod) {
		// The API server removes a pod only once its finalizers are gone:
		// this one left the informer's label selector (someone removed the
		// ownership label) or its last events were missed. The orphan
		// worker reads it live and releases it if it still exists.
		c.enqueueOrphan(pod)
	}
}
