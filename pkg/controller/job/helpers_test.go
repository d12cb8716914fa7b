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
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/validation"
)

// t0 is the start of every test's clock.
var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func at(seconds int) time.Time { return t0.Add(time.Duration(seconds) * time.Second) }

// --- Jobs ---

type jobOpt func(*batchv1.Job)

// newJob returns a defaulted, started Job "ns/job": completions 1,
// parallelism 1, backoffLimit 6, restartPolicy Never, one container "main".
func newJob(opts ...jobOpt) *batchv1.Job {
	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch.jobserver.dev/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "job", UID: "job-uid", ResourceVersion: "1"},
		Spec: batchv1.JobSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{names.ControllerUIDLabel: "job-uid"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{
					names.ControllerUIDLabel: "job-uid", names.JobNameLabel: "job",
					names.LegacyControllerUIDLabel: "job-uid", names.LegacyJobNameLabel: "job",
				}},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "main", Image: "busybox"}},
				},
			},
		},
		Status: batchv1.JobStatus{StartTime: ptr.To(metav1.NewTime(t0))},
	}
	for _, o := range opts {
		o(job)
	}
	batchv1.SetDefaults_Job(job)
	return job
}

func completions(n int32) jobOpt { return func(j *batchv1.Job) { j.Spec.Completions = ptr.To(n) } }
func parallelism(n int32) jobOpt { return func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To(n) } }
func noCompletions() jobOpt {
	return func(j *batchv1.Job) {
		j.Spec.Completions = nil
		if j.Spec.Parallelism == nil {
			j.Spec.Parallelism = ptr.To[int32](1)
		}
	}
}
func backoffLimit(n int32) jobOpt { return func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr.To(n) } }
func indexed() jobOpt {
	return func(j *batchv1.Job) { j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion) }
}
func suspended() jobOpt  { return func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(true) } }
func notStarted() jobOpt { return func(j *batchv1.Job) { j.Status.StartTime = nil } }
func replaceOnlyFailed() jobOpt {
	return func(j *batchv1.Job) { j.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed) }
}
func perIndexLimit(n int32) jobOpt {
	return func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = ptr.To(n) }
}
func restartOnFailure() jobOpt {
	return func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure }
}
func deadline(seconds int64) jobOpt {
	return func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = ptr.To(seconds) }
}
func ttl(seconds int32) jobOpt {
	return func(j *batchv1.Job) { j.Spec.TTLSecondsAfterFinished = ptr.To(seconds) }
}
func failurePolicy(rules ...batchv1.PodFailurePolicyRule) jobOpt {
	return func(j *batchv1.Job) { j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: rules} }
}
func successPolicy(rules ...batchv1.SuccessPolicyRule) jobOpt {
	return func(j *batchv1.Job) { j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: rules} }
}
func withStatus(f func(*batchv1.JobStatus)) jobOpt {
	return func(j *batchv1.Job) { f(&j.Status) }
}
func withCondition(t batchv1.JobConditionType, status corev1.ConditionStatus, reason, message string, when time.Time) jobOpt {
	return withStatus(func(s *batchv1.JobStatus) {
		s.Conditions = append(s.Conditions, *newCondition(t, status, reason, message, when))
	})
}
func uncountedStatus(succeeded, failed []types.UID) jobOpt {
	return withStatus(func(s *batchv1.JobStatus) {
		s.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Succeeded: succeeded, Failed: failed}
	})
}

// --- Pods ---

type podOpt func(*corev1.Pod)

// newPod returns a pod "name" (UID "uid-name") of the Job in the given
// phase, carrying the tracking finalizer, scheduled and created at t0.
// Running pods are Ready unless notReady is given.
func newPod(name string, phase corev1.PodPhase, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "ns", Name: name, UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(t0),
			Finalizers:        []string{names.JobTrackingFinalizer},
			Labels:            map[string]string{names.ControllerUIDLabel: "job-uid"},
			Annotations:       map[string]string{},
		},
		Spec:   corev1.PodSpec{NodeName: "node", Containers: []corev1.Container{{Name: "main"}}},
		Status: corev1.PodStatus{Phase: phase},
	}
	switch phase {
	case corev1.PodRunning:
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)}}
	case corev1.PodSucceeded:
		p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("main", 0, t0)}
	case corev1.PodFailed:
		p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("main", 1, t0)}
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func terminated(name string, code int32, finished time.Time) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: code, FinishedAt: metav1.NewTime(finished),
	}}}
}

