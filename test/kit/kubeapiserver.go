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
	"net"
	"strconv"

	netutils "k8s.io/utils/net"
)

// FrontProxyClientName is the CN of kube-apiserver's front-proxy client
// certificate, the one name its --requestheader-allowed-names allows.
const FrontProxyClientName = "front-proxy-client"

// KubeAPIServerServingCert returns the options of kube-apiserver's serving
// certificate: valid for loopback and for the in-cluster names and address
// of the kubernetes Service (the first of the service range in
// KubeAPIServerFlags).
func KubeAPIServerServingCert() CertOptions {
	return ServingCert("kube-apiserver",
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		[]net.IP{netutils.ParseIPSloppy("127.0.0.1"), netutils.ParseIPSloppy("10.96.0.1")})
}

// KubeAPIServer is what KubeAPIServerFlags points kube-apiserver at.
type KubeAPIServer struct {
	// EtcdURL is etcd's client URL.
	EtcdURL string
	// Port is the secure port, on 127.0.0.1.
	Port int
	// CertFile and KeyFile are the serving certificate and key.
	CertFile, KeyFile string
	// ClientCAFile verifies client certificates.
	ClientCAFile string
	// ServiceAccountPublicKeyFile verifies service account tokens, which
	// ServiceAccountPrivateKeyFile signs.
	ServiceAccountPublicKeyFile, ServiceAccountPrivateKeyFile string
	// FrontProxyCAFile verifies the front-proxy client certificate
	// (FrontProxyClientCertFile, FrontProxyClientKeyFile) with which the
	// aggregator proxies requests to extension API servers.
	FrontProxyCAFile                                  string
	FrontProxyClientCertFile, FrontProxyClientKeyFile string
}

// KubeAPIServerFlags returns the command line of the kube-apiserver of the
// local cluster (hack/local-up.sh) and of the integration tests: loopback
// only, no endpoint reconciler, Node and RBAC authorization, service
// account tokens, and the aggregation layer's request-header
// authentication for the front proxy.
func KubeAPIServerFlags(k KubeAPIServer) []string {
	return []string{
		"--etcd-servers=" + k.EtcdURL,
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(k.Port),
		"--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
		"--tls-cert-file=" + k.CertFile, "--tls-private-key-file=" + k.KeyFile,
		"--client-ca-file=" + k.ClientCAFile,
		"--authorization-mode=Node,RBAC",
		"--service-cluster-ip-range=10.96.0.0/16",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + k.ServiceAccountPublicKeyFile,
		"--service-account-signing-key-file=" + k.ServiceAccountPrivateKeyFile,
		"--requestheader-client-ca-file=" + k.FrontProxyCAFile,
		"--requestheader-allowed-names=" + FrontProxyClientName,
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + k.FrontProxyClientCertFile,
		"--proxy-client-key-file=" + k.FrontProxyClientKeyFile,
		// pods/log, exec and port-forward dial a Node's InternalIP only:
		// the simulated nodes advertise 127.0.0.1 (docs/simulated-nodes.md),
		// and a host name is never resolved to somewhere else.
		"--kubelet-preferred-address-types=InternalIP",
	}
}
