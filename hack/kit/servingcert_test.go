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
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/util/keyutil"

	"github.com/jobserver-dev/jobserver/test/kit"
)

func newServingCert(t *testing.T) certSet {
	s := servingCert(t.TempDir(), "jobserver.ns.svc",
		[]string{"jobserver.ns.svc", "jobserver.ns.svc.cluster.local", "jobserver.ns", "jobserver"}, nil)
	s.days, s.caDays, s.renewDays = 365, 3650, 30
	return s
}

// runServingCert runs s as if at time now (which only the plan sees) and
// returns what it logged.
func runServingCert(t *testing.T, s certSet, now time.Time) []string {
	t.Helper()
	var logged []string
	require.NoError(t, s.run(s.plan(now), func(format string, args ...any) {
		logged = append(logged, fmt.Sprintf(format, args...))
	}))
	return logged
}

func TestServingCertIssuesAndKeeps(t *testing.T) {
	s := newServingCert(t)
	s.certs[0].opts.IPs = []net.IP{net.ParseIP("10.0.0.1")}
	now := time.Now()
	assert.Equal(t, []string{
		"creating a CA (3650 days)",
		"issuing a serving certificate for jobserver.ns.svc jobserver.ns.svc.cluster.local jobserver.ns jobserver 10.0.0.1 (365 days)",
	}, runServingCert(t, s, now))
	first := readDir(t, s.dir)
	assert.ElementsMatch(t, []string{"ca.crt", "ca.key", "tls.crt", "tls.key"}, keys(first))
	for name, mode := range map[string]os.FileMode{"ca.crt": 0o644, "ca.key": 0o600, "tls.crt": 0o644, "tls.key": 0o600} {
		fi, err := os.Stat(s.file(name))
		require.NoError(t, err)
		assert.Equal(t, mode, fi.Mode().Perm(), name)
	}

	ca, err := kit.LoadCA(s.file("ca.crt"), s.file("ca.key"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(ca.Cert.Subject.CommonName, "jobserver-ca@"))
	assert.InDelta(t, 3650, ca.Cert.NotAfter.Sub(now).Hours()/24, 0.01)
	tls, err := kit.LoadCert(s.file("tls.crt"))
	require.NoError(t, err)
	assert.Equal(t, "jobserver.ns.svc", tls.Subject.CommonName)
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, tls.ExtKeyUsage)
	assert.InDelta(t, 365, tls.NotAfter.Sub(now).Hours()/24, 0.01)
	assert.NoError(t, s.verify(tls, now))
	assert.True(t, keyFileMatches(tls, s.file("tls.key")))
	assert.True(t, s.certs[0].covers(tls))

	// Valid, matching and covering every name: kept.
	assert.Equal(t, []string{"keeping the CA and serving certificate in " + s.dir}, runServingCert(t, s, now))
	assert.Equal(t, first, readDir(t, s.dir))
	// Still so 300 days later: 65 days left.
	assert.Equal(t, []string{"keeping the CA and serving certificate in " + s.dir}, runServingCert(t, s, now.Add(300*day)))
	assert.Equal(t, first, readDir(t, s.dir))

	// --force: a new CA and certificate.
	s.force = true
	assert.Equal(t, []string{"creating a CA (3650 days)",
		"issuing a serving certificate for jobserver.ns.svc jobserver.ns.svc.cluster.local jobserver.ns jobserver 10.0.0.1 (365 days)",
	}, runServingCert(t, s, now))
	forced := readDir(t, s.dir)
	for name := range first {
		assert.NotEqual(t, first[name], forced[name], name)
	}
}

