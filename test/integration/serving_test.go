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

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	"github.com/jobserver-dev/jobserver/pkg/apiserver"
	clientset "github.com/jobserver-dev/jobserver/pkg/generated/clientset/versioned"
	"github.com/jobserver-dev/jobserver/test/integration/framework"
)

const tableAccept = "application/json;as=Table;g=meta.k8s.io;v=v1"

// getTable fetches path as a server-side table, as kubectl get does.
func getTable(t *testing.T, cfg *rest.Config, path string) *metav1.Table {
	t.Helper()
	kc, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	raw, err := kc.Discovery().RESTClient().Get().AbsPath(path).SetHeader("Accept", tableAccept).DoRaw(testContext(t))
	require.NoError(t, err)
	table := &metav1.Table{}
	require.NoError(t, json.Unmarshal(raw, table))
	return table
}

func TestJobTable(t *testing.T) {
	s := framework.StartServer(t, framework.ServerOptions{})
	jobs := s.Clientset(t).BatchV1().Jobs(ns)
	ctx := testContext(t)

	single := newJob("single")
	single.Spec.Template.Spec.Containers = append(single.Spec.Template.Spec.Containers, corev1.Container{Name: "side", Image: "nginx:1"})
	_, err := jobs.Create(ctx, single, metav1.CreateOptions{})
	require.NoError(t, err)
	anyOf3 := newJob("any-of-3")
	anyOf3.Spec.Parallelism = ptr.To[int32](3)
	_, err = jobs.Create(ctx, anyOf3, metav1.CreateOptions{})
	require.NoError(t, err)
	suspended := newJob("suspended")
	suspended.Spec.Suspend = ptr.To(true)
	suspended.Spec.Completions = ptr.To[int32](5)
	created, err := jobs.Create(ctx, suspended, metav1.CreateOptions{})
	require.NoError(t, err)
	created.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobSuspended, Status: corev1.ConditionTrue, Reason: "JobSuspended"}}
	_, err = jobs.UpdateStatus(ctx, created, metav1.UpdateOptions{})
	require.NoError(t, err)
	// A Job that ran for 90 seconds and completed.
	done, err := jobs.Create(ctx, newJob("done"), metav1.CreateOptions{})
	require.NoError(t, err)
	start := metav1.NewTime(time.Now().Add(-10 * time.Minute).Truncate(time.Second))
	end := metav1.NewTime(start.Add(90 * time.Second))
	done.Status = batchv1.JobStatus{StartTime: &start, CompletionTime: &end, Succeeded: 1, Ready: ptr.To[int32](0), Terminating: ptr.To[int32](0),
		Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: end},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: end},
		}}
	_, err = jobs.UpdateStatus(ctx, done, metav1.UpdateOptions{})
	require.NoError(t, err)

	table := getTable(t, s.AdminConfig, "/apis/batch.jobserver.dev/v1/namespaces/default/jobs")
	var names []string
	var priorities []int32
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
		priorities = append(priorities, c.Priority)
	}
	assert.Equal(t, []string{"Name", "Status", "Completions", "Duration", "Age", "Containers", "Images", "Selector"}, names)
	assert.Equal(t, []int32{0, 0, 0, 0, 0, 1, 1, 1}, priorities, "CONTAINERS, IMAGES, SELECTOR only with -o wide")
	assert.NotEmpty(t, table.ResourceVersion)

	rows := map[string][]interface{}{}
	for _, r := range table.Rows {
		rows[r.Cells[0].(string)] = r.Cells
	}
	require.Len(t, rows, 4)
	assert.Equal(t, []interface{}{"Running", "0/1", ""}, rows["single"][1:4])
	assert.Equal(t, "main,side", rows["single"][5])
	assert.Equal(t, "busybox,nginx:1", rows["single"][6])
	assert.Equal(t, "batch.kubernetes.io/controller-uid="+string(created.UID), rows["suspended"][7])
	assert.Equal(t, []interface{}{"Running", "0/1 of 3"}, rows["any-of-3"][1:3])
	assert.Equal(t, []interface{}{"Suspended", "0/5"}, rows["suspended"][1:3])
	assert.Equal(t, []interface{}{"Complete", "1/1", "90s"}, rows["done"][1:4])
	assert.Regexp(t, "^[0-9]+s$", rows["done"][4], "AGE")

	// A single object is a one-row table; NoHeaders-style options work too.
	one := getTable(t, s.AdminConfig, "/apis/batch.jobserver.dev/v1/namespaces/default/jobs/done")
	require.Len(t, one.Rows, 1)
	assert.Equal(t, "done", one.Rows[0].Cells[0])
}

