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
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

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

// TestEmbeddedEtcdHasNoTCPListener: the embedded etcd is reached only on a
// unix socket in its 0700 data directory. Over loopback TCP, any process in
// the network namespace could read and write every Job without credentials.
func TestEmbeddedEtcdHasNoTCPListener(t *testing.T) {
	before := tcpListeners(t)
	dir := filepath.Join(t.TempDir(), "etcd")
	etcd, err := StartEmbeddedEtcd(dir, time.Minute)
	require.NoError(t, err)
	t.Cleanup(etcd.Close)

	assert.Equal(t, "unix://"+filepath.Join(dir, "etcd.sock"), etcd.Endpoint())
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm(), "only jobserver's user may reach the sockets")
	for inode := range tcpListeners(t) {
		assert.Contains(t, before, inode, "the embedded etcd opened a TCP listener")
	}

	// The socket serves: a client on it reads and writes.
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd.Endpoint()}, DialTimeout: 10 * time.Second})
	require.NoError(t, err)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = client.Put(ctx, "/probe", "1")
	require.NoError(t, err)
}

// TestEmbeddedEtcdRestartsOverStaleSockets: a process killed without
// closing etcd leaves its socket files; the next start must not fail on them.
func TestEmbeddedEtcdRestartsOverStaleSockets(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etcd.sock"), nil, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etcd-peer.sock"), nil, 0o600))
	etcd, err := StartEmbeddedEtcd(dir, time.Minute)
	require.NoError(t, err)
	etcd.Close()
}

// tcpListeners returns the inodes of this process's listening TCP sockets.
func tcpListeners(t *testing.T) map[string]bool {
	t.Helper()
	listening := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		raw, err := os.ReadFile(table)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		require.NoError(t, err)
		for _, line := range strings.Split(string(raw), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 9 && f[3] == "0A" { // TCP_LISTEN
				listening[f[9]] = true
			}
		}
	}
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	mine := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if inode, ok := strings.CutPrefix(target, "socket:["); ok {
			inode = strings.TrimSuffix(inode, "]")
			if listening[inode] {
				mine[inode] = true
			}
		}
	}
	return mine
}
