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
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
	netutils "k8s.io/utils/net"

	"github.com/jobserver-dev/jobserver/test/kit"
)

const day = 24 * time.Hour

// certSet is what hack/gen-serving-cert.sh asks for: a CA (ca.crt, ca.key)
// in dir and certificates signed by it. serving-cert makes jobserver's
// serving certificate (tls.crt, tls.key); etcd-certs the bundled etcd's
// server certificate (server.crt, server.key) and jobserver's client
// certificate for it (client.crt, client.key), with a CA of their own.
type certSet struct {
	dir string
	// caName is the CN of a new CA, with "@<unix time>" appended.
	caName string
	certs  []leafCert
	// days and caDays are the validity of a new certificate and CA;
	// renewDays is how long before its end a certificate is renewed.
	days, caDays, renewDays int
	// force makes a new CA and certificates, even if the old ones are valid.
	force bool
}

// leafCert is a certificate of a certSet: <base>.crt and <base>.key.
type leafCert struct {
	// what names it in the messages ("serving certificate").
	what string
	base string
	// opts are what it is issued with: CN, names and usages.
	opts kit.CertOptions
}

func (s certSet) file(name string) string { return filepath.Join(s.dir, name) }

func (c leafCert) certFile() string { return c.base + ".crt" }
func (c leafCert) keyFile() string  { return c.base + ".key" }

// certPlan is what a run does, and why (the messages to log).
type certPlan struct {
	newCA bool
	// newCert[i] says whether certs[i] is issued.
	newCert []bool
	reasons []string
}

func (p certPlan) anyNew() bool { return p.newCA || slices.Contains(p.newCert, true) }

// plan decides whether to keep the CA and each certificate in s.dir: the
// CA while it is valid for more than renewDays and matches its key; a
// certificate while, moreover, the CA verifies it, it is valid for more
// than renewDays, matches its key, has the usages asked for, covers every
// name asked for and has the CN asked for.
func (s certSet) plan(now time.Time) certPlan {
	p := certPlan{newCert: make([]bool, len(s.certs))}
	renewBy := now.Add(time.Duration(s.renewDays) * day)
	switch {
	case s.force, !exists(s.file("ca.crt")), !exists(s.file("ca.key")):
		p.newCA = true
	default:
		if ca, err := kit.LoadCA(s.file("ca.crt"), s.file("ca.key")); err != nil || ca.Cert.NotAfter.Before(renewBy) {
			p.reasons = append(p.reasons, fmt.Sprintf("the CA in %s is expiring, broken or does not match its key: creating a new one", s.dir))
			p.newCA = true
		}
	}
	for i, c := range s.certs {
		if p.newCA || !exists(s.file(c.certFile())) || !exists(s.file(c.keyFile())) {
			p.newCert[i] = true
			continue
		}
		reason := ""
		leaf, err := kit.LoadCert(s.file(c.certFile()))
		switch {
		case err != nil || s.verify(leaf, now) != nil:
			reason = fmt.Sprintf("the %s is not signed by the CA (or not valid): issuing a new one", c.what)
		case leaf.NotAfter.Before(renewBy):
			reason = fmt.Sprintf("the %s expires within %d days: issuing a new one", c.what, s.renewDays)
		case !keyFileMatches(leaf, s.file(c.keyFile())):
			reason = fmt.Sprintf("the %s does not match %s: issuing a new one", c.what, c.keyFile())
		case !c.hasUsages(leaf):
			reason = fmt.Sprintf("the %s lacks some of the usages asked for: issuing a new one", c.what)
		case !c.covers(leaf):
			reason = fmt.Sprintf("the %s lacks some of the names asked for: issuing a new one", c.what)
		case leaf.Subject.CommonName != c.opts.CommonName:
			reason = fmt.Sprintf("the %s is not for CN %s: issuing a new one", c.what, c.opts.CommonName)
		}
		if reason != "" {
			p.reasons = append(p.reasons, reason)
			p.newCert[i] = true
		}
	}
	return p
}

