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
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/test/integration/framework"
)

// TestJobsSurviveRestart stops jobserver and starts a new one on the same
// storage: every Job, spec and status, is still there.
func TestJobsSurviveRestart(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts func(t *testing.T) framework.ServerOptions
	}{
		{"embedded etcd", func(t *testing.T) framework.ServerOptions {
			return framework.ServerOptions{DataDir: filepath.Join(t.TempDir(), "etcd")}
		}},
		{"external etcd", func(t *testing.T) framework.ServerOptions {
			return framework.ServerOptions{EtcdServers: framework.StartEtcd(t)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			so := tc.opts(t)
			so.CertDir = t.TempDir()
			so.ClientCA = framework.NewClientCA(t, t.TempDir())

			first := framework.StartServer(t, so)
			jobs := first.Clientset(t).BatchV1().Jobs(ns)
			job := newJob("durable")
			job.Spec.Completions = ptr.To[int32](3)
			created, err := jobs.Create(ctx, job, metav1.CreateOptions{})
			require.NoError(t, err)
			created.Status.Succeeded = 2
			created, err = jobs.UpdateStatus(ctx, created, metav1.UpdateOptions{})
			require.NoError(t, err)
			first.Stop()

			second := framework.StartServer(t, so)
			got, err := second.Clientset(t).BatchV1().Jobs(ns).Get(ctx, "durable", metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, created.UID, got.UID)
			assert.Equal(t, created.ResourceVersion, got.ResourceVersion)
			assert.Equal(t, created.Spec, got.Spec)
			assert.Equal(t, int32(2), got.Status.Succeeded)
		})
	}
}
