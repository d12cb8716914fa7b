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
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

// Adoption and release (upstream's PodControllerRefManager.ClaimPods).
//
// A Job counts the pods it controls that match its selector. Each sync
// first claims its pods:
//   - a pod without a controller reference, not being deleted, in the Job's
//     namespace and matching its selector is adopted: one strategic merge
//     patch adds the controller reference, the tracking finalizer, and
//     points the ownership label at the Job's UID (so the pod index finds
//     it). Adoption happens only after a live read confirms that the Job
//     still exists under the same UID and is not being deleted, and never
//     for a finished Job or one managed by another controller;
//   - a pod the Job controls that no longer matches its selector is
//     released: its controller reference and tracking finalizer go, so the
//     garbage collector leaves it alone and it never hangs in Terminating.
//     It keeps the ownership label and can be adopted by another Job whose
//     selector it matches.
//
// jobserver's pod informer sees only pods carrying the ownership label
// (docs/names.md), so adoptable pods are those jobserver once created and that
// lost their controller: typically `kubectl delete job --cascade=orphan`
// followed by a Job with a manual selector matching the same pods.
//
// A pod stripped of the ownership label leaves the informer as if deleted;
// the orphan worker finds it with a live read and releases it the same way
// (see syncOrphanPod).

// ownerlessIndex indexes the cached pods without a controller reference by
// namespace: the adoption candidates.
const ownerlessIndex = "ownerless"

func indexOwnerlessByNamespace(obj any) ([]string, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || metav1.GetControllerOf(pod) != nil {
		return nil, nil
	}
	return []string{pod.Namespace}, nil
}

// canAdopt reports whether job may adopt pods at all, judging by the cache.
func canAdopt(job *batchv1.Job) bool {
	return job.DeletionTimestamp == nil && !IsJobFinished(job) && !managedByOther(job)
}

// claimPods returns the pods the Job counts: those it controls that match
// its selector (from the cache) plus those it adopts now, as the patch
// returned them (the cache shows them later; an expectation covers the
// gap). It releases the pods it controls that stopped matching.
func (c *Controller) claimPods(ctx context.Context, key string, job *batchv1.Job) (pods []*corev1.Pod, err error) {
	selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("the selector of Job %s: %w", key, err)
	}
	if selector.Empty() {
		// Validation forbids it; claiming every pod would be worse.
		return nil, fmt.Errorf("job %s has an empty selector", key)
	}

	owned, err := c.podIndexer.ByIndex(jobUIDIndex, string(job.UID))
	if err != nil {
		return nil, err
	}
	var release []*corev1.Pod
	for _, obj := range owned {
		pod, ok := obj.(*corev1.Pod)
		if !ok || pod.Namespace != job.Namespace {
			continue
		}
		if _, ref := controllerJobKey(pod); ref == nil || ref.UID != job.UID {
			continue
		}
		if !selector.Matches(labels.Set(pod.Labels)) {
			// A Job another controller manages is left entirely to it.
			if !managedByOther(job) {
				release = append(release, pod)
			}
			continue
		}
		pods = append(pods, pod)
	}

	var errs []error
	// A Job being deleted keeps its controller references, so the
	// garbage collector deletes those pods with it (upstream does not
	// release then either); they only lose the finalizer, which nobody
	// would remove otherwise.
	keepOwner := job.DeletionTimestamp != nil
	for _, pod := range release {
		if err := c.releasePod(ctx, pod, job.UID, keepOwner); err != nil {
			errs = append(errs, err)
		}
	}

	if canAdopt(job) {
		adopted, err := c.adoptPods(ctx, key, job, selector)
		if err != nil {
			errs = append(errs, err)
		}
		pods = append(pods, adopted...)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("claiming the pods of Job %s: %w", key, errors.Join(errs...))
	}
	return pods, nil
}

