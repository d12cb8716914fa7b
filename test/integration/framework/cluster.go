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
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/jobserver-dev/jobserver/test/kit"
)

// JobserverNamespace and JobserverServiceAccount are the names the deploy
// manifests use; the jobserver of StartCluster authenticates as that
// ServiceAccount's user, so artifacts/deploy/base/rbac.yaml applies to it
// unchanged (and is tested by every controller test).
const (
	JobserverNamespace      = "jobserver-system"
	JobserverServiceAccount = "jobserver"
	// StoreRecordName is the ConfigMap, in JobserverNamespace, recording
	// which store holds the cluster's Jobs.
	StoreRecordName = "jobserver-store"
)

// Cluster is a real etcd and kube-apiserver (the pinned binaries in
// _output/bin), running as processes on loopback and free ports. There is
// no kube-controller-manager, scheduler or kubelet: tests play the kubelet
// by writing pod status.
type Cluster struct {
	// AdminConfig authenticates as a member of system:masters.
	AdminConfig *rest.Config
	// Kube is a clientset with AdminConfig.
	Kube kubernetes.Interface
	// CA signs kube-apiserver's serving certificate and the client
	// certificates it trusts (--client-ca-file), so it also issues client
	// certificates jobserver trusts through delegated authentication.
	CA *ClientCA
	// EtcdURL is the etcd client URL; jobserver may store Jobs there too
	// (its prefix /registry/batch.jobserver.dev is its own).
	EtcdURL string
	// AdminKubeconfig and JobserverKubeconfig are kubeconfig files for the
	// admin and for jobserver's ServiceAccount user.
	AdminKubeconfig     string
	JobserverKubeconfig string
	// FrontProxyCertFile and FrontProxyKeyFile are kube-apiserver's
	// front-proxy client credentials (--proxy-client-cert-file), with which
	// a test can play the aggregator.
	FrontProxyCertFile, FrontProxyKeyFile string

	// kubeAPIServer is the running kube-apiserver; kubeAPIServerArgs and
	// logs start it again on the same port (RestartKubeAPIServer).
	kubeAPIServer     *kit.Process
	kubeAPIServerArgs []string
	logs              *kit.Logs
	// owner is the test that started the cluster: a restarted process lives
	// as long as it, not as the subtest that restarted it.
	owner testing.TB
}

