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
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

// Event reasons of the executor's own pod calls (upstream RealPodControl).
const (
	reasonSuccessfulCreate = "SuccessfulCreate"
	reasonFailedCreate     = "FailedCreate"
	reasonSuccessfulDelete = "SuccessfulDelete"
	reasonFailedDelete     = "FailedDelete"
)

// sync reconciles the Job of key once: read it and its pods from the
// caches, Decide, apply the Decision.
func (c *Controller) sync(ctx context.Context, key string) (err error) {
	start := c.clock.Now()
	logger := klog.FromContext(ctx).WithValues("job", key)
	ctx = klog.NewContext(ctx, logger)
	conflict := false
	defer func() {
		result := resultLabel(err)
		if conflict {
			result = resultConflict
		}
		jobSyncsTotal.WithLabelValues(result).Inc()
		jobSyncDuration.WithLabelValues(result).Observe(c.clock.Since(start).Seconds())
		logger.V(4).Info("Finished syncing Job", "duration", c.clock.Since(start), "result", result)
	}()

	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	shared, err := c.jobLister.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		logger.V(4).Info("Job is gone")
		c.forgetJob(key, "")
		c.releasePodsOfMissingJob(ns, name)
		return nil
	}
	if err != nil {
		return err
	}
	job := c.freshestJob(key, shared)
	// Expectations first, pods second: a pod that satisfied an
	// expectation is in the cache before the list is taken.
	exp := c.expectations.state(key, job.UID, c.lookupPod(ns))
	pods, err := c.claimPods(ctx, key, job)
	if err != nil {
		return err
	}
	d := Decide(Input{
		Job:                       job,
		Pods:                      pods,
		Now:                       c.clock.Now(),
		Backoff:                   c.backoffRecord(key, job.UID),
		ExpectedFinalizerRemovals: exp.finalizerRemovals,
		PodExpectationsPending:    exp.podsPending,
	})
	if exp.podsPending {
		// The pod events normally bring the Job back; the timeout covers
		// an event lost in a relist.
		c.queue.AddAfter(key, exp.expiresIn)
	}
	err = c.apply(ctx, key, job, pods, d)
	conflict = apierrors.IsConflict(err)
	return err
}

// apply carries a Decision out in the documented order (see Decision).
// pods are the pods Decide saw.
func (c *Controller) apply(ctx context.Context, key string, job *batchv1.Job, pods []*corev1.Pod, d Decision) error {
	if d.Unmanaged {
		c.recordEvents(job, d.Events)
		return c.applyTTLAndRequeue(ctx, key, job, d)
	}
	if d.StatusChanged {
		updated, err := c.updateStatus(ctx, job, d.Status)
		if err != nil {
			if apierrors.IsNotFound(err) {
				return nil // deleted meanwhile: its delete event syncs it again
			}
			// Nothing else may happen on a status that was not persisted.
			return fmt.Errorf("updating the status of Job %s: %w", key, err)
		}
		c.rememberWrite(key, updated)
		if !IsJobFinished(job) {
			if cond := condition.Finished(updated.Status.Conditions); cond != nil {
				jobsFinishedTotal.WithLabelValues(string(cond.Type), cond.Reason).Inc()
			}
		}
	}
	errs := c.applyActions(ctx, key, job, pods, d.Actions)
	c.recordEvents(job, d.Events)
	c.setBackoffRecord(key, job.UID, d.BackoffAfter)
	if err := c.applyTTLAndRequeue(ctx, key, job, d); err != nil {
		errs = append(errs, err)
	}
	return utilerrors.NewAggregate(errs)
}

func (c *Controller) updateStatus(ctx context.Context, job *batchv1.Job, status batchv1.JobStatus) (*batchv1.Job, error) {
	// job's resourceVersion makes a write based on a stale Job fail with
	// a conflict.
	update := *job
	update.Status = status
	return c.jobClient.BatchV1().Jobs(job.Namespace).UpdateStatus(ctx, &update, metav1.UpdateOptions{})
}

