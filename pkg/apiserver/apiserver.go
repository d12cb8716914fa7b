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

// Package apiserver wires jobserver together: options, the generic API
// server with the batch.jobserver.dev group, and storage in etcd (an
// external cluster or an embedded one).
package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/klog/v2"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	jobstorage "github.com/jobserver-dev/jobserver/pkg/registry/batch/job"
)

// Config is the complete configuration of a jobserver.
type Config struct {
	GenericConfig *genericapiserver.RecommendedConfig
	// Controller is nil when this replica runs no Job controller.
	Controller *ControllerConfig
}

// JobServer is a configured jobserver, ready to run.
type JobServer struct {
	GenericAPIServer *genericapiserver.GenericAPIServer
	// controller is nil when this replica runs no Job controller.
	controller *controllerRunner
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
	apiGroupInfo := genericapiserver.NewDefaultAPIGroupInfo(batch.GroupName, Scheme, metav1.ParameterCodec, Codecs)
	apiGroupInfo.NegotiatedSerializer = withoutProtobuf{apiGroupInfo.NegotiatedSerializer}
	apiGroupInfo.VersionedResourcesStorageMap["v1"] = map[string]rest.Storage{
		"jobs":        jobs,
		"jobs/status": jobStatus,
	}
	if err := genericServer.InstallAPIGroup(&apiGroupInfo); err != nil {
		return nil, fmt.Errorf("installing the %s API group: %w", batch.GroupName, err)
	}
	if err := addRequestHeaderReadyzCheck(genericServer, c.GenericConfig.Authentication.RequestHeaderConfig); err != nil {
		return nil, err
	}
	server := &JobServer{GenericAPIServer: genericServer}
	if c.Controller != nil {
		server.controller = newControllerRunner(c.Controller)
		if err := server.controller.install(genericServer); err != nil {
			return nil, fmt.Errorf("installing the Job controller: %w", err)
		}
	}
	return server, nil
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

// Run starts the embedded etcd if needed, serves until ctx is cancelled,
// then shuts down gracefully and stops the embedded etcd. The Job
// controller, if this replica runs it, starts once the server serves and
// stops first on shutdown. If the controller ends on its own (it lost its
// leader election Lease), the server shuts down gracefully too and Run
// returns that error, so the process exits non-zero and is restarted.
func (o *Options) Run(ctx context.Context) error {
	if o.UsesEmbeddedEtcd() {
		etcd, err := StartEmbeddedEtcd(o.EmbeddedEtcdDataDir, time.Minute)
		if err != nil {
			return err
		}
		// Stopped only after the server has drained its requests.
		defer etcd.Close()
		o.Recommended.Etcd.StorageConfig.Transport.ServerList = []string{etcd.Endpoint()}
	}
	config, err := o.Config()
	if err != nil {
		return err
	}
	server, err := config.New()
	if err != nil {
		return err
	}
	klog.InfoS("Starting jobserver", "securePort", o.Recommended.SecureServing.BindPort,
		"etcd", o.Recommended.Etcd.StorageConfig.Transport.ServerList, "controller", server.controller != nil)
	return server.Run(ctx)
}

// Run serves until ctx ends or the controller fails (see Options.Run).
func (s *JobServer) Run(ctx context.Context) error {
	prepared := s.GenericAPIServer.PrepareRun()
	if s.controller == nil {
		return prepared.RunWithContext(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	failed := make(chan error, 1)
	go func() {
		select {
		case err := <-s.controller.failed:
			klog.ErrorS(err, "The Job controller stopped; shutting jobserver down")
			failed <- err
			cancel()
		case <-ctx.Done():
		}
	}()
	err := prepared.RunWithContext(ctx)
	// Normally done by the pre-shutdown hook already; not if the server
	// failed before it ran.
	if stopErr := s.controller.stop(); stopErr != nil && err == nil {
		err = stopErr
	}
	cancel()
	select {
	case ctrlErr := <-failed:
		return errors.Join(ctrlErr, err)
	default:
		return err
	}
}
