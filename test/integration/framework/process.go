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

package framework

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/jobserver-dev/jobserver/test/kit"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
	buildOut  []byte
)

// jobserverBinary builds cmd/jobserver once per test binary, for the tests
// that must kill a jobserver process (SIGKILL cannot hit an in-process
// server).
func jobserverBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		// Under _output, reused by the next run (go build relinks only
		// when something changed).
		dir := filepath.Join(kit.RepoRoot(), "_output", "test-bin")
		if buildErr = os.MkdirAll(dir, 0o755); buildErr != nil {
			return
		}
		binary = filepath.Join(dir, "jobserver")
		cmd := exec.Command("go", "build", "-o", binary, "./cmd/jobserver")
		cmd.Dir = kit.RepoRoot()
		buildOut, buildErr = cmd.CombinedOutput()
	})
	require.NoError(t, buildErr, "go build ./cmd/jobserver:\n%s", buildOut)
	return binary
}

// ServerProcess is jobserver run as its own process, standalone with an
// embedded etcd, so that a test can SIGKILL it and start it again on the
// same data directory.
type ServerProcess struct {
	*Server
	proc *kit.Process
	args []string
	logs *kit.Logs
	host string
}

// StartServerProcess starts the jobserver binary standalone, with its
// embedded etcd in so.DataDir (a temporary one if empty), and waits until
// it is ready.
func StartServerProcess(t testing.TB, so ServerOptions) *ServerProcess {
	t.Helper()
	if so.CertDir == "" {
		so.CertDir = t.TempDir()
	}
	if so.ClientCA == nil {
		so.ClientCA = NewClientCA(t, t.TempDir())
	}
	if so.DataDir == "" {
		so.DataDir = filepath.Join(t.TempDir(), "etcd")
	}
	port := freePort(t)
	sp := &ServerProcess{
		Server: &Server{CertDir: so.CertDir, ClientCA: so.ClientCA, exited: make(chan struct{})},
		args: append([]string{
			"--standalone", "--client-ca-file=" + so.ClientCA.File,
			"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
			"--cert-dir=" + so.CertDir, "--embedded-etcd-data-dir=" + so.DataDir,
		}, so.ExtraFlags...),
		logs: &kit.Logs{Dir: t.TempDir()},
	}
	t.Cleanup(func() {
		if t.Failed() {
			sp.logs.Dump(t.Logf, 40)
		}
	})
	sp.host = "https://127.0.0.1:" + strconv.Itoa(port)
	sp.Start(t)
	return sp
}

// Start starts the process (again) and waits until /readyz is ok.
func (sp *ServerProcess) Start(t testing.TB) {
	t.Helper()
	sp.proc = startProcess(t, sp.logs, "jobserver", jobserverBinary(t), sp.args...)
	if sp.AdminConfig == nil {
		// The serving certificate exists once the process has written it;
		// it is kept in CertDir across restarts.
		sp.AdminConfig = sp.ClientConfig(t, "test-admin", "system:masters")
		sp.AdminConfig.Host = sp.host
	}
	kc, err := kubernetes.NewForConfig(sp.AdminConfig)
	require.NoError(t, err)
	var lastErr error
	err = wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 2*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			if sp.proc.Exited() {
				return false, sp.proc.Wait()
			}
			_, lastErr = kc.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
			return lastErr == nil, nil
		})
	require.NoError(t, err, "jobserver process not ready: %v", lastErr)
}

// Kill SIGKILLs the process: no shutdown, no flush beyond what etcd has
// already made durable.
func (sp *ServerProcess) Kill() { sp.proc.Kill() }

// Terminate sends SIGTERM, as the kubelet does to a Pod being deleted, and
// returns at once; Exited tells when the process is gone.
func (sp *ServerProcess) Terminate() error { return syscall.Kill(sp.proc.Pid(), syscall.SIGTERM) }

// Exited tells whether the process has exited.
func (sp *ServerProcess) Exited() bool { return sp.proc.Exited() }