func TestServingCertRenewal(t *testing.T) {
	s := newServingCert(t)
	now := time.Now()
	runServingCert(t, s, now)
	first := readDir(t, s.dir)

	// 340 days later the certificate expires within 30 days: renewed,
	// with the same CA.
	assert.Equal(t, []string{
		"the serving certificate expires within 30 days: issuing a new one",
		"issuing a serving certificate for jobserver.ns.svc jobserver.ns.svc.cluster.local jobserver.ns jobserver (365 days)",
	}, runServingCert(t, s, now.Add(340*day)))
	renewed := readDir(t, s.dir)
	assert.Equal(t, first["ca.crt"], renewed["ca.crt"])
	assert.Equal(t, first["ca.key"], renewed["ca.key"])
	assert.NotEqual(t, first["tls.crt"], renewed["tls.crt"])
	assert.NotEqual(t, first["tls.key"], renewed["tls.key"])

	// A name more: reissued, same CA.
	s.certs[0].opts.DNSNames = append(s.certs[0].opts.DNSNames, "jobserver.example.com")
	assert.Equal(t, []string{
		"the serving certificate lacks some of the names asked for: issuing a new one",
		"issuing a serving certificate for jobserver.ns.svc jobserver.ns.svc.cluster.local jobserver.ns jobserver jobserver.example.com (365 days)",
	}, runServingCert(t, s, now))
	more := readDir(t, s.dir)
	assert.Equal(t, first["ca.crt"], more["ca.crt"])
	assert.NotEqual(t, renewed["tls.crt"], more["tls.crt"])
	tls, err := kit.LoadCert(s.file("tls.crt"))
	require.NoError(t, err)
	assert.NoError(t, tls.VerifyHostname("jobserver.example.com"))

	// An IP address more: reissued too.
	s.certs[0].opts.IPs = []net.IP{net.ParseIP("127.0.0.1")}
	assert.Contains(t, runServingCert(t, s, now), "the serving certificate lacks some of the names asked for: issuing a new one")
	// A name fewer is still covered: kept.
	s.certs[0].opts.DNSNames = s.certs[0].opts.DNSNames[:4]
	assert.Equal(t, []string{"keeping the CA and serving certificate in " + s.dir}, runServingCert(t, s, now))

	// The CA expiring within 30 days: a new CA, and so a new certificate.
	assert.Equal(t, []string{
		"the CA in " + s.dir + " is expiring, broken or does not match its key: creating a new one",
		"creating a CA (3650 days)",
		"issuing a serving certificate for jobserver.ns.svc jobserver.ns.svc.cluster.local jobserver.ns jobserver 127.0.0.1 (365 days)",
	}, runServingCert(t, s, now.Add(3630*day)))
	assert.NotEqual(t, first["ca.crt"], readDir(t, s.dir)["ca.crt"])
}

func TestServingCertBroken(t *testing.T) {
	s := newServingCert(t)
	now := time.Now()
	runServingCert(t, s, now)
	issuing := "issuing a serving certificate for jobserver.ns.svc jobserver.ns.svc.cluster.local jobserver.ns jobserver (365 days)"

	// tls.key replaced by another key.
	other, err := keyutil.MakeEllipticPrivateKeyPEM()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(s.file("tls.key"), other, 0o600))
	assert.Equal(t, []string{"the serving certificate does not match tls.key: issuing a new one", issuing}, runServingCert(t, s, now))

	// tls.crt signed by another CA.
	otherCA, err := kit.NewCA(kit.CAOptions{CommonName: "other"})
	require.NoError(t, err)
	certPEM, keyPEM, err := otherCA.Issue(kit.ServingCert("jobserver.ns.svc", s.certs[0].opts.DNSNames, nil))
	require.NoError(t, err)
	require.NoError(t, kit.WriteCertAndKey(s.file("tls.crt"), s.file("tls.key"), certPEM, keyPEM))
	assert.Equal(t, []string{"the serving certificate is not signed by the CA (or not valid): issuing a new one", issuing}, runServingCert(t, s, now))

	// tls.crt missing: issued again without a word why.
	require.NoError(t, os.Remove(s.file("tls.crt")))
	assert.Equal(t, []string{issuing}, runServingCert(t, s, now))

	// ca.key not the CA's: a new CA.
	require.NoError(t, os.WriteFile(s.file("ca.key"), other, 0o600))
	assert.Equal(t, []string{
		"the CA in " + s.dir + " is expiring, broken or does not match its key: creating a new one",
		"creating a CA (3650 days)", issuing,
	}, runServingCert(t, s, now))

	// ca.crt garbage: a new CA.
	require.NoError(t, os.WriteFile(s.file("ca.crt"), []byte("not a certificate\n"), 0o644))
	assert.Contains(t, runServingCert(t, s, now), "creating a CA (3650 days)")
	entries, err := os.ReadDir(s.dir)
	require.NoError(t, err)
	assert.Len(t, entries, 4, "no temporary files left")
	_, err = kit.LoadCA(filepath.Join(s.dir, "ca.crt"), filepath.Join(s.dir, "ca.key"))
	assert.NoError(t, err)
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func newEtcdCerts(t *testing.T) certSet {
	s := etcdCerts(t.TempDir(), []string{"etcd.ns.svc", "etcd.ns.svc.cluster.local", "etcd", "localhost"},
		[]net.IP{net.ParseIP("127.0.0.1")}, "jobserver")
	s.days, s.caDays, s.renewDays = 365, 3650, 30
	return s
}