func TestOpenAPIDescribesJob(t *testing.T) {
	s := framework.StartServer(t, framework.ServerOptions{})
	kc, err := kubernetes.NewForConfig(s.AdminConfig)
	require.NoError(t, err)
	ctx := testContext(t)

	v2, err := kc.Discovery().RESTClient().Get().AbsPath("/openapi/v2").SetHeader("Accept", "application/json").DoRaw(ctx)
	require.NoError(t, err)
	var swagger struct {
		Definitions map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
			GVK        []map[string]string        `json:"x-kubernetes-group-version-kind"`
		} `json:"definitions"`
		Paths map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(v2, &swagger))
	job, ok := swagger.Definitions["dev.jobserver.batch.v1.Job"]
	require.True(t, ok, "v2 has the Job definition")
	assert.Contains(t, job.Properties, "spec")
	assert.Equal(t, []map[string]string{{"group": "batch.jobserver.dev", "version": "v1", "kind": "Job"}}, job.GVK)
	assert.Contains(t, swagger.Definitions["dev.jobserver.batch.v1.JobSpec"].Properties, "completionMode")
	assert.Contains(t, swagger.Paths, "/apis/batch.jobserver.dev/v1/namespaces/{namespace}/jobs/{name}/status")

	v3, err := kc.Discovery().RESTClient().Get().AbsPath("/openapi/v3/apis/batch.jobserver.dev/v1").DoRaw(ctx)
	require.NoError(t, err)
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Description string `json:"description"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(v3, &doc))
	spec, ok := doc.Components.Schemas["dev.jobserver.batch.v1.JobSpec"]
	require.True(t, ok, "v3 has the JobSpec schema")
	assert.Contains(t, spec.Properties["completionMode"].Description, "Indexed", "kubectl explain has text to show")
	_, ok = doc.Components.Schemas["io.k8s.api.core.v1.PodTemplateSpec"]
	assert.True(t, ok, "the pod template is described too")
}

func TestDiscovery(t *testing.T) {
	s := framework.StartServer(t, framework.ServerOptions{})
	kc, err := kubernetes.NewForConfig(s.AdminConfig)
	require.NoError(t, err)
	list, err := kc.Discovery().ServerResourcesForGroupVersion("batch.jobserver.dev/v1")
	require.NoError(t, err)
	byName := map[string]metav1.APIResource{}
	for _, r := range list.APIResources {
		byName[r.Name] = r
	}
	jobs := byName["jobs"]
	assert.Equal(t, "Job", jobs.Kind)
	assert.Equal(t, "job", jobs.SingularName)
	assert.True(t, jobs.Namespaced)
	assert.Equal(t, []string{"jsjob"}, jobs.ShortNames)
	assert.Equal(t, []string{"all", "jobserver"}, jobs.Categories)
	assert.ElementsMatch(t, []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}, jobs.Verbs)
	assert.ElementsMatch(t, []string{"get", "patch", "update"}, byName["jobs/status"].Verbs)

	// Readiness includes the storage checks; liveness does not (etcd is a
	// dependency, see TestLivezSurvivesEtcdOutage).
	raw, err := kc.Discovery().RESTClient().Get().AbsPath("/readyz").Param("verbose", "true").DoRaw(testContext(t))
	require.NoError(t, err)
	assert.Contains(t, string(raw), "[+]etcd ok")
	assert.Contains(t, string(raw), "[+]etcd-readiness ok")
	raw, err = kc.Discovery().RESTClient().Get().AbsPath("/livez").Param("verbose", "true").DoRaw(testContext(t))
	require.NoError(t, err)
	assert.Contains(t, string(raw), "[+]ping ok")
	assert.NotContains(t, string(raw), "[+]etcd ok", "no etcd check on /livez")
	assert.NotContains(t, string(raw), "[+]etcd-readiness ok")
}

// TestLivezSurvivesEtcdOutage: with etcd gone, jobserver is unready (and
// its requests fail) but live, so a liveness probe does not restart it into
// CrashLoopBackOff.
func TestLivezSurvivesEtcdOutage(t *testing.T) {
	dir := t.TempDir()
	etcd, err := apiserver.StartEmbeddedEtcd(dir, time.Minute)
	require.NoError(t, err)
	t.Cleanup(etcd.Close)
	endpoint := etcd.Endpoint()
	s := framework.StartServer(t, framework.ServerOptions{EtcdServers: endpoint})
	kc, err := kubernetes.NewForConfig(s.AdminConfig)
	require.NoError(t, err)
	health := func(ctx context.Context, path string) (string, error) {
		raw, err := kc.Discovery().RESTClient().Get().AbsPath(path).Param("verbose", "true").Timeout(5 * time.Second).DoRaw(ctx)
		return string(raw), err
	}
	ctx := testContext(t)
	_, err = health(ctx, "/readyz")
	require.NoError(t, err)

	etcd.Close()
	require.Eventually(t, func() bool {
		out, err := health(ctx, "/readyz")
		return err != nil && strings.Contains(out, "[-]etcd failed")
	}, time.Minute, 200*time.Millisecond, "unready while etcd is out")
	for range 5 {
		out, err := health(ctx, "/livez")
		require.NoError(t, err, "live while etcd is out: %s", out)
		time.Sleep(200 * time.Millisecond)
	}
	getCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err = s.Clientset(t).BatchV1().Jobs(ns).Get(getCtx, "any", metav1.GetOptions{})
	require.Error(t, err, "requests fail while etcd is out")
	assert.False(t, apierrors.IsNotFound(err), "not a false answer: %v", err)
}

func TestAuthorization(t *testing.T) {
	s := framework.StartServer(t, framework.ServerOptions{})
	ctx := testContext(t)

	// In standalone mode only system:masters is authorized.
	alice, err := clientset.NewForConfig(s.ClientConfig(t, "alice", "developers"))
	require.NoError(t, err)
	_, err = alice.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	assert.True(t, apierrors.IsForbidden(err), "want 403, got %v", err)
	_, err = alice.BatchV1().Jobs(ns).Create(ctx, newJob("x"), metav1.CreateOptions{})
	assert.True(t, apierrors.IsForbidden(err), "want 403, got %v", err)

	// Without any credentials.
	anonymous := rest.AnonymousClientConfig(s.AdminConfig)
	anonymous.TLSClientConfig = rest.TLSClientConfig{CAData: s.AdminConfig.CAData}
	anon, err := clientset.NewForConfig(anonymous)
	require.NoError(t, err)
	_, err = anon.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	assert.True(t, apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err), "want 401/403, got %v", err)

	// Nothing was created.
	list, err := s.Clientset(t).BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, list.Items)
}

// TestReadyzReportsEtcdNoSpace: an etcd whose database reached its quota
// still answers reads, so the generic etcd checks pass while every write
// fails; jobserver's etcd-alarms check makes the replica unready, naming
// the alarm. Creates fail with a clear error meanwhile.
func TestReadyzReportsEtcdNoSpace(t *testing.T) {
	endpoint := framework.StartEtcdProcess(t, "--quota-backend-bytes=2097152").URL
	s := framework.StartServer(t, framework.ServerOptions{EtcdServers: endpoint})
	kc, err := kubernetes.NewForConfig(s.AdminConfig)
	require.NoError(t, err)
	ctx := testContext(t)
	readyz := func() (string, error) {
		raw, err := kc.Discovery().RESTClient().Get().AbsPath("/readyz").Param("verbose", "true").DoRaw(ctx)
		return string(raw), err
	}
	out, err := readyz()
	require.NoError(t, err)
	assert.Contains(t, out, "[+]etcd-alarms ok")

	// Fill etcd beside jobserver's prefix until it raises NOSPACE.
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	defer func() { _ = client.Close() }()
	value := strings.Repeat("x", 256<<10)
	var putErr error
	for i := 0; i < 64 && putErr == nil; i++ {
		_, putErr = client.Put(ctx, fmt.Sprintf("/filler/%d", i), value)
	}
	require.ErrorContains(t, putErr, "database space exceeded", "the quota was reached")

	require.Eventually(t, func() bool {
		out, err := readyz()
		return err != nil && strings.Contains(out, "[-]etcd-alarms failed") && strings.Contains(out, "[+]etcd ok")
	}, 30*time.Second, 200*time.Millisecond, "unready with the NOSPACE alarm, though etcd answers reads")
	raw, _ := kc.Discovery().RESTClient().Get().AbsPath("/readyz/etcd-alarms").DoRaw(ctx)
	assert.Contains(t, string(raw), "NOSPACE")
	_, err = s.Clientset(t).BatchV1().Jobs(ns).Create(ctx, newJob("no-space"), metav1.CreateOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "database space exceeded")
}