// verify checks that ca.crt verifies c at time now.
func (s certSet) verify(c *x509.Certificate, now time.Time) error {
	roots, err := cert.NewPool(s.file("ca.crt"))
	if err != nil {
		return err
	}
	_, err = c.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err
}

// usages returns the extended key usages asked for.
func (c leafCert) usages() []x509.ExtKeyUsage {
	return append([]x509.ExtKeyUsage{c.opts.Usage}, c.opts.AlsoUsage...)
}

// hasUsages tells whether cert has every extended key usage asked for.
func (c leafCert) hasUsages(cert *x509.Certificate) bool {
	for _, u := range c.usages() {
		if !slices.Contains(cert.ExtKeyUsage, u) {
			return false
		}
	}
	return true
}

// covers tells whether cert is valid for every DNS name and IP address
// asked for.
func (c leafCert) covers(cert *x509.Certificate) bool {
	for _, name := range c.sans() {
		if cert.VerifyHostname(name) != nil {
			return false
		}
	}
	return true
}

// sans returns the DNS names, then the IP addresses, asked for.
func (c leafCert) sans() []string {
	names := append([]string(nil), c.opts.DNSNames...)
	for _, ip := range c.opts.IPs {
		names = append(names, ip.String())
	}
	return names
}

func keyFileMatches(c *x509.Certificate, keyFile string) bool {
	key, err := keyutil.PrivateKeyFromFile(keyFile)
	signer, ok := key.(crypto.Signer)
	return err == nil && ok && kit.KeyMatches(c, signer)
}

// run carries out the plan, logging what it does with logf.
func (s certSet) run(p certPlan, logf func(format string, args ...any)) error {
	now := time.Now()
	for _, r := range p.reasons {
		logf("%s", r)
	}
	var ca *kit.CA
	var err error
	if p.newCA {
		logf("creating a CA (%d days)", s.caDays)
		ca, err = kit.NewCA(kit.CAOptions{
			CommonName:   fmt.Sprintf("%s@%d", s.caName, now.Unix()),
			Validity:     time.Duration(s.caDays) * day,
			KeyAlgorithm: kit.RSA,
		})
		if err != nil {
			return err
		}
		if err := ca.WriteFiles(s.file("ca.crt"), s.file("ca.key")); err != nil {
			return err
		}
	}
	if !p.anyNew() {
		kept := []string{"the CA"}
		for _, c := range s.certs {
			kept = append(kept, c.what)
		}
		logf("keeping %s in %s", andList(kept), s.dir)
		return nil
	}
	if ca == nil {
		if ca, err = kit.LoadCA(s.file("ca.crt"), s.file("ca.key")); err != nil {
			return err
		}
	}
	for i, c := range s.certs {
		if !p.newCert[i] {
			continue
		}
		if err := s.issue(ca, c, now, logf); err != nil {
			return err
		}
	}
	return nil
}

// issue issues c with ca and writes it.
func (s certSet) issue(ca *kit.CA, c leafCert, now time.Time, logf func(format string, args ...any)) error {
	if sans := c.sans(); len(sans) > 0 {
		logf("issuing a %s for %s (%d days)", c.what, strings.Join(sans, " "), s.days)
	} else {
		logf("issuing a %s for CN %s (%d days)", c.what, c.opts.CommonName, s.days)
	}
	opts := c.opts
	opts.Validity, opts.KeyAlgorithm = time.Duration(s.days)*day, kit.RSA
	certPEM, keyPEM, err := ca.Issue(opts)
	if err != nil {
		return err
	}
	certs, err := cert.ParseCertsPEM(certPEM)
	if err == nil {
		err = s.verify(certs[0], now)
	}
	if err != nil {
		return fmt.Errorf("the new %s does not verify: %w", c.what, err)
	}
	return kit.WriteCertAndKey(s.file(c.certFile()), s.file(c.keyFile()), certPEM, keyPEM)
}

// andList joins items as in a sentence: "a", "a and b", "a, b and c".
func andList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// servingCert is serving-cert's certSet: jobserver's CA and its serving
// certificate tls.crt for commonName, dnsNames and ips.
func servingCert(dir, commonName string, dnsNames []string, ips []net.IP) certSet {
	return certSet{dir: dir, caName: "jobserver-ca", certs: []leafCert{
		{what: "serving certificate", base: "tls", opts: kit.ServingCert(commonName, dnsNames, ips)},
	}}
}

