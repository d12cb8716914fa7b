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

package kit

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	kbatchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/util/cert"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

// verify parses certPEM and verifies it against ca for usage.
func verify(t *testing.T, ca *CA, certPEM []byte, usage x509.ExtKeyUsage) *x509.Certificate {
	t.Helper()
	certs, err := cert.ParseCertsPEM(certPEM)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	_, err = certs[0].Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}})
	require.NoError(t, err)
	return certs[0]
}

func TestClientCertificate(t *testing.T) {
	ca, err := NewCA(CAOptions{CommonName: "test-ca"})
	require.NoError(t, err)
	assert.True(t, ca.Cert.IsCA)
	assert.Equal(t, "test-ca", ca.Cert.Subject.CommonName)
	assert.InDelta(t, 3650, time.Until(ca.Cert.NotAfter).Hours()/24, 1, "ten years")

	certPEM, keyPEM := ca.MustIssue(t, ClientCert("alice", "dev", "ops"))
	c := verify(t, ca, certPEM, x509.ExtKeyUsageClientAuth)
	assert.Equal(t, "alice", c.Subject.CommonName)
	assert.Equal(t, []string{"dev", "ops"}, c.Subject.Organization)
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, c.ExtKeyUsage)
	assert.False(t, c.IsCA)
	assert.InDelta(t, DefaultValidity.Hours(), time.Until(c.NotAfter).Hours(), 0.1)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	_, err = c.Verify(x509.VerifyOptions{Roots: roots}) // for serverAuth
	assert.Error(t, err, "a client certificate does not serve")

	// The key is the certificate's, in a form a TLS client accepts.
	_, err = tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)
}

func TestServingCertificate(t *testing.T) {
	ca, err := NewCA(CAOptions{CommonName: "serving-ca", Validity: 48 * time.Hour, KeyAlgorithm: RSA})
	require.NoError(t, err)
	assert.True(t, ca.Cert.IsCA)
	assert.InDelta(t, 48, time.Until(ca.Cert.NotAfter).Hours(), 0.1)

	o := ServingCert("svc", []string{"svc.ns.svc", "localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	o.Validity, o.KeyAlgorithm = time.Hour, RSA
	certPEM, keyPEM, err := ca.Issue(o)
	require.NoError(t, err)
	c := verify(t, ca, certPEM, x509.ExtKeyUsageServerAuth)
	assert.Equal(t, "svc", c.Subject.CommonName)
	for _, name := range []string{"svc.ns.svc", "localhost", "127.0.0.1"} {
		assert.NoError(t, c.VerifyHostname(name))
	}
	assert.Error(t, c.VerifyHostname("other.ns.svc"))
	assert.InDelta(t, 1, time.Until(c.NotAfter).Hours(), 0.01)
	_, err = tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)

	kasPEM, _ := ca.MustIssue(t, KubeAPIServerServingCert())
	kas := verify(t, ca, kasPEM, x509.ExtKeyUsageServerAuth)
	assert.NoError(t, kas.VerifyHostname("kubernetes.default.svc"))
	assert.NoError(t, kas.VerifyHostname("10.96.0.1"))
}

func TestLoadCA(t *testing.T) {
	dir := t.TempDir()
	ca, err := NewCA(CAOptions{CommonName: "files"})
	require.NoError(t, err)
	certFile, keyFile := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	require.NoError(t, ca.WriteFiles(certFile, keyFile))
	assertMode(t, certFile, 0o644)
	assertMode(t, keyFile, 0o600)

	loaded, err := LoadCA(certFile, keyFile)
	require.NoError(t, err)
	assert.True(t, loaded.Cert.Equal(ca.Cert))
	bobPEM, _ := loaded.MustIssue(t, ClientCert("bob"))
	verify(t, ca, bobPEM, x509.ExtKeyUsageClientAuth)

	other, err := NewCA(CAOptions{CommonName: "other"})
	require.NoError(t, err)
	require.NoError(t, other.WriteFiles(filepath.Join(dir, "other.crt"), keyFile))
	_, err = LoadCA(certFile, keyFile)
	assert.ErrorContains(t, err, "is not the key of")
}

func TestWriteServiceAccountKeys(t *testing.T) {
	dir := t.TempDir()
	for _, alg := range []KeyAlgorithm{ECDSA, RSA} {
		priv, pub := filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
		require.NoError(t, WriteServiceAccountKeys(priv, pub, alg))
		assertMode(t, priv, 0o600)
		pubData, err := os.ReadFile(pub)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(string(pubData), "-----BEGIN PUBLIC KEY-----"))
	}
}