// StartCluster starts etcd and kube-apiserver, waits until kube-apiserver
// is ready, and installs jobserver's namespace and RBAC from the deploy
// manifests. Both processes are stopped when the test ends.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := toolsDir(t)
	dir := t.TempDir()
	logs := &kit.Logs{Dir: dir}
	t.Cleanup(func() {
		if t.Failed() {
			logs.Dump(t.Logf, 40)
		}
	})

	ca := NewClientCA(t, dir)
	servingCert, servingKey := ca.MustIssue(t, kit.KubeAPIServerServingCert())
	certFile, keyFile := filepath.Join(dir, "kube-apiserver.crt"), filepath.Join(dir, "kube-apiserver.key")
	require.NoError(t, kit.WriteCertAndKey(certFile, keyFile, servingCert, servingKey))
	saKey, saPub := filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	require.NoError(t, kit.WriteServiceAccountKeys(saKey, saPub, kit.ECDSA))
	// The front-proxy (aggregation) credentials: they complete the
	// ConfigMap that jobserver's delegated authentication reads, and let a
	// test send requests as the aggregator would.
	frontProxyCA := NewClientCA(t, t.TempDir())
	proxyCert, proxyKey := frontProxyCA.MustIssue(t, kit.ClientCert(kit.FrontProxyClientName))
	proxyCertFile, proxyKeyFile := filepath.Join(dir, "front-proxy-client.crt"), filepath.Join(dir, "front-proxy-client.key")
	require.NoError(t, kit.WriteCertAndKey(proxyCertFile, proxyKeyFile, proxyCert, proxyKey))

	etcdURL, _, _ := startEtcd(t, bin, dir, logs)

	c := &Cluster{CA: ca, EtcdURL: etcdURL, FrontProxyCertFile: proxyCertFile, FrontProxyKeyFile: proxyKeyFile, logs: logs, owner: t}
	startWithRetry(t, "kube-apiserver", func() (*kit.Process, func(context.Context) (bool, error)) {
		port := freePort(t)
		c.kubeAPIServerArgs = kit.KubeAPIServerFlags(kit.KubeAPIServer{
			EtcdURL:                      etcdURL,
			Port:                         port,
			CertFile:                     certFile,
			KeyFile:                      keyFile,
			ClientCAFile:                 ca.File,
			ServiceAccountPublicKeyFile:  saPub,
			ServiceAccountPrivateKeyFile: saKey,
			FrontProxyCAFile:             frontProxyCA.File,
			FrontProxyClientCertFile:     proxyCertFile,
			FrontProxyClientKeyFile:      proxyKeyFile,
		})
		p := startProcess(t, logs, "kube-apiserver", filepath.Join(bin, "kube-apiserver"), c.kubeAPIServerArgs...)
		c.kubeAPIServer = p
		certPEM, keyPEM := ca.MustIssue(t, kit.ClientCert("kubernetes-admin", "system:masters"))
		c.AdminConfig = &rest.Config{
			Host:            "https://127.0.0.1:" + strconv.Itoa(port),
			TLSClientConfig: rest.TLSClientConfig{CertData: certPEM, KeyData: keyPEM, CAData: ca.CertPEM()},
			QPS:             -1,
		}
		kube, err := kubernetes.NewForConfig(c.AdminConfig)
		require.NoError(t, err)
		c.Kube = kube
		return p, func(ctx context.Context) (bool, error) {
			_, err := kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
			return err == nil, nil
		}
	})

	c.AdminKubeconfig = c.writeKubeconfig(t, dir, "admin", "kubernetes-admin", "system:masters")
	c.JobserverKubeconfig = c.writeKubeconfig(t, dir, "jobserver",
		"system:serviceaccount:"+JobserverNamespace+":"+JobserverServiceAccount)
	c.installJobserverRBAC(t)
	return c
}

// ForgetStore deletes the cluster's record of jobserver's store (ConfigMap
// jobserver-system/jobserver-store), as an operator does to move jobserver
// to a new store on purpose; the next jobserver records its own.
func (c *Cluster) ForgetStore(t testing.TB) {
	t.Helper()
	err := c.Kube.CoreV1().ConfigMaps(JobserverNamespace).Delete(context.Background(), StoreRecordName, metav1.DeleteOptions{})
	if !apierrors.IsNotFound(err) {
		require.NoError(t, err)
	}
}

// StopKubeAPIServer stops kube-apiserver (SIGTERM), as an outage or a
// control-plane upgrade would; StartKubeAPIServer brings it back.
func (c *Cluster) StopKubeAPIServer(t testing.TB) {
	t.Helper()
	c.kubeAPIServer.Stop(stopGrace)
}

// StartKubeAPIServer starts kube-apiserver again, with the same flags and
// port, and waits until it is ready. It is stopped when the test that
// started the cluster ends.
func (c *Cluster) StartKubeAPIServer(t testing.TB) {
	t.Helper()
	c.kubeAPIServer = startProcess(c.owner, c.logs, "kube-apiserver", filepath.Join(toolsDir(t), "kube-apiserver"), c.kubeAPIServerArgs...)
	require.NoError(t, wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 2*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			if c.kubeAPIServer.Exited() {
				return false, fmt.Errorf("kube-apiserver exited on restart: %v", c.kubeAPIServer.Wait())
			}
			_, err := c.Kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
			return err == nil, nil
		}), "kube-apiserver did not become ready again")
}

// CreateNamespace creates a namespace named after prefix, with the default
// ServiceAccount the ServiceAccount admission plugin requires of pods
// (there is no controller-manager to create it).
func (c *Cluster) CreateNamespace(t testing.TB, prefix string) string {
	t.Helper()
	ctx := context.Background()
	ns, err := c.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = c.Kube.CoreV1().ServiceAccounts(ns.Name).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return ns.Name
}

