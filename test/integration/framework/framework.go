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

// Package framework starts real etcd and jobserver processes-in-process for
// integration tests, on loopback and free ports, and cleans up after them.
package framework

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"

	"github.com/jobserver-dev/jobserver/cmd/jobserver/app"
	"github.com/jobserver-dev/jobserver/pkg/apiserver"
	clientset "github.com/jobserver-dev/jobserver/pkg/generated/clientset/versioned"
	"github.com/jobserver-dev/jobserver/test/kit"
)

// StartEtcd starts a real etcd server (go.etcd.io/etcd/server/v3) with its
// data in a temporary directory and returns its client URL. It is stopped
// when the test ends.
func StartEtcd(t testing.TB) string {
	t.Helper()
	etcd, err := apiserver.StartEmbeddedEtcd(t.TempDir(), time.Minute)
	require.NoError(t, err)
	t.Cleanup(etcd.Close)
	return etcd.Endpoint()
}

// ClientCA is a CA whose certificate is in File; the server under test
// trusts it with --client-ca-file.
type ClientCA struct {
	*kit.CA
	File string
}

// NewClientCA creates a CA and writes its certificate into dir.
func NewClientCA(t testing.TB, dir string) *ClientCA {
	t.Helper()
	ca, err := kit.NewCA(kit.CAOptions{CommonName: "jobserver-test-client-ca"})
	require.NoError(t, err)
	file := filepath.Join(dir, "client-ca.crt")
	require.NoError(t, os.WriteFile(file, ca.CertPEM(), 0o600))
	return &ClientCA{CA: ca, File: file}
}

// Server is a jobserver running in-process.
type Server struct {
	// AdminConfig authenticates as a member of system:masters.
	AdminConfig *rest.Config
	// CertDir holds the serving certificate (apiserver.crt).
	CertDir string
	// ClientCA issues further client certificates the server trusts.
	ClientCA *ClientCA

	cluster *Cluster
	cancel  context.CancelFunc
	// exited is closed when the server's Run has returned, with exitErr.
	exited  chan struct{}
	exitErr error
}

// ServerOptions say how to start a jobserver.
type ServerOptions struct {
	// EtcdServers is an external etcd; empty means the embedded etcd.
	EtcdServers string
	// DataDir is the embedded etcd's directory (a temporary one if empty).
	DataDir string
	// CertDir is reused across restarts, so clients keep trusting the server.
	CertDir string
	// ClientCA is reused across restarts.
	ClientCA *ClientCA
	// ExtraFlags are appended to the command line.
	ExtraFlags []string
	// Cluster, when set, is the Kubernetes cluster jobserver extends: it
	// runs not standalone but with delegated authentication and
	// authorization, admission against the cluster and the Job controller
	// (flags from ExtraFlags permitting), as the cluster's jobserver
	// ServiceAccount. ClientCA is then the cluster's CA.
	Cluster *Cluster
	// ReadyOnly makes StartServer return as soon as /readyz is ok, without
	// also waiting until the admin's client certificate is accepted.
	ReadyOnly bool
	// LiveOnly makes StartServer wait only for /livez: for a server that is
	// expected to stay unready.
	LiveOnly bool
}

// StartServer starts jobserver, in standalone mode (no cluster behind it)
// unless so.Cluster is set, and waits until /readyz is ok. It is stopped
// when the test ends, unless the test stops it first.
func StartServer(t testing.TB, so ServerOptions) *Server {
	t.Helper()
	if so.CertDir == "" {
		so.CertDir = t.TempDir()
	}
	if so.Cluster != nil {
		so.ClientCA = so.Cluster.CA
	}
	if so.ClientCA == nil {
		so.ClientCA = NewClientCA(t, t.TempDir())
	}
	if so.EtcdServers == "" && so.DataDir == "" {
		so.DataDir = filepath.Join(t.TempDir(), "etcd")
	}
	args := []string{
		"--bind-address=127.0.0.1",
		"--cert-dir=" + so.CertDir,
		"--embedded-etcd-data-dir=" + so.DataDir,
	}
	if so.Cluster != nil {
		args = append(args, so.Cluster.clusterArgs()...)
	} else {
		args = append(args, "--standalone", "--client-ca-file="+so.ClientCA.File)
	}
	if so.EtcdServers != "" {
		args = append(args, "--etcd-servers="+so.EtcdServers)
	}
	args = append(args, so.ExtraFlags...)

	opts := app.NewOptions()
	fss := opts.Flags()
	flags := pflag.NewFlagSet("jobserver", pflag.ContinueOnError)
	for _, fs := range fss.FlagSets {
		flags.AddFlagSet(fs)
	}
	require.NoError(t, flags.Parse(args))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	opts.Server.Recommended.SecureServing.Listener = ln
	opts.Server.Recommended.SecureServing.BindPort = ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, opts.Complete())
	require.NoError(t, opts.Validate())

	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{CertDir: so.CertDir, ClientCA: so.ClientCA, cancel: cancel, exited: make(chan struct{})}
	go func() {
		s.exitErr = opts.Run(ctx)
		close(s.exited)
	}()
	t.Cleanup(s.Stop)

	s.AdminConfig = s.ClientConfig(t, "test-admin", "system:masters")
	s.AdminConfig.Host = "https://" + ln.Addr().String()
	if so.LiveOnly {
		waitHealthy(t, s, "/livez")
		s.cluster = so.Cluster
		return s
	}
	waitHealthy(t, s, "/readyz")
	if so.Cluster != nil && !so.ReadyOnly {
		waitAuthenticated(t, s)
	}
	s.cluster = so.Cluster
	return s
}

