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

// Command jobserver serves the batch.jobserver.dev Job API as a Kubernetes
// aggregated API server, storing Jobs in etcd.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/component-base/cli"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/term"

	"github.com/jobserver-dev/jobserver/pkg/apiserver"
)

func main() {
	ctx := genericapiserver.SetupSignalContext()
	os.Exit(cli.Run(newCommand(ctx)))
}

func newCommand(ctx context.Context) *cobra.Command {
	opts := apiserver.NewOptions()
	logOptions := logs.NewOptions()
	cmd := &cobra.Command{
		Use:   "jobserver",
		Short: "Serve the batch.jobserver.dev Job API as a Kubernetes aggregated API server",
		Long: `jobserver serves Jobs in the API group batch.jobserver.dev/v1, with the
fields, defaults and validation of batch/v1 Jobs, to clients that reach it
through kube-apiserver (an APIService) or directly.

Jobs are stored in etcd: the cluster given by --etcd-servers or, without it,
an embedded etcd in --embedded-etcd-data-dir.

The Job controller creates each Job's Pods in the cluster given by
--kubeconfig (or the in-cluster configuration). With --leader-elect (the
default) replicas compete for a Lease and one of them reconciles; a replica
that loses the Lease exits non-zero. --controllers-enabled=false makes an
API-only replica; --standalone serves the API without a cluster and without
the controller.`,
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