// adoptPods adopts the cached ownerless pods of the Job's namespace that
// match selector and returns them as they are after adoption.
func (c *Controller) adoptPods(ctx context.Context, key string, job *batchv1.Job, selector labels.Selector) ([]*corev1.Pod, error) {
	objs, err := c.podIndexer.ByIndex(ownerlessIndex, job.Namespace)
	if err != nil || len(objs) == 0 {
		return nil, err
	}
	var candidates []*corev1.Pod
	for _, obj := range objs {
		pod, ok := obj.(*corev1.Pod)
		if ok && pod.DeletionTimestamp == nil && selector.Matches(labels.Set(pod.Labels)) {
			candidates = append(candidates, pod)
		}
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	// The cache may not show a deletion yet: an uncached read first
	// (upstream's RecheckDeletionTimestamp, kubernetes#42639).
	fresh, err := c.jobClient.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading Job %s before adopting pods: %w", key, err)
	}
	if fresh.UID != job.UID {
		return nil, fmt.Errorf("job %s was replaced (uid %s, wanted %s) before adopting pods", key, fresh.UID, job.UID)
	}
	if fresh.DeletionTimestamp != nil {
		return nil, fmt.Errorf("job %s is being deleted since %v: not adopting pods", key, fresh.DeletionTimestamp)
	}

	logger := klog.FromContext(ctx)
	var adopted []*corev1.Pod
	var errs []error
	for _, pod := range candidates {
		patch, err := adoptPatch(job, pod)
		if err != nil {
			return nil, err
		}
		c.expectations.expect(key, job.UID, expectAdoption, pod.Name, pod.UID)
		updated, err := c.kubeClient.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		if err != nil {
			c.expectations.lower(key, job.UID, expectAdoption, pod.UID)
			if apierrors.IsNotFound(err) {
				continue // gone: nothing to adopt
			}
			// Another controller won the race (two controller references
			// are invalid), or the pod was replaced (uid precondition).
			errs = append(errs, fmt.Errorf("adopting pod %s: %w", klog.KObj(pod), err))
			continue
		}
		podsAdoptedTotal.Inc()
		logger.V(2).Info("Adopted a pod", "pod", klog.KObj(pod))
		adopted = append(adopted, updated)
	}
	return adopted, errors.Join(errs...)
}

// adoptPatch is a strategic merge patch making job the controller of pod:
// the controller reference (merged by uid), the tracking finalizer (merged
// into the list) and the ownership label. The pod's uid in the patch makes
// it fail on a pod recreated under the same name.
func adoptPatch(job *batchv1.Job, pod *corev1.Pod) ([]byte, error) {
	ref := metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))
	return json.Marshal(map[string]any{
		"metadata": map[string]any{
			"uid":             pod.UID,
			"ownerReferences": []metav1.OwnerReference{*ref},
			"finalizers":      []string{names.JobTrackingFinalizer},
			"labels":          map[string]string{names.PodOwnershipLabel: string(job.UID)},
		},
	})
}

// releasePod removes the controller reference to the Job of jobUID
// (unless keepOwner) and the tracking finalizer from pod.
func (c *Controller) releasePod(ctx context.Context, pod *corev1.Pod, jobUID types.UID, keepOwner bool) error {
	if keepOwner && !hasTrackingFinalizer(pod) {
		return nil
	}
	patch, err := releasePatch(pod, jobUID, keepOwner)
	if err != nil {
		return err
	}
	_, err = c.kubeClient.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	switch {
	case err == nil:
		podsReleasedTotal.Inc()
		klog.FromContext(ctx).V(2).Info("Released a pod", "pod", klog.KObj(pod), "jobUID", jobUID)
		return nil
	case apierrors.IsNotFound(err) || apierrors.IsInvalid(err):
		// Gone, or no longer referring to the Job (upstream ignores both).
		return nil
	default:
		return fmt.Errorf("releasing pod %s: %w", klog.KObj(pod), err)
	}
}

// releasePatch is a strategic merge patch deleting the owner reference of
// jobUID (unless keepOwner) and the tracking finalizer (upstream's
// GenerateDeleteOwnerRefStrategicMergeBytes).
func releasePatch(pod *corev1.Pod, jobUID types.UID, keepOwner bool) ([]byte, error) {
	meta := map[string]any{"uid": pod.UID}
	if !keepOwner {
		meta["ownerReferences"] = []map[string]any{{"$patch": "delete", "uid": jobUID}}
	}
	if slices.Contains(pod.Finalizers, names.JobTrackingFinalizer) {
		meta["$deleteFromPrimitiveList/finalizers"] = []string{names.JobTrackingFinalizer}
	}
	return json.Marshal(map[string]any{"metadata": meta})
}

// adoptingJobs returns the cached Jobs that would adopt the ownerless pod.
func (c *Controller) adoptingJobs(pod *corev1.Pod) []*batchv1.Job {
	if pod.DeletionTimestamp != nil || metav1.GetControllerOf(pod) != nil {
		return nil
	}
	jobs, err := c.jobLister.Jobs(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*batchv1.Job
	for _, job := range jobs {
		if canAdopt(job) && podBelongs(job, pod) {
			out = append(out, job)
		}
	}
	return out
}
