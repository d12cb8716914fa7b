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
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	clientset "github.com/jobserver-dev/jobserver/pkg/generated/clientset/versioned"
	"github.com/jobserver-dev/jobserver/test/e2e/framework"
	"github.com/jobserver-dev/jobserver/test/kit"
)

// replica is a jobserver process the HA test starts.
type replica struct {
	name string
	port int
	args []string
	proc *kit.Process
	jobs clientset.Interface
	raw  rest.Interface
}

// start starts the replica's process (again) and waits until it is ready.
func (r *replica) start(t *testing.T) {
	t.Helper()
	r.proc = startProcess(t, "jobserver-"+r.name, r.args, "POD_NAME="+r.name)
	framework.Eventually(t, 2*time.Minute, r.name+" to be ready", func(ctx context.Context) (bool, error) {
		_, err := r.raw.Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil, nil
	})
}

// mainJobserver returns the PID and command line of the cluster's jobserver.
func mainJobserver(t *testing.T) (int, []string) {
	t.Helper()
	pidFile := filepath.Join(cluster.LocalDir, "run", "jobserver.pid")
	raw, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.Fields(string(raw))[0])
	require.NoError(t, err)
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	require.NoError(t, err)
	return pid, strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
}

// startProcess runs args in the background, logging to logs/name.log, and
// records it in run/name.pid so hack/local-down.sh would stop it too.
func startProcess(t *testing.T, name string, args []string, env ...string) *kit.Process {
	t.Helper()
	p, err := kit.Start(kit.Command{Path: args[0], Args: args[1:], Env: env,
		LogFile: filepath.Join(cluster.LocalDir, "logs", name+".log")})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(cluster.LocalDir, "run", name+".pid"),
		[]byte(fmt.Sprintf("%d %s\n", p.Pid(), args[0])), 0o644))
	return p
}

// withFlag replaces or adds --name=value in args.
func withFlag(args []string, name, value string) []string {
	out := []string{}
	for _, a := range args {
		if !strings.HasPrefix(a, "--"+name+"=") {
			out = append(out, a)
		}
	}
	return append(out, "--"+name+"="+value)
}

// directConfig talks to a replica's port directly with the admin's client
// certificate (jobserver trusts the cluster's client CA).
func directConfig(t *testing.T, port int) *rest.Config {
	t.Helper()
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Host = "https://127.0.0.1:" + strconv.Itoa(port)
	ca, err := os.ReadFile(filepath.Join(cluster.LocalDir, "pki", "jobserver-ca.crt"))
	require.NoError(t, err)
	cfg.TLSClientConfig.CAData, cfg.TLSClientConfig.CAFile = ca, ""
	cfg.TLSClientConfig.ServerName = "jobserver.jobserver-system.svc"
	return cfg
}

func syncsOf(t *testing.T, r *replica) float64 {
	raw, err := r.raw.Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		return -1
	}
	total := 0.0
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "jobserver_job_controller_job_syncs_total{") {
			fields := strings.Fields(line)
			v, _ := strconv.ParseFloat(fields[len(fields)-1], 64)
			total += v
		}
	}
	return total
}

// stopMainJobserver stops the cluster's jobserver (SIGTERM) and returns its
// command line and restart, which starts it again on the same flags and
// waits until it serves; restart runs when the test ends if the test has
// not run it.
func stopMainJobserver(t *testing.T) (args []string, restart func()) {
	t.Helper()
	mainPID, mainArgs := mainJobserver(t)
	require.NoError(t, syscall.Kill(mainPID, syscall.SIGTERM))
	framework.Eventually(t, time.Minute, "the cluster's jobserver to stop", func(context.Context) (bool, error) {
		return syscall.Kill(mainPID, 0) != nil, nil
	})
	var once sync.Once
	restart = func() {
		once.Do(func() {
			// Bring the cluster's own jobserver back for the other tests.
			startProcess(t, "jobserver", mainArgs)
			// Available only means discovery answers; a freshly started
			// jobserver may still be loading the front-proxy CA (requests then
			// look anonymous) and the aggregator its OpenAPI. Wait for both.
			framework.Eventually(t, 2*time.Minute, "the cluster's jobserver to serve again", func(context.Context) (bool, error) {
				if _, err := cluster.Run("wait", "--for=condition=Available", "--timeout=5s", "apiservice/v1.batch.jobserver.dev"); err != nil {
					return false, nil
				}
				if _, err := cluster.Run("get", jobs, "-A"); err != nil {
					return false, nil
				}
				_, err := cluster.Run("explain", "jobs.spec", "--api-version=batch.jobserver.dev/v1")
				return err == nil, nil
			})
		})
	}
	t.Cleanup(restart)
	return mainArgs, restart
}

