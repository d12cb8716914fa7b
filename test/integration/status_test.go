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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	"github.com/jobserver-dev/jobserver/test/integration/framework"
)

func TestJobStatusSubresource(t *testing.T) {
	s := framework.StartServer(t, framework.ServerOptions{})
	jobs := s.Clientset(t).BatchV1().Jobs(ns)
	ctx := testContext(t)

	created, err := jobs.Create(ctx, newJob("st"), metav1.CreateOptions{})
	require.NoError(t, err)

	// /status changes the status and ignores the spec.
	start := metav1.NewTime(time.Now().Truncate(time.Second))
	created.Status.StartTime = &start
	created.Status.Active = 1
	created.Status.Ready = ptr.To[int32](0)
	created.Spec.Parallelism = ptr.To[int32](5)
	updated, err := jobs.UpdateStatus(ctx, created, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), updated.Status.Active)
	assert.Equal(t, ptr.To[int32](1), updated.Spec.Parallelism, "spec unchanged by /status")
	assert.Equal(t, int64(1), updated.Generation)

	// The main resource changes the spec and ignores the status.
	updated.Spec.Parallelism = ptr.To[int32](2)
	updated.Status.Active = 0
	updated.Status.Succeeded = 4
	again, err := jobs.Update(ctx, updated, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, ptr.To[int32](2), again.Spec.Parallelism)
	assert.Equal(t, int32(1), again.Status.Active, "status unchanged by the main resource")
	assert.Equal(t, int32(0), again.Status.Succeeded)

	now := metav1.NewTime(time.Now().Truncate(time.Second))
	for _, tc := range []struct {
		name   string
		mutate func(*batchv1.JobStatus)
		fields []string
	}{
		{"negative succeeded", func(st *batchv1.JobStatus) { st.Succeeded = -1 }, []string{"status.succeeded"}},
		{"ready above active", func(st *batchv1.JobStatus) { st.Ready = ptr.To[int32](3) }, []string{"status.ready"}},
		{"Complete without SuccessCriteriaMet", func(st *batchv1.JobStatus) {
			st.Active = 0
			st.CompletionTime = &now
			st.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
		}, []string{"status.conditions"}},
		{"Failed without FailureTarget", func(st *batchv1.JobStatus) {
			st.Active = 0
			st.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue}}
		}, []string{"status.conditions"}},
		{"completedIndexes on a NonIndexed Job", func(st *batchv1.JobStatus) { st.CompletedIndexes = "0" }, []string{"status.completedIndexes"}},
		{"duplicate uncounted UIDs", func(st *batchv1.JobStatus) {
			st.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Succeeded: []types.UID{"a", "a"}}
		}, []string{"status.uncountedTerminatedPods.succeeded[1]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			current, err := jobs.Get(ctx, "st", metav1.GetOptions{})
			require.NoError(t, err)
			tc.mutate(&current.Status)
			_, err = jobs.UpdateStatus(ctx, current, metav1.UpdateOptions{})
			requireInvalid(t, err, tc.fields...)
		})
	}

	// A finished Job: interim condition, then the terminal one.
	current, err := jobs.Get(ctx, "st", metav1.GetOptions{})
	require.NoError(t, err)
	current.Status.Active = 0
	current.Status.Ready = ptr.To[int32](0)
	current.Status.Succeeded = 1
	current.Status.CompletionTime = &now
	current.Status.Conditions = []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: now},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: now},
	}
	done, err := jobs.UpdateStatus(ctx, current, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Len(t, done.Status.Conditions, 2)

	// Terminal conditions cannot be removed, nor counters decrease.
	done.Status.Conditions = done.Status.Conditions[:1]
	done.Status.Succeeded = 0
	_, err = jobs.UpdateStatus(ctx, done, metav1.UpdateOptions{})
	requireInvalid(t, err, "status.conditions", "status.succeeded")
}