func (c *Cluster) writeKubeconfig(t testing.TB, dir, name, user string, groups ...string) string {
	t.Helper()
	certPEM, keyPEM := c.CA.MustIssue(t, kit.ClientCert(user, groups...))
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cluster"] = &clientcmdapi.Cluster{Server: c.AdminConfig.Host, CertificateAuthorityData: c.CA.CertPEM()}
	cfg.AuthInfos["user"] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	cfg.Contexts["default"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: "user"}
	cfg.CurrentContext = "default"
	file := filepath.Join(dir, name+".kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, file))
	return file
}

// installJobserverRBAC creates jobserver's namespace and applies
// artifacts/deploy/base/rbac.yaml, then waits for the
// kube-system/extension-apiserver-authentication ConfigMap that delegated
// authentication reads.
func (c *Cluster) installJobserverRBAC(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	_, err := c.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: JobserverNamespace},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	data, err := os.ReadFile(filepath.Join(kit.RepoRoot(), "artifacts", "deploy", "base", "rbac.yaml"))
	require.NoError(t, err)
	objs, err := kit.DecodeYAML(data, scheme.Codecs.UniversalDeserializer())
	require.NoError(t, err)
	for _, obj := range objs {
		switch o := obj.(type) {
		case *rbacv1.ClusterRole:
			_, err = c.Kube.RbacV1().ClusterRoles().Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.ClusterRoleBinding:
			_, err = c.Kube.RbacV1().ClusterRoleBindings().Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.Role:
			_, err = c.Kube.RbacV1().Roles(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.RoleBinding:
			_, err = c.Kube.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		default:
			t.Fatalf("rbac.yaml: unexpected object %T", obj)
		}
		require.NoError(t, err)
	}

	require.NoError(t, wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true,
		func(ctx context.Context) (bool, error) {
			_, err := c.Kube.CoreV1().ConfigMaps("kube-system").Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{})
			return err == nil, nil
		}), "kube-apiserver did not publish kube-system/extension-apiserver-authentication")
}

// EtcdProcess is the pinned etcd binary run on its own, for tests that
// stop it and start it again on the same port and data.
type EtcdProcess struct {
	// URL is the client URL.
	URL  string
	proc *kit.Process
	bin  string
	args []string
	logs *kit.Logs
	// health checks /health (with the client certificate of a TLS
	// cluster); nil is http.DefaultClient.
	health *http.Client
	// owner is the test that started etcd: a restarted etcd lives as long.
	owner testing.TB
}

// StartEtcdProcess starts the pinned etcd binary on its own, with extra
// flags (say --quota-backend-bytes), and waits until it is healthy. It is
// stopped when the test ends.
func StartEtcdProcess(t testing.TB, extraFlags ...string) *EtcdProcess {
	t.Helper()
	dir := t.TempDir()
	e := &EtcdProcess{bin: filepath.Join(toolsDir(t), "etcd"), logs: &kit.Logs{Dir: dir}, owner: t}
	t.Cleanup(func() {
		if t.Failed() {
			e.logs.Dump(t.Logf, 40)
		}
	})
	e.URL, e.proc, e.args = startEtcd(t, filepath.Dir(e.bin), dir, e.logs, extraFlags...)
	return e
}

// Stop stops etcd (SIGTERM), as an outage would.
func (e *EtcdProcess) Stop() { e.proc.Stop(stopGrace) }

// Kill SIGKILLs etcd, as a crash would.
func (e *EtcdProcess) Kill() { e.proc.Kill() }

// Start starts etcd again on its port and data, and waits until it is
// healthy. It is stopped when the test that first started it ends.
func (e *EtcdProcess) Start(t testing.TB) {
	t.Helper()
	e.proc = startProcess(e.owner, e.logs, "etcd", e.bin, e.args...)
	require.NoError(t, wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true,
		func(ctx context.Context) (bool, error) {
			if e.proc.Exited() {
				return false, fmt.Errorf("etcd exited on restart: %v", e.proc.Wait())
			}
			return etcdHealthy(ctx, e.health, e.URL), nil
		}), "etcd did not become healthy again")
}

