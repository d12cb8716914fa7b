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
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	kbatchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/jobserver-dev/jobserver/test/e2e/framework"
)

// dropInPriority is the groupPriorityMinimum that the drop-in component
// (artifacts/deploy/components/drop-in) gives jobserver's APIService.
func dropInPriority(t *testing.T) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(cluster.Root, "artifacts", "deploy", "components", "drop-in", "kustomization.yaml"))
	require.NoError(t, err)
	var component struct {
		Patches []struct{ Patch string } `json:"patches"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &component))
	require.Len(t, component.Patches, 1)
	var ops []struct {
		Path  string `json:"path"`
		Value int    `json:"value"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(component.Patches[0].Patch), &ops))
	require.Len(t, ops, 1)
	require.Equal(t, "/spec/groupPriorityMinimum", ops[0].Path)
	require.Greater(t, ops[0].Value, 17400, "above the built-in batch group's")
	return ops[0].Value
}

func groupPriority(t *testing.T) string {
	t.Helper()
	return strings.TrimSpace(cluster.MustRun(t, "get", "apiservice", "v1.batch.jobserver.dev", "-o", "jsonpath={.spec.groupPriorityMinimum}"))
}

func setGroupPriority(t *testing.T, priority string) {
	t.Helper()
	cluster.MustRun(t, "patch", "apiservice", "v1.batch.jobserver.dev", "--type=merge",
		"-p", fmt.Sprintf(`{"spec":{"groupPriorityMinimum":%s}}`, priority))
}

// TestDropInMode runs the chapter's kubectl commands verbatim, with bare
// "job"/"jobs", against jobserver's Jobs once the APIService has the
// drop-in component's priority; and checks that the default priority keeps
// the bare names on the built-in batch/v1 Jobs. It changes what the bare
// name means cluster-wide, so it does not run in parallel with other tests
// (and those name their resources by group anyway).
func TestDropInMode(t *testing.T) {
	ns := cluster.Namespace(t)
	ctx := context.Background()
	// A kubeconfig whose context is the test's namespace, so the commands
	// are the chapter's, word for word.
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	raw, err := os.ReadFile(cluster.Kubeconfig)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(kubeconfig, raw, 0o600))
	_, err = cluster.RunAs(kubeconfig, "config", "set-context", "--current", "--namespace="+ns)
	require.NoError(t, err)
	kubectl := func(cacheDir string, args ...string) string {
		t.Helper()
		out, err := cluster.RunWithCache(kubeconfig, cacheDir, args...)
		require.NoError(t, err)
		return out
	}
	// bareJobs lists what a bare `kubectl get jobs` shows, with discovery
	// read afresh.
	// (Errors are returned: while the priority changes, discovery may
	// briefly fail, and the waits below retry.)
	bareJobs := func() (string, error) {
		dir, err := os.MkdirTemp("", "kubectl-cache-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(dir)
		out, err := cluster.RunWithCache(kubeconfig, dir, "get", "jobs", "-o", "name")
		return strings.TrimSpace(out), err
	}

	// A built-in Job, which the bare name must reach only in default mode.
	_, err = cluster.Kube.BatchV1().Jobs(ns).Create(ctx, &kbatchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "builtin-job"},
		Spec: kbatchv1.JobSpec{Suspend: ptr.To(true), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"true"}}},
		}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	for _, f := range []string{"job.quiz-init.yaml", "job.demo-suspend.yaml", "job.aggregate-responses-2021.yaml"} {
		cluster.MustRun(t, "apply", "-n", ns, "-f", example(f))
	}

	original := groupPriority(t)
	require.NotEqual(t, fmt.Sprint(dropInPriority(t)), original, "the default is not drop-in")
	out, err := bareJobs()
	require.NoError(t, err)
	assert.Equal(t, "job.batch/builtin-job", out, "default mode: the bare name is batch/v1's")
	t.Cleanup(func() {
		setGroupPriority(t, original)
		framework.Eventually(t, time.Minute, "the bare name to mean batch/v1 again", func(context.Context) (bool, error) {
			out, err := bareJobs()
			return err == nil && out == "job.batch/builtin-job", nil
		})
	})
	setGroupPriority(t, fmt.Sprint(dropInPriority(t)))
	framework.Eventually(t, time.Minute, "the bare name to mean batch.jobserver.dev", func(context.Context) (bool, error) {
		out, err := bareJobs()
		return err == nil && strings.Contains(out, "job.batch.jobserver.dev/quiz-init"), nil
	})

	// The chapter's session, verbatim, sharing one discovery cache as a
	// user's kubectl would.
	cache := t.TempDir()
	out = kubectl(cache, "get", "jobs")
	for _, name := range []string{"quiz-init", "demo-suspend", "aggregate-responses-2021"} {
		assert.Contains(t, out, name)
	}
	assert.NotContains(t, out, "builtin-job")
	// kubectl matches a partial group by prefix, so in drop-in mode
	// "jobs.batch" is jobserver's too; the version makes it exact.
	assert.Contains(t, kubectl(cache, "get", "jobs.v1.batch"), "builtin-job", "the built-in Jobs, by group and version")
	kubectl(cache, "wait", "--for=condition=complete", "job/quiz-init", "--timeout=2m")
	out = kubectl(cache, "describe", "job", "quiz-init")
	assert.Contains(t, out, "batch.jobserver.dev/v1", "describe reaches jobserver's Job")
	assert.Contains(t, kubectl(cache, "get", "pods", "-l", "job-name=quiz-init"), "quiz-init-")
	assert.Contains(t, kubectl(cache, "logs", "-l", "job-name=quiz-init", "--all-containers", "--prefix"), "simulated container")
	kubectl(cache, "patch", "job", "demo-suspend", "-p", `{"spec":{"suspend": false}}`)
	demo, err := cluster.Jobs.BatchV1().Jobs(ns).Get(ctx, "demo-suspend", metav1.GetOptions{})
	require.NoError(t, err)
	assert.False(t, ptr.Deref(demo.Spec.Suspend, true), "the patch resumed jobserver's Job")
	kubectl(cache, "delete", "job", "quiz-init")
	kubectl(cache, "delete", "job", "demo-suspend", "--cascade=orphan")
	kubectl(cache, "delete", "jobs", "-l", "app=aggregate-responses")
	for _, name := range []string{"quiz-init", "demo-suspend", "aggregate-responses-2021"} {
		framework.Eventually(t, time.Minute, name+" to be deleted", func(ctx context.Context) (bool, error) {
			_, err := cluster.Jobs.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
	}
	_, err = cluster.Kube.BatchV1().Jobs(ns).Get(ctx, "builtin-job", metav1.GetOptions{})
	assert.NoError(t, err, "the built-in Job was not touched")
}
