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
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/yaml"

	"github.com/jobserver-dev/jobserver/pkg/apiserver"
	"github.com/jobserver-dev/jobserver/test/integration/framework"
	"github.com/jobserver-dev/jobserver/test/kit"
)

// The bundled etcd of artifacts/deploy (components/etcd) and the
// certificates hack/gen-serving-cert.sh makes for it. The tests run the
// script as a user would, and the pinned etcd binary with the StatefulSet's
// own flags, on loopback.

const deployNamespace = "jobserver-system"

// genServingCert runs hack/gen-serving-cert.sh into a temporary directory,
// with extra flags, and returns the directory.
func genServingCert(t *testing.T, flags ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "generated")
	cmd := exec.Command(filepath.Join(kit.RepoRoot(), "hack", "gen-serving-cert.sh"), append([]string{"-o", dir}, flags...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "hack/gen-serving-cert.sh:\n%s", out)
	return dir
}

// readYAML decodes the YAML file into v.
func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, v), file)
}

func deployFile(parts ...string) string {
	return filepath.Join(append([]string{kit.RepoRoot(), "artifacts", "deploy"}, parts...)...)
}

// certPool returns a pool of the certificates in the PEM file.
func certPool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(data), file)
	return pool
}

// TestBundledEtcdCertificates: hack/gen-serving-cert.sh makes the bundled
// etcd a CA of its own, a server certificate for etcd's Service (and
// loopback) and a client certificate for jobserver, and the two Secrets
// components/etcd mounts; external-etcd gets none of it, --no-etcd skips
// it.
func TestBundledEtcdCertificates(t *testing.T) {
	dir := genServingCert(t)
	etcdDir := filepath.Join(dir, "etcd")
	etcdCA := certPool(t, filepath.Join(etcdDir, "ca.crt"))
	servingCA := certPool(t, filepath.Join(dir, "ca.crt"))

	server, err := kit.LoadCert(filepath.Join(etcdDir, "server.crt"))
	require.NoError(t, err)
	for _, name := range []string{"etcd." + deployNamespace + ".svc", "etcd." + deployNamespace + ".svc.cluster.local",
		"etcd", "localhost", "127.0.0.1"} {
		_, err := server.Verify(x509.VerifyOptions{Roots: etcdCA, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		assert.NoError(t, err, "the etcd server certificate for %s", name)
	}
	// etcd dials its own client port with it (the gRPC gateway), where it
	// is a client certificate.
	assert.Contains(t, server.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	_, err = server.Verify(x509.VerifyOptions{Roots: servingCA, DNSName: "etcd." + deployNamespace + ".svc"})
	assert.Error(t, err, "jobserver's serving CA is not the etcd CA")

	client, err := kit.LoadCert(filepath.Join(etcdDir, "client.crt"))
	require.NoError(t, err)
	assert.Equal(t, "jobserver", client.Subject.CommonName)
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, client.ExtKeyUsage)
	_, err = client.Verify(x509.VerifyOptions{Roots: etcdCA, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.NoError(t, err)
	serving, err := kit.LoadCert(filepath.Join(dir, "tls.crt"))
	require.NoError(t, err)
	_, err = serving.Verify(x509.VerifyOptions{Roots: etcdCA, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	assert.Error(t, err, "the etcd CA does not sign jobserver's serving certificate")

	for _, key := range []string{"ca.key", "server.key", "client.key", "etcd-server-tls.yaml", "jobserver-etcd-client.yaml"} {
		fi, err := os.Stat(filepath.Join(etcdDir, key))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), key)
	}

	// The Secrets hold exactly those files, under the keys the manifests
	// read.
	for name, files := range map[string][2]string{
		"etcd-server-tls":       {"server.crt", "server.key"},
		"jobserver-etcd-client": {"client.crt", "client.key"},
	} {
		secret := generatedSecret(t, etcdDir, name)
		assert.Equal(t, deployNamespace, secret.Namespace)
		assert.Equal(t, corev1.SecretTypeTLS, secret.Type)
		assert.Len(t, secret.Data, 3, name)
		for key, file := range map[string]string{"ca.crt": "ca.crt", "tls.crt": files[0], "tls.key": files[1]} {
			want, err := os.ReadFile(filepath.Join(etcdDir, file))
			require.NoError(t, err)
			assert.Equal(t, string(want), string(secret.Data[key]), "%s: %s", name, key)
		}
	}
	var component struct{ Resources []string }
	readYAML(t, filepath.Join(etcdDir, "kustomization.yaml"), &component)
	assert.ElementsMatch(t, []string{"etcd-server-tls.yaml", "jobserver-etcd-client.yaml"}, component.Resources)

	// artifacts/deploy includes generated/etcd; external-etcd (which
	// includes generated/) does not, nor does generated/ itself.
	var top, external, generated struct{ Components, Resources []string }
	readYAML(t, deployFile("kustomization.yaml"), &top)
	readYAML(t, deployFile("external-etcd", "kustomization.yaml"), &external)
	readYAML(t, filepath.Join(dir, "kustomization.yaml"), &generated)
	assert.Contains(t, top.Components, "generated/etcd")
	assert.Contains(t, top.Components, "components/etcd")
	assert.NotContains(t, external.Components, "../generated/etcd")
	assert.Equal(t, []string{"secret.yaml"}, generated.Resources)

	// The bundled etcd's jobserver side is the external-etcd patch, with
	// the same Secret and mount path.
	bundled, externalPatch := readPatch(t, deployFile("components", "etcd", "etcd-client-tls.yaml")),
		readPatch(t, deployFile("external-etcd", "etcd-client-tls.yaml"))
	assert.Equal(t, externalPatch, bundled, "components/etcd/etcd-client-tls.yaml and external-etcd/etcd-client-tls.yaml differ")

	// A second run keeps everything.
	before := readFiles(t, etcdDir)
	cmd := exec.Command(filepath.Join(kit.RepoRoot(), "hack", "gen-serving-cert.sh"), "-o", dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "etcd: keeping the CA, server certificate and client certificate in "+etcdDir)
	assert.Equal(t, before, readFiles(t, etcdDir))

	// --no-etcd: no etcd material at all.
	noEtcd := genServingCert(t, "--no-etcd")
	_, err = os.Stat(filepath.Join(noEtcd, "etcd"))
	assert.True(t, os.IsNotExist(err), "--no-etcd writes no etcd/: %v", err)
	_, err = os.Stat(filepath.Join(noEtcd, "secret.yaml"))
	assert.NoError(t, err)
}

// TestBundledEtcdTLS runs the pinned etcd with the StatefulSet's flags (only
// addresses, ports and the mounted directories made local) and the
// certificates of hack/gen-serving-cert.sh, and jobserver with the flags
// components/etcd gives it: only a client with a certificate of the etcd CA
// reads or writes; the metrics port answers health checks and nothing
// else; jobserver stores Jobs through TLS.
func TestBundledEtcdTLS(t *testing.T) {
	dir := genServingCert(t)
	etcdDir := filepath.Join(dir, "etcd")
	e := startBundledEtcd(t, etcdDir)
	assert.True(t, strings.HasPrefix(e.clientURL, "https://"), "etcd advertises an https client URL: %s", e.clientURL)
	ctx := testContext(t)
	u, err := url.Parse(e.clientURL)
	require.NoError(t, err)
	hostPort := u.Host

	caPool := certPool(t, filepath.Join(etcdDir, "ca.crt"))
	goodPair, err := tls.LoadX509KeyPair(filepath.Join(etcdDir, "client.crt"), filepath.Join(etcdDir, "client.key"))
	require.NoError(t, err)
	otherCA, err := kit.NewCA(kit.CAOptions{CommonName: "other-etcd-ca"})
	require.NoError(t, err)
	otherPEM, otherKey := otherCA.MustIssue(t, kit.ClientCert("jobserver"))
	otherPair, err := tls.X509KeyPair(otherPEM, otherKey)
	require.NoError(t, err)
	// The client presents its certificate whatever CAs etcd asks for (Go's
	// client would otherwise send none that etcd's CA did not sign).
	tlsConfig := func(certs ...tls.Certificate) *tls.Config {
		cfg := &tls.Config{RootCAs: caPool, MinVersion: tls.VersionTLS12}
		if len(certs) > 0 {
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &certs[0], nil }
		}
		return cfg
	}

	// (a) Without a certificate: neither over plain HTTP nor over TLS.
	// (b) With a certificate of another CA: neither.
	for _, c := range []struct {
		name, endpoint string
		tls            *tls.Config
		handshakeErr   string
	}{
		{"plain, no certificate", "http://" + hostPort, nil, ""},
		{"TLS, no certificate", e.clientURL, tlsConfig(), "certificate required"},
		{"TLS, certificate of another CA", e.clientURL, tlsConfig(otherPair), "unknown certificate authority"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cli := etcdClient(t, c.endpoint, c.tls)
			_, err := cli.Put(shortContext(t, ctx), "/bundled-etcd-test/denied", "x")
			assert.Error(t, err, "a write")
			_, err = cli.Get(shortContext(t, ctx), "/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
			assert.Error(t, err, "a read")
			if c.tls != nil {
				// The reason, from the TLS handshake itself.
				assert.ErrorContains(t, tlsExchange(hostPort, c.tls), c.handshakeErr)
			}
		})
	}

	// (c) The client certificate of the etcd CA reads and writes.
	good := etcdClient(t, e.clientURL, tlsConfig(goodPair))
	_, err = good.Put(shortContext(t, ctx), "/bundled-etcd-test/allowed", "yes")
	require.NoError(t, err)
	got, err := good.Get(shortContext(t, ctx), "/bundled-etcd-test/allowed")
	require.NoError(t, err)
	require.Len(t, got.Kvs, 1)
	assert.Equal(t, "yes", string(got.Kvs[0].Value))
	assert.NoError(t, tlsExchange(hostPort, tlsConfig(goodPair)))
	denied, err := good.Get(shortContext(t, ctx), "/bundled-etcd-test/denied")
	require.NoError(t, err)
	assert.Empty(t, denied.Kvs, "no refused client wrote")
	// So does the gRPC gateway on the client port, which dials etcd with
	// the server certificate (hence its client usage).
	gateway := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig(goodPair)}}
	status, body := httpDo(t, gateway, http.MethodPost, e.clientURL+"/v3/kv/range", `{"key":"L2J1bmRsZWQtZXRjZC10ZXN0L2FsbG93ZWQ="}`)
	assert.Equal(t, http.StatusOK, status, "%s", body)
	assert.Contains(t, body, `"count":"1"`)

	// (d) The metrics port: health and metrics without a certificate, but
	// no KV API, neither gRPC nor the gateway.
	plain := &http.Client{Timeout: 10 * time.Second}
	for _, path := range []string{"/health", "/livez", "/readyz", "/metrics"} {
		status, body := httpDo(t, plain, http.MethodGet, e.metricsURL+path, "")
		assert.Equal(t, http.StatusOK, status, "%s: %s", path, body)
	}
	_, body = httpDo(t, plain, http.MethodGet, e.metricsURL+"/health", "")
	assert.Contains(t, body, `"health":"true"`)
	for _, path := range []string{"/v3/kv/range", "/v3/kv/put"} {
		status, body := httpDo(t, plain, http.MethodPost, e.metricsURL+path, `{"key":"L2J1bmRsZWQtZXRjZC10ZXN0L2FsbG93ZWQ="}`)
		assert.Equal(t, http.StatusNotFound, status, "%s on the metrics port: %s", path, body)
		assert.NotContains(t, body, "eWVz", "the value") // base64 "yes"
	}
	status, _ = httpDo(t, plain, http.MethodGet, e.metricsURL+"/version", "")
	assert.Equal(t, http.StatusNotFound, status, "/version is on the client port only")
	metricsGRPC := etcdClient(t, e.metricsURL, nil)
	_, err = metricsGRPC.Get(shortContext(t, ctx), "/bundled-etcd-test/allowed")
	assert.Error(t, err, "gRPC on the metrics port")

	// jobserver with components/etcd's flags, its client certificate from
	// the Secret jobserver-etcd-client, stores a Job.
	js := bundledJobserverFlags(t, etcdDir, e.clientURL)
	t.Logf("jobserver's etcd flags: %v", js)
	var servers string
	var extra []string
	for _, f := range js {
		if v, ok := strings.CutPrefix(f, "--etcd-servers="); ok {
			servers = v
		} else {
			extra = append(extra, f)
		}
	}
	require.Equal(t, e.clientURL, servers)
	s := framework.StartServer(t, framework.ServerOptions{EtcdServers: servers, ExtraFlags: extra})
	_, err = s.Clientset(t).BatchV1().Jobs(ns).Create(ctx, newJob("through-tls"), metav1.CreateOptions{})
	require.NoError(t, err)
	stored, err := good.Get(shortContext(t, ctx), apiserver.EtcdPathPrefix+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	var keys []string
	for _, kv := range stored.Kvs {
		keys = append(keys, string(kv.Key))
	}
	assert.True(t, slices.ContainsFunc(keys, func(k string) bool { return strings.HasSuffix(k, "/jobs/"+ns+"/through-tls") }),
		"the Job is in the bundled etcd: %v", keys)
}

// bundledEtcd is the pinned etcd run with the StatefulSet's flags.
type bundledEtcd struct {
	// clientURL is the advertised client URL, metricsURL the metrics one.
	clientURL, metricsURL string
}

// startBundledEtcd starts the pinned etcd as components/etcd's StatefulSet
// runs it: its args with $(POD_NAME) the first Pod's name, every URL's host
// and port 127.0.0.1 and a free port (one per port of the manifest), every
// mounted directory a local one (the data volume a temporary directory,
// the Secret etcd-server-tls the files of the generated Secret), and only
// --log-level=warn and --unsafe-no-fsync added.
func startBundledEtcd(t *testing.T, etcdDir string) *bundledEtcd {
	t.Helper()
	var sts appsv1.StatefulSet
	readYAML(t, deployFile("components", "etcd", "statefulset.yaml"), &sts)
	var c *corev1.Container
	for i := range sts.Spec.Template.Spec.Containers {
		if sts.Spec.Template.Spec.Containers[i].Name == "etcd" {
			c = &sts.Spec.Template.Spec.Containers[i]
		}
	}
	require.NotNil(t, c, "the StatefulSet has a container etcd")
	require.Equal(t, []string{"etcd"}, c.Command)

	bin := etcdBinary(t)
	logs := &kit.Logs{Dir: t.TempDir()}
	t.Cleanup(func() {
		if t.Failed() {
			logs.Dump(t.Logf, 60)
		}
	})
	for attempt := 0; ; attempt++ {
		// Each mounted volume becomes a new local directory: a Secret's
		// with the generated Secret's files, the data volume empty.
		dirs := map[string]string{}
		for _, m := range c.VolumeMounts {
			local := t.TempDir()
			for _, v := range sts.Spec.Template.Spec.Volumes {
				if v.Name == m.Name && v.Secret != nil {
					writeSecret(t, generatedSecret(t, etcdDir, v.Secret.SecretName), local)
				}
			}
			dirs[m.MountPath] = local
		}
		ports := map[string]int{}
		args := make([]string, 0, len(c.Args))
		for _, a := range c.Args {
			a = strings.ReplaceAll(a, "$(POD_NAME)", sts.Name+"-0")
			a = urlHostPort.ReplaceAllStringFunc(a, func(u string) string {
				m := urlHostPort.FindStringSubmatch(u)
				if ports[m[2]] == 0 {
					ports[m[2]] = freeLoopbackPort(t)
				}
				return m[1] + "://127.0.0.1:" + strconv.Itoa(ports[m[2]])
			})
			if name, value, ok := strings.Cut(a, "="); ok {
				for mountPath, local := range dirs {
					if rest, ok := strings.CutPrefix(value, mountPath); ok && (rest == "" || rest[0] == '/') {
						a = name + "=" + local + rest
					}
				}
			}
			require.NotContains(t, a, "$(", "an unresolved variable")
			args = append(args, a)
		}
		e := &bundledEtcd{clientURL: flagValue(args, "--advertise-client-urls"), metricsURL: flagValue(args, "--listen-metrics-urls")}
		require.NotEmpty(t, e.metricsURL, "the StatefulSet's probes need --listen-metrics-urls")
		args = append(args, "--log-level=warn", "--unsafe-no-fsync")
		t.Logf("etcd %s", strings.Join(args, " "))
		p, err := kit.Start(kit.Command{Path: bin, Args: args, LogFile: logs.File("etcd"), KillWithParent: true})
		require.NoError(t, err)
		t.Cleanup(func() { p.Stop(20 * time.Second) })
		// The kubelet's probe, on the metrics port, without a certificate.
		err = wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 2*time.Minute, true,
			func(ctx context.Context) (bool, error) {
				if p.Exited() {
					return false, fmt.Errorf("etcd exited during start-up: %v", p.Wait())
				}
				status, _, err := httpGet(ctx, e.metricsURL+"/readyz")
				return err == nil && status == http.StatusOK, nil
			})
		if err == nil {
			return e
		}
		// A port taken between freeLoopbackPort and etcd's bind: again.
		require.True(t, p.Exited() && attempt < 2, "etcd not ready: %v", err)
	}
}

// urlHostPort matches a URL's scheme, host and port; group 2 is the port.
var urlHostPort = regexp.MustCompile(`(https?)://[^/,:=]+:(\d+)`)

// flagValue returns the value of --name=value in args.
func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// e2ePorts are the fixed ports of test/e2e's local cluster
// (test/e2e/framework/cluster.go), which may be running meanwhile.
var e2ePorts = []int{33790, 36443, 38443, 30257, 30259, 30247}

// freeLoopbackPort returns a free loopback port that is not one of the
// e2e cluster's.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	for {
		port, err := kit.FreePort()
		require.NoError(t, err)
		if !slices.Contains(e2ePorts, port) {
			return port
		}
	}
}

