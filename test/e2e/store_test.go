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
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	"github.com/jobserver-dev/jobserver/test/e2e/framework"
)

// TestLostStoreKeepsPods: jobserver restarted on an empty data directory (a
// lost volume) while a Job's pods run. The cluster's garbage collector,
// which deletes pods whose owner answers 404, has 60 s: the pods are all
// still there, because jobserver answers 503 for Jobs on a store the
// cluster does not record, and /readyz names the mismatch. The documented
// recovery (jobserver on its own store again) brings the Job back, and it
// completes. It replaces the cluster's jobserver while it runs, so it is
// not parallel.
func TestLostStoreKeepsPods(t *testing.T) {
	ns := cluster.Namespace(t)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "lost-store"},
		Spec: batchv1.JobSpec{
			Completions: ptr.To[int32](2),
			Parallelism: ptr.To[int32](2),
			Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"sleep", "80"}}},
				},
			},
		},
	}
	created, err := cluster.Jobs.BatchV1().Jobs(ns).Create(context.Background(), job, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.Eventually(t, time.Minute, "two running pods", func(context.Context) (bool, error) {
		running := 0
		for _, p := range podsOf(t, ns, job.Name) {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running == 2, nil
	})
	pods := map[string]bool{}
	for _, p := range podsOf(t, ns, job.Name) {
		pods[p.Name] = true
	}

	mainArgs, restartMain := stopMainJobserver(t)
	lost := startProcess(t, "jobserver-lost-store", withFlag(mainArgs, "embedded-etcd-data-dir", t.TempDir()))
	t.Cleanup(func() {
		lost.Stop(30 * time.Second)
		_ = os.Remove(filepath.Join(cluster.LocalDir, "run", "jobserver-lost-store.pid"))
	})
	port, err := strconv.Atoi(cluster.JobserverPort)
	require.NoError(t, err)
	direct := kubernetes.NewForConfigOrDie(directConfig(t, port)).Discovery().RESTClient()
	framework.Eventually(t, time.Minute, "jobserver on the empty store to serve", func(ctx context.Context) (bool, error) {
		_, err := direct.Get().AbsPath("/livez").DoRaw(ctx)
		return err == nil, nil
	})

	// The garbage collector's time: pods whose owner answers 404 go within
	// seconds; these must stay.
	for start := time.Now(); time.Since(start) < 60*time.Second; time.Sleep(5 * time.Second) {
		for _, p := range podsOf(t, ns, job.Name) {
			require.Nil(t, p.DeletionTimestamp, "pod %s is being deleted %v after the restart on an empty store", p.Name, time.Since(start))
		}
		require.Len(t, podsOf(t, ns, job.Name), len(pods), "every pod still there")
	}
	raw, _ := direct.Get().AbsPath("/readyz/store-identity").DoRaw(context.Background())
	reason := string(raw)
	t.Logf("/readyz/store-identity: %s", reason)
	assert.Contains(t, reason, "records store", "/readyz names the store mismatch")
	_, err = direct.Get().AbsPath("/readyz").DoRaw(context.Background())
	assert.Error(t, err, "unready on the empty store")
	out, err := cluster.Run("get", jobs, job.Name, "-n", ns)
	require.Error(t, err, "kubectl is told: %s", out)
	assert.Contains(t, err.Error(), "jobserver-system/jobserver-store", "kubectl names the record")

	// The recovery: jobserver on its own store (its flags as before).
	lost.Stop(30 * time.Second)
	restartMain()
	framework.Eventually(t, 2*time.Minute, "the Job back from its store", func(ctx context.Context) (bool, error) {
		back, err := cluster.Jobs.BatchV1().Jobs(ns).Get(ctx, job.Name, metav1.GetOptions{})
		return err == nil && back.UID == created.UID, nil
	})
	var done *batchv1.Job
	framework.Eventually(t, 3*time.Minute, "the Job to complete", func(ctx context.Context) (bool, error) {
		done, err = cluster.Jobs.BatchV1().Jobs(ns).Get(ctx, job.Name, metav1.GetOptions{})
		return err == nil && condition.IsTrue(done.Status.Conditions, batchv1.JobComplete), nil
	})
	assert.Equal(t, int32(2), done.Status.Succeeded)
	assert.Equal(t, int32(0), done.Status.Failed)
	for _, p := range podsOf(t, ns, job.Name) {
		assert.True(t, pods[p.Name], "the pods that ran through the restarts completed the Job; %s is new", p.Name)
	}
}
