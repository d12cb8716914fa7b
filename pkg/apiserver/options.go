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

package apiserver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericfilters "k8s.io/apiserver/pkg/server/filters"
	"k8s.io/apiserver/pkg/server/healthz"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/client-go/kubernetes"
	cliflag "k8s.io/component-base/cli/flag"
	netutils "k8s.io/utils/net"

	jobadmission "github.com/jobserver-dev/jobserver/pkg/admission"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	generatedopenapi "github.com/jobserver-dev/jobserver/pkg/generated/openapi"
)

const (
	// EtcdPathPrefix is where Jobs are stored in etcd.
	EtcdPathPrefix = "/registry/batch.jobserver.dev"
	// DefaultEmbeddedEtcdDataDir is the embedded etcd's data directory. It
	// is absolute: a relative default would give a different, empty store
	// to a jobserver started from another working directory.
	DefaultEmbeddedEtcdDataDir = "/var/lib/jobserver/etcd"
	// DefaultSecurePort is the HTTPS port; not 443, so jobserver runs as a
	// non-root user.
	DefaultSecurePort = 8443
)

// Options are everything jobserver can be told on its command line.
type Options struct {
	// Recommended are k8s.io/apiserver's options: serving, delegated
	// authentication and authorization, etcd, admission, audit, ...
	Recommended *genericoptions.RecommendedOptions
	// ServerRun are the generic server's run options: in-flight limits,
	// request timeout, shutdown delay, ... (kube-apiserver's own flags).
	ServerRun *genericoptions.ServerRunOptions
	// EmbeddedEtcdDataDir is where the embedded etcd keeps its data; used
	// only when no --etcd-servers are given.
	EmbeddedEtcdDataDir string
	// Standalone serves the API without a Kubernetes cluster behind it.
	Standalone bool
	// AlternateDNS are extra names for the self-signed serving certificate.
	AlternateDNS []string
	// StoreRecord is the ConfigMap, NAMESPACE/NAME, in which the cluster
	// records the identity of jobserver's store (see storeRecord).
	StoreRecord string

	// embeddedEtcd is decided by Complete: no --etcd-servers were given.
	embeddedEtcd bool
}

// NewOptions returns the default options.
func NewOptions() *Options {
	o := &Options{
		Recommended: genericoptions.NewRecommendedOptions(EtcdPathPrefix,
			Codecs.LegacyCodec(batchv1.SchemeGroupVersion)),
		ServerRun:           genericoptions.NewServerRunOptions(),
		EmbeddedEtcdDataDir: DefaultEmbeddedEtcdDataDir,
		StoreRecord:         podNamespace() + "/" + DefaultStoreRecordName,
	}
	// While shutting down, answer new requests with 429 and Retry-After
	// instead of refusing connections, so clients retry at another replica.
	o.ServerRun.ShutdownSendRetryAfter = true
	o.Recommended.Etcd.StorageConfig.EncodeVersioner = runtime.NewMultiGroupVersioner(
		batchv1.SchemeGroupVersion, schema.GroupKind{Group: batchv1.GroupName})
	o.Recommended.SecureServing.BindPort = DefaultSecurePort
	jobadmission.Register(o.Recommended)
	return o
}