// applyActions runs the finalizer removals, then the deletions, then the
// creations batch by batch. A pod whose finalizer removal failed is not
// deleted (it would be taken for a failure); a batch of creations with an
// error ends the creations. It returns the errors of failed calls. pods
// are the pods Decide saw: the finalizer patches are built from them.
func (c *Controller) applyActions(ctx context.Context, key string, job *batchv1.Job, pods []*corev1.Pod, actions []Action) []error {
	seen := make(map[types.UID]*corev1.Pod, len(pods))
	for _, p := range pods {
		seen[p.UID] = p
	}
	var finalizers, deletions []Action
	var creations [][]Action
	for _, a := range actions {
		switch a.Kind {
		case ActionRemoveFinalizer:
			finalizers = append(finalizers, a)
		case ActionDeletePod:
			deletions = append(deletions, a)
		case ActionCreatePod:
			for len(creations) <= a.Batch {
				creations = append(creations, nil)
			}
			creations[a.Batch] = append(creations[a.Batch], a)
		}
	}

	var mu sync.Mutex
	var errs []error
	failed := sets.New[types.UID]()
	fail := func(uid types.UID, err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
		if uid != "" {
			failed.Insert(uid)
		}
	}
	hasFailed := func(uid types.UID) bool {
		mu.Lock()
		defer mu.Unlock()
		return failed.Has(uid)
	}

	workqueue.ParallelizeUntil(ctx, apiParallelism, len(finalizers), func(i int) {
		a := finalizers[i]
		if err := c.removeJobPodFinalizer(ctx, key, job, seen[a.PodUID], a); err != nil {
			fail(a.PodUID, err)
		}
	})
	workqueue.ParallelizeUntil(ctx, apiParallelism, len(deletions), func(i int) {
		a := deletions[i]
		if hasFailed(a.PodUID) {
			return
		}
		if err := c.deleteJobPod(ctx, key, job, a); err != nil {
			fail(a.PodUID, err)
		}
	})

	if len(creations) == 0 {
		return errs
	}
	c.expectations.beginCreates(key, job.UID)
	defer c.expectations.endCreates(key, job.UID)
	for _, batch := range creations {
		var stop bool
		workqueue.ParallelizeUntil(ctx, apiParallelism, len(batch), func(i int) {
			terminating, err := c.createJobPod(ctx, key, job, batch[i])
			if err != nil {
				fail("", err)
			}
			if err != nil || terminating {
				mu.Lock()
				stop = true
				mu.Unlock()
			}
		})
		if stop || ctx.Err() != nil {
			break // slow start: the rest waits for the next sync
		}
	}
	return errs
}

// removeJobPodFinalizer removes the tracking finalizer from a pod of the
// Job, with an expectation until the pod cache shows it. The patch is built
// from pod, the copy Decide saw (for a pod adopted in this sync, newer than
// the cache's), and fails if the pod no longer has that finalizer at that
// place or is no longer controlled by the Job.
func (c *Controller) removeJobPodFinalizer(ctx context.Context, key string, job *batchv1.Job, pod *corev1.Pod, a Action) error {
	if pod == nil || pod.UID != a.PodUID {
		pod = c.lookupPod(job.Namespace)(a.PodName)
	}
	if pod == nil || pod.UID != a.PodUID {
		return nil // gone
	}
	patch, err := removeFinalizerPatch(pod, "", job.UID)
	if err != nil || patch == nil {
		return err
	}
	c.expectations.expect(key, job.UID, expectFinalizerRemoval, a.PodName, a.PodUID)
	_, err = c.kubeClient.CoreV1().Pods(job.Namespace).Patch(ctx, a.PodName, types.JSONPatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		c.expectations.lower(key, job.UID, expectFinalizerRemoval, a.PodUID)
		finalizersRemovedTotal.WithLabelValues(resultError).Inc()
		return fmt.Errorf("removing the tracking finalizer from pod %s/%s: %w", job.Namespace, a.PodName, err)
	}
	finalizersRemovedTotal.WithLabelValues(resultSuccess).Inc()
	return nil
}

