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
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	kbatchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/test/e2e/framework"
	"github.com/jobserver-dev/jobserver/test/kit"
)

// The simulated nodes' pod annotations (hack/local/kwok-stages.yaml).
const (
	simDuration    = "sim.jobserver.dev/duration"
	simExitCode    = "sim.jobserver.dev/exit-code"
	simFailPercent = "sim.jobserver.dev/fail-percent"
)

// simJob describes a built-in batch/v1 Job for the simulated nodes.
type simJob struct {
	policy       corev1.RestartPolicy
	command      []string
	args         []string
	init         []string // command of an init container, if any
	annotations  map[string]string
	backoffLimit int32
	completions  int32
	parallelism  int32
}

func (s simJob) build(name string) *kbatchv1.Job {
	job := &kbatchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: kbatchv1.JobSpec{
			BackoffLimit: ptr.To(s.backoffLimit),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Annotations: s.annotations},
				Spec: corev1.PodSpec{
					RestartPolicy: s.policy,
					Containers:    []corev1.Container{{Name: "main", Image: "busybox", Command: s.command, Args: s.args}},
				},
			},
		},
	}
	if s.completions > 0 {
		job.Spec.Completions = ptr.To(s.completions)
	}
	if s.parallelism > 0 {
		job.Spec.Parallelism = ptr.To(s.parallelism)
	}
	if s.init != nil {
		job.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", Command: s.init}}
	}
	return job
}

// simRun is what a test saw while the Job ran: the Job and its Pods when
// the wait ended, and what polling observed on the way (Pods of a failed
// Job are deleted by the Job controller, so their restarts are seen only
// while they run).
type simRun struct {
	job          *kbatchv1.Job
	pods         []corev1.Pod
	maxRestarts  int32
	lastExit     map[int32]bool // exit codes seen in lastState.terminated
	maxReady     int32          // highest Job .status.ready
	readyRunning bool           // a Running Pod had Ready=True
}

// runSimJob creates the Job in a fresh namespace and polls it and its Pods
// until done(run) or the timeout.
func runSimJob(t *testing.T, s simJob, timeout time.Duration, what string, done func(*simRun) bool) *simRun {
	t.Helper()
	ns := cluster.Namespace(t)
	ctx := context.Background()
	job, err := cluster.Kube.BatchV1().Jobs(ns).Create(ctx, s.build("sim"), metav1.CreateOptions{})
	require.NoError(t, err)
	run := &simRun{job: job, lastExit: map[int32]bool{}}
	start := time.Now()
	framework.Eventually(t, timeout, what, func(ctx context.Context) (bool, error) {
		j, err := cluster.Kube.BatchV1().Jobs(ns).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pods, err := cluster.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job.Name})
		if err != nil {
			return false, err
		}
		run.job, run.pods = j, pods.Items
		if ptr.Deref(j.Status.Ready, 0) > run.maxReady {
			run.maxReady = ptr.Deref(j.Status.Ready, 0)
		}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && podReady(&p) {
				run.readyRunning = true
			}
			for _, cs := range p.Status.ContainerStatuses {
				if cs.RestartCount > run.maxRestarts {
					run.maxRestarts = cs.RestartCount
				}
				if term := cs.LastTerminationState.Terminated; term != nil {
					run.lastExit[term.ExitCode] = true
				}
			}
		}
		return done(run), nil
	})
	var reasons []string
	for _, c := range run.job.Status.Conditions {
		reasons = append(reasons, string(c.Type)+"/"+c.Reason)
	}
	t.Logf("after %v: Job succeeded=%d failed=%d conditions=%v; %d Pods, max restartCount %d",
		time.Since(start).Round(100*time.Millisecond), run.job.Status.Succeeded, run.job.Status.Failed,
		reasons, len(run.pods), run.maxRestarts)
	return run
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// jobFinished is true once the Job has its Complete or Failed condition.
func jobFinished(run *simRun) bool {
	return kit.KubeTrueCondition(run.job, kbatchv1.JobComplete) != nil || kit.KubeTrueCondition(run.job, kbatchv1.JobFailed) != nil
}

// requireComplete fails unless the Job completed.
func requireComplete(t *testing.T, run *simRun) {
	t.Helper()
	require.NotNil(t, kit.KubeTrueCondition(run.job, kbatchv1.JobComplete), "Job conditions: %+v", run.job.Status.Conditions)
}

