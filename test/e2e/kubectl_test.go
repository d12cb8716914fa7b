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
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const jobs = "jobs.batch.jobserver.dev"

// jobYAML is a small Job in batch.jobserver.dev/v1.
func jobYAML(name string, extraSpec string) string {
	return fmt.Sprintf(`apiVersion: batch.jobserver.dev/v1
kind: Job
metadata:
  name: %s
spec:
%s  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox:1.36
        command: ["sleep", "30"]
`, name, extraSpec)
}

// apply pipes a manifest into kubectl.
func apply(t *testing.T, manifest string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cluster.Kubectl, append([]string{"--kubeconfig=" + cluster.Kubeconfig, "apply", "-f", "-"}, args...)...)
	cmd.Stdin = strings.NewReader(manifest)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestAPIResourcesAndExplain(t *testing.T) {
	out := cluster.MustRun(t, "api-resources", "--api-group=batch.jobserver.dev", "-o", "wide")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	fields := strings.Fields(lines[1])
	assert.Equal(t, []string{"jobs", "jsjob", "batch.jobserver.dev/v1", "true", "Job"}, fields[:5])
	assert.Contains(t, lines[1], "all,jobserver", "categories")

	out = cluster.MustRun(t, "explain", "jobs.spec.completionMode", "--api-version=batch.jobserver.dev/v1")
	assert.Contains(t, out, "GROUP:      batch.jobserver.dev")
	assert.Contains(t, out, "FIELD: completionMode <string>")
	assert.Contains(t, out, "Indexed")

	// The built-in Job is still the default for "jobs".
	out = cluster.MustRun(t, "explain", "jobs")
	assert.Contains(t, out, "GROUP:      batch\n")
}

func TestApplyGetDescribe(t *testing.T) {
	ns := cluster.Namespace(t)
	out, err := apply(t, jobYAML("client-side", "  completions: 3\n  parallelism: 2\n"), "-n", ns)
	require.NoError(t, err, out)
	assert.Contains(t, out, "job.batch.jobserver.dev/client-side created")

	// Re-applying an unchanged manifest changes nothing.
	out, err = apply(t, jobYAML("client-side", "  completions: 3\n  parallelism: 2\n"), "-n", ns)
	require.NoError(t, err, out)
	assert.Contains(t, out, "unchanged")

	// get: upstream's columns; -o wide adds CONTAINERS, IMAGES, SELECTOR.
	out = cluster.MustRun(t, "get", jobs, "-n", ns)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	assert.Equal(t, []string{"NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"}, strings.Fields(lines[0]))
	row := strings.Fields(lines[1])
	assert.Equal(t, []string{"client-side", "Running", "0/3"}, row[:3])

	out = cluster.MustRun(t, "get", "jsjob", "-n", ns, "-o", "wide")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	assert.Equal(t, []string{"NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"}, strings.Fields(lines[0]))
	row = strings.Fields(lines[1])
	assert.Equal(t, "main", row[len(row)-3])
	assert.Equal(t, "busybox:1.36", row[len(row)-2])
	assert.True(t, strings.HasPrefix(row[len(row)-1], "batch.kubernetes.io/controller-uid="), row)

	out = cluster.MustRun(t, "describe", jobs, "client-side", "-n", ns)
	for _, want := range []string{`Name:\s+client-side`, `API Version:\s+batch.jobserver.dev/v1`, `Kind:\s+Job`,
		`Completions:\s+3`, `Parallelism:\s+2`, `batch.kubernetes.io/controller-uid`} {
		assert.Regexp(t, want, out)
	}
}

func TestServerSideApply(t *testing.T) {
	ns := cluster.Namespace(t)
	manifest := jobYAML("ssa", "  parallelism: 2\n  completions: 4\n")
	out, err := apply(t, manifest, "-n", ns, "--server-side", "--field-manager=alice")
	require.NoError(t, err, out)
	assert.Contains(t, out, "serverside-applied")

	job, err := cluster.Jobs.BatchV1().Jobs(ns).Get(context.Background(), "ssa", metav1.GetOptions{})
	require.NoError(t, err)
	var managers []string
	for _, m := range job.ManagedFields {
		managers = append(managers, m.Manager+"/"+string(m.Operation))
	}
	assert.Contains(t, managers, "alice/Apply")

	// bob wants another parallelism: a conflict naming alice and the field.
	out, err = apply(t, jobYAML("ssa", "  parallelism: 3\n  completions: 4\n"), "-n", ns, "--server-side", "--field-manager=bob")
	require.Error(t, err)
	assert.Contains(t, out, "conflict")
	assert.Contains(t, out, `"alice"`)
	assert.Contains(t, out, ".spec.parallelism")

	out, err = apply(t, jobYAML("ssa", "  parallelism: 3\n  completions: 4\n"), "-n", ns, "--server-side", "--field-manager=bob", "--force-conflicts")
	require.NoError(t, err, out)
	got := cluster.MustRun(t, "get", jobs, "ssa", "-n", ns, "-o", "jsonpath={.spec.parallelism}")
	assert.Equal(t, "3", got)
}