// removeFinalizerPatch is a JSON patch removing the tracking finalizer
// from pod, guarded by tests of the pod's UID and of the finalizer's
// position, so a stale copy makes it fail rather than remove something
// else; when resourceVersion is set, of the pod's resourceVersion; when
// controllerUID is set, of the pod's controller reference (so a Job never
// strips the finalizer of a pod another Job adopted meanwhile). It is nil
// when pod has no tracking finalizer.
func removeFinalizerPatch(pod *corev1.Pod, resourceVersion string, controllerUID types.UID) ([]byte, error) {
	i := slices.Index(pod.Finalizers, names.JobTrackingFinalizer)
	if i < 0 {
		return nil, nil
	}
	path := "/metadata/finalizers/" + strconv.Itoa(i)
	ops := []map[string]any{
		{"op": "test", "path": "/metadata/uid", "value": pod.UID},
	}
	if resourceVersion != "" {
		ops = append(ops, map[string]any{"op": "test", "path": "/metadata/resourceVersion", "value": resourceVersion})
	}
	if controllerUID != "" {
		j := slices.IndexFunc(pod.OwnerReferences, func(r metav1.OwnerReference) bool {
			return r.Controller != nil && *r.Controller && r.UID == controllerUID
		})
		if j < 0 {
			return nil, fmt.Errorf("pod %s is not controlled by %s", klog.KObj(pod), controllerUID)
		}
		ops = append(ops, map[string]any{"op": "test", "path": "/metadata/ownerReferences/" + strconv.Itoa(j) + "/uid", "value": controllerUID})
	}
	return json.Marshal(append(ops,
		map[string]any{"op": "test", "path": path, "value": names.JobTrackingFinalizer},
		map[string]any{"op": "remove", "path": path},
	))
}

// deleteJobPod deletes a pod of the Job (UID precondition), with an
// expectation until the pod cache shows it terminating or gone.
func (c *Controller) deleteJobPod(ctx context.Context, key string, job *batchv1.Job, a Action) error {
	c.expectations.expect(key, job.UID, expectDelete, a.PodName, a.PodUID)
	uid := a.PodUID
	err := c.kubeClient.CoreV1().Pods(job.Namespace).Delete(ctx, a.PodName, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid},
	})
	switch {
	case err == nil:
		podsDeletedTotal.WithLabelValues(resultSuccess).Inc()
		c.recorder.Eventf(jobRef(job), corev1.EventTypeNormal, reasonSuccessfulDelete, "Deleted pod: %v", a.PodName)
		return nil
	case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
		// Gone already (a conflict on the UID precondition means the name
		// now belongs to another pod).
		return nil
	default:
		c.expectations.lower(key, job.UID, expectDelete, a.PodUID)
		podsDeletedTotal.WithLabelValues(resultError).Inc()
		c.recorder.Eventf(jobRef(job), corev1.EventTypeWarning, reasonFailedDelete, "Error deleting: %v", err)
		return fmt.Errorf("deleting pod %s/%s: %w", job.Namespace, a.PodName, err)
	}
}

// createJobPod creates a pod of the Job. terminating reports a namespace
// being deleted, where every further creation would fail too; it is not an
// error (upstream ignores it as well).
func (c *Controller) createJobPod(ctx context.Context, key string, job *batchv1.Job, a Action) (terminating bool, err error) {
	pod, err := c.kubeClient.CoreV1().Pods(job.Namespace).Create(ctx, a.Pod, metav1.CreateOptions{})
	if err != nil {
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			klog.FromContext(ctx).V(2).Info("Not creating pods in a terminating namespace", "namespace", job.Namespace)
			return true, nil
		}
		podsCreatedTotal.WithLabelValues(resultError).Inc()
		c.recorder.Eventf(jobRef(job), corev1.EventTypeWarning, reasonFailedCreate, "Error creating: %v", err)
		return false, fmt.Errorf("creating a pod for Job %s: %w", key, err)
	}
	c.expectations.created(key, job.UID, pod, c.lookupPod(job.Namespace))
	podsCreatedTotal.WithLabelValues(resultSuccess).Inc()
	c.recorder.Eventf(jobRef(job), corev1.EventTypeNormal, reasonSuccessfulCreate, "Created pod: %v", pod.Name)
	return false, nil
}