// requireFailed fails unless the Job failed with reason.
func requireFailed(t *testing.T, run *simRun, reason string) {
	t.Helper()
	c := kit.KubeTrueCondition(run.job, kbatchv1.JobFailed)
	require.NotNil(t, c, "Job conditions: %+v", run.job.Status.Conditions)
	assert.Equal(t, reason, c.Reason)
}

// terminated returns the main container's terminated state of every Pod in
// phase, failing if it has none.
func terminated(t *testing.T, run *simRun, phase corev1.PodPhase) []*corev1.ContainerStateTerminated {
	t.Helper()
	var out []*corev1.ContainerStateTerminated
	for _, p := range run.pods {
		if p.Status.Phase != phase {
			continue
		}
		require.Len(t, p.Status.ContainerStatuses, 1, "Pod %s", p.Name)
		term := p.Status.ContainerStatuses[0].State.Terminated
		require.NotNil(t, term, "Pod %s: %+v", p.Name, p.Status.ContainerStatuses[0].State)
		out = append(out, term)
	}
	return out
}

// requireOnePod returns the only Pod in phase with its terminated main
// container.
func requireOnePod(t *testing.T, run *simRun, phase corev1.PodPhase) *corev1.ContainerStateTerminated {
	t.Helper()
	terms := terminated(t, run, phase)
	require.Len(t, terms, 1, "Pods in phase %s", phase)
	return terms[0]
}

func runTime(term *corev1.ContainerStateTerminated) time.Duration {
	return term.FinishedAt.Sub(term.StartedAt.Time)
}