// etcdCerts is etcd-certs' certSet: the bundled etcd's CA, its server
// certificate server.crt for dnsNames and ips, and the client certificate
// client.crt with CN clientCN. The server certificate also has the client
// usage: etcd dials its own client port with it (the gRPC gateway), and
// etcd checks every client's certificate against the CA once
// --client-cert-auth is on.
func etcdCerts(dir string, dnsNames []string, ips []net.IP, clientCN string) certSet {
	server := kit.ServingCert(dnsNames[0], dnsNames, ips)
	server.AlsoUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	return certSet{dir: dir, caName: "jobserver-etcd-ca", certs: []leafCert{
		{what: "server certificate", base: "server", opts: server},
		{what: "client certificate", base: "client", opts: kit.ClientCert(clientCN)},
	}}
}

// certFlags are the flags serving-cert and etcd-certs share.
type certFlags struct {
	dir                     string
	dnsNames, ips           []string
	days, caDays, renewDays int
	force                   bool
}

func (f *certFlags) add(fs *pflag.FlagSet, files string) {
	fs.StringVar(&f.dir, "out-dir", "", "the directory of "+files)
	fs.StringArrayVar(&f.dnsNames, "dns", nil, "a DNS name the (server) certificate covers; repeatable")
	fs.StringArrayVar(&f.ips, "ip", nil, "an IP address the (server) certificate covers; repeatable")
	fs.IntVar(&f.days, "days", 0, "validity of a new certificate")
	fs.IntVar(&f.caDays, "ca-days", 0, "validity of a new CA")
	fs.IntVar(&f.renewDays, "renew-days", 0, "renew what expires within this many days")
	fs.BoolVar(&f.force, "force", false, "new CA and certificates, even if valid")
}

// parseIPs parses --ip and checks the days.
func (f *certFlags) parseIPs() ([]net.IP, error) {
	var ips []net.IP
	for _, ip := range f.ips {
		parsed := netutils.ParseIPSloppy(ip)
		if parsed == nil {
			return nil, fmt.Errorf("--ip: not an IP address: %s", ip)
		}
		ips = append(ips, parsed)
	}
	if !(f.caDays > f.days && f.days > f.renewDays) {
		return nil, errors.New("need --ca-days > --days > --renew-days")
	}
	return ips, nil
}

// runCertSet fills s from f and runs it, logging with prefix.
func runCertSet(s certSet, f certFlags, prefix string) error {
	s.days, s.caDays, s.renewDays, s.force = f.days, f.caDays, f.renewDays, f.force
	return s.run(s.plan(time.Now()), func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, prefix+format+"\n", args...)
	})
}

func servingCertCommand(args []string) error {
	fs := pflag.NewFlagSet("serving-cert", pflag.ContinueOnError)
	var f certFlags
	f.add(fs, "ca.crt, ca.key, tls.crt and tls.key")
	cn := fs.String("cn", "", "the serving certificate's CN")
	if err := parse(fs, args, "ip", "force"); err != nil {
		return err
	}
	ips, err := f.parseIPs()
	if err != nil {
		return err
	}
	// Its messages are those of hack/gen-serving-cert.sh, which runs it.
	return runCertSet(servingCert(f.dir, *cn, f.dnsNames, ips), f, "gen-serving-cert: ")
}

func etcdCertsCommand(args []string) error {
	fs := pflag.NewFlagSet("etcd-certs", pflag.ContinueOnError)
	var f certFlags
	f.add(fs, "ca.crt, ca.key, server.crt, server.key, client.crt and client.key")
	clientCN := fs.String("client-cn", "", "the client certificate's CN")
	if err := parse(fs, args, "ip", "force"); err != nil {
		return err
	}
	ips, err := f.parseIPs()
	if err != nil {
		return err
	}
	return runCertSet(etcdCerts(f.dir, f.dnsNames, ips, *clientCN), f, "gen-serving-cert: etcd: ")
}
