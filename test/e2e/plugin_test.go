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
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	kbatchv1 "k8s.io/api/batch/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	"github.com/jobserver-dev/jobserver/test/e2e/framework"
	"github.com/jobserver-dev/jobserver/test/kit"
)

var (
	uidPattern      = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	podNamePattern  = regexp.MustCompile(`quiz-init-[a-z0-9]{5}\b`)
	timeLinePattern = regexp.MustCompile(`^(Start Time|Completed At|Duration):.*$`)
)

// maskDescribe blanks what must differ between two describes of Jobs with
// the same spec: UIDs, times, generated Pod names, and in each event line
// its age and source (jobserver-controller vs job-controller). Runs of
// blanks become one, since columns are as wide as their widest cell.
func maskDescribe(out string) []string {
	var lines []string
	inEvents := false
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		line = uidPattern.ReplaceAllString(line, "UID")
		line = podNamePattern.ReplaceAllString(line, "quiz-init-POD")
		line = timeLinePattern.ReplaceAllString(line, "$1: TIME")
		fields := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "Events:"):
			inEvents = true
		case inEvents && len(fields) >= 5 && (fields[0] == "Normal" || fields[0] == "Warning"):
			fields[2], fields[3] = "AGE", "SOURCE" // Type Reason Age From Message
		}
		lines = append(lines, strings.Join(fields, " "))
	}
	return lines
}