func TestConditions(t *testing.T) {
	job := &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
		{Type: batchv1.JobSuspended, Status: corev1.ConditionFalse, Reason: "JobResumed"},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue},
	}}}
	assert.Equal(t, "JobResumed", Condition(job, batchv1.JobSuspended).Reason)
	assert.Nil(t, Condition(job, batchv1.JobFailed))
	assert.False(t, HasTrueCondition(job, batchv1.JobSuspended))
	assert.True(t, HasTrueCondition(job, batchv1.JobComplete))
	assert.False(t, HasTrueCondition(job, batchv1.JobFailed))

	kjob := &kbatchv1.Job{Status: kbatchv1.JobStatus{Conditions: []kbatchv1.JobCondition{
		{Type: kbatchv1.JobFailureTarget, Status: corev1.ConditionFalse},
		{Type: kbatchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded"},
	}}}
	assert.Equal(t, "BackoffLimitExceeded", KubeTrueCondition(kjob, kbatchv1.JobFailed).Reason)
	assert.Nil(t, KubeTrueCondition(kjob, kbatchv1.JobFailureTarget), "not True")
	assert.Nil(t, KubeTrueCondition(kjob, kbatchv1.JobComplete))
}

func TestYAML(t *testing.T) {
	manifest := []byte(`---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: a
---
# only a comment follows the separator
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: b
  namespace: ns
---

`)
	docs, err := SplitYAML(manifest)
	require.NoError(t, err)
	require.Len(t, docs, 2)
	assert.Contains(t, string(docs[1]), "kind: Role")

	objs, err := DecodeYAML(manifest, scheme.Codecs.UniversalDeserializer())
	require.NoError(t, err)
	require.Len(t, objs, 2)
	assert.Equal(t, "a", objs[0].(*rbacv1.ClusterRole).Name)
	assert.Equal(t, "ns", objs[1].(*rbacv1.Role).Namespace)

	_, err = SplitYAML([]byte("a: 1\n--- x\nb: 2\n"))
	assert.Error(t, err, "text after a separator")
}

func TestKubeAPIServerFlags(t *testing.T) {
	flags := KubeAPIServerFlags(KubeAPIServer{EtcdURL: "http://127.0.0.1:1", Port: 6443, ClientCAFile: "/ca.crt"})
	assert.Contains(t, flags, "--etcd-servers=http://127.0.0.1:1")
	assert.Contains(t, flags, "--secure-port=6443")
	assert.Contains(t, flags, "--client-ca-file=/ca.crt")
	assert.Contains(t, flags, "--requestheader-allowed-names="+FrontProxyClientName)
	for _, f := range flags {
		assert.True(t, strings.HasPrefix(f, "--"), f)
	}
}

func TestProcess(t *testing.T) {
	logs := &Logs{Dir: t.TempDir()}
	p, err := Start(Command{
		Path: "/bin/sh", Args: []string{"-c", `echo "started $KIT_TEST"; exec sleep 60`},
		Env: []string{"KIT_TEST=yes"}, LogFile: logs.File("sleeper"), KillWithParent: true,
	})
	require.NoError(t, err)
	assert.Positive(t, p.Pid())
	assert.False(t, p.Exited())
	require.Eventually(t, func() bool {
		data, _ := os.ReadFile(filepath.Join(logs.Dir, "sleeper-0.log"))
		return string(data) == "started yes\n"
	}, 10*time.Second, 10*time.Millisecond)
	p.Stop(10 * time.Second)
	assert.True(t, p.Exited())
	assert.ErrorContains(t, p.Wait(), "terminated")
	p.Stop(time.Second) // stopping again does nothing

	// A process that ignores SIGTERM is killed after the grace period.
	stubborn, err := Start(Command{Path: "/bin/sh", Args: []string{"-c", `trap "" TERM; echo ready; while :; do sleep 0.1; done`}, LogFile: logs.File("stubborn")})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		data, _ := os.ReadFile(filepath.Join(logs.Dir, "stubborn-1.log"))
		return string(data) == "ready\n"
	}, 10*time.Second, 10*time.Millisecond)
	start := time.Now()
	stubborn.Stop(200 * time.Millisecond)
	assert.ErrorContains(t, stubborn.Wait(), "killed")
	assert.Less(t, time.Since(start), 5*time.Second)

	quick, err := Start(Command{Path: "/bin/sh", Args: []string{"-c", "exit 3"}, LogFile: logs.File("quick")})
	require.NoError(t, err)
	assert.ErrorContains(t, quick.Wait(), "exit status 3")
	quick.Kill() // it has exited: nothing to do

	var dumped []string
	logs.Dump(func(format string, args ...any) { dumped = append(dumped, args[0].(string)+": "+args[1].(string)) }, 1)
	assert.Equal(t, []string{"sleeper-0.log: started yes", "stubborn-1.log: ready", "quick-2.log: "}, dumped)

	_, err = Start(Command{Path: "/nonexistent", LogFile: logs.File("missing")})
	assert.Error(t, err)
}

func TestRepoRoot(t *testing.T) {
	_, err := os.Stat(filepath.Join(RepoRoot(), "go.mod"))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(RepoRoot(), "_output", "bin"), ToolsDir())
}

func assertMode(t *testing.T, file string, mode os.FileMode) {
	t.Helper()
	fi, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, mode, fi.Mode().Perm(), file)
}
