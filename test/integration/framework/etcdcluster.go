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
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/jobserver-dev/jobserver/test/kit"
)

// EtcdCluster is a TLS etcd cluster of pinned etcd processes on loopback:
// clients and peers authenticate with certificates of one CA.
type EtcdCluster struct {
	Members []*EtcdProcess
	// CAFile, CertFile and KeyFile are a client's credentials (jobserver's
	// --etcd-cafile, --etcd-certfile, --etcd-keyfile).
	CAFile, CertFile, KeyFile string
	client                    *http.Client
}

// StartEtcdCluster starts an n-member TLS etcd cluster and waits until
// every member is healthy. It is stopped when the test ends.
func StartEtcdCluster(t testing.TB, n int) *EtcdCluster {
	t.Helper()
	dir := t.TempDir()
	ca, err := kit.NewCA(kit.CAOptions{CommonName: "etcd-ca"})
	require.NoError(t, err)
	c := &EtcdCluster{
		CAFile:   filepath.Join(dir, "ca.crt"),
		CertFile: filepath.Join(dir, "client.crt"),
		KeyFile:  filepath.Join(dir, "client.key"),
	}
	require.NoError(t, ca.WriteFiles(c.CAFile, filepath.Join(dir, "ca.key")))
	certPEM, keyPEM := ca.MustIssue(t, kit.ClientCert("jobserver"))
	require.NoError(t, kit.WriteCertAndKey(c.CertFile, c.KeyFile, certPEM, keyPEM))
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM())
	c.client = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}

	logs := &kit.Logs{Dir: dir}
	t.Cleanup(func() {
		if t.Failed() {
			logs.Dump(t.Logf, 40)
		}
	})
	names, clientURLs, peerURLs := make([]string, n), make([]string, n), make([]string, n)
	var initial []string
	for i := range n {
		names[i] = "member-" + strconv.Itoa(i)
		clientURLs[i] = "https://127.0.0.1:" + strconv.Itoa(freePort(t))
		peerURLs[i] = "https://127.0.0.1:" + strconv.Itoa(freePort(t))
		initial = append(initial, names[i]+"="+peerURLs[i])
	}
	bin := filepath.Join(toolsDir(t), "etcd")
	for i := range n {
		// One certificate per member for both roles: it serves clients
		// and peers, and dials the other peers.
		opts := kit.ServingCert(names[i], []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
		opts.AlsoUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		cert, key := ca.MustIssue(t, opts)
		certFile, keyFile := filepath.Join(dir, names[i]+".crt"), filepath.Join(dir, names[i]+".key")
		require.NoError(t, kit.WriteCertAndKey(certFile, keyFile, cert, key))
		m := &EtcdProcess{URL: clientURLs[i], bin: bin, logs: logs, health: c.client, owner: t, args: []string{
			"--name=" + names[i], "--data-dir=" + filepath.Join(dir, names[i]),
			"--listen-client-urls=" + clientURLs[i], "--advertise-client-urls=" + clientURLs[i],
			"--listen-peer-urls=" + peerURLs[i], "--initial-advertise-peer-urls=" + peerURLs[i],
			"--initial-cluster=" + strings.Join(initial, ","), "--initial-cluster-state=new",
			"--client-cert-auth", "--trusted-ca-file=" + c.CAFile, "--cert-file=" + certFile, "--key-file=" + keyFile,
			"--peer-client-cert-auth", "--peer-trusted-ca-file=" + c.CAFile, "--peer-cert-file=" + certFile, "--peer-key-file=" + keyFile,
			"--unsafe-no-fsync", "--log-level=warn",
		}}
		m.proc = startProcess(t, logs, names[i], bin, m.args...)
		c.Members = append(c.Members, m)
	}
	for _, m := range c.Members {
		require.NoError(t, wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 2*time.Minute, true,
			func(ctx context.Context) (bool, error) {
				if m.proc.Exited() {
					return false, fmt.Errorf("etcd member exited during start-up: %v", m.proc.Wait())
				}
				return etcdHealthy(ctx, c.client, m.URL), nil
			}), "etcd member %s not healthy", m.URL)
	}
	return c
}

// URLs are the members' client URLs, comma-separated (--etcd-servers).
func (c *EtcdCluster) URLs() string {
	urls := make([]string, len(c.Members))
	for i, m := range c.Members {
		urls[i] = m.URL
	}
	return strings.Join(urls, ",")
}
