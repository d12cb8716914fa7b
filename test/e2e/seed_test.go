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
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	"github.com/jobserver-dev/jobserver/test/e2e/framework"
	"github.com/jobserver-dev/jobserver/test/kit"
)

// The seed chapter's Jobs, applied from artifacts/examples with kubectl,
// reach the outcome the chapter describes on the simulated nodes.

func example(name string) string {
	return filepath.Join(cluster.Root, "artifacts", "examples", name)
}

// loadJob reads the first Job of an example file.
func loadJob(t *testing.T, file string) *batchv1.Job {
	t.Helper()
	raw, err := os.ReadFile(example(file))
	require.NoError(t, err)
	docs, err := kit.SplitYAML(raw)
	require.NoError(t, err)
	for _, doc := range docs {
		if strings.Contains(string(doc), "kind: Job") {
			job := &batchv1.Job{}
			require.NoError(t, yaml.UnmarshalStrict(doc, job))
			return job
		}
	}
	t.Fatalf("no Job in %s", file)
	return nil
}

// waitForCondition waits until the Job has the condition True.
func waitForCondition(t *testing.T, ns, name string, cond batchv1.JobConditionType, timeout time.Duration) *batchv1.Job {
	t.Helper()
	var job *batchv1.Job
	framework.Eventually(t, timeout, "Job "+name+" "+string(cond), func(ctx context.Context) (bool, error) {
		var err error
		job, err = cluster.Jobs.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return condition.IsTrue(job.Status.Conditions, cond), nil
	})
	return job
}

// jobEvents returns "Type Reason Message" of the Events about the Job.
func jobEvents(t *testing.T, ns string, job *batchv1.Job) []string {
	t.Helper()
	list, err := cluster.Kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("involvedObject.uid", string(job.UID)).String(),
	})
	require.NoError(t, err)
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].CreationTimestamp.Before(&list.Items[j].CreationTimestamp) })
	var out []string
	for _, e := range list.Items {
		out = append(out, e.Type+" "+e.Reason+" "+e.Message)
	}
	return out
}

func podsOf(t *testing.T, ns, job string) []corev1.Pod {
	t.Helper()
	pods, err := cluster.Kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "job-name=" + job})
	require.NoError(t, err)
	return pods.Items
}

// completionsColumn is the COMPLETIONS column of kubectl get, cut at the
// header's positions (its value may contain spaces: "3/1 of 3").
func completionsColumn(t *testing.T, ns, name string) string {
	t.Helper()
	out := cluster.MustRun(t, "get", jobs, name, "-n", ns)
	lines := strings.Split(out, "\n")
	require.GreaterOrEqual(t, len(lines), 2, out)
	start, end := strings.Index(lines[0], "COMPLETIONS"), strings.Index(lines[0], "DURATION")
	require.True(t, start > 0 && end > start, out)
	return strings.TrimSpace(lines[1][start:end])
}

func TestSeedQuizInit(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	cluster.MustRun(t, "apply", "-n", ns, "-f", example("job.quiz-init.yaml"))
	job := waitForCondition(t, ns, "quiz-init", batchv1.JobComplete, 2*time.Minute)
	assert.Equal(t, int32(1), job.Status.Succeeded)
	assert.NotNil(t, job.Status.CompletionTime)
	assert.Equal(t, "1/1", completionsColumn(t, ns, "quiz-init"))

	pods := podsOf(t, ns, "quiz-init")
	require.Len(t, pods, 1, "the chapter's `kubectl get pods -l job-name=quiz-init` lists one Pod")
	pod := pods[0]
	assert.Equal(t, corev1.PodSucceeded, pod.Status.Phase)
	require.Len(t, pod.Status.InitContainerStatuses, 1)
	initDone := pod.Status.InitContainerStatuses[0].State.Terminated
	require.NotNil(t, initDone, "the init container ran to completion")
	assert.Equal(t, int32(0), initDone.ExitCode)
	main := pod.Status.ContainerStatuses[0].State.Terminated
	require.NotNil(t, main)
	assert.False(t, main.StartedAt.Before(&initDone.FinishedAt), "the main container started after the init container finished")
	assert.NotContains(t, pod.Finalizers, "batch.jobserver.dev/job-tracking", "the tracking finalizer is released")

	events := jobEvents(t, ns, job)
	assert.Equal(t, []string{"Normal SuccessfulCreate Created pod: " + pod.Name, "Normal Completed Job completed"}, events)
	out := cluster.MustRun(t, "describe", jobs, "quiz-init", "-n", ns)
	assert.Contains(t, out, "Created pod: "+pod.Name, "kubectl describe shows the events")
}