// TestSimulatedNode runs built-in batch/v1 Jobs (kube-controller-manager's
// Job controller) on the kwok nodes and checks the contract of the project's
// stages (docs/simulated-nodes.md): commands and annotations decide how
// long a container runs and how it exits, OnFailure restarts in place, Never
// ends the Pod, init containers run first, running Pods are Ready.
func TestSimulatedNode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		job    simJob
		until  func(*simRun) bool // default: the Job finished
		verify func(t *testing.T, run *simRun)
	}{{
		name: "sleep runs its seconds",
		job:  simJob{policy: corev1.RestartPolicyNever, command: []string{"sleep", "3"}},
		verify: func(t *testing.T, run *simRun) {
			requireComplete(t, run)
			term := requireOnePod(t, run, corev1.PodSucceeded)
			assert.Equal(t, int32(0), term.ExitCode)
			assert.Equal(t, "Completed", term.Reason)
			assert.GreaterOrEqual(t, runTime(term), 3*time.Second)
			assert.LessOrEqual(t, runTime(term), 6*time.Second)
			took := run.job.Status.CompletionTime.Sub(run.job.Status.StartTime.Time)
			assert.GreaterOrEqual(t, took, 3*time.Second, "Job duration")
		},
	}, {
		name: "sleep in args through sh -c",
		job:  simJob{policy: corev1.RestartPolicyOnFailure, command: []string{"sh", "-c"}, args: []string{"sleep 2"}},
		verify: func(t *testing.T, run *simRun) {
			requireComplete(t, run)
			term := requireOnePod(t, run, corev1.PodSucceeded)
			assert.GreaterOrEqual(t, runTime(term), 2*time.Second)
		},
	}, {
		name: "true exits 0",
		job:  simJob{policy: corev1.RestartPolicyNever, command: []string{"true"}},
		verify: func(t *testing.T, run *simRun) {
			requireComplete(t, run)
			term := requireOnePod(t, run, corev1.PodSucceeded)
			assert.Equal(t, int32(0), term.ExitCode)
			assert.Equal(t, int32(1), run.job.Status.Succeeded)
		},
	}, {
		name: "false with Never fails the Pods",
		job:  simJob{policy: corev1.RestartPolicyNever, command: []string{"false"}, backoffLimit: 1},
		verify: func(t *testing.T, run *simRun) {
			requireFailed(t, run, "BackoffLimitExceeded")
			assert.Equal(t, int32(2), run.job.Status.Failed)
			terms := terminated(t, run, corev1.PodFailed)
			require.Len(t, terms, 2)
			for _, term := range terms {
				assert.Equal(t, int32(1), term.ExitCode)
				assert.Equal(t, "Error", term.Reason)
			}
			assert.Zero(t, run.maxRestarts, "Never does not restart")
		},
	}, {
		name: "false with OnFailure restarts in place",
		job:  simJob{policy: corev1.RestartPolicyOnFailure, command: []string{"false"}, backoffLimit: 2},
		verify: func(t *testing.T, run *simRun) {
			requireFailed(t, run, "BackoffLimitExceeded")
			assert.GreaterOrEqual(t, run.maxRestarts, int32(1), "restartCount grew")
			assert.True(t, run.lastExit[1], "lastState.terminated has exit code 1")
			assert.Empty(t, terminated(t, run, corev1.PodFailed), "the Pod itself never failed")
		},
	}, {
		name: "a long OnFailure restart loop reaches the backoff limit",
		job: simJob{
			policy: corev1.RestartPolicyOnFailure, command: []string{"sh", "-c", "echo working"},
			annotations: map[string]string{simExitCode: "1"}, backoffLimit: 6,
		},
		verify: func(t *testing.T, run *simRun) {
			requireFailed(t, run, "BackoffLimitExceeded")
			assert.GreaterOrEqual(t, run.maxRestarts, int32(5), "restartCount grew run after run")
			assert.True(t, run.lastExit[1])
			assert.True(t, run.readyRunning, "the restarting Pod stayed Ready")
		},
	}, {
		name: "exit-code annotation",
		job: simJob{
			policy: corev1.RestartPolicyNever, command: []string{"sleep", "1"},
			annotations: map[string]string{simExitCode: "3"},
		},
		verify: func(t *testing.T, run *simRun) {
			requireFailed(t, run, "BackoffLimitExceeded")
			term := requireOnePod(t, run, corev1.PodFailed)
			assert.Equal(t, int32(3), term.ExitCode)
			assert.Equal(t, "Error", term.Reason)
		},
	}, {
		name: "duration annotation overrides the command",
		job: simJob{
			policy: corev1.RestartPolicyNever, command: []string{"sleep", "600"},
			annotations: map[string]string{simDuration: "4s"},
		},
		verify: func(t *testing.T, run *simRun) {
			requireComplete(t, run)
			term := requireOnePod(t, run, corev1.PodSucceeded)
			assert.GreaterOrEqual(t, runTime(term), 4*time.Second)
			assert.LessOrEqual(t, runTime(term), 7*time.Second)
		},
	}, {
		name: "fail-percent 100 always fails",
		job: simJob{
			policy: corev1.RestartPolicyNever, command: []string{"true"},
			annotations: map[string]string{simFailPercent: "100"},
		},
		verify: func(t *testing.T, run *simRun) {
			requireFailed(t, run, "BackoffLimitExceeded")
			assert.Equal(t, int32(1), requireOnePod(t, run, corev1.PodFailed).ExitCode)
		},
	}, {
		name: "fail-percent 0 never fails",
		job: simJob{
			policy: corev1.RestartPolicyNever, command: []string{"false"},
			annotations: map[string]string{simFailPercent: "0"},
		},
		verify: func(t *testing.T, run *simRun) {
			requireComplete(t, run)
			assert.Equal(t, int32(0), requireOnePod(t, run, corev1.PodSucceeded).ExitCode)
		},
	}, {
		// Ten Pods at a time, so that the Job controller's failure back-off
		// (which grows with failures after the last success) cannot stall it.
		name: "fail-percent 50 gives successes and failures",
		job: simJob{
			policy: corev1.RestartPolicyNever, command: []string{"sleep", "1"},
			annotations: map[string]string{simFailPercent: "50"},
			completions: 20, parallelism: 10, backoffLimit: 100,
		},
		until: func(run *simRun) bool {
			return run.job.Status.Succeeded > 0 && run.job.Status.Failed > 0
		},
		verify: func(t *testing.T, run *simRun) {
			for _, term := range terminated(t, run, corev1.PodSucceeded) {
				assert.Equal(t, int32(0), term.ExitCode)
			}
			for _, term := range terminated(t, run, corev1.PodFailed) {
				assert.Equal(t, int32(1), term.ExitCode)
			}
		},
	}, {
		// With one draw per Pod a failing Pod would fail forever; every run
		// draws again, so all of them succeed in the end.
		name: "fail-percent 50 with OnFailure draws on every run",
		job: simJob{
			policy: corev1.RestartPolicyOnFailure, command: []string{"sleep", "1"},
			annotations: map[string]string{simFailPercent: "50"},
			completions: 4, parallelism: 4, backoffLimit: 100,
		},
		verify: func(t *testing.T, run *simRun) {
			requireComplete(t, run)
			assert.Len(t, terminated(t, run, corev1.PodSucceeded), 4)
		},
	}, {
		name: "init container runs before the main container",
		job: simJob{
			policy: corev1.RestartPolicyOnFailure, command: []string{"sleep", "1"},
			init: []string{"sh", "-c", "sleep 2"},
		},
		verify: func(t *testing.T, run *simRun) {
			requireComplete(t, run)
			main := requireOnePod(t, run, corev1.PodSucceeded)
			var pod *corev1.Pod
			for i := range run.pods {
				if run.pods[i].Status.Phase == corev1.PodSucceeded {
					pod = &run.pods[i]
				}
			}
			require.Len(t, pod.Status.InitContainerStatuses, 1)
			init := pod.Status.InitContainerStatuses[0].State.Terminated
			require.NotNil(t, init, "init container state: %+v", pod.Status.InitContainerStatuses[0].State)
			assert.Equal(t, "Completed", init.Reason)
			assert.Equal(t, int32(0), init.ExitCode)
			assert.GreaterOrEqual(t, runTime(init), 2*time.Second)
			assert.False(t, main.StartedAt.Before(&init.FinishedAt), "main started %v, init finished %v", main.StartedAt, init.FinishedAt)
			assert.GreaterOrEqual(t, main.FinishedAt.Sub(init.StartedAt.Time), 3*time.Second)
		},
	}, {
		name: "running Pods are Ready",
		job: simJob{
			policy: corev1.RestartPolicyNever, command: []string{"sleep", "6"},
			completions: 2, parallelism: 2,
		},
		verify: func(t *testing.T, run *simRun) {
			requireComplete(t, run)
			assert.Equal(t, int32(2), run.maxReady, "Job .status.ready counted both running Pods")
			assert.True(t, run.readyRunning)
			assert.Equal(t, int32(0), ptr.Deref(run.job.Status.Ready, 0), "finished Pods are not Ready")
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			until := tc.until
			if until == nil {
				until = jobFinished
			}
			run := runSimJob(t, tc.job, 2*time.Minute, fmt.Sprintf("Job %q", tc.name), until)
			tc.verify(t, run)
		})
	}
}

