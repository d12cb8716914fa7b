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

// Package apiserver is jobserver's API half: options, the generic API server
// with the batch.jobserver.dev group, its health checks, and storage in etcd
// (an external cluster or an embedded one). It runs no controllers; the
// command (cmd/jobserver/app) starts pkg/controllermanager beside it.
package apiserver

import (
	"context"
	"fmt"
	"net/http"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	jobstorage "github.com/jobserver-dev/jobserver/pkg/registry/batch/job"
)

// Config is the complete configuration of jobserver's API server. Callers
// may add health checks (GenericConfig.HealthzChecks, ...) before New.
type Config struct {
	GenericConfig *genericapiserver.RecommendedConfig
	// StoreConfirmed is closed once the store is the one the cluster
	// records; nil when there is no cluster (standalone).
	StoreConfirmed <-chan struct{}
}

// JobServer is a configured API server, ready to run. Callers may add
// post-start and pre-shutdown hooks to GenericAPIServer before Run.
type JobServer struct {
	GenericAPIServer *genericapiserver.GenericAPIServer
	// StoreConfirmed is Config's: the controllers wait for it.
	StoreConfirmed <-chan struct{}
}

// New builds the server and installs the batch.jobserver.dev API group.
func (c *Config) New() (*JobServer, error) {
	genericServer, err := c.GenericConfig.Complete().New("jobserver", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, err
	}
	jobs, jobStatus, err := jobstorage.NewREST(Scheme, c.GenericConfig.RESTOptionsGetter)
	if err != nil {
		return nil, fmt.Errorf("creating Job storage: %w", err)
	}
	// The parameter codec of Scheme decodes the query of jobs/log
	// (JobLogOptions) as well as metav1's list, get and delete options.
	apiGroupInfo := genericapiserver.NewDefaultAPIGroupInfo(batch.GroupName, Scheme, runtime.NewParameterCodec(Scheme), Codecs)
	apiGroupInfo.NegotiatedSerializer = withoutProtobuf{apiGroupInfo.NegotiatedSerializer}
	storage := map[string]rest.Storage{
		"jobs":        jobs,
		"jobs/status": jobStatus,
	}
	// jobs/log reads the Pods' logs from the cluster; a standalone server
	// (no cluster) does not offer it.
	if cfg := c.GenericConfig.ClientConfig; cfg != nil {
		kube, err := kubernetes.NewForConfig(logClientConfig(cfg))
		if err != nil {
			return nil, fmt.Errorf("creating the client of jobs/log: %w", err)
		}
		storage["jobs/log"] = jobstorage.NewLogREST(jobs, kube.CoreV1())
	}
	apiGroupInfo.VersionedResourcesStorageMap["v1"] = storage
	if err := genericServer.InstallAPIGroup(&apiGroupInfo); err != nil {
		return nil, fmt.Errorf("installing the %s API group: %w", batch.GroupName, err)
	}
	if err := addRequestHeaderReadyzCheck(genericServer, c.GenericConfig.Authentication.RequestHeaderConfig); err != nil {
		return nil, err
	}
	return &JobServer{GenericAPIServer: genericServer, StoreConfirmed: c.StoreConfirmed}, nil
}

// logClientConfig is the cluster's client configuration for jobs/log, with
// a budget of its own: a request reads one pods/log per container of each
// Pod.
func logClientConfig(cfg *restclient.Config) *restclient.Config {
	cfg = restclient.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = restclient.DefaultKubernetesUserAgent() + " jobs/log"
	return cfg
}

// addRequestHeaderReadyzCheck makes /readyz fail until the front-proxy
// (request-header) CA is loaded. Read from the cluster's
// kube-system/extension-apiserver-authentication ConfigMap, it arrives with
// an informer about 100 ms after the server starts serving; until then a
// request kube-apiserver proxies is not recognized as such and is served
// as system:anonymous (403). A readiness probe on /readyz keeps such a
// replica out of the Service until it would answer correctly.
func addRequestHeaderReadyzCheck(server *genericapiserver.GenericAPIServer, cfg *authenticatorfactory.RequestHeaderConfig) error {
	if cfg == nil || cfg.CAContentProvider == nil {
		return nil // standalone, or request-header authentication off
	}
	ca := cfg.CAContentProvider
	return server.AddReadyzChecks(healthz.NamedCheck("request-header-ca", func(*http.Request) error {
		if len(ca.CurrentCABundleContent()) == 0 {
			return fmt.Errorf("the request-header CA %s is not loaded yet: requests proxied by kube-apiserver would be anonymous", ca.Name())
		}
		return nil
	}))
}

// Run serves until ctx is cancelled, then shuts down gracefully: the
// pre-shutdown hooks run, requests drain, long-running ones are closed.
func (s *JobServer) Run(ctx context.Context) error {
	return s.GenericAPIServer.PrepareRun().RunWithContext(ctx)
}