// startReplicas replaces the cluster's jobserver with two replicas,
// replica-a and replica-b, on shared storage (the cluster's etcd, a fresh
// prefix), with extra flags, and waits until both are ready. The cluster's
// own jobserver comes back when the test ends.
func startReplicas(t *testing.T, extra ...string) []*replica {
	t.Helper()
	mainArgs, _ := stopMainJobserver(t)
	mainPort, _ := strconv.Atoi(cluster.JobserverPort)

	etcd := "http://127.0.0.1:33790"
	run := time.Now().UnixNano()
	prefix := fmt.Sprintf("/jobserver-ha-%d", run)
	// The replicas' store is not the cluster's jobserver's: it has a record
	// of its own, or they would (rightly) refuse to serve it.
	record := fmt.Sprintf("jobserver-store-ha-%d", run)
	t.Cleanup(func() {
		_ = cluster.Kube.CoreV1().ConfigMaps("jobserver-system").Delete(context.Background(), record, metav1.DeleteOptions{})
	})
	var replicas []*replica
	for i, name := range []string{"replica-a", "replica-b"} {
		port := mainPort + 100*i // replica-a serves the APIService's port
		args := withFlag(withFlag(withFlag(withFlag(mainArgs, "etcd-servers", etcd), "etcd-prefix", prefix),
			"secure-port", strconv.Itoa(port)), "store-record", "jobserver-system/"+record)
		args = append(args, extra...)
		cfg := directConfig(t, port)
		r := &replica{name: name, port: port, args: args,
			jobs: clientset.NewForConfigOrDie(cfg), raw: clientset.NewForConfigOrDie(cfg).Discovery().RESTClient()}
		r.proc = startProcess(t, "jobserver-"+name, args, "POD_NAME="+name)
		replicas = append(replicas, r)
		t.Cleanup(func() {
			r.proc.Stop(30 * time.Second)
			_ = os.Remove(filepath.Join(cluster.LocalDir, "run", "jobserver-"+r.name+".pid"))
		})
	}
	for _, r := range replicas {
		framework.Eventually(t, 2*time.Minute, r.name+" to be ready", func(ctx context.Context) (bool, error) {
			_, err := r.raw.Get().AbsPath("/readyz").DoRaw(ctx)
			return err == nil, nil
		})
	}
	return replicas
}

