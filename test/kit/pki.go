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
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// KeyAlgorithm is the kind of private key generated for a certificate.
type KeyAlgorithm int

const (
	// ECDSA is an ECDSA P-256 key, the default.
	ECDSA KeyAlgorithm = iota
	// RSA is a 2048-bit RSA key.
	RSA
)

// DefaultValidity is how long a certificate issued with a zero
// CertOptions.Validity is valid: long enough for any test.
const DefaultValidity = 24 * time.Hour

// clockSkew is how far in the past certificates become valid, so that a
// clock slightly behind does not reject a certificate just issued.
const clockSkew = time.Hour

// CA is a certificate authority: its certificate and the key it signs with.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// CAOptions say what CA NewCA creates.
type CAOptions struct {
	// CommonName is the CA's subject CN.
	CommonName string
	// Validity is how long the CA is valid; zero means ten years, as
	// cert.NewSelfSignedCACert makes it.
	Validity time.Duration
	// KeyAlgorithm is the CA key's algorithm.
	KeyAlgorithm KeyAlgorithm
}

// NewCA creates a self-signed CA.
func NewCA(o CAOptions) (*CA, error) {
	key, _, err := newKey(o.KeyAlgorithm)
	if err != nil {
		return nil, err
	}
	var c *x509.Certificate
	if o.Validity == 0 {
		c, err = cert.NewSelfSignedCACert(cert.Config{CommonName: o.CommonName, NotBefore: time.Now().Add(-clockSkew)}, key)
	} else {
		// cert.NewSelfSignedCACert has no say in the validity.
		c, err = sign(&x509.Certificate{
			Subject:               pkix.Name{CommonName: o.CommonName},
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
			BasicConstraintsValid: true,
			IsCA:                  true,
		}, o.Validity, key.Public(), nil, key)
	}
	if err != nil {
		return nil, fmt.Errorf("creating CA %q: %w", o.CommonName, err)
	}
	return &CA{Cert: c, Key: key}, nil
}

// LoadCA reads a CA from a PEM certificate file and a PEM private key file,
// and checks that the key is the certificate's.
func LoadCA(certFile, keyFile string) (*CA, error) {
	c, err := LoadCert(certFile)
	if err != nil {
		return nil, err
	}
	k, err := keyutil.PrivateKeyFromFile(keyFile)
	if err != nil {
		return nil, err
	}
	key, ok := k.(crypto.Signer)
	if !ok || !KeyMatches(c, key) {
		return nil, fmt.Errorf("%s is not the key of %s", keyFile, certFile)
	}
	return &CA{Cert: c, Key: key}, nil
}