func TestSeedDemoSuspend(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	cluster.MustRun(t, "apply", "-n", ns, "-f", example("job.demo-suspend.yaml"))
	job := waitForCondition(t, ns, "demo-suspend", batchv1.JobSuspended, time.Minute)
	assert.Equal(t, "JobSuspended", kit.Condition(job, batchv1.JobSuspended).Reason)
	assert.Nil(t, job.Status.StartTime)
	assert.Empty(t, podsOf(t, ns, "demo-suspend"), "a suspended Job has no Pods")

	cluster.MustRun(t, "patch", jobs, "demo-suspend", "-n", ns, "-p", `{"spec":{"suspend": false}}`)
	framework.Eventually(t, time.Minute, "a running Pod", func(ctx context.Context) (bool, error) {
		for _, p := range podsOf(t, ns, "demo-suspend") {
			if p.Status.Phase == corev1.PodRunning {
				return true, nil
			}
		}
		return false, nil
	})
	job, err := cluster.Jobs.BatchV1().Jobs(ns).Get(context.Background(), "demo-suspend", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotNil(t, job.Status.StartTime)

	cluster.MustRun(t, "patch", jobs, "demo-suspend", "-n", ns, "-p", `{"spec":{"suspend": true}}`)
	framework.Eventually(t, time.Minute, "the Pod to be deleted", func(ctx context.Context) (bool, error) {
		return len(podsOf(t, ns, "demo-suspend")) == 0, nil
	})
	job = waitForCondition(t, ns, "demo-suspend", batchv1.JobSuspended, time.Minute)
	assert.Equal(t, int32(0), job.Status.Failed, "Pods deleted for suspension are not failures")
	assert.Equal(t, "Suspended", strings.Fields(cluster.MustRun(t, "get", jobs, "demo-suspend", "-n", ns, "--no-headers"))[1])

	// client-go's event correlator folds the second, identical Suspended
	// event into the first (count 2), as for the built-in Job.
	want := map[string]int32{"Suspended": 2, "SuccessfulCreate": 1, "Resumed": 1, "SuccessfulDelete": 1}
	var got map[string]int32
	framework.Eventually(t, 30*time.Second, "the events", func(ctx context.Context) (bool, error) {
		list, err := cluster.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("involvedObject.uid", string(job.UID)).String(),
		})
		if err != nil {
			return false, err
		}
		got = map[string]int32{}
		for _, e := range list.Items {
			got[e.Reason] += max(e.Count, 1)
		}
		return got["Suspended"] == 2, nil
	})
	assert.Equal(t, want, got)
}

// TestSeedOrphanThenAdopt follows the chapter's `kubectl delete job
// demo-suspend --cascade=orphan`: the running Pod stays as a standalone Pod
// (no owner, no jobserver finalizer, so deleting it later is immediate).
// Then, as with the built-in controller, a Job whose manual selector
// matches it adopts it instead of starting a second Pod, and counts its
// success.
func TestSeedOrphanThenAdopt(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	cluster.MustRun(t, "apply", "-n", ns, "-f", example("job.demo-suspend.yaml"))
	cluster.MustRun(t, "patch", jobs, "demo-suspend", "-n", ns, "-p", `{"spec":{"suspend": false}}`)
	var pod corev1.Pod
	framework.Eventually(t, time.Minute, "a running Pod", func(ctx context.Context) (bool, error) {
		for _, p := range podsOf(t, ns, "demo-suspend") {
			if p.Status.Phase == corev1.PodRunning {
				pod = p
				return true, nil
			}
		}
		return false, nil
	})

	cluster.MustRun(t, "delete", jobs, "demo-suspend", "-n", ns, "--cascade=orphan")
	framework.Eventually(t, time.Minute, "a standalone Pod", func(ctx context.Context) (bool, error) {
		p, err := cluster.Kube.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pod = *p
		return len(p.OwnerReferences) == 0 && len(p.Finalizers) == 0, nil
	})
	assert.Equal(t, corev1.PodRunning, pod.Status.Phase, "the orphaned Pod keeps running")

	// The same Job again, selecting its Pods by name: it adopts the
	// running Pod.
	adopter := loadJob(t, "job.demo-suspend.yaml")
	adopter.APIVersion, adopter.Kind = batchv1.SchemeGroupVersion.String(), "Job"
	adopter.Spec.Suspend = nil
	adopter.Spec.ManualSelector = ptr.To(true)
	adopter.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"job-name": "demo-suspend"}}
	adopter.Spec.Template.Labels = map[string]string{"job-name": "demo-suspend"}
	manifest, err := yaml.Marshal(adopter)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "adopter.yaml")
	require.NoError(t, os.WriteFile(file, manifest, 0o600))
	cluster.MustRun(t, "apply", "-n", ns, "-f", file)
	job, err := cluster.Jobs.BatchV1().Jobs(ns).Get(context.Background(), "demo-suspend", metav1.GetOptions{})
	require.NoError(t, err)
	framework.Eventually(t, time.Minute, "the Pod adopted", func(ctx context.Context) (bool, error) {
		p, err := cluster.Kube.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ref := metav1.GetControllerOf(p)
		return ref != nil && ref.UID == job.UID, nil
	})

	job = waitForCondition(t, ns, "demo-suspend", batchv1.JobComplete, 2*time.Minute)
	assert.Equal(t, int32(1), job.Status.Succeeded)
	pods := podsOf(t, ns, "demo-suspend")
	require.Len(t, pods, 1, "adopted, not duplicated")
	assert.Equal(t, pod.UID, pods[0].UID)
	assert.Empty(t, pods[0].Finalizers, "counted and released")
}

