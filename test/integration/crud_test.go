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
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	"github.com/jobserver-dev/jobserver/test/integration/framework"
)

func TestJobCreateGetListWatchUpdateDelete(t *testing.T) {
	s := framework.StartServer(t, framework.ServerOptions{})
	jobs := s.Clientset(t).BatchV1().Jobs(ns)
	ctx := testContext(t)

	// The watch starts before anything exists, so it sees every change.
	list, err := jobs.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, list.Items)
	w, err := jobs.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	require.NoError(t, err)
	defer w.Stop()

	// Create: defaults, generated selector and labels, status cleared.
	job := newJob("pi")
	job.Status.Succeeded = 7 // ignored on create
	created, err := jobs.Create(ctx, job, metav1.CreateOptions{})
	require.NoError(t, err)
	uid := string(created.UID)
	require.NotEmpty(t, uid)
	assert.Equal(t, int64(1), created.Generation)
	assert.Equal(t, batchv1.JobStatus{}, created.Status)
	assert.Equal(t, ptr.To[int32](1), created.Spec.Completions)
	assert.Equal(t, ptr.To[int32](1), created.Spec.Parallelism)
	assert.Equal(t, ptr.To[int32](6), created.Spec.BackoffLimit)
	assert.Equal(t, ptr.To(batchv1.NonIndexedCompletion), created.Spec.CompletionMode)
	assert.Equal(t, ptr.To(false), created.Spec.Suspend)
	assert.Equal(t, ptr.To(false), created.Spec.ManualSelector)
	assert.Equal(t, ptr.To(batchv1.TerminatingOrFailed), created.Spec.PodReplacementPolicy)
	wantLabels := map[string]string{
		"job-name": "pi", "batch.kubernetes.io/job-name": "pi",
		"controller-uid": uid, "batch.kubernetes.io/controller-uid": uid,
	}
	assert.Equal(t, wantLabels, created.Spec.Template.Labels)
	assert.Equal(t, wantLabels, created.Labels, "Job labels default to the template's")
	assert.Equal(t, &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": uid}}, created.Spec.Selector)
	// Pod template defaults, as for batch/v1.
	assert.Equal(t, corev1.DNSClusterFirst, created.Spec.Template.Spec.DNSPolicy)
	assert.Equal(t, ptr.To[int64](30), created.Spec.Template.Spec.TerminationGracePeriodSeconds)
	assert.Equal(t, "default-scheduler", created.Spec.Template.Spec.SchedulerName)
	assert.Equal(t, corev1.PullAlways, created.Spec.Template.Spec.Containers[0].ImagePullPolicy)
	assert.Equal(t, "/dev/termination-log", created.Spec.Template.Spec.Containers[0].TerminationMessagePath)

	// Get and List (with label and field selectors).
	got, err := jobs.Get(ctx, "pi", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, created.UID, got.UID)
	_, err = jobs.Create(ctx, newJob("other"), metav1.CreateOptions{})
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		opts metav1.ListOptions
		want []string
	}{
		{"all", metav1.ListOptions{}, []string{"other", "pi"}},
		{"label selector", metav1.ListOptions{LabelSelector: "job-name=pi"}, []string{"pi"}},
		{"field metadata.name", metav1.ListOptions{FieldSelector: "metadata.name=other"}, []string{"other"}},
		{"field metadata.namespace", metav1.ListOptions{FieldSelector: "metadata.namespace=" + ns}, []string{"other", "pi"}},
		{"field status.successful", metav1.ListOptions{FieldSelector: "status.successful=0"}, []string{"other", "pi"}},
		{"field status.successful no match", metav1.ListOptions{FieldSelector: "status.successful=1"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := jobs.List(ctx, tc.opts)
			require.NoError(t, err)
			var names []string
			for _, j := range l.Items {
				names = append(names, j.Name)
			}
			assert.Equal(t, tc.want, names)
		})
	}
	_, err = jobs.List(ctx, metav1.ListOptions{FieldSelector: "spec.parallelism=1"})
	assert.True(t, apierrors.IsBadRequest(err), "unsupported field selector: %v", err)

	// Update: a spec change bumps the generation, a label change does not.
	got.Spec.Parallelism = ptr.To[int32](2)
	updated, err := jobs.Update(ctx, got, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(2), updated.Generation)
	updated.Labels["team"] = "a"
	relabelled, err := jobs.Update(ctx, updated, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(2), relabelled.Generation)
	assert.Equal(t, "a", relabelled.Labels["team"])

	// Delete.
	require.NoError(t, jobs.Delete(ctx, "pi", metav1.DeleteOptions{}))
	_, err = jobs.Get(ctx, "pi", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "got %v", err)

	// The watch saw every change to pi, in order.
	var events []string
	timeout := time.After(30 * time.Second)
	for len(events) < 5 {
		select {
		case ev := <-w.ResultChan():
			j := ev.Object.(*batchv1.Job)
			events = append(events, string(ev.Type)+" "+j.Name)
		case <-timeout:
			t.Fatalf("watch events so far: %v", events)
		}
	}
	assert.Equal(t, []string{
		string(watch.Added) + " pi", string(watch.Added) + " other",
		string(watch.Modified) + " pi", string(watch.Modified) + " pi",
		string(watch.Deleted) + " pi",
	}, events)
}

func TestJobGenerateNameAndManualSelector(t *testing.T) {
	s := framework.StartServer(t, framework.ServerOptions{})
	jobs := s.Clientset(t).BatchV1().Jobs(ns)
	ctx := testContext(t)

	job := newJob("")
	job.GenerateName = "gen-"
	created, err := jobs.Create(ctx, job, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Regexp(t, "^gen-[a-z0-9]{5}$", created.Name)
	assert.Equal(t, created.Name, created.Spec.Template.Labels["batch.kubernetes.io/job-name"])

	manual := newJob("manual")
	manual.Spec.ManualSelector = ptr.To(true)
	manual.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
	manual.Spec.Template.Labels = map[string]string{"app": "x"}
	created, err = jobs.Create(ctx, manual, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"app": "x"}, created.Spec.Template.Labels, "no labels generated with manualSelector")
	assert.Equal(t, map[string]string{"app": "x"}, created.Spec.Selector.MatchLabels)
}