// startEtcd starts the etcd binary with its data in dir and returns its
// client URL.
func startEtcd(t testing.TB, bin, dir string, logs *kit.Logs, extraFlags ...string) (url string, p *kit.Process, args []string) {
	t.Helper()
	startWithRetry(t, "etcd", func() (*kit.Process, func(context.Context) (bool, error)) {
		client, peer := freePort(t), freePort(t)
		url = "http://127.0.0.1:" + strconv.Itoa(client)
		peerURL := "http://127.0.0.1:" + strconv.Itoa(peer)
		dataDir, err := os.MkdirTemp(dir, "etcd-")
		require.NoError(t, err)
		args = append([]string{
			"--name=default", "--data-dir=" + dataDir,
			"--listen-client-urls=" + url, "--advertise-client-urls=" + url,
			"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
			"--initial-cluster=default=" + peerURL,
			"--unsafe-no-fsync", "--log-level=warn",
		}, extraFlags...)
		p = startProcess(t, logs, "etcd", filepath.Join(bin, "etcd"), args...)
		return p, func(ctx context.Context) (bool, error) { return etcdHealthy(ctx, nil, url), nil }
	})
	return url, p, args
}

// etcdHealthy tells whether etcd at url answers its /health as healthy,
// asked with client (http.DefaultClient if nil).
func etcdHealthy(ctx context.Context, client *http.Client, url string) bool {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"health":"true"`)
}

// startWithRetry starts a process and waits until ready says so. A
// process that exits during start-up (most likely a port another process
// took between freePort and its bind) is started again, twice at most.
func startWithRetry(t testing.TB, what string, start func() (*kit.Process, func(context.Context) (bool, error))) {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		p, ready := start()
		err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 2*time.Minute, true,
			func(ctx context.Context) (bool, error) {
				if p.Exited() {
					return false, fmt.Errorf("%s exited during start-up: %v", what, p.Wait())
				}
				return ready(ctx)
			})
		if err == nil {
			return
		}
		lastErr = err
		exited := p.Exited()
		p.Stop(stopGrace)
		if !exited {
			break // it runs but never became ready: no point retrying
		}
	}
	t.Fatalf("starting %s: %v", what, lastErr)
}

// toolsDir returns the directory with the pinned kube-apiserver and etcd
// binaries, building them with hack/build-tools.sh when missing.
func toolsDir(t testing.TB) string {
	t.Helper()
	dir := kit.ToolsDir()
	if fileExists(filepath.Join(dir, "kube-apiserver")) && fileExists(filepath.Join(dir, "etcd")) {
		return dir
	}
	t.Logf("building kube-apiserver and etcd into %s (hack/build-tools.sh)", dir)
	cmd := exec.Command(filepath.Join(kit.RepoRoot(), "hack", "build-tools.sh"), "kube-apiserver", "etcd")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "hack/build-tools.sh kube-apiserver etcd:\n%s", out)
	return dir
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	port, err := kit.FreePort()
	require.NoError(t, err)
	return port
}

// --- processes ------------------------------------------------------------

// stopGrace is how long a process has to exit after SIGTERM.
const stopGrace = 20 * time.Second

// startProcess starts bin with args, logging to a file of logs; it is
// stopped when the test ends and killed if the test binary dies first.
func startProcess(t testing.TB, logs *kit.Logs, name, bin string, args ...string) *kit.Process {
	t.Helper()
	p, err := kit.Start(kit.Command{Path: bin, Args: args, LogFile: logs.File(name), KillWithParent: true})
	require.NoError(t, err, "starting %s", name)
	t.Cleanup(func() { p.Stop(stopGrace) })
	return p
}

// --- jobserver against the cluster ------------------------------------------

// clusterArgs are the flags that point jobserver at the cluster for
// delegated authentication and authorization, admission and the controller.
func (c *Cluster) clusterArgs() []string {
	return []string{
		"--kubeconfig=" + c.JobserverKubeconfig,
		"--authentication-kubeconfig=" + c.JobserverKubeconfig,
		"--authorization-kubeconfig=" + c.JobserverKubeconfig,
	}
}