// TestPluginDescribeMatchesKubectl: `kubectl jobserver describe job` of a
// jobserver Job prints, line for line, what `kubectl describe job` prints
// for a batch/v1 Job of the same spec run in the same cluster, events
// included, once names, UIDs, times and the event source are masked.
func TestPluginDescribeMatchesKubectl(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	raw, err := os.ReadFile(example("job.quiz-init.yaml"))
	require.NoError(t, err)
	builtinManifest := strings.Replace(string(raw), "apiVersion: batch.jobserver.dev/v1", "apiVersion: batch/v1", 1)
	require.NotEqual(t, string(raw), builtinManifest)
	builtinFile := t.TempDir() + "/builtin.yaml"
	require.NoError(t, os.WriteFile(builtinFile, []byte(builtinManifest), 0o600))
	cluster.MustRun(t, "apply", "-n", ns, "-f", builtinFile)
	cluster.MustRun(t, "apply", "-n", ns, "-f", example("job.quiz-init.yaml"))

	framework.Eventually(t, 3*time.Minute, "both Jobs to complete with their events", func(ctx context.Context) (bool, error) {
		builtin, err := cluster.Kube.BatchV1().Jobs(ns).Get(ctx, "quiz-init", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ours, err := cluster.Jobs.BatchV1().Jobs(ns).Get(ctx, "quiz-init", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if kit.KubeTrueCondition(builtin, kbatchv1.JobComplete) == nil || !condition.IsTrue(ours.Status.Conditions, batchv1.JobComplete) {
			return false, nil
		}
		// Both controllers record SuccessfulCreate and Completed.
		events, err := cluster.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		completed := 0
		for _, e := range events.Items {
			if e.Reason == "Completed" {
				completed++
			}
		}
		return completed == 2, nil
	})
	builtin := cluster.MustRun(t, "describe", "jobs.batch", "quiz-init", "-n", ns)
	ours := cluster.MustRun(t, "jobserver", "describe", "job", "quiz-init", "-n", ns)
	t.Logf("kubectl describe (batch/v1):\n%s\nkubectl jobserver describe:\n%s", builtin, ours)
	assert.Equal(t, maskDescribe(builtin), maskDescribe(ours))
	assert.Contains(t, ours, "Pods Statuses:")
	assert.Contains(t, ours, "jobserver-controller", "the events are jobserver's")
}

// TestPluginLogs: `kubectl jobserver logs job/NAME --all-containers
// --prefix` prints the logs of every Pod of the Job, `--index N` only
// index N's, and a Job without Pods is a clear error.
func TestPluginLogs(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	cluster.MustRun(t, "apply", "-n", ns, "-f", example("job.aggregate-responses-2021.yaml"))
	framework.Eventually(t, 5*time.Minute, "aggregate-responses-2021 to complete", func(ctx context.Context) (bool, error) {
		job, err := cluster.Jobs.BatchV1().Jobs(ns).Get(ctx, "aggregate-responses-2021", metav1.GetOptions{})
		return err == nil && condition.IsTrue(job.Status.Conditions, batchv1.JobComplete), err
	})
	pods, err := cluster.Kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "job-name=aggregate-responses-2021"})
	require.NoError(t, err)
	require.Len(t, pods.Items, 12)

	out := cluster.MustRun(t, "jobserver", "logs", "job/aggregate-responses-2021", "--all-containers", "--prefix", "-n", ns)
	for _, p := range pods.Items {
		for _, c := range p.Spec.Containers {
			assert.Contains(t, out, "[pod/"+p.Name+"/"+c.Name+"] simulated container:", "every pod's log")
		}
	}
	out = cluster.MustRun(t, "jobserver", "logs", "job/aggregate-responses-2021", "--index", "3", "--prefix", "-n", ns)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.NotEmpty(t, lines)
	for _, line := range lines {
		assert.Regexp(t, `^\[pod/aggregate-responses-2021-3-[a-z0-9]+/`, line, "only index 3's pod")
	}

	// The plugin read them through jobs/log; kubectl's way, Pod by Pod
	// (taken with a flag jobs/log does not have), prints the same lines.
	out = cluster.MustRun(t, "jobserver", "logs", "job/aggregate-responses-2021", "--all-containers", "--prefix", "-n", ns)
	podByPod := cluster.MustRun(t, "jobserver", "logs", "job/aggregate-responses-2021", "--all-containers", "--prefix", "--ignore-errors", "-n", ns)
	assert.ElementsMatch(t, strings.Split(podByPod, "\n"), strings.Split(out, "\n"), "jobs/log and pods/log print the same lines")

	// The subresource itself: every line tagged with pod, container, index.
	logPath := "/apis/batch.jobserver.dev/v1/namespaces/" + ns + "/jobs/aggregate-responses-2021/log"
	raw := cluster.MustRun(t, "get", "--raw", logPath+"?index=3")
	rawLines := strings.Split(strings.TrimSpace(raw), "\n")
	require.Len(t, rawLines, 2, "the two lines of index 3's container")
	for _, line := range rawLines {
		assert.Regexp(t, `^\[pod/aggregate-responses-2021-3-[a-z0-9]+/updater index=3\] (simulated container|its command)`, line)
	}

	// get on jobs/log is enough (no pods/log, not even get on jobs); a user
	// without it is refused.
	_, err = cluster.Kube.RbacV1().Roles(ns).Create(context.Background(), &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "job-log-reader"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"batch.jobserver.dev"}, Resources: []string{"jobs/log"}, Verbs: []string{"get"}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = cluster.Kube.RbacV1().RoleBindings(ns).Create(context.Background(), &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "job-log-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "job-log-reader"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "e2e-log-reader", APIGroup: "rbac.authorization.k8s.io"}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	reader := cluster.UserKubeconfig(t, "e2e-log-reader")
	framework.Eventually(t, time.Minute, "the Role to reach jobserver's authorizer", func(context.Context) (bool, error) {
		got, err := cluster.RunAs(reader, "get", "--raw", logPath+"?index=3")
		return err == nil && got == raw, nil
	})
	got, err := cluster.RunAs(reader, "jobserver", "logs", "job/aggregate-responses-2021", "--all-containers", "--prefix", "-n", ns)
	require.NoError(t, err)
	assert.ElementsMatch(t, strings.Split(out, "\n"), strings.Split(got, "\n"), "the plugin needs only get on jobs/log")
	_, err = cluster.RunAs(reader, "get", "pods", "-n", ns)
	require.Error(t, err, "the reader has no other rights")

	// Following streams the lines as they come, through kube-apiserver (as
	// the reader, who has no pods/log: through jobs/log). kwok keeps a
	// followed log open (it cannot tell the container ended), so the
	// request ends at its timeout, after the lines arrived.
	follow, err := cluster.RunAs(reader, "jobserver", "logs", "job/aggregate-responses-2021", "--index", "3", "-f", "--timestamps", "--request-timeout=8s", "-n", ns)
	require.Error(t, err, "kwok never ends a followed log")
	assert.Regexp(t, `(?m)^2026-01-01T00:00:00[.0-9]*Z simulated container: kwok plays`, follow, "-f, --timestamps")
	assert.Regexp(t, `(?m)^2026-01-01T00:00:00[.0-9]*Z its command`, follow, "-f, --timestamps")

	nobody := cluster.UserKubeconfig(t, "e2e-no-log-reader")
	_, err = cluster.RunAs(nobody, "get", "--raw", logPath)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `(Forbidden)`)
	assert.Contains(t, err.Error(), `cannot get resource "jobs/log" in API group "batch.jobserver.dev"`)

	cluster.MustRun(t, "apply", "-n", ns, "-f", example("job.demo-suspend.yaml"))
	_, err = cluster.Run("jobserver", "logs", "job/demo-suspend", "-n", ns)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `job "demo-suspend" has no pods to read logs from: it is suspended`)
}
