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
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	netutils "k8s.io/utils/net"

	"github.com/jobserver-dev/jobserver/test/kit"
)

// localValidity is how long the local cluster's CAs and certificates are
// valid: ten years, as long as kit.NewCA's CAs.
const localValidity = 3650 * 24 * time.Hour

// localCA is a CA of the local cluster: PKI/<name>.crt and .key.
type localCA struct{ name, commonName string }

// localCert is a certificate of the local cluster: PKI/<name>.crt and .key,
// signed by the CA named ca.
type localCert struct {
	name, ca string
	opts     kit.CertOptions
}

// localPKI lists the local cluster's CAs and certificates, in the order
// they are made. namespace and service are jobserver's.
func localPKI(namespace, service string) ([]localCA, []localCert) {
	cas := []localCA{
		{"ca", "local-cluster-ca"},
		{"front-proxy-ca", "local-front-proxy-ca"},
		{"jobserver-ca", "jobserver-ca"},
	}
	jobserverName := service + "." + namespace + ".svc"
	certs := []localCert{
		{"kube-apiserver", "ca", kit.KubeAPIServerServingCert()},
		{"admin", "ca", kit.ClientCert("kubernetes-admin", "system:masters")},
		{"kube-controller-manager", "ca", kit.ClientCert("system:kube-controller-manager")},
		{"kube-scheduler", "ca", kit.ClientCert("system:kube-scheduler")},
		// jobserver authenticates to kube-apiserver as its ServiceAccount's
		// user name, so the deploy manifests' RBAC applies to it unchanged.
		{"jobserver-client", "ca", kit.ClientCert("system:serviceaccount:" + namespace + ":" + service)},
		{kit.FrontProxyClientName, "front-proxy-ca", kit.ClientCert(kit.FrontProxyClientName)},
		// kube-apiserver verifies the name <service>.<namespace>.svc.
		{"jobserver", "jobserver-ca", kit.ServingCert(jobserverName,
			[]string{jobserverName, "localhost"}, []net.IP{netutils.ParseIPSloppy("127.0.0.1")})},
	}
	return cas, certs
}

// writeLocalPKI writes the local cluster's CAs, certificates and service
// account keys (sa.key, sa.pub) into dir, keeping those that exist.
func writeLocalPKI(dir, namespace, service string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cas, certs := localPKI(namespace, service)
	loaded := map[string]*kit.CA{}
	for _, c := range cas {
		ca, err := loadOrCreateCA(dir, c)
		if err != nil {
			return err
		}
		loaded[c.name] = ca
	}
	for _, c := range certs {
		certFile, keyFile := pkiFiles(dir, c.name)
		if exists(certFile) {
			continue
		}
		c.opts.Validity = localValidity
		certPEM, keyPEM, err := loaded[c.ca].Issue(c.opts)
		if err != nil {
			return err
		}
		if err := kit.WriteCertAndKey(certFile, keyFile, certPEM, keyPEM); err != nil {
			return err
		}
	}
	if exists(filepath.Join(dir, "sa.key")) {
		return nil
	}
	return kit.WriteServiceAccountKeys(filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub"), kit.RSA)
}

func loadOrCreateCA(dir string, c localCA) (*kit.CA, error) {
	certFile, keyFile := pkiFiles(dir, c.name)
	if exists(certFile) {
		return kit.LoadCA(certFile, keyFile)
	}
	ca, err := kit.NewCA(kit.CAOptions{CommonName: c.commonName})
	if err != nil {
		return nil, err
	}
	return ca, ca.WriteFiles(certFile, keyFile)
}

// pkiFiles returns the certificate and key files of name in dir.
func pkiFiles(dir, name string) (certFile, keyFile string) {
	return filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
}

// exists tells whether file exists and is not empty.
func exists(file string) bool {
	fi, err := os.Stat(file)
	return err == nil && fi.Size() > 0
}

// localKubeAPIServer points kube-apiserver at the local PKI in dir.
func localKubeAPIServer(dir, etcdURL string, port int) kit.KubeAPIServer {
	file := func(name string) string { return filepath.Join(dir, name) }
	return kit.KubeAPIServer{
		EtcdURL:                      etcdURL,
		Port:                         port,
		CertFile:                     file("kube-apiserver.crt"),
		KeyFile:                      file("kube-apiserver.key"),
		ClientCAFile:                 file("ca.crt"),
		ServiceAccountPublicKeyFile:  file("sa.pub"),
		ServiceAccountPrivateKeyFile: file("sa.key"),
		FrontProxyCAFile:             file("front-proxy-ca.crt"),
		FrontProxyClientCertFile:     file(kit.FrontProxyClientName + ".crt"),
		FrontProxyClientKeyFile:      file(kit.FrontProxyClientName + ".key"),
	}
}

func localPKICommand(args []string) error {
	fs := pflag.NewFlagSet("local-pki", pflag.ContinueOnError)
	dir := fs.String("dir", "", "the directory to write into")
	namespace := fs.String("namespace", "jobserver-system", "jobserver's namespace")
	service := fs.String("service", "jobserver", "jobserver's Service")
	if err := parse(fs, args, "namespace", "service"); err != nil {
		return err
	}
	return writeLocalPKI(*dir, *namespace, *service)
}

func kubeAPIServerFlagsCommand(args []string) error {
	fs := pflag.NewFlagSet("kube-apiserver-flags", pflag.ContinueOnError)
	dir := fs.String("pki-dir", "", "the local PKI's directory (kit local-pki)")
	etcdURL := fs.String("etcd-url", "", "etcd's client URL")
	port := fs.Int("port", 0, "kube-apiserver's secure port")
	if err := parse(fs, args); err != nil {
		return err
	}
	flags := kit.KubeAPIServerFlags(localKubeAPIServer(*dir, *etcdURL, *port))
	_, err := fmt.Println(strings.Join(flags, "\n"))
	return err
}
