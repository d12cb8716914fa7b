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

// Package app holds the commands of the kubectl-jobserver plugin. They take
// kubectl's usual flags (--kubeconfig, --context, -n, ...) through
// k8s.io/cli-runtime and reuse kubectl's own describer and logs command, so
// their output is what kubectl prints for built-in Jobs.
package app

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
)

// NewCommand returns the plugin's root command.
func NewCommand(streams genericiooptions.IOStreams) *cobra.Command {
	flags := genericclioptions.NewConfigFlags(true).WithDeprecatedPasswordFlag()
	cmd := &cobra.Command{
		Use:   "kubectl jobserver",
		Short: "Describe jobserver's Jobs and read their logs as kubectl does for batch/v1 Jobs",
		Long: `kubectl jobserver works on the Jobs of the batch.jobserver.dev API group:

  kubectl jobserver describe job NAME      what "kubectl describe job" prints for a batch/v1 Job
  kubectl jobserver logs job/NAME          the logs of all the Job's Pods (--index N: one index)`,
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	flags.AddFlags(cmd.PersistentFlags())
	f := cmdutil.NewFactory(cmdutil.NewMatchVersionFlags(flags))
	cmd.AddCommand(newDescribeCommand(flags, streams), newLogsCommand(f, flags, streams))
	return cmd
}

// jobName reads a Job's name from "job NAME", "jobs NAME", "job/NAME" (any
// of job, jobs, jsjob, jobs.batch.jobserver.dev as the type).
func jobName(args []string) (string, error) {
	isJobType := func(s string) bool {
		switch s {
		case "job", "jobs", "jsjob", "job.batch.jobserver.dev", "jobs.batch.jobserver.dev":
			return true
		}
		return false
	}
	switch {
	case len(args) == 1 && strings.Contains(args[0], "/"):
		typ, name, _ := strings.Cut(args[0], "/")
		if isJobType(typ) && name != "" {
			return name, nil
		}
	case len(args) == 2 && isJobType(args[0]) && args[1] != "":
		return args[1], nil
	}
	return "", fmt.Errorf("expected job NAME or job/NAME, got %q", strings.Join(args, " "))
}