// TestSimulatedNodesAdvertiseOnlyLoopback: kube-apiserver dials a Node's
// address and kubelet port for pods/log, exec and port-forward. Every
// simulated node must advertise 127.0.0.1 and kwok's server port, so that no
// component ever dials outside loopback.
func TestSimulatedNodesAdvertiseOnlyLoopback(t *testing.T) {
	nodes, err := cluster.Kube.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, nodes.Items)
	for _, node := range nodes.Items {
		require.NotEmpty(t, node.Status.Addresses, "node %s advertises no address", node.Name)
		for _, addr := range node.Status.Addresses {
			ip := net.ParseIP(addr.Address)
			assert.True(t, ip != nil && ip.IsLoopback(), "node %s advertises %s %q, not a loopback address", node.Name, addr.Type, addr.Address)
		}
		assert.Equal(t, cluster.KwokPort, strconv.Itoa(int(node.Status.DaemonEndpoints.KubeletEndpoint.Port)),
			"node %s: the kubelet port is kwok's", node.Name)
	}
}

// TestSimulatedContainerLogs: `kubectl logs` of a simulated container
// answers the simulated nodes' log (kwok, on loopback), for a Pod found by
// its Job's label as the chapter does.
func TestSimulatedContainerLogs(t *testing.T) {
	run := runSimJob(t, simJob{policy: corev1.RestartPolicyNever, command: []string{"true"}}, time.Minute, "the Job to finish", jobFinished)
	requireComplete(t, run)
	out := cluster.MustRun(t, "logs", "-n", run.job.Namespace, "-l", "job-name="+run.job.Name, "--all-containers", "--prefix")
	assert.Contains(t, out, "[pod/"+run.pods[0].Name+"/main] simulated container: kwok plays the kubelet on this node, no process ran")
	assert.Contains(t, out, "decided how it ended")
}