// leaseHolder returns the replica holding the controllers' Lease, and the
// other one, once one holds it.
func leaseHolder(t *testing.T, replicas []*replica, not *replica) (leader, follower *replica) {
	t.Helper()
	framework.Eventually(t, time.Minute, "a leader", func(ctx context.Context) (bool, error) {
		lease, err := cluster.Kube.CoordinationV1().Leases("jobserver-system").Get(ctx, "jobserver-controller", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for i, r := range replicas {
			if r != not && ptr.Deref(lease.Spec.HolderIdentity, "") == r.name {
				leader, follower = r, replicas[1-i]
				return true, nil
			}
		}
		return false, nil
	})
	return leader, follower
}

// TestHighAvailability runs two jobserver replicas on shared storage: only
// the Lease holder reconciles; killing it with SIGKILL mid-Job, the other
// takes over and the Indexed Job completes with every index succeeded
// exactly once. It replaces the cluster's jobserver while it runs, so it
// is not parallel.
func TestHighAvailability(t *testing.T) {
	replicas := startReplicas(t)

	leader, follower := leaseHolder(t, replicas, nil)
	t.Logf("leader: %s", leader.name)

	ns := cluster.Namespace(t)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "ha"},
		Spec: batchv1.JobSpec{
			CompletionMode: ptr.To(batchv1.IndexedCompletion),
			Completions:    ptr.To[int32](8),
			Parallelism:    ptr.To[int32](2),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"sleep", "3"}}},
			}},
		},
	}
	_, err := follower.jobs.BatchV1().Jobs(ns).Create(context.Background(), job, metav1.CreateOptions{})
	require.NoError(t, err)

	// Mid-Job: some indexes done, others running.
	framework.Eventually(t, 2*time.Minute, "two indexes to succeed", func(ctx context.Context) (bool, error) {
		j, err := follower.jobs.BatchV1().Jobs(ns).Get(ctx, "ha", metav1.GetOptions{})
		return err == nil && j.Status.Succeeded >= 2, err
	})
	assert.Greater(t, syncsOf(t, leader), 0.0, "the leader reconciles")
	assert.Equal(t, 0.0, syncsOf(t, follower), "the follower does not")

	leader.proc.Kill()
	t.Logf("killed %s with SIGKILL", leader.name)

	var done *batchv1.Job
	framework.Eventually(t, 3*time.Minute, "the Job to complete under the new leader", func(ctx context.Context) (bool, error) {
		done, err = follower.jobs.BatchV1().Jobs(ns).Get(ctx, "ha", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return condition.IsTrue(done.Status.Conditions, batchv1.JobComplete), nil
	})
	assert.Greater(t, syncsOf(t, follower), 0.0, "the follower took over")
	assert.Equal(t, "0-7", done.Status.CompletedIndexes)
	assert.Equal(t, int32(8), done.Status.Succeeded)
	assert.Equal(t, int32(0), done.Status.Failed)

	perIndex := map[string]int{}
	for _, p := range podsOf(t, ns, "ha") {
		if p.Status.Phase == corev1.PodSucceeded {
			perIndex[p.Labels["batch.kubernetes.io/job-completion-index"]]++
		}
	}
	for i := 0; i < 8; i++ {
		assert.Equal(t, 1, perIndex[strconv.Itoa(i)], "index %d succeeded exactly once", i)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%v", perIndex)
	t.Logf("succeeded pods per index: %s", buf.String())
}

// TestLeaderChaos SIGKILLs the leading replica 20 times during a 200-index
// Indexed Job whose pods finish throughout. After each kill the other
// replica takes the Lease (3 s leases here) and the killed one is started
// again, so two replicas run throughout. Every index succeeds exactly
// once, status says 200 succeeded and none failed, and no more pods are
// created than 200 + kills × parallelism. Not parallel: it replaces the
// cluster's jobserver.
func TestLeaderChaos(t *testing.T) {
	const completions, parallelism, kills = 200, 20, 20
	replicas := startReplicas(t, "--leader-elect-lease-duration=3s", "--leader-elect-renew-deadline=2s", "--leader-elect-retry-period=500ms")
	ns := cluster.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	// Every pod ever created for the Job, from a watch started before it.
	w, err := cluster.Kube.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: "job-name=chaos"})
	require.NoError(t, err)
	var mu sync.Mutex
	created := map[string]bool{}
	go func() {
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type == watch.Added {
				mu.Lock()
				created[p.Name] = true
				mu.Unlock()
			}
		}
	}()
	defer w.Stop()

	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "chaos"},
		Spec: batchv1.JobSpec{
			CompletionMode: ptr.To(batchv1.IndexedCompletion),
			Completions:    ptr.To[int32](completions),
			Parallelism:    ptr.To[int32](parallelism),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"sleep", "20"}}},
			}},
		},
	}
	_, err = replicas[0].jobs.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{})
	require.NoError(t, err)
	get := func() *batchv1.Job {
		for _, r := range replicas {
			if j, err := r.jobs.BatchV1().Jobs(ns).Get(ctx, "chaos", metav1.GetOptions{}); err == nil {
				return j
			}
		}
		t.Fatal("no replica answers")
		return nil
	}

	// Ten waves of 20 s pods: about 200 s of work, against about 7 s per
	// kill (2 s leading, 3.5 s takeover, the restart), so all 20 kills land
	// while pods run and finish.
	for kill := 1; kill <= kills; kill++ {
		leader, _ := leaseHolder(t, replicas, nil)
		time.Sleep(2 * time.Second) // lead a little: create and count pods
		j := get()
		require.False(t, condition.IsTrue(j.Status.Conditions, batchv1.JobComplete),
			"the Job finished after %d of %d kills; make it longer", kill-1, kills)
		leader.proc.Kill()
		t.Logf("kill %d: %s (succeeded %d, active %d)", kill, leader.name, j.Status.Succeeded, j.Status.Active)
		leaseHolder(t, replicas, leader) // the other takes over
		leader.start(t)
	}

	var done *batchv1.Job
	framework.Eventually(t, 5*time.Minute, "the Job to complete after the kills", func(context.Context) (bool, error) {
		done = get()
		return condition.IsTrue(done.Status.Conditions, batchv1.JobComplete), nil
	})
	assert.Equal(t, "0-199", done.Status.CompletedIndexes)
	assert.Equal(t, int32(completions), done.Status.Succeeded)
	assert.Equal(t, int32(0), done.Status.Failed)
	perIndex := map[string]int{}
	for _, p := range podsOf(t, ns, "chaos") {
		if p.Status.Phase == corev1.PodSucceeded {
			perIndex[p.Labels["batch.kubernetes.io/job-completion-index"]]++
		}
	}
	for i := range completions {
		assert.Equal(t, 1, perIndex[strconv.Itoa(i)], "index %d succeeded exactly once", i)
	}
	mu.Lock()
	n := len(created)
	mu.Unlock()
	t.Logf("%d pods created for %d completions over %d kills", n, completions, kills)
	assert.LessOrEqual(t, n, completions+kills*parallelism, "pods created")
}
