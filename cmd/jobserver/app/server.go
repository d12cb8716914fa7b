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

// Package app is the jobserver command: its flags, and Run, which puts the
// two halves of the process together, the API server (pkg/apiserver) and
// the controller manager (pkg/controllermanager).
package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	genericapiserver "k8s.io/apiserver/pkg/server"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/term"
	"k8s.io/klog/v2"

	"github.com/jobserver-dev/jobserver/pkg/apiserver"
	"github.com/jobserver-dev/jobserver/pkg/controllermanager"
)

// NewCommand returns the jobserver command, running in ctx.
func NewCommand(ctx context.Context) *cobra.Command {
	opts := NewOptions()
	logOptions := logs.NewOptions()
	cmd := &cobra.Command{
		Use:   "jobserver",
		Short: "Serve the batch.jobserver.dev Job API as a Kubernetes aggregated API server",
		Long: `jobserver serves Jobs in the API group batch.jobserver.dev/v1, with the
fields, defaults and validation of batch/v1 Jobs, to clients that reach it
through kube-apiserver (an APIService) or directly.

Jobs are stored in etcd: the cluster given by --etcd-servers or, without it,
an embedded etcd in --embedded-etcd-data-dir.

The controllers (--controllers; today the Job controller) create each Job's
Pods in the cluster given by --kubeconfig (or the in-cluster configuration).
With --leader-elect (the default) replicas compete for a Lease and one of
them reconciles; a replica that loses the Lease stops its controllers,
keeps serving the API and campaigns again.
--controllers-enabled=false makes an API-only replica; --standalone serves
the API without a cluster and without the controllers.`,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unexpected arguments: %q", args)
			}
			if err := logsapi.ValidateAndApply(logOptions, nil); err != nil {
				return err
			}
			if err := opts.Complete(); err != nil {
				return err
			}
			if err := opts.Validate(); err != nil {
				return err
			}
			return opts.Run(cmd.Context())
		},
	}
	cmd.SetContext(ctx)

	fss := opts.Flags()
	logsapi.AddFlags(logOptions, fss.FlagSet("logging"))
	for _, f := range fss.FlagSets {
		cmd.Flags().AddFlagSet(f)
	}
	cols, _, _ := term.TerminalSize(cmd.OutOrStdout())
	cliflag.SetUsageAndHelpFunc(cmd, fss, cols)
	return cmd
}

// Run starts the embedded etcd if needed, serves until ctx is cancelled,
// then shuts down gracefully and stops the embedded etcd. The controllers,
// if this replica runs them, start once the server serves (they read Jobs
// through its loopback client) and stop first on shutdown. If they fail
// on their own, or the embedded etcd fails after start, the server shuts
// down gracefully too and Run returns that error, so the process exits
// non-zero and is restarted.
func (o *Options) Run(ctx context.Context) error {
	stopStorage, storageFailed, err := o.Server.StartStorage()
	if err != nil {
		return err
	}
	// Stopped only after the server has drained its requests.
	defer stopStorage()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	storageErr := make(chan error, 1)
	go func() {
		select {
		case err := <-storageFailed:
			klog.ErrorS(err, "The embedded etcd failed; shutting jobserver down")
			storageErr <- err
			cancel(err)
		case <-ctx.Done():
		}
	}()
	err = o.serve(ctx)
	select {
	case sErr := <-storageErr:
		return errors.Join(sErr, err)
	default:
		return err
	}
}

// serve builds the server (and the controllers, if this replica runs them)
// and serves until ctx ends.
func (o *Options) serve(ctx context.Context) error {
	config, err := o.Server.Config()
	if err != nil {
		return err
	}
	var manager *controllermanager.Manager
	if o.RunsControllers() {
		// ClientConfig is the cluster's (--kubeconfig or in-cluster), set
		// by the core API options.
		if config.GenericConfig.ClientConfig == nil {
			return errNoCluster
		}
		cmConfig, err := o.Controllers.Config(config.GenericConfig.ClientConfig)
		if err != nil {
			return err
		}
		if len(cmConfig.Controllers) == 0 {
			// --controllers left none: an API-only replica, which takes no Lease.
			klog.InfoS("No controller is enabled (--controllers); serving the API only", "controllers", o.Controllers.Controllers)
		} else {
			manager = controllermanager.New(cmConfig)
			// A stuck elector is the process's own failure, not a
			// dependency's: the liveness probe (/livez) restarts it.
			config.GenericConfig.HealthzChecks = append(config.GenericConfig.HealthzChecks, manager.HealthChecks()...)
			config.GenericConfig.LivezChecks = append(config.GenericConfig.LivezChecks, manager.HealthChecks()...)
		}
	}
	server, err := config.New()
	if err != nil {
		return err
	}
	klog.InfoS("Starting jobserver", "securePort", o.Server.Recommended.SecureServing.BindPort,
		"etcd", o.Server.Recommended.Etcd.StorageConfig.Transport.ServerList, "controllers", manager != nil)
	if manager == nil {
		return server.Run(ctx)
	}
	return runWithControllers(ctx, server, manager)
}

// runWithControllers serves with the controllers: started from a post-start
// hook (the loopback client works from then on), stopped from a
// pre-shutdown hook, while the server still serves the loopback requests of
// in-flight syncs.
func runWithControllers(ctx context.Context, server *apiserver.JobServer, manager *controllermanager.Manager) error {
	startErr := make(chan error, 1)
	if err := server.GenericAPIServer.AddPostStartHook("start-controllers", func(hookCtx genericapiserver.PostStartHookContext) error {
		if server.StoreConfirmed == nil {
			return manager.Start(hookCtx, hookCtx.LoopbackClientConfig)
		}
		// Not on a store the cluster does not record: its Jobs are not the
		// ones the cluster's Pods belong to. Waited for outside the hook:
		// an unfinished post-start hook fails /livez, and a liveness probe
		// would restart a replica that is right to wait.
		go func() {
			select {
			case <-server.StoreConfirmed:
			case <-hookCtx.Done():
				return
			}
			if err := manager.Start(hookCtx, hookCtx.LoopbackClientConfig); err != nil {
				startErr <- err
			}
		}()
		return nil
	}); err != nil {
		return err
	}
	if err := server.GenericAPIServer.AddPreShutdownHook("stop-controllers", manager.Stop); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	failed := make(chan error, 1)
	go func() {
		select {
		case err := <-manager.Failed():
			klog.ErrorS(err, "The controllers stopped; shutting jobserver down")
			failed <- err
			cancel()
		case err := <-startErr:
			klog.ErrorS(err, "The controllers could not start; shutting jobserver down")
			failed <- err
			cancel()
		case <-ctx.Done():
		}
	}()
	err := server.Run(ctx)
	// Normally done by the pre-shutdown hook already; not if the server
	// failed before it ran.
	if stopErr := manager.Stop(); stopErr != nil && err == nil {
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