func TestSeedDemoTTL(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	// The chapter's job.demo-ttl.yaml (described, not printed): a Pod that
	// succeeds after 20 seconds, and a TTL of 10 seconds.
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "demo-ttl"},
		Spec: batchv1.JobSpec{
			TTLSecondsAfterFinished: ptr.To[int32](10),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyOnFailure,
				Containers:    []corev1.Container{{Name: "demo", Image: "busybox", Command: []string{"sleep", "20"}}},
			}},
		},
	}
	_, err := cluster.Jobs.BatchV1().Jobs(ns).Create(context.Background(), job, metav1.CreateOptions{})
	require.NoError(t, err)
	done := waitForCondition(t, ns, "demo-ttl", batchv1.JobComplete, 2*time.Minute)
	finished := kit.Condition(done, batchv1.JobComplete).LastTransitionTime.Time
	require.Len(t, podsOf(t, ns, "demo-ttl"), 1)

	framework.Eventually(t, time.Minute, "the Job and its Pod to be deleted", func(ctx context.Context) (bool, error) {
		_, err := cluster.Jobs.BatchV1().Jobs(ns).Get(ctx, "demo-ttl", metav1.GetOptions{})
		return apierrors.IsNotFound(err) && len(podsOf(t, ns, "demo-ttl")) == 0, nil
	})
	assert.GreaterOrEqual(t, time.Since(finished), 10*time.Second, "not before the TTL")
}

// maxActive samples the Job's Pods until stop is closed and returns the
// largest number seen running at once.
func maxActive(t *testing.T, ns, job string, stop <-chan struct{}) <-chan int {
	result := make(chan int, 1)
	go func() {
		highest := 0
		for {
			pods, err := cluster.Kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "job-name=" + job})
			if err == nil {
				active := 0
				for _, p := range pods.Items {
					if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
						active++
					}
				}
				highest = max(highest, active)
			}
			select {
			case <-stop:
				result <- highest
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return result
}

func TestSeedGenerateResponses(t *testing.T) {
	for _, policy := range []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever} {
		t.Run(string(policy), func(t *testing.T) {
			t.Parallel()
			ns := cluster.Namespace(t)
			job := loadJob(t, "job.generate-responses.yaml")
			job.Spec.Template.Spec.RestartPolicy = policy
			// The simulated node cannot run the chapter's script; the
			// annotation gives its 25 % failure rate.
			job.Spec.Template.Annotations = map[string]string{"sim.jobserver.dev/fail-percent": "25"}
			// Enough retries that the 25 % failures never exhaust them.
			job.Spec.BackoffLimit = ptr.To[int32](20)
			stop := make(chan struct{})
			highest := maxActive(t, ns, job.Name, stop)
			_, err := cluster.Jobs.BatchV1().Jobs(ns).Create(context.Background(), job, metav1.CreateOptions{})
			require.NoError(t, err)
			done := waitForCondition(t, ns, job.Name, batchv1.JobComplete, 3*time.Minute)
			close(stop)
			assert.LessOrEqual(t, <-highest, 2, "never more than parallelism Pods at once")
			assert.Equal(t, int32(5), done.Status.Succeeded)
			assert.Equal(t, "5/5", completionsColumn(t, ns, job.Name))
			succeeded := 0
			for _, p := range podsOf(t, ns, job.Name) {
				if p.Status.Phase == corev1.PodSucceeded {
					succeeded++
				}
			}
			assert.Equal(t, 5, succeeded)
			if policy == corev1.RestartPolicyNever {
				assert.Equal(t, int(done.Status.Failed), len(podsOf(t, ns, job.Name))-5, "failed Pods are kept and counted")
			}
		})
	}
}

