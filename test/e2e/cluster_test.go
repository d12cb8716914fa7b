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
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	"github.com/jobserver-dev/jobserver/test/e2e/framework"
)

// ownedPods creates n Pods owned by job as its controller would own them.
func ownedPods(t *testing.T, ns string, job *batchv1.Job, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		_, err := cluster.Kube.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				GenerateName: job.Name + "-",
				Labels:       map[string]string{"job-name": job.Name},
				OwnerReferences: []metav1.OwnerReference{{
					APIVersion: "batch.jobserver.dev/v1", Kind: "Job", Name: job.Name, UID: job.UID,
					Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
				}},
			},
			Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"sleep", "300"}}},
			},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
}

// TestDeleteCascade checks that the cluster's garbage collector handles
// jobserver Jobs as owners: background and foreground deletion remove the
// Job's Pods, orphan deletion keeps them and drops their ownerReference.
func TestDeleteCascade(t *testing.T) {
	for _, tc := range []struct {
		cascade  string
		keepPods bool
	}{
		{"background", false},
		{"foreground", false},
		{"orphan", true},
	} {
		t.Run(tc.cascade, func(t *testing.T) {
			t.Parallel()
			ns := cluster.Namespace(t)
			ctx := context.Background()
			job, err := cluster.Jobs.BatchV1().Jobs(ns).Create(ctx, suspendedJob("owner"), metav1.CreateOptions{})
			require.NoError(t, err)
			ownedPods(t, ns, job, 2)

			cluster.MustRun(t, "delete", jobs, "owner", "-n", ns, "--cascade="+tc.cascade, "--timeout=2m")
			framework.Eventually(t, 2*time.Minute, "the Job to be gone", func(ctx context.Context) (bool, error) {
				_, err := cluster.Jobs.BatchV1().Jobs(ns).Get(ctx, "owner", metav1.GetOptions{})
				return apierrors.IsNotFound(err), nil
			})
			if !tc.keepPods {
				framework.Eventually(t, 2*time.Minute, "the garbage collector to delete the Pods", func(ctx context.Context) (bool, error) {
					pods, err := cluster.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
					return err == nil && len(pods.Items) == 0, err
				})
				return
			}
			framework.Eventually(t, 2*time.Minute, "the Pods to be orphaned", func(ctx context.Context) (bool, error) {
				pods, err := cluster.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
				if err != nil || len(pods.Items) != 2 {
					return false, err
				}
				for _, p := range pods.Items {
					if len(p.OwnerReferences) != 0 || p.DeletionTimestamp != nil {
						return false, nil
					}
				}
				return true, nil
			})
		})
	}
}

func suspendedJob(name string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			Suspend: ptr.To(true),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"sleep", "30"}}},
			}},
		},
	}
}

func TestRBAC(t *testing.T) {
	ns := cluster.Namespace(t)
	ctx := context.Background()
	_, err := cluster.Jobs.BatchV1().Jobs(ns).Create(ctx, suspendedJob("existing"), metav1.CreateOptions{})
	require.NoError(t, err)

	nobody := cluster.UserKubeconfig(t, "e2e-nobody")
	_, err = cluster.RunAs(nobody, "get", jobs, "-n", ns)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `jobs.batch.jobserver.dev is forbidden: User "e2e-nobody" cannot list resource "jobs" in API group "batch.jobserver.dev"`)

	// The view role, aggregated from jobserver's ClusterRoles, reads Jobs.
	_, err = cluster.Kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "viewer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "e2e-viewer", APIGroup: "rbac.authorization.k8s.io"}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	viewer := cluster.UserKubeconfig(t, "e2e-viewer")
	framework.Eventually(t, time.Minute, "view to cover jobs.batch.jobserver.dev", func(context.Context) (bool, error) {
		out, err := cluster.RunAs(viewer, "get", jobs, "-n", ns, "-o", "name")
		return err == nil && out == "job.batch.jobserver.dev/existing\n", nil
	})
	_, err = apply(t, jobYAML("not-allowed", ""), "-n", ns, "--kubeconfig="+viewer)
	require.Error(t, err)
	out, _ := apply(t, jobYAML("not-allowed", ""), "-n", ns, "--kubeconfig="+viewer)
	assert.Contains(t, out, "forbidden")
	_, err = cluster.Jobs.BatchV1().Jobs(ns).Get(ctx, "not-allowed", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "nothing was created")
}

// TestDirectRequestNeedsFrontProxyCredentials sends requests straight to
// jobserver's port: without the front-proxy client certificate, the
// X-Remote-User headers are not believed.
func TestDirectRequestNeedsFrontProxyCredentials(t *testing.T) {
	caPEM, err := os.ReadFile(filepath.Join(cluster.LocalDir, "pki", "jobserver-ca.crt"))
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(caPEM))
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "jobserver.jobserver-system.svc"},
	}}
	req, err := http.NewRequest(http.MethodGet, "https://127.0.0.1:"+cluster.JobserverPort+"/apis/batch.jobserver.dev/v1/jobs", nil)
	require.NoError(t, err)
	req.Header.Set("X-Remote-User", "system:admin")
	req.Header.Set("X-Remote-Group", "system:masters")
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Contains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, resp.StatusCode)

	// Through kube-apiserver, the same list works.
	_, err = cluster.Jobs.BatchV1().Jobs("").List(context.Background(), metav1.ListOptions{})
	assert.NoError(t, err)
}

func TestNamespaceDeletionRemovesJobs(t *testing.T) {
	ctx := context.Background()
	ns := cluster.Namespace(t)
	_, err := cluster.Jobs.BatchV1().Jobs(ns).Create(ctx, suspendedJob("doomed"), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, cluster.Kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}))
	framework.Eventually(t, 3*time.Minute, "the namespace and its Jobs to be gone", func(ctx context.Context) (bool, error) {
		_, err := cluster.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	list, err := cluster.Jobs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, list.Items)
}