func index(i int) podOpt {
	return func(p *corev1.Pod) {
		p.Annotations[names.JobCompletionIndexAnnotation] = strconv.Itoa(i)
		p.Labels[names.JobCompletionIndexAnnotation] = strconv.Itoa(i)
	}
}
func noFinalizer() podOpt { return func(p *corev1.Pod) { p.Finalizers = nil } }
func deleting(when time.Time) podOpt {
	return func(p *corev1.Pod) { p.DeletionTimestamp = ptr.To(metav1.NewTime(when)) }
}
func notReady() podOpt {
	return func(p *corev1.Pod) { p.Status.Conditions = nil }
}
func readySince(when time.Time) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(when)}}
	}
}
func unscheduled() podOpt { return func(p *corev1.Pod) { p.Spec.NodeName = "" } }
func created(when time.Time) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(when) }
}
func restarts(n int32) podOpt {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", RestartCount: n}}
	}
}

// exitCode sets the "main" container's termination (and the finish time).
func exitCode(code int32, finished time.Time) podOpt {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("main", code, finished)}
	}
}
func finishedAt(when time.Time) podOpt {
	return func(p *corev1.Pod) {
		for i := range p.Status.ContainerStatuses {
			if t := p.Status.ContainerStatuses[i].State.Terminated; t != nil {
				t.FinishedAt = metav1.NewTime(when)
			}
		}
	}
}
func podCond(t corev1.PodConditionType, status corev1.ConditionStatus) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: status})
	}
}
func failureCount(n int) podOpt {
	return func(p *corev1.Pod) { p.Annotations[names.JobIndexFailureCountAnnotation] = strconv.Itoa(n) }
}

func pods(ps ...*corev1.Pod) []*corev1.Pod { return ps }

// --- Decisions ---

func decide(job *batchv1.Job, ps []*corev1.Pod, now time.Time) Decision {
	return Decide(Input{Job: job, Pods: ps, Now: now})
}

func actionsOf(d Decision, kind ActionKind) []Action {
	var out []Action
	for _, a := range d.Actions {
		if a.Kind == kind {
			out = append(out, a)
		}
	}
	return out
}

// podNames lists the pod names of the actions of a kind.
func podNames(d Decision, kind ActionKind) []string {
	var out []string
	for _, a := range actionsOf(d, kind) {
		out = append(out, a.PodName)
	}
	return out
}

// createdIndexes lists the indexes of the planned creations.
func createdIndexes(d Decision) []int {
	var out []int
	for _, a := range actionsOf(d, ActionCreatePod) {
		out = append(out, *a.Index)
	}
	return out
}

func cond(s batchv1.JobStatus, t batchv1.JobConditionType) *batchv1.JobCondition {
	return condition.Find(s.Conditions, t)
}

// condSummary renders the True conditions as "Type/Reason" for compact
// assertions.
func condSummary(s batchv1.JobStatus) []string {
	var out []string
	for _, c := range s.Conditions {
		out = append(out, fmt.Sprintf("%s=%s/%s", c.Type, c.Status, c.Reason))
	}
	return out
}

func eventsOf(d Decision) []string {
	var out []string
	for _, e := range d.Events {
		out = append(out, fmt.Sprintf("%s %s: %s", e.Type, e.Reason, e.Message))
	}
	return out
}

// validateStatusUpdate checks a status write as the API server would.
func validateStatusUpdate(t *testing.T, oldJob *batchv1.Job, status batchv1.JobStatus) {
	t.Helper()
	newJob := oldJob.DeepCopy()
	newJob.Status = status
	var oldInternal, newInternal batch.Job
	require.NoError(t, batchv1.Convert_v1_Job_To_batch_Job(oldJob, &oldInternal, nil))
	require.NoError(t, batchv1.Convert_v1_Job_To_batch_Job(newJob, &newInternal, nil))
	errs := validation.ValidateJobUpdateStatus(&newInternal, &oldInternal, validation.StatusValidationOptions(&newInternal, &oldInternal))
	require.Empty(t, errs, "status update rejected: %v", errs.ToAggregate())
}

// apply returns a copy of job with the decision's status, as after a
// successful UpdateStatus.
func apply(job *batchv1.Job, d Decision) *batchv1.Job {
	out := job.DeepCopy()
	out.Status = *d.Status.DeepCopy()
	return out
}