func TestSeedDemoAlwaysFails(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	cluster.MustRun(t, "apply", "-n", ns, "-f", example("job.demo-always-fails.yaml"))
	job := waitForCondition(t, ns, "demo-always-fails", batchv1.JobFailed, 3*time.Minute)
	failed := kit.Condition(job, batchv1.JobFailed)
	assert.Equal(t, "BackoffLimitExceeded", failed.Reason)
	assert.Equal(t, "Job has reached the specified backoff limit", failed.Message)
	assert.Equal(t, "0/10", completionsColumn(t, ns, "demo-always-fails"))
	framework.Eventually(t, time.Minute, "the Pods to be deleted", func(ctx context.Context) (bool, error) {
		return len(podsOf(t, ns, "demo-always-fails")) == 0, nil
	})
	assert.Contains(t, jobEvents(t, ns, job), "Warning BackoffLimitExceeded Job has reached the specified backoff limit")
}

func TestSeedDemoDeadline(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	cluster.MustRun(t, "apply", "-n", ns, "-f", example("job.demo-deadline.yaml"))
	job := waitForCondition(t, ns, "demo-deadline", batchv1.JobFailed, 3*time.Minute)
	failed := kit.Condition(job, batchv1.JobFailed)
	assert.Equal(t, "DeadlineExceeded", failed.Reason)
	assert.Equal(t, "Job was active longer than specified deadline", failed.Message)
	elapsed := failed.LastTransitionTime.Sub(job.Status.StartTime.Time)
	assert.GreaterOrEqual(t, elapsed, 90*time.Second)
	assert.Equal(t, int32(1), job.Status.Succeeded, "the first 60 s Pod finished before the deadline")
	assert.Contains(t, jobEvents(t, ns, job), "Warning DeadlineExceeded Job was active longer than specified deadline")
}

func TestSeedIndexedAggregateResponses(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	cluster.MustRun(t, "apply", "-n", ns, "-f", example("job.aggregate-responses-2021.yaml"))
	job := waitForCondition(t, ns, "aggregate-responses-2021", batchv1.JobComplete, 4*time.Minute)
	assert.Equal(t, "0-11", job.Status.CompletedIndexes)
	assert.Equal(t, int32(12), job.Status.Succeeded)

	seen := map[string]int{}
	for _, p := range podsOf(t, ns, "aggregate-responses-2021") {
		if p.Status.Phase != corev1.PodSucceeded {
			continue
		}
		index := p.Labels["batch.kubernetes.io/job-completion-index"]
		assert.Equal(t, index, p.Annotations["batch.kubernetes.io/job-completion-index"])
		assert.Equal(t, "aggregate-responses-2021-"+index, p.Spec.Hostname)
		assert.True(t, strings.HasPrefix(p.Name, "aggregate-responses-2021-"+index+"-"), p.Name)
		var env *corev1.EnvVar
		for i := range p.Spec.Containers[0].Env {
			if p.Spec.Containers[0].Env[i].Name == "JOB_COMPLETION_INDEX" {
				env = &p.Spec.Containers[0].Env[i]
			}
		}
		require.NotNil(t, env, "JOB_COMPLETION_INDEX is set")
		assert.Equal(t, "metadata.labels['batch.kubernetes.io/job-completion-index']", env.ValueFrom.FieldRef.FieldPath)
		seen[index]++
	}
	require.Len(t, seen, 12)
	for i := 0; i < 12; i++ {
		assert.Equal(t, 1, seen[strconv.Itoa(i)], "index %d succeeded exactly once", i)
	}
	assert.Equal(t, "12/12", completionsColumn(t, ns, "aggregate-responses-2021"))
}

func TestSeedCommDemo(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	cluster.MustRun(t, "apply", "-n", ns, "-f", example("svc.demo-service.yaml"), "-f", example("job.comm-demo.yaml"))
	framework.Eventually(t, 2*time.Minute, "two running Pods", func(ctx context.Context) (bool, error) {
		running := 0
		for _, p := range podsOf(t, ns, "comm-demo") {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running == 2, nil
	})
	hostnames := map[string]string{}
	for _, p := range podsOf(t, ns, "comm-demo") {
		hostnames[p.Spec.Hostname] = p.Spec.Subdomain
	}
	assert.Equal(t, map[string]string{"comm-demo-0": "demo-service", "comm-demo-1": "demo-service"}, hostnames)
}

func TestSeedQueueFine(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	job := loadJob(t, "job.aggregate-responses-queue-fine.yaml")
	_, err := cluster.Jobs.BatchV1().Jobs(ns).Create(context.Background(), job, metav1.CreateOptions{})
	require.NoError(t, err)
	done := waitForCondition(t, ns, job.Name, batchv1.JobComplete, 3*time.Minute)
	assert.Equal(t, int32(3), done.Status.Succeeded, "the others are left to finish")
	assert.Equal(t, "3/1 of 3", completionsColumn(t, ns, job.Name))
	assert.Len(t, podsOf(t, ns, job.Name), 3, "no Pod is created after the first success")
}