// applyTTLAndRequeue deletes a Job whose TTL expired, after checking the
// TTL again on a live read, and schedules the next timed sync.
func (c *Controller) applyTTLAndRequeue(ctx context.Context, key string, job *batchv1.Job, d Decision) error {
	if d.RequeueAfter > 0 {
		c.queue.AddAfter(key, d.RequeueAfter)
	}
	if !d.DeleteJob {
		return nil
	}
	jobs := c.jobClient.BatchV1().Jobs(job.Namespace)
	fresh, err := jobs.Get(ctx, job.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading Job %s before its TTL deletion: %w", key, err)
	}
	if fresh.UID != job.UID {
		return nil
	}
	remaining, ok := TTLRemaining(fresh, c.clock.Now())
	if !ok {
		return nil
	}
	if remaining > 0 {
		c.queue.AddAfter(key, remaining)
		return nil
	}
	klog.FromContext(ctx).V(2).Info("Deleting a Job whose ttlSecondsAfterFinished expired")
	policy := metav1.DeletePropagationForeground
	err = jobs.Delete(ctx, job.Name, metav1.DeleteOptions{
		PropagationPolicy: &policy,
		Preconditions:     &metav1.Preconditions{UID: &fresh.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting Job %s after its TTL: %w", key, err)
	}
	return nil
}

func (c *Controller) recordEvents(job *batchv1.Job, events []Event) {
	for _, e := range events {
		c.recorder.Event(jobRef(job), e.Type, e.Reason, e.Message)
	}
}

// jobRef is the involvedObject of the Job's events: enough for kubectl
// describe to find them (kind, namespace, name, uid) and for readers to
// tell our Jobs from batch/v1 ones (apiVersion).
func jobRef(job *batchv1.Job) *corev1.ObjectReference {
	return &corev1.ObjectReference{
		APIVersion: batchv1.SchemeGroupVersion.String(),
		Kind:       "Job",
		Namespace:  job.Namespace,
		Name:       job.Name,
		UID:        job.UID,
	}
}

// --- the executor's memory ----------------------------------------------

// freshestJob returns a copy of the cached Job, or of the Job the last
// status write returned when the cache is older than it (package
// documentation, rule b).
func (c *Controller) freshestJob(key string, cached *batchv1.Job) *batchv1.Job {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w := c.lastWritten[key]; w != nil {
		if w.UID == cached.UID && olderResourceVersion(cached.ResourceVersion, w.ResourceVersion) {
			return w.DeepCopy()
		}
		delete(c.lastWritten, key)
	}
	return cached.DeepCopy()
}

// olderResourceVersion reports a < b for the etcd revisions jobserver's
// storage uses as resourceVersions; unparsable values compare as not older.
func olderResourceVersion(a, b string) bool {
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	return err1 == nil && err2 == nil && x < y
}

func (c *Controller) rememberWrite(key string, job *batchv1.Job) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastWritten[key] = job
}

func (c *Controller) backoffRecord(key string, uid types.UID) BackoffRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.backoff[key]; ok && b.uid == uid {
		return b.record
	}
	return BackoffRecord{}
}

func (c *Controller) setBackoffRecord(key string, uid types.UID, r BackoffRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r == (BackoffRecord{}) {
		delete(c.backoff, key)
		return
	}
	c.backoff[key] = backoffEntry{uid: uid, record: r}
}

// lookupPod returns a podLookup in the pod cache of namespace ns.
func (c *Controller) lookupPod(ns string) podLookup {
	return func(name string) *corev1.Pod {
		pod, err := c.podLister.Pods(ns).Get(name)
		if err != nil {
			return nil
		}
		return pod
	}
}