// AddFlags adds the API server's flags to fss, in named sections for --help.
func (o *Options) AddFlags(fss *cliflag.NamedFlagSets) {
	fs := fss.FlagSet("jobserver")
	fs.StringVar(&o.EmbeddedEtcdDataDir, "embedded-etcd-data-dir", o.EmbeddedEtcdDataDir,
		"Data directory of the embedded etcd, which jobserver starts when --etcd-servers is empty. "+
			"Made mode 0700; etcd listens only on unix sockets inside it (etcd.sock), so only jobserver's user reaches it. "+
			"Its data survives restarts. A relative path is taken from the working directory.")
	fs.BoolVar(&o.Standalone, "standalone", o.Standalone,
		"Serve the Job API without a Kubernetes cluster: no delegated authentication or authorization "+
			"(only client certificates from --client-ca-file, with the system:masters group allowed), "+
			"no admission against the cluster's namespaces, no controller. For tests and trying the API out.")
	fs.StringSliceVar(&o.AlternateDNS, "alternate-dns", o.AlternateDNS,
		"Extra DNS names for the self-signed serving certificate generated when no --tls-cert-file is "+
			"given, e.g. jobserver.jobserver-system.svc, the name kube-apiserver verifies.")
	fs.StringVar(&o.StoreRecord, "store-record", o.StoreRecord,
		"ConfigMap (NAMESPACE/NAME) in the cluster recording the identity of the store that holds the cluster's Jobs, "+
			"written at first start. On a store with another identity or none (a lost volume, a wrong --etcd-servers, "+
			"--etcd-prefix or --embedded-etcd-data-dir) jobserver answers Job requests with 503, fails /readyz and starts "+
			"no controller, so the garbage collector deletes no Pod; deleting the ConfigMap gives the recorded store up. "+
			"Namespace defaults to $POD_NAMESPACE, else jobserver-system. Not used with --standalone.")
	o.Recommended.AddFlags(fss.FlagSet("generic apiserver"))
	o.ServerRun.AddUniversalFlags(fss.FlagSet("generic apiserver"))
}

// Complete decides what follows from the flags: whether jobserver embeds
// etcd, and, in standalone mode, that nothing is delegated to a cluster.
func (o *Options) Complete() error {
	o.embeddedEtcd = len(o.Recommended.Etcd.StorageConfig.Transport.ServerList) == 0
	if o.Standalone {
		// Nothing to delegate to: accept requests authenticated locally.
		o.Recommended.Authentication.RemoteKubeConfigFileOptional = true
		o.Recommended.Authorization.RemoteKubeConfigFileOptional = true
		o.Recommended.CoreAPI = nil
		o.Recommended.Admission = nil
		o.Recommended.Features.EnablePriorityAndFairness = false
	}
	return nil
}

// Validate reports every invalid option at once. Call it after Complete;
// it changes nothing.
func (o *Options) Validate() []error {
	var errs []error
	recommended := *o.Recommended
	if o.embeddedEtcd {
		if o.EmbeddedEtcdDataDir == "" {
			errs = append(errs, errors.New("--embedded-etcd-data-dir must not be empty when --etcd-servers is not set"))
		}
		// The embedded etcd's URL is known only once it runs; validate the
		// other etcd options, in a copy, with a stand-in.
		etcd := *recommended.Etcd
		etcd.StorageConfig.Transport.ServerList = []string{"http://127.0.0.1:0"}
		recommended.Etcd = &etcd
	}
	errs = append(errs, recommended.Validate()...)
	errs = append(errs, o.ServerRun.Validate()...)
	if !o.Standalone {
		if _, _, err := parseStoreRecord(o.StoreRecord); err != nil {
			errs = append(errs, err)
		}
	}
	if !o.Standalone && o.Recommended.CoreAPI != nil && o.Recommended.CoreAPI.CoreAPIKubeconfigPath == "" && !inCluster() {
		errs = append(errs, errors.New("--kubeconfig is required outside a cluster "+
			"(it names the Kubernetes cluster that jobserver extends); use --standalone to serve the API without one"))
	}
	return errs
}

// podNamespace is the namespace jobserver runs in: $POD_NAMESPACE (set by
// the Deployment), else the one of the deploy manifests.
func podNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	return "jobserver-system"
}

func inCluster() bool {
	return os.Getenv("KUBERNETES_SERVICE_HOST") != "" && os.Getenv("KUBERNETES_SERVICE_PORT") != ""
}

// UsesEmbeddedEtcd tells whether jobserver starts its own etcd (decided by
// Complete).
func (o *Options) UsesEmbeddedEtcd() bool {
	return o.embeddedEtcd
}

// StartStorage starts the embedded etcd, if jobserver uses one, and points
// the storage options at it. stop stops it; call it only once the server
// has drained its requests. failed delivers the error of an embedded etcd
// that stopped on its own after start (never, with an external etcd).
func (o *Options) StartStorage() (stop func(), failed <-chan error, err error) {
	if !o.embeddedEtcd {
		return func() {}, nil, nil
	}
	etcd, err := StartEmbeddedEtcd(o.EmbeddedEtcdDataDir, time.Minute)
	if err != nil {
		return nil, nil, err
	}
	o.Recommended.Etcd.StorageConfig.Transport.ServerList = []string{etcd.Endpoint()}
	return etcd.Close, etcd.Failed(), nil
}