// waitAuthenticated waits until jobserver authenticates the admin's client
// certificate: with delegated authentication it learns the client CA from
// the cluster's kube-system/extension-apiserver-authentication ConfigMap,
// possibly after /readyz is already ok (/readyz waits for the front-proxy
// CA, which comes from the same ConfigMap, but not for the client CA, which
// a cluster need not have).
func waitAuthenticated(t testing.TB, s *Server) {
	t.Helper()
	jobs := s.Clientset(t).BatchV1().Jobs("")
	var lastErr error
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true,
		func(ctx context.Context) (bool, error) {
			_, lastErr = jobs.List(ctx, metav1.ListOptions{Limit: 1})
			return lastErr == nil, nil
		})
	require.NoError(t, err, "jobserver does not authenticate the admin: %v", lastErr)
}

// ClientConfig returns a config that authenticates with a client
// certificate for user in groups; Host is filled in by StartServer.
func (s *Server) ClientConfig(t testing.TB, user string, groups ...string) *rest.Config {
	t.Helper()
	certPEM, keyPEM := s.ClientCA.MustIssue(t, kit.ClientCert(user, groups...))
	serving := servingCA(t, s.CertDir)
	cfg := &rest.Config{
		TLSClientConfig: rest.TLSClientConfig{CertData: certPEM, KeyData: keyPEM, CAData: serving},
		QPS:             -1,
	}
	if s.AdminConfig != nil {
		cfg.Host = s.AdminConfig.Host
	}
	return cfg
}

// servingCA returns the self-signed serving certificate jobserver writes to
// certDir during start-up, once it is complete. The file is written in
// place (certutil.WriteCert), so it can be seen empty: wait until the key,
// which is written after it, exists and the certificate parses.
func servingCA(t testing.TB, certDir string) []byte {
	t.Helper()
	var serving []byte
	var lastErr error
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, time.Minute, true,
		func(context.Context) (bool, error) {
			if _, lastErr = os.Stat(filepath.Join(certDir, "apiserver.key")); lastErr != nil {
				return false, nil
			}
			if serving, lastErr = os.ReadFile(filepath.Join(certDir, "apiserver.crt")); lastErr != nil {
				return false, nil
			}
			_, lastErr = certutil.ParseCertsPEM(serving)
			return lastErr == nil, nil
		})
	require.NoError(t, err, "no serving certificate in %s: %v", certDir, lastErr)
	return serving
}

// waitHealthy waits until path (/readyz, /livez) answers ok.
func waitHealthy(t testing.TB, s *Server, path string) {
	t.Helper()
	kc, err := kubernetes.NewForConfig(s.AdminConfig)
	require.NoError(t, err)
	var lastErr error
	err = wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 2*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			select {
			case <-s.exited:
				return false, errors.Join(errors.New("jobserver exited during start-up"), s.exitErr)
			default:
			}
			_, lastErr = kc.Discovery().RESTClient().Get().AbsPath(path).DoRaw(ctx)
			return lastErr == nil, nil
		})
	require.NoError(t, err, "jobserver not ok on %s: %v", path, lastErr)
}

// FrontProxyConfig returns a config that talks to jobserver as
// kube-apiserver's aggregator does: with the front-proxy client certificate,
// naming the user and groups in X-Remote-User / X-Remote-Group.
func (s *Server) FrontProxyConfig(t testing.TB, user string, groups ...string) *rest.Config {
	t.Helper()
	require.NotNil(t, s.cluster, "front-proxy requests need a server started with a Cluster")
	cfg := rest.CopyConfig(s.AdminConfig)
	cfg.TLSClientConfig.CertData, cfg.TLSClientConfig.KeyData = nil, nil
	cfg.TLSClientConfig.CertFile, cfg.TLSClientConfig.KeyFile = s.cluster.FrontProxyCertFile, s.cluster.FrontProxyKeyFile
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			req = req.Clone(req.Context())
			req.Header.Set("X-Remote-User", user)
			for _, g := range groups {
				req.Header.Add("X-Remote-Group", g)
			}
			return rt.RoundTrip(req)
		})
	}
	return cfg
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// Clientset returns the generated clientset as the admin.
func (s *Server) Clientset(t testing.TB) clientset.Interface {
	t.Helper()
	c, err := clientset.NewForConfig(s.AdminConfig)
	require.NoError(t, err)
	return c
}

// Stop shuts the server down gracefully and waits until it has stopped,
// embedded etcd included. Calling it twice is fine.
func (s *Server) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		panic("jobserver did not stop within a minute")
	}
}

// WaitExit waits up to timeout for the server to stop on its own; exited
// is false on timeout, err is what its Run returned.
func (s *Server) WaitExit(timeout time.Duration) (exited bool, err error) {
	select {
	case <-s.exited:
		return true, s.exitErr
	case <-time.After(timeout):
		return false, nil
	}
}
