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
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
	netutils "k8s.io/utils/net"

	"github.com/jobserver-dev/jobserver/test/kit"
)

const day = 24 * time.Hour

// servingCert is what hack/gen-serving-cert.sh asks for: a CA (ca.crt,
// ca.key) and a serving certificate signed by it (tls.crt, tls.key) in dir.
type servingCert struct {
	dir        string
	commonName string
	dnsNames   []string
	ips        []net.IP
	// days and caDays are the validity of a new certificate and CA;
	// renewDays is how long before its end a certificate is renewed.
	days, caDays, renewDays int
	// force makes a new CA and certificate, even if the old ones are valid.
	force bool
}

func (s servingCert) file(name string) string { return filepath.Join(s.dir, name) }

// servingCertPlan is what a run does, and why (the messages to log).
type servingCertPlan struct {
	newCA, newCert bool
	reasons        []string
}

// plan decides whether to keep the CA and the certificate in s.dir: the CA
// while it is valid for more than renewDays and matches its key; the
// certificate while, moreover, the CA verifies it, it is valid for more than
// renewDays, matches its key and covers every name asked for.
func (s servingCert) plan(now time.Time) servingCertPlan {
	var p servingCertPlan
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
	if p.newCA || !exists(s.file("tls.crt")) || !exists(s.file("tls.key")) {
		p.newCert = true
		return p
	}
	reason := ""
	tls, err := kit.LoadCert(s.file("tls.crt"))
	switch {
	case err != nil || s.verify(tls, now) != nil:
		reason = "the serving certificate is not signed by the CA (or not valid): issuing a new one"
	case tls.NotAfter.Before(renewBy):
		reason = fmt.Sprintf("the serving certificate expires within %d days: issuing a new one", s.renewDays)
	case !keyFileMatches(tls, s.file("tls.key")):
		reason = "the serving certificate does not match tls.key: issuing a new one"
	case !s.covers(tls):
		reason = "the serving certificate lacks some of the names asked for: issuing a new one"
	}
	if reason != "" {
		p.reasons = append(p.reasons, reason)
		p.newCert = true
	}
	return p
}

// verify checks that ca.crt verifies c at time now.
func (s servingCert) verify(c *x509.Certificate, now time.Time) error {
	roots, err := cert.NewPool(s.file("ca.crt"))
	if err != nil {
		return err
	}
	_, err = c.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err
}

// covers tells whether c is valid for every DNS name and IP address asked
// for.
func (s servingCert) covers(c *x509.Certificate) bool {
	for _, name := range s.sans() {
		if c.VerifyHostname(name) != nil {
			return false
		}
	}
	return true
}

// sans returns the DNS names, then the IP addresses, asked for.
func (s servingCert) sans() []string {
	names := append([]string(nil), s.dnsNames...)
	for _, ip := range s.ips {
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
func (s servingCert) run(p servingCertPlan, logf func(format string, args ...any)) error {
	now := time.Now()
	for _, r := range p.reasons {
		logf("%s", r)
	}
	var ca *kit.CA
	var err error
	if p.newCA {
		logf("creating a CA (%d days)", s.caDays)
		ca, err = kit.NewCA(kit.CAOptions{
			CommonName:   fmt.Sprintf("jobserver-ca@%d", now.Unix()),
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
	if !p.newCert {
		logf("keeping the CA and serving certificate in %s", s.dir)
		return nil
	}
	if ca == nil {
		if ca, err = kit.LoadCA(s.file("ca.crt"), s.file("ca.key")); err != nil {
			return err
		}
	}
	logf("issuing a serving certificate for %s (%d days)", strings.Join(s.sans(), " "), s.days)
	opts := kit.ServingCert(s.commonName, s.dnsNames, s.ips)
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
		return fmt.Errorf("the new certificate does not verify: %w", err)
	}
	return kit.WriteCertAndKey(s.file("tls.crt"), s.file("tls.key"), certPEM, keyPEM)
}

func servingCertCommand(args []string) error {
	fs := pflag.NewFlagSet("serving-cert", pflag.ContinueOnError)
	var s servingCert
	var ips []string
	fs.StringVar(&s.dir, "out-dir", "", "the directory of ca.crt, ca.key, tls.crt and tls.key")
	fs.StringVar(&s.commonName, "cn", "", "the serving certificate's CN")
	fs.StringArrayVar(&s.dnsNames, "dns", nil, "a DNS name the certificate covers; repeatable")
	fs.StringArrayVar(&ips, "ip", nil, "an IP address the certificate covers; repeatable")
	fs.IntVar(&s.days, "days", 0, "validity of a new serving certificate")
	fs.IntVar(&s.caDays, "ca-days", 0, "validity of a new CA")
	fs.IntVar(&s.renewDays, "renew-days", 0, "renew what expires within this many days")
	fs.BoolVar(&s.force, "force", false, "new CA and serving certificate, even if valid")
	if err := parse(fs, args, "ip", "force"); err != nil {
		return err
	}
	for _, ip := range ips {
		parsed := netutils.ParseIPSloppy(ip)
		if parsed == nil {
			return fmt.Errorf("--ip: not an IP address: %s", ip)
		}
		s.ips = append(s.ips, parsed)
	}
	if !(s.caDays > s.days && s.days > s.renewDays) {
		return errors.New("need --ca-days > --days > --renew-days")
	}
	// Its messages are those of hack/gen-serving-cert.sh, which runs it.
	return s.run(s.plan(time.Now()), func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "gen-serving-cert: "+format+"\n", args...)
	})
}
