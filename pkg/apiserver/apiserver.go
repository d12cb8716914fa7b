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
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/klog/v2"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	jobstorage "github.com/jobserver-dev/jobserver/pkg/registry/batch/job"
)

// Config is the complete configuration of a jobserver.
type Config struct {
	GenericConfig *genericapiserver.RecommendedConfig
}

// JobServer is a configured jobserver, ready to run.
type JobServer struct {
	GenericAPIServer *genericapiserver.GenericAPIServer
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
	return &JobServer{GenericAPIServer: genericServer}, nil
}

// Run starts the embedded etcd if needed, serves until ctx is cancelled,
// then shuts down gracefully and stops the embedded etcd.
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
		"etcd", o.Recommended.Etcd.StorageConfig.Transport.ServerList)
	return server.GenericAPIServer.PrepareRun().RunWithContext(ctx)
}
