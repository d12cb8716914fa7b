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

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

// Orphaned pods. A pod this controller created keeps the tracking
// finalizer until its outcome is counted. When no live Job of this
// controller counts the pod any more, nobody will count it, and without
// help the pod would hang in Terminating forever. That is the case when:
//   - its Job was deleted (with orphan propagation the garbage collector
//     also drops the pod's controller reference);
//   - its Job was deleted and recreated under the same name (another UID);
//   - it lost the ownership label, so the informer no longer shows it
//     (see releaseUnlabelledPod).
//
// A pod that stops matching its Job's selector is released by the Job's
// sync (claim.go). An ownerless pod loses the finalizer here even if a Job's
// selector matches it: adoption adds it back (as upstream does).
//
// Such pods are queued on the orphan queue, by pod event handlers, by Job
// deletion and by a sync that finds its Job gone, and lose the finalizer
// there, without being counted. Pods controlled by anything else are left
// alone, and so are pods of Jobs managed by another controller.

// releasePodsOfMissingJob queues the pods in namespace ns controlled by a
// Job named name (of any UID) that still carry the finalizer.
func (c *Controller) releasePodsOfMissingJob(ns, name string) {
	pods, err := c.podLister.Pods(ns).List(labels.Everything())
	if err != nil {
		return
	}
	for _, pod := range pods {
		if _, ref := controllerJobKey(pod); ref != nil && ref.Name == name && hasTrackingFinalizer(pod) {
			c.enqueueOrphan(pod)
		}
	}
}

// syncOrphanPod removes the tracking finalizer from the pod of key if no
// live Job of this controller controls it.
func (c *Controller) syncOrphanPod(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	pod, err := c.podLister.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return c.releaseUnlabelledPod(ctx, ns, name)
	}
	if err != nil {
		return err
	}
	if !hasTrackingFinalizer(pod) {
		return nil
	}
	counted, err := c.countedByLiveJob(ctx, pod)
	if err != nil || counted {
		return err
	}
	return c.removeOrphanFinalizer(ctx, pod)
}

// removeOrphanFinalizer removes the tracking finalizer from pod as it was
// read. The resourceVersion test makes the patch fail if the pod changed
// since (say, a Job adopted it meanwhile); the retry looks again.
func (c *Controller) removeOrphanFinalizer(ctx context.Context, pod *corev1.Pod) error {
	patch, err := removeFinalizerPatch(pod, pod.ResourceVersion, "")
	if err != nil || patch == nil {
		return err
	}
	klog.FromContext(ctx).V(2).Info("Removing the tracking finalizer from an orphaned pod", "pod", klog.KObj(pod))
	_, err = c.kubeClient.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.JSONPatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		finalizersRemovedTotal.WithLabelValues(resultError).Inc()
		return fmt.Errorf("removing the tracking finalizer from orphaned pod %s: %w", klog.KObj(pod), err)
	}
	finalizersRemovedTotal.WithLabelValues(resultSuccess).Inc()
	return nil
}

// releaseUnlabelledPod handles a pod that left the pod cache while still
// carrying the tracking finalizer. The API server removes a pod only once
// its finalizers are gone, so such a pod either lost the ownership label
// (and with it the informer's attention: its Job already counts it as
// gone and replaces it) or was deleted while the watch missed the last
// events. A live read tells which; a pod that lost the label is released
// like a pod that stopped matching its Job's selector.
func (c *Controller) releaseUnlabelledPod(ctx context.Context, ns, name string) error {
	pod, err := c.kubeClient.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading pod %s/%s that left the pod cache: %w", ns, name, err)
	}
	if _, labelled := pod.Labels[names.PodOwnershipLabel]; labelled || !hasTrackingFinalizer(pod) {
		return nil // back in the cache soon, or nothing to release
	}
	_, ref := controllerJobKey(pod)
	if ref == nil {
		if metav1.GetControllerOf(pod) != nil {
			return nil // someone else's pod
		}
		return c.removeOrphanFinalizer(ctx, pod)
	}
	if job, err := c.jobLister.Jobs(ns).Get(ref.Name); err == nil && job.UID == ref.UID && managedByOther(job) {
		return nil
	}
	klog.FromContext(ctx).V(2).Info("Releasing a pod that lost the ownership label", "pod", klog.KObj(pod), "label", names.PodOwnershipLabel)
	return c.releasePod(ctx, pod, ref.UID, false)
}

// countedByLiveJob reports whether a live Job controls pod, or someone else
// does: then its finalizer is not the orphan worker's to remove. A Job
// missing from the cache is confirmed missing by a live read before the
// pod is released.
func (c *Controller) countedByLiveJob(ctx context.Context, pod *corev1.Pod) (bool, error) {
	_, ref := controllerJobKey(pod)
	if ref == nil {
		// No controller (the garbage collector orphaned it): the finalizer
		// goes. A Job that adopts the pod adds it back; the patch's
		// resourceVersion test loses any race with that adoption. Or a
		// controller of another kind, which is not ours to second-guess.
		return metav1.GetControllerOf(pod) != nil, nil
	}
	job, err := c.jobLister.Jobs(pod.Namespace).Get(ref.Name)
	if err != nil || job.UID != ref.UID {
		job, err = c.jobClient.BatchV1().Jobs(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("reading the Job of pod %s: %w", klog.KObj(pod), err)
		}
		if job.UID != ref.UID {
			return false, nil
		}
	}
	if !managedByOther(job) {
		// The Job's own sync decides: it counts the pod, or releases it
		// when it no longer matches the selector (a finished Job releases
		// its pods too).
		c.enqueueBatched(job)
	}
	return true, nil
}

// managedByOther reports a Job reconciled by another controller
// (spec.managedBy); its pods are not this controller's business.
func managedByOther(job *batchv1.Job) bool {
	return job.Spec.ManagedBy != nil && *job.Spec.ManagedBy != names.JobControllerName
}