// LoadCert reads the first certificate of a PEM file.
func LoadCert(file string) (*x509.Certificate, error) {
	certs, err := cert.CertsFromFile(file)
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

// KeyMatches tells whether key is the private key of c.
func KeyMatches(c *x509.Certificate, key crypto.Signer) bool {
	pub, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(key.Public())
}

// CertPEM returns the CA's certificate, PEM-encoded.
func (ca *CA) CertPEM() []byte {
	return encodeCert(ca.Cert)
}

// WriteFiles writes the CA's certificate (mode 644) and key (mode 600).
func (ca *CA) WriteFiles(certFile, keyFile string) error {
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(ca.Key)
	if err != nil {
		return err
	}
	return WriteCertAndKey(certFile, keyFile, ca.CertPEM(), keyPEM)
}

// CertOptions say what certificate CA.Issue issues.
type CertOptions struct {
	// CommonName is the subject CN: the user name of a client certificate.
	CommonName string
	// Organization is the subject O: the groups of a client certificate.
	Organization []string
	// DNSNames and IPs are the names a serving certificate is valid for.
	DNSNames []string
	IPs      []net.IP
	// Usage is x509.ExtKeyUsageClientAuth or x509.ExtKeyUsageServerAuth.
	Usage x509.ExtKeyUsage
	// AlsoUsage adds usages: an etcd peer certificate serves and dials.
	AlsoUsage []x509.ExtKeyUsage
	// Validity is how long the certificate is valid (DefaultValidity if
	// zero).
	Validity time.Duration
	// KeyAlgorithm is the new key's algorithm.
	KeyAlgorithm KeyAlgorithm
}

// ClientCert returns the options of a client certificate for user in
// groups (CN=user, O=groups), as kube-apiserver authenticates them.
func ClientCert(user string, groups ...string) CertOptions {
	return CertOptions{CommonName: user, Organization: groups, Usage: x509.ExtKeyUsageClientAuth}
}

// ServingCert returns the options of a serving certificate for the given
// DNS names and IP addresses.
func ServingCert(commonName string, dnsNames []string, ips []net.IP) CertOptions {
	return CertOptions{CommonName: commonName, DNSNames: dnsNames, IPs: ips, Usage: x509.ExtKeyUsageServerAuth}
}

// Issue creates a key and a certificate for it signed by the CA, and
// returns both PEM-encoded.
func (ca *CA) Issue(o CertOptions) (certPEM, keyPEM []byte, err error) {
	key, keyPEM, err := newKey(o.KeyAlgorithm)
	if err != nil {
		return nil, nil, err
	}
	validity := o.Validity
	if validity == 0 {
		validity = DefaultValidity
	}
	c, err := sign(&x509.Certificate{
		Subject:               pkix.Name{CommonName: o.CommonName, Organization: o.Organization},
		DNSNames:              o.DNSNames,
		IPAddresses:           o.IPs,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           append([]x509.ExtKeyUsage{o.Usage}, o.AlsoUsage...),
		BasicConstraintsValid: true,
	}, validity, key.Public(), ca.Cert, ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("issuing a certificate for %q: %w", o.CommonName, err)
	}
	return encodeCert(c), keyPEM, nil
}

// MustIssue is Issue for tests: it fails the test on error.
func (ca *CA) MustIssue(t testing.TB, o CertOptions) (certPEM, keyPEM []byte) {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(o)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM
}

// WriteCertAndKey writes a PEM key (mode 600), then its PEM certificate
// (mode 644, whatever the umask), creating their directory as needed. Each
// replaces its file in one rename, so a reader never sees half a file.
func WriteCertAndKey(certFile, keyFile string, certPEM, keyPEM []byte) error {
	if err := replaceFile(keyFile, keyPEM, keyutil.WriteKey, 0o600); err != nil {
		return err
	}
	return replaceFile(certFile, certPEM, cert.WriteCert, 0o644)
}

// replaceFile writes data to a file next to file with write, sets its mode
// and renames it to file.
func replaceFile(file string, data []byte, write func(string, []byte) error, mode os.FileMode) error {
	tmp := file + ".tmp"
	if err := write(tmp, data); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// WriteServiceAccountKeys writes a key pair with which kube-apiserver signs
// and verifies service account tokens: the PEM private key (mode 600) and
// its PEM public key (mode 644).
func WriteServiceAccountKeys(privateFile, publicFile string, alg KeyAlgorithm) error {
	key, keyPEM, err := newKey(alg)
	if err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	return WriteCertAndKey(publicFile, privateFile,
		pem.EncodeToMemory(&pem.Block{Type: keyutil.PublicKeyBlockType, Bytes: pubDER}), keyPEM)
}

// newKey generates a private key and returns it with its PEM encoding.
func newKey(alg KeyAlgorithm) (crypto.Signer, []byte, error) {
	var keyPEM []byte
	var err error
	switch alg {
	case ECDSA:
		keyPEM, err = keyutil.MakeEllipticPrivateKeyPEM()
	case RSA:
		var k *rsa.PrivateKey
		if k, err = rsa.GenerateKey(rand.Reader, 2048); err == nil {
			keyPEM, err = keyutil.MarshalPrivateKeyToPEM(k)
		}
	default:
		err = fmt.Errorf("unknown key algorithm %d", alg)
	}
	if err != nil {
		return nil, nil, err
	}
	k, err := keyutil.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, nil, err
	}
	return k.(crypto.Signer), keyPEM, nil
}

// sign completes tmpl with a random serial number and the validity period,
// and signs it as parent with signer; a nil parent means self-signed. This
// is what crypto/x509 is used for: client-go's cert package only makes
// self-signed CAs, of a fixed validity.
func sign(tmpl *x509.Certificate, validity time.Duration, pub crypto.PublicKey, parent *x509.Certificate, signer crypto.Signer) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial.Add(serial, big.NewInt(1))
	now := time.Now()
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-clockSkew), now.Add(validity)
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func encodeCert(c *x509.Certificate) []byte {
	data, _ := cert.EncodeCertificates(c) // fails only when writing to memory does
	return data
}
