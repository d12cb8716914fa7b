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

func newServingCert(t *testing.T) servingCert {
	return servingCert{
		dir:        t.TempDir(),
		commonName: "jobserver.ns.svc",
		dnsNames:   []string{"jobserver.ns.svc", "jobserver.ns.svc.cluster.local", "jobserver.ns", "jobserver"},
		days:       365, caDays: 3650, renewDays: 30,
	}
}

// runServingCert runs s as if at time now (which only the plan sees) and
// returns what it logged.
func runServingCert(t *testing.T, s servingCert, now time.Time) []string {
	t.Helper()
	var logged []string
	require.NoError(t, s.run(s.plan(now), func(format string, args ...any) {
		logged = append(logged, fmt.Sprintf(format, args...))
	}))
	return logged
}

func TestServingCertIssuesAndKeeps(t *testing.T) {
	s := newServingCert(t)
	s.ips = []net.IP{net.ParseIP("10.0.0.1")}
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
	assert.True(t, s.covers(tls))

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
	s.dnsNames = append(s.dnsNames, "jobserver.example.com")
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
	s.ips = []net.IP{net.ParseIP("127.0.0.1")}
	assert.Contains(t, runServingCert(t, s, now), "the serving certificate lacks some of the names asked for: issuing a new one")
	// A name fewer is still covered: kept.
	s.dnsNames = s.dnsNames[:4]
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
	certPEM, keyPEM, err := otherCA.Issue(kit.ServingCert(s.commonName, s.dnsNames, nil))
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