// Config builds the server configuration. With the embedded etcd, call it
// after StartStorage.
func (o *Options) Config() (*Config, error) {
	if err := o.Recommended.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost",
		o.AlternateDNS, []net.IP{netutils.ParseIPSloppy("127.0.0.1")}); err != nil {
		return nil, fmt.Errorf("creating self-signed certificates: %w", err)
	}

	serverConfig := genericapiserver.NewRecommendedConfig(Codecs)
	namer := openapi.NewDefinitionNamer(Scheme)
	serverConfig.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(generatedopenapi.GetOpenAPIDefinitions, namer)
	serverConfig.OpenAPIConfig.Info.Title = "jobserver"
	serverConfig.OpenAPIConfig.Info.Version = "v1"
	serverConfig.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(generatedopenapi.GetOpenAPIDefinitions, namer)
	serverConfig.OpenAPIV3Config.Info.Title = "jobserver"
	serverConfig.OpenAPIV3Config.Info.Version = "v1"
	// The run options: in-flight limits, request timeout, the shutdown
	// sequence (--shutdown-delay-duration keeps serving, unready, while the
	// Service stops sending requests here; then new requests get 429 with
	// Retry-After while the ones in flight drain), the feature gate and the
	// effective version.
	if err := o.ServerRun.ApplyTo(&serverConfig.Config); err != nil {
		return nil, err
	}
	// Watches and jobs/log (which follows the Pods' logs) are long-running:
	// no request timeout, not counted in max-in-flight, as kube-apiserver
	// treats watches and pods/log.
	serverConfig.LongRunningFunc = genericfilters.BasicLongRunningRequestCheck(
		sets.NewString("watch"), sets.NewString("log"))

	if err := o.Recommended.ApplyTo(serverConfig); err != nil {
		return nil, err
	}
	// etcd is a dependency: while it is out, a replica is unready (/readyz,
	// /healthz), not dead. With etcd on /livez, as the generic server puts
	// it, the liveness probe would restart every replica during an etcd
	// outage and leave them in CrashLoopBackOff after it.
	serverConfig.LivezChecks = withoutCheck(serverConfig.LivezChecks, "etcd")
	if err := addEtcdAlarmsReadyzCheck(serverConfig, o.Recommended.Etcd.StorageConfig.Transport); err != nil {
		return nil, err
	}
	config := &Config{GenericConfig: serverConfig}
	// With a cluster behind it, jobserver serves only the store the
	// cluster's Pods were made from (standalone, there are no Pods).
	if serverConfig.ClientConfig != nil {
		kube, err := kubernetes.NewForConfig(serverConfig.ClientConfig)
		if err != nil {
			return nil, fmt.Errorf("store record: %w", err)
		}
		record, err := newStoreRecord(kube, o.Recommended.Etcd.StorageConfig.Transport,
			o.Recommended.Etcd.StorageConfig.Prefix, o.storeDescription(), o.StoreRecord)
		if err != nil {
			return nil, err
		}
		if err := record.install(serverConfig); err != nil {
			return nil, err
		}
		config.StoreConfirmed = record.Confirmed()
	}
	return config, nil
}

// storeDescription names the store in messages.
func (o *Options) storeDescription() string {
	prefix := o.Recommended.Etcd.StorageConfig.Prefix
	if o.embeddedEtcd {
		dir, err := filepath.Abs(o.EmbeddedEtcdDataDir)
		if err != nil {
			dir = o.EmbeddedEtcdDataDir
		}
		return fmt.Sprintf("embedded etcd in %s, prefix %s", dir, prefix)
	}
	return fmt.Sprintf("etcd %s, prefix %s", strings.Join(o.Recommended.Etcd.StorageConfig.Transport.ServerList, ","), prefix)
}

// withoutCheck returns checks without the one named name.
func withoutCheck(checks []healthz.HealthChecker, name string) []healthz.HealthChecker {
	out := checks[:0:0]
	for _, c := range checks {
		if c.Name() != name {
			out = append(out, c)
		}
	}
	return out
}
