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

package main

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobserver-dev/jobserver/test/kit"
)

// readDir returns the contents of every file in dir.
func readDir(t *testing.T, dir string) map[string]string {
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

func TestLocalPKI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	require.NoError(t, writeLocalPKI(dir, "jobserver-system", "jobserver"))
	first := readDir(t, dir)
	var names []string
	for name := range first {
		names = append(names, name)
	}
	sort.Strings(names)
	var want []string
	for _, n := range []string{"ca", "front-proxy-ca", "jobserver-ca", "kube-apiserver", "admin", "kube-controller-manager",
		"kube-scheduler", "jobserver-client", "front-proxy-client", "jobserver"} {
		want = append(want, n+".crt", n+".key")
	}
	want = append(want, "sa.key", "sa.pub")
	sort.Strings(want)
	assert.Equal(t, want, names, "no temporary files left")

	load := func(name string) *x509.Certificate {
		c, err := kit.LoadCert(filepath.Join(dir, name+".crt"))
		require.NoError(t, err)
		return c
	}
	verifies := func(name, ca string, usage x509.ExtKeyUsage) *x509.Certificate {
		roots := x509.NewCertPool()
		roots.AddCert(load(ca))
		c := load(name)
		_, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}})
		require.NoError(t, err, name)
		return c
	}
	assert.Equal(t, "local-cluster-ca", load("ca").Subject.CommonName)
	assert.Equal(t, "local-front-proxy-ca", load("front-proxy-ca").Subject.CommonName)
	assert.Equal(t, "jobserver-ca", load("jobserver-ca").Subject.CommonName)
	kas := verifies("kube-apiserver", "ca", x509.ExtKeyUsageServerAuth)
	for _, name := range []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "127.0.0.1", "10.96.0.1"} {
		assert.NoError(t, kas.VerifyHostname(name))
	}
	admin := verifies("admin", "ca", x509.ExtKeyUsageClientAuth)
	assert.Equal(t, "kubernetes-admin", admin.Subject.CommonName)
	assert.Equal(t, []string{"system:masters"}, admin.Subject.Organization)
	assert.Equal(t, "system:kube-controller-manager", verifies("kube-controller-manager", "ca", x509.ExtKeyUsageClientAuth).Subject.CommonName)
	assert.Equal(t, "system:kube-scheduler", verifies("kube-scheduler", "ca", x509.ExtKeyUsageClientAuth).Subject.CommonName)
	assert.Equal(t, "system:serviceaccount:jobserver-system:jobserver",
		verifies("jobserver-client", "ca", x509.ExtKeyUsageClientAuth).Subject.CommonName)
	assert.Equal(t, "front-proxy-client", verifies("front-proxy-client", "front-proxy-ca", x509.ExtKeyUsageClientAuth).Subject.CommonName)
	js := verifies("jobserver", "jobserver-ca", x509.ExtKeyUsageServerAuth)
	assert.Equal(t, "jobserver.jobserver-system.svc", js.Subject.CommonName)
	for _, name := range []string{"jobserver.jobserver-system.svc", "localhost", "127.0.0.1"} {
		assert.NoError(t, js.VerifyHostname(name))
	}
	assert.True(t, strings.HasPrefix(first["sa.key"], "-----BEGIN RSA PRIVATE KEY-----"))
	assert.True(t, strings.HasPrefix(first["sa.pub"], "-----BEGIN PUBLIC KEY-----"))

	// Idempotent: a second run keeps every file.
	require.NoError(t, writeLocalPKI(dir, "jobserver-system", "jobserver"))
	assert.Equal(t, first, readDir(t, dir))

	// A missing certificate is issued again, by the CA that is there.
	require.NoError(t, os.Remove(filepath.Join(dir, "admin.crt")))
	require.NoError(t, writeLocalPKI(dir, "jobserver-system", "jobserver"))
	again := readDir(t, dir)
	assert.NotEqual(t, first["admin.crt"], again["admin.crt"])
	assert.NotEqual(t, first["admin.key"], again["admin.key"])
	delete(first, "admin.crt")
	delete(first, "admin.key")
	delete(again, "admin.crt")
	delete(again, "admin.key")
	assert.Equal(t, first, again)
	verifies("admin", "ca", x509.ExtKeyUsageClientAuth)
}

func TestLocalKubeAPIServerFlags(t *testing.T) {
	flags := kit.KubeAPIServerFlags(localKubeAPIServer("/pki", "http://127.0.0.1:23790", 26443))
	for _, want := range []string{
		"--etcd-servers=http://127.0.0.1:23790", "--secure-port=26443",
		"--tls-cert-file=/pki/kube-apiserver.crt", "--tls-private-key-file=/pki/kube-apiserver.key",
		"--client-ca-file=/pki/ca.crt",
		"--service-account-key-file=/pki/sa.pub", "--service-account-signing-key-file=/pki/sa.key",
		"--requestheader-client-ca-file=/pki/front-proxy-ca.crt",
		"--proxy-client-cert-file=/pki/front-proxy-client.crt", "--proxy-client-key-file=/pki/front-proxy-client.key",
	} {
		assert.Contains(t, flags, want)
	}
}
