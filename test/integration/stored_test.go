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
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apiserver"
	"github.com/jobserver-dev/jobserver/test/integration/framework"
)

// TestJobStoredUnderOlderRulesStaysUpdatable: a Job whose pod template an
// older jobserver accepted but today's validation refuses (here a net.*
// sysctl with hostNetwork) can still be labelled, resumed and deleted in
// the foreground (the garbage collector's finalizer removal is an update),
// and its template changed where a suspended Job's may be, with only new
// errors refused. The stored object is edited in etcd, as the older server
// would have written it.
func TestJobStoredUnderOlderRulesStaysUpdatable(t *testing.T) {
	etcdURL := framework.StartEtcd(t)
	s := framework.StartServer(t, framework.ServerOptions{EtcdServers: etcdURL})
	jobs := s.Clientset(t).BatchV1().Jobs(ns)
	ctx := testContext(t)

	job := newJob("stored-earlier")
	job.Spec.Suspend = ptr.To(true)
	_, err := jobs.Create(ctx, job, metav1.CreateOptions{})
	require.NoError(t, err)

	// Rewrite the stored pod spec.
	etcd, err := clientv3.New(clientv3.Config{Endpoints: []string{etcdURL}, DialTimeout: 10 * time.Second})
	require.NoError(t, err)
	defer etcd.Close()
	got, err := etcd.Get(ctx, apiserver.EtcdPathPrefix+"/", clientv3.WithPrefix())
	require.NoError(t, err)
	var key string
	for _, kv := range got.Kvs {
		if strings.HasSuffix(string(kv.Key), "/jobs/"+ns+"/stored-earlier") {
			key = string(kv.Key)
			got.Kvs = []*mvccpb.KeyValue{kv}
		}
	}
	require.NotEmpty(t, key, "the Job is stored under %s", apiserver.EtcdPathPrefix)
	var stored map[string]any
	require.NoError(t, json.Unmarshal(got.Kvs[0].Value, &stored))
	podSpec := stored["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	podSpec["hostNetwork"] = true
	podSpec["securityContext"] = map[string]any{"sysctls": []any{map[string]any{"name": "net.core.somaxconn", "value": "1024"}}}
	raw, err := json.Marshal(stored)
	require.NoError(t, err)
	_, err = etcd.Put(ctx, key, string(raw))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		j, err := jobs.Get(context.Background(), "stored-earlier", metav1.GetOptions{})
		return err == nil && j.Spec.Template.Spec.HostNetwork
	}, 30*time.Second, 100*time.Millisecond, "jobserver sees the rewritten Job")

	// While suspended, its template may take new tolerations: a bad one is
	// refused for itself only, a good one goes through.
	_, err = jobs.Patch(ctx, "stored-earlier", types.MergePatchType,
		[]byte(`{"spec":{"template":{"spec":{"tolerations":[{"key":"bad key","operator":"Exists"}]}}}}`), metav1.PatchOptions{})
	requireInvalid(t, err, "spec.template.spec.tolerations[0].key")
	assert.NotContains(t, err.Error(), "sysctls", "the stored template's own problem is not held against the update")
	_, err = jobs.Patch(ctx, "stored-earlier", types.MergePatchType,
		[]byte(`{"spec":{"template":{"spec":{"tolerations":[{"key":"dedicated","operator":"Exists"}]}}}}`), metav1.PatchOptions{})
	require.NoError(t, err, "a valid change of what a suspended Job's template may change")

	// Updates that leave the pod spec alone go through.
	_, err = jobs.Patch(ctx, "stored-earlier", types.MergePatchType, []byte(`{"metadata":{"labels":{"team":"a"}}}`), metav1.PatchOptions{})
	require.NoError(t, err, "labelling")
	_, err = jobs.Patch(ctx, "stored-earlier", types.MergePatchType, []byte(`{"spec":{"suspend":false}}`), metav1.PatchOptions{})
	require.NoError(t, err, "resuming")

	// Foreground deletion: the Job waits with the foregroundDeletion
	// finalizer, which the garbage collector then removes with a patch.
	require.NoError(t, jobs.Delete(ctx, "stored-earlier", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)}))
	j, err := jobs.Get(ctx, "stored-earlier", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Contains(t, j.Finalizers, metav1.FinalizerDeleteDependents)
	_, err = jobs.Patch(ctx, "stored-earlier", types.JSONPatchType, []byte(`[{"op":"remove","path":"/metadata/finalizers"}]`), metav1.PatchOptions{})
	require.NoError(t, err, "removing the foregroundDeletion finalizer")
	_, err = jobs.Get(ctx, "stored-earlier", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the Job is gone: %v", err)
}
