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
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clientset "github.com/jobserver-dev/jobserver/pkg/generated/clientset/versioned"
	"github.com/jobserver-dev/jobserver/test/integration/framework"
)

// testFrontProxyOnceReady: as soon as /readyz is ok, a request proxied by
// kube-apiserver (front-proxy client certificate, X-Remote-* headers) is
// served as the user it names, not as system:anonymous, which it would be
// while the request-header CA is still loading from the cluster. Several
// starts, since that window is short.
func testFrontProxyOnceReady(t *testing.T, env *controllerEnv) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := range 3 {
		so := env.so
		so.EtcdServers = "" // embedded etcd: this server's Jobs are its own
		so.CertDir = t.TempDir()
		// A store of its own, so a record of its own beside the cluster's.
		so.ExtraFlags = append(slices.Clone(so.ExtraFlags), "--controllers-enabled=false",
			fmt.Sprintf("--store-record=%s/jobserver-store-frontproxy-%d", framework.JobserverNamespace, i))
		so.ReadyOnly = true
		s := framework.StartServer(t, so)

		proxied, err := clientset.NewForConfig(s.FrontProxyConfig(t, "proxied-admin", "system:masters"))
		require.NoError(t, err)
		_, err = proxied.BatchV1().Jobs("").List(ctx, metav1.ListOptions{})
		require.NoError(t, err, "the first proxied request once /readyz is ok (start %d)", i+1)

		raw, err := proxied.Discovery().RESTClient().Get().AbsPath("/readyz").Param("verbose", "true").DoRaw(ctx)
		require.NoError(t, err)
		assert.Contains(t, string(raw), "[+]request-header-ca ok")
		s.Stop()
	}
}
