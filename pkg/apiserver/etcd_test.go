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

package apiserver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEmbeddedEtcdFailureIsReported: an embedded etcd whose server stops on
// its own after start (HardStop is what etcd does on a fatal error) is
// reported on Failed, so jobserver exits instead of serving errors; a stop
// by Close is not a failure.
func TestEmbeddedEtcdFailureIsReported(t *testing.T) {
	etcd, err := StartEmbeddedEtcd(t.TempDir(), time.Minute)
	require.NoError(t, err)
	t.Cleanup(etcd.Close)
	etcd.etcd.Server.HardStop()
	select {
	case err := <-etcd.Failed():
		assert.ErrorContains(t, err, "failed after start")
	case <-time.After(30 * time.Second):
		t.Fatal("the stopped etcd server was not reported")
	}

	closed, err := StartEmbeddedEtcd(t.TempDir(), time.Minute)
	require.NoError(t, err)
	closed.Close()
	select {
	case err := <-closed.Failed():
		t.Fatalf("Close reported as a failure: %v", err)
	case <-time.After(2 * time.Second):
	}
}