// etcdBinary returns the pinned etcd, building it when missing.
func etcdBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(kit.ToolsDir(), "etcd")
	if _, err := os.Stat(bin); err != nil {
		out, err := exec.Command(filepath.Join(kit.RepoRoot(), "hack", "build-tools.sh"), "etcd").CombinedOutput()
		require.NoError(t, err, "hack/build-tools.sh etcd:\n%s", out)
	}
	return bin
}

// generatedSecret reads the Secret name that hack/gen-serving-cert.sh wrote
// into etcdDir.
func generatedSecret(t *testing.T, etcdDir, name string) *corev1.Secret {
	t.Helper()
	var s corev1.Secret
	readYAML(t, filepath.Join(etcdDir, name+".yaml"), &s)
	require.Equal(t, "Secret", s.Kind)
	require.Equal(t, name, s.Name)
	return &s
}

// writeSecret writes each key of the Secret into dir, as the kubelet
// mounts it.
func writeSecret(t *testing.T, s *corev1.Secret, dir string) {
	t.Helper()
	for key, data := range s.Data {
		require.NoError(t, os.WriteFile(filepath.Join(dir, key), data, 0o600))
	}
}

// jsonPatchOp is an operation of a JSON 6902 patch of kustomize.
type jsonPatchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

func readPatch(t *testing.T, file string) []jsonPatchOp {
	t.Helper()
	var ops []jsonPatchOp
	readYAML(t, file, &ops)
	require.NotEmpty(t, ops, file)
	return ops
}