func TestPatch(t *testing.T) {
	ns := cluster.Namespace(t)
	out, err := apply(t, jobYAML("patched", ""), "-n", ns)
	require.NoError(t, err, out)

	for _, tc := range []struct {
		typ, patch, jsonpath, want string
	}{
		{"merge", `{"spec":{"parallelism":3}}`, "{.spec.parallelism}", "3"},
		{"json", `[{"op":"replace","path":"/spec/backoffLimit","value":2}]`, "{.spec.backoffLimit}", "2"},
		{"strategic", `{"metadata":{"labels":{"team":"a"}}}`, "{.metadata.labels.team}", "a"},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			out := cluster.MustRun(t, "patch", jobs, "patched", "-n", ns, "--type="+tc.typ, "-p", tc.patch)
			assert.Contains(t, out, "patched")
			assert.Equal(t, tc.want, cluster.MustRun(t, "get", jobs, "patched", "-n", ns, "-o", "jsonpath="+tc.jsonpath))
		})
	}

	// The template of a running Job is immutable: a clear 422.
	_, err = cluster.Run("patch", jobs, "patched", "-n", ns, "--type=strategic",
		"-p", `{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"busybox:2"}]}}}}`)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `The Job "patched" is invalid`)
	assert.Contains(t, err.Error(), "spec.template: Invalid value")
	assert.Contains(t, err.Error(), "field is immutable")
}

func TestGetWatch(t *testing.T) {
	ns := cluster.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cluster.Kubectl, "--kubeconfig="+cluster.Kubeconfig, "get", jobs, "-n", ns, "-w", "--output-watch-events")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { cancel(); _ = cmd.Wait() }()
	lines := make(chan string, 16)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	// Give the watch a moment to be established: retry creates until seen.
	next := func(want string) {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				require.True(t, ok, "kubectl get -w ended")
				if strings.Contains(l, want) {
					return
				}
			case <-ctx.Done():
				t.Fatalf("no line with %q", want)
			}
		}
	}
	out, err := apply(t, jobYAML("watched", "  suspend: true\n"), "-n", ns)
	require.NoError(t, err, out)
	next("ADDED")
	cluster.MustRun(t, "label", jobs, "watched", "-n", ns, "x=y")
	next("MODIFIED")
	cluster.MustRun(t, "delete", jobs, "watched", "-n", ns, "--wait=false")
	next("DELETED")
}

func TestWaitForConditionAndDelete(t *testing.T) {
	ns := cluster.Namespace(t)
	// The controller runs it: one Pod that succeeds after 3 seconds.
	job := strings.Replace(jobYAML("waited", ""), `["sleep", "30"]`, `["sleep", "3"]`, 1)
	out, err := apply(t, job, "-n", ns)
	require.NoError(t, err, out)

	_, err = cluster.Run("wait", "--for=condition=complete", "--timeout=120s", jobs+"/waited", "-n", ns)
	require.NoError(t, err)
	out = cluster.MustRun(t, "get", jobs, "waited", "-n", ns, "--no-headers")
	assert.Equal(t, []string{"waited", "Complete", "1/1"}, strings.Fields(out)[:3])

	waitDone := make(chan error, 1)
	go func() {
		_, err := cluster.Run("wait", "--for=delete", "--timeout=60s", jobs+"/waited", "-n", ns)
		waitDone <- err
	}()
	cluster.MustRun(t, "delete", jobs, "waited", "-n", ns, "--wait=false")
	select {
	case err := <-waitDone:
		require.NoError(t, err)
	case <-time.After(90 * time.Second):
		t.Fatal("kubectl wait --for=delete did not return")
	}
}