func TestEtcdCerts(t *testing.T) {
	s := newEtcdCerts(t)
	now := time.Now()
	issuingServer := "issuing a server certificate for etcd.ns.svc etcd.ns.svc.cluster.local etcd localhost 127.0.0.1 (365 days)"
	issuingClient := "issuing a client certificate for CN jobserver (365 days)"
	keeping := "keeping the CA, server certificate and client certificate in " + s.dir
	assert.Equal(t, []string{"creating a CA (3650 days)", issuingServer, issuingClient}, runServingCert(t, s, now))
	first := readDir(t, s.dir)
	assert.ElementsMatch(t, []string{"ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key"}, keys(first))
	for name, mode := range map[string]os.FileMode{"ca.crt": 0o644, "ca.key": 0o600, "server.crt": 0o644, "server.key": 0o600,
		"client.crt": 0o644, "client.key": 0o600} {
		fi, err := os.Stat(s.file(name))
		require.NoError(t, err)
		assert.Equal(t, mode, fi.Mode().Perm(), name)
	}

	ca, err := kit.LoadCA(s.file("ca.crt"), s.file("ca.key"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(ca.Cert.Subject.CommonName, "jobserver-etcd-ca@"))
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	server, err := kit.LoadCert(s.file("server.crt"))
	require.NoError(t, err)
	assert.Equal(t, "etcd.ns.svc", server.Subject.CommonName)
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, server.ExtKeyUsage)
	for _, name := range []string{"etcd.ns.svc", "etcd.ns.svc.cluster.local", "etcd", "localhost", "127.0.0.1"} {
		_, err := server.Verify(x509.VerifyOptions{Roots: roots, DNSName: name})
		assert.NoError(t, err, name)
	}
	client, err := kit.LoadCert(s.file("client.crt"))
	require.NoError(t, err)
	assert.Equal(t, "jobserver", client.Subject.CommonName)
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, client.ExtKeyUsage)
	assert.Empty(t, client.DNSNames)
	_, err = client.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.NoError(t, err)
	assert.True(t, keyFileMatches(client, s.file("client.key")))

	// Kept while valid, also 300 days later.
	assert.Equal(t, []string{keeping}, runServingCert(t, s, now))
	assert.Equal(t, []string{keeping}, runServingCert(t, s, now.Add(300*day)))
	assert.Equal(t, first, readDir(t, s.dir))

	// Another client CN: only the client certificate is issued again.
	s.certs[1].opts.CommonName = "jobserver-2"
	assert.Equal(t, []string{"the client certificate is not for CN jobserver-2: issuing a new one",
		"issuing a client certificate for CN jobserver-2 (365 days)"}, runServingCert(t, s, now))
	second := readDir(t, s.dir)
	for _, name := range []string{"ca.crt", "ca.key", "server.crt", "server.key"} {
		assert.Equal(t, first[name], second[name], name)
	}
	assert.NotEqual(t, first["client.crt"], second["client.crt"])
	s.certs[1].opts.CommonName = "jobserver"
	runServingCert(t, s, now)

	// A server certificate of the CA without the client usage (etcd dials
	// itself with it), or a client certificate in the server's place:
	// issued again.
	serverOnly := kit.ServingCert("etcd.ns.svc", s.certs[0].opts.DNSNames, s.certs[0].opts.IPs)
	serverOnly.Validity = 365 * day
	certPEM, keyPEM, err := ca.Issue(serverOnly)
	require.NoError(t, err)
	require.NoError(t, kit.WriteCertAndKey(s.file("server.crt"), s.file("server.key"), certPEM, keyPEM))
	assert.Equal(t, []string{"the server certificate lacks some of the usages asked for: issuing a new one", issuingServer},
		runServingCert(t, s, now))
	require.NoError(t, os.WriteFile(s.file("server.crt"), []byte(readDir(t, s.dir)["client.crt"]), 0o644))
	require.NoError(t, os.WriteFile(s.file("server.key"), []byte(readDir(t, s.dir)["client.key"]), 0o600))
	assert.Equal(t, []string{"the server certificate lacks some of the usages asked for: issuing a new one", issuingServer},
		runServingCert(t, s, now))

	// The client certificate expiring: renewed, with the same CA; so is
	// the server certificate, which expires at the same time.
	assert.Equal(t, []string{
		"the server certificate expires within 30 days: issuing a new one",
		"the client certificate expires within 30 days: issuing a new one",
		issuingServer, issuingClient,
	}, runServingCert(t, s, now.Add(340*day)))
	assert.Equal(t, first["ca.crt"], readDir(t, s.dir)["ca.crt"])

	// --force: a new CA and both certificates.
	s.force = true
	assert.Equal(t, []string{"creating a CA (3650 days)", issuingServer, issuingClient}, runServingCert(t, s, now))
	forced := readDir(t, s.dir)
	for name := range first {
		assert.NotEqual(t, first[name], forced[name], name)
	}
	entries, err := os.ReadDir(s.dir)
	require.NoError(t, err)
	assert.Len(t, entries, 6, "no temporary files left")
}