// bundledJobserverFlags returns the flags components/etcd adds to
// jobserver's container, its patches applied in order: URLs pointed at
// etcdURL, the mount of the Secret jobserver-etcd-client a directory with
// the generated Secret's files.
func bundledJobserverFlags(t *testing.T, etcdDir, etcdURL string) []string {
	t.Helper()
	var k struct {
		Patches []struct {
			Path   string `json:"path"`
			Patch  string `json:"patch"`
			Target struct {
				Kind string `json:"kind"`
				Name string `json:"name"`
			} `json:"target"`
		} `json:"patches"`
	}
	readYAML(t, deployFile("components", "etcd", "kustomization.yaml"), &k)
	var ops []jsonPatchOp
	for _, p := range k.Patches {
		if p.Target.Kind != "Deployment" || p.Target.Name != "jobserver" {
			continue
		}
		if p.Path != "" {
			ops = append(ops, readPatch(t, deployFile("components", "etcd", p.Path))...)
		} else {
			var inline []jsonPatchOp
			require.NoError(t, yaml.Unmarshal([]byte(p.Patch), &inline))
			ops = append(ops, inline...)
		}
	}
	var args []string
	var mounts []corev1.VolumeMount
	var volumes []corev1.Volume
	for _, op := range ops {
		require.Equal(t, "add", op.Op)
		switch op.Path {
		case "/spec/template/spec/containers/0/args/-":
			var a string
			require.NoError(t, json.Unmarshal(op.Value, &a))
			args = append(args, a)
		case "/spec/template/spec/containers/0/volumeMounts/-":
			var m corev1.VolumeMount
			require.NoError(t, json.Unmarshal(op.Value, &m))
			mounts = append(mounts, m)
		case "/spec/template/spec/volumes/-":
			var v corev1.Volume
			require.NoError(t, json.Unmarshal(op.Value, &v))
			volumes = append(volumes, v)
		default:
			t.Fatalf("unexpected patch path %s", op.Path)
		}
	}
	dirs := map[string]string{}
	for _, m := range mounts {
		for _, v := range volumes {
			if v.Name == m.Name && v.Secret != nil {
				local := t.TempDir()
				writeSecret(t, generatedSecret(t, etcdDir, v.Secret.SecretName), local)
				dirs[m.MountPath] = local
			}
		}
	}
	u, err := url.Parse(etcdURL)
	require.NoError(t, err)
	for i, a := range args {
		a = urlHostPort.ReplaceAllStringFunc(a, func(m string) string {
			return urlHostPort.FindStringSubmatch(m)[1] + "://" + u.Host
		})
		for mountPath, local := range dirs {
			a = strings.Replace(a, "="+mountPath+"/", "="+local+"/", 1)
		}
		args[i] = a
	}
	return args
}

// etcdClient is a clientv3 client of endpoint, closed with the test.
func etcdClient(t *testing.T, endpoint string, tlsConfig *tls.Config) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, TLS: tlsConfig, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// shortContext bounds a single etcd request: one that is refused is
// retried by the client until the deadline.
func shortContext(t *testing.T, ctx context.Context) context.Context {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// tlsExchange makes a TLS connection to hostPort and sends an HTTP/1
// request over it: with TLS 1.3 the server's verdict on the client's
// certificate arrives only after the client's handshake is done, as an
// alert on the first read.
func tlsExchange(hostPort string, cfg *tls.Config) error {
	cfg = cfg.Clone()
	cfg.ServerName = "127.0.0.1"
	conn, err := tls.Dial("tcp", hostPort, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"); err != nil {
		return err
	}
	_, err = conn.Read(make([]byte, 1))
	return err
}

func httpGet(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func httpDo(t *testing.T, client *http.Client, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err, "%s %s", method, url)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(data)
}

// readFiles returns the contents of every file in dir.
func readFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	files := map[string]string{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		files[e.Name()] = string(data)
	}
	return files
}
