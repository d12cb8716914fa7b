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

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	upstreambatchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	"github.com/jobserver-dev/jobserver/test/e2e/framework"
)

// outcome is what the differential test compares between a built-in
// batch/v1 Job (kube-controller-manager's job controller) and a jobserver
// Job with the same spec on the same simulated nodes.
type outcome struct {
	Conditions       []string // "Type=Status Reason: Message", sorted
	Succeeded        int32
	Failed           int32
	CompletedIndexes string
	FailedIndexes    string
	PodsCreated      int // SuccessfulCreate events
}

// podName matches pod references in condition messages, which differ
// between the two runs.
var podName = regexp.MustCompile(`pod [a-z0-9-]+/[a-z0-9-]+`)

func createdPods(t *testing.T, ns string, uid string) int {
	t.Helper()
	list, err := cluster.Kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
		FieldSelector: fields.AndSelectors(fields.OneTermEqualSelector("involvedObject.uid", uid),
			fields.OneTermEqualSelector("reason", "SuccessfulCreate")).String(),
	})
	require.NoError(t, err)
	n := 0
	for _, e := range list.Items {
		n += int(max(e.Count, 1))
	}
	return n
}

// outcomeOf reads a Job's outcome and whether it is finished.
func outcomeOf(job *batchv1.Job) (outcome, bool) {
	o := outcome{Succeeded: job.Status.Succeeded, Failed: job.Status.Failed,
		CompletedIndexes: job.Status.CompletedIndexes, FailedIndexes: ptr.Deref(job.Status.FailedIndexes, "")}
	done := false
	for _, c := range job.Status.Conditions {
		o.Conditions = append(o.Conditions, fmt.Sprintf("%s=%s %s: %s", c.Type, c.Status, c.Reason,
			podName.ReplaceAllString(c.Message, "pod <ns>/<pod>")))
		done = done || ((c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue)
	}
	sort.Strings(o.Conditions)
	return o, done
}

// waitOutcome polls get until the Job is finished and returns its outcome.
func waitOutcome(t *testing.T, ns, what string, get func(ctx context.Context) (*batchv1.Job, error)) outcome {
	t.Helper()
	var (
		o   outcome
		job *batchv1.Job
	)
	framework.Eventually(t, 4*time.Minute, what+" to finish", func(ctx context.Context) (bool, error) {
		var err error
		if job, err = get(ctx); err != nil {
			return false, err
		}
		var done bool
		o, done = outcomeOf(job)
		return done, nil
	})
	o.PodsCreated = createdPods(t, ns, string(job.UID))
	return o
}

// runBuiltin runs spec as a batch/v1 Job and returns its outcome. Both
// APIs have the same JSON, so the spec and status convert through it.
func runBuiltin(t *testing.T, spec batchv1.JobSpec) outcome {
	ns := cluster.Namespace(t)
	builtin := &upstreambatchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "diff"}}
	convertJSON(t, spec, &builtin.Spec)
	_, err := cluster.Kube.BatchV1().Jobs(ns).Create(context.Background(), builtin, metav1.CreateOptions{})
	require.NoError(t, err)
	return waitOutcome(t, ns, "the built-in Job", func(ctx context.Context) (*batchv1.Job, error) {
		got, err := cluster.Kube.BatchV1().Jobs(ns).Get(ctx, "diff", metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		job := &batchv1.Job{}
		convertJSON(t, got, job)
		return job, nil
	})
}

// runJobserver runs spec as a batch.jobserver.dev/v1 Job and returns its outcome.
func runJobserver(t *testing.T, spec batchv1.JobSpec) outcome {
	ns := cluster.Namespace(t)
	_, err := cluster.Jobs.BatchV1().Jobs(ns).Create(context.Background(),
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "diff"}, Spec: spec}, metav1.CreateOptions{})
	require.NoError(t, err)
	return waitOutcome(t, ns, "the jobserver Job", func(ctx context.Context) (*batchv1.Job, error) {
		return cluster.Jobs.BatchV1().Jobs(ns).Get(ctx, "diff", metav1.GetOptions{})
	})
}

func convertJSON(t *testing.T, in, out any) {
	t.Helper()
	raw, err := json.Marshal(in)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, out))
}

func simTemplate(policy corev1.RestartPolicy, annotations map[string]string, command ...string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Annotations: annotations},
		Spec: corev1.PodSpec{
			RestartPolicy: policy,
			Containers:    []corev1.Container{{Name: "main", Image: "busybox", Command: command}},
		},
	}
}

// TestDifferential runs deterministic scenarios both as built-in batch/v1
// Jobs and as jobserver Jobs, with the same simulated outcomes, and
// compares their final status and the number of Pods created.
func TestDifferential(t *testing.T) {
	never, onFailure := corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure
	indexed := ptr.To(batchv1.IndexedCompletion)
	for _, tc := range []struct {
		name string
		spec batchv1.JobSpec
	}{
		{"one success", batchv1.JobSpec{Template: simTemplate(never, nil, "sleep", "1")}},
		{"completions 3 parallelism 2", batchv1.JobSpec{Completions: ptr.To[int32](3), Parallelism: ptr.To[int32](2),
			Template: simTemplate(never, nil, "true")}},
		{"parallelism 3 without completions", batchv1.JobSpec{Parallelism: ptr.To[int32](3),
			Template: simTemplate(never, nil, "sleep", "2")}},
		{"Indexed completions 4", batchv1.JobSpec{CompletionMode: indexed, Completions: ptr.To[int32](4), Parallelism: ptr.To[int32](2),
			Template: simTemplate(never, nil, "true")}},
		{"restartPolicy Never, always failing, backoffLimit 2", batchv1.JobSpec{BackoffLimit: ptr.To[int32](2),
			Template: simTemplate(never, nil, "false")}},
		{"restartPolicy OnFailure, always failing, backoffLimit 1", batchv1.JobSpec{BackoffLimit: ptr.To[int32](1),
			Template: simTemplate(onFailure, nil, "false")}},
		{"activeDeadlineSeconds 5", batchv1.JobSpec{ActiveDeadlineSeconds: ptr.To[int64](5),
			Template: simTemplate(never, nil, "sleep", "120")}},
		{"suspended with completions 0", batchv1.JobSpec{Suspend: ptr.To(true), Completions: ptr.To[int32](0),
			Template: simTemplate(never, nil, "true")}},
		{"podFailurePolicy FailJob on exit code 3", batchv1.JobSpec{
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:      batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{3}},
			}}},
			Template: simTemplate(never, map[string]string{"sim.jobserver.dev/exit-code": "3"}, "run")}},
		{"backoffLimitPerIndex 1, every index failing", batchv1.JobSpec{CompletionMode: indexed, Completions: ptr.To[int32](2), Parallelism: ptr.To[int32](2),
			BackoffLimitPerIndex: ptr.To[int32](1), Template: simTemplate(never, nil, "false")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var builtin, ours outcome
			// Both run at once; t.Run returns when both parallel runs did.
			t.Run("run", func(t *testing.T) {
				t.Run("batch/v1", func(t *testing.T) {
					t.Parallel()
					builtin = runBuiltin(t, *tc.spec.DeepCopy())
				})
				t.Run("batch.jobserver.dev/v1", func(t *testing.T) {
					t.Parallel()
					ours = runJobserver(t, *tc.spec.DeepCopy())
				})
			})
			require.False(t, t.Failed(), "a run did not finish")
			assert.Equal(t, builtin, ours, "built-in batch/v1 (expected) vs jobserver (actual)")
			t.Logf("outcome: %+v", ours)
		})
	}
}
