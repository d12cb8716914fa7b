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

package app

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/cmd/logs"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
)

// newLogsCommand is kubectl's own logs command (every flag of it: -c,
// --all-containers, --prefix, -f, --tail, --since, --timestamps, ...), with
// job/NAME turned into the Job's selector, so it reads all the Job's Pods,
// and --index N narrowing it to one completion index.
func newLogsCommand(f cmdutil.Factory, flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := logs.NewCmdLogs(f, streams)
	cmd.Use = "logs job/NAME [-c CONTAINER] [--index N]"
	cmd.Short = "Print the logs of all the Pods of a jobserver Job"
	cmd.Example = `  kubectl jobserver logs job/aggregate-responses-2021 --all-containers --prefix
  kubectl jobserver logs job/aggregate-responses-2021 --index 3
  kubectl jobserver logs job/quiz-init -f --max-log-requests 10`
	cmd.Long = `Print the logs of the Pods of a jobserver Job: all of them, or with --index N
those of one completion index. Every flag of kubectl logs applies; the Job's
selector takes the place of -l, and all lines are printed unless --tail says
otherwise (kubectl prints 10 per container for a selector).

When jobserver serves the jobs/log subresource, the logs are read through it
(so "get" on jobs/log is the only permission needed), unless a flag it does
not take is given (--previous, --since-time, --limit-bytes, --ignore-errors,
--insecure-skip-tls-verify-backend, --max-log-requests), the user may not get
jobs/log, or following takes more streams than one jobs/log request holds:
then they are read Pod by Pod, as kubectl does, which needs "get" on
pods/log.`
	cmd.ValidArgsFunction = nil
	index := -1
	cmd.Flags().IntVar(&index, "index", index, "Only the Pods of this completion index (Indexed Jobs).")
	run := cmd.Run
	cmd.Args = cobra.RangeArgs(1, 2)
	cmd.Run = func(cmd *cobra.Command, args []string) {
		if cmd.Flags().Changed("selector") {
			cmdutil.CheckErr(fmt.Errorf("-l/--selector cannot be used: job/NAME selects the Job's pods (use --index to narrow them)"))
		}
		if index < -1 {
			cmdutil.CheckErr(fmt.Errorf("--index must be a completion index (0 or more), got %d", index))
		}
		if done, err := serverLogs(cmd, flags, streams, args, index); done || err != nil {
			cmdutil.CheckErr(err)
			return
		}
		allContainers, _ := cmd.Flags().GetBool("all-containers")
		selector, streams, err := jobPodSelector(cmd, flags, args, index, allContainers)
		cmdutil.CheckErr(err)
		cmdutil.CheckErr(cmd.Flags().Set("selector", selector))
		if !cmd.Flags().Changed("tail") {
			cmdutil.CheckErr(cmd.Flags().Set("tail", "-1"))
		}
		// Following needs a stream per Pod (per container with
		// --all-containers); leave room for Pods a running Job adds.
		if follow, _ := cmd.Flags().GetBool("follow"); follow && !cmd.Flags().Changed("max-log-requests") {
			cmdutil.CheckErr(cmd.Flags().Set("max-log-requests", strconv.Itoa(max(5, 2*streams))))
		}
		run(cmd, nil)
	}
	return cmd
}

// jobPodSelector returns the label selector of the Job's Pods (of one
// index if index >= 0) and how many log streams following them takes now:
// one per Pod, or one per container with allContainers.
func jobPodSelector(cmd *cobra.Command, flags *genericclioptions.ConfigFlags, args []string, index int, allContainers bool) (string, int, error) {
	name, err := jobName(args)
	if err != nil {
		return "", 0, err
	}
	job, kube, err := getJob(cmd, flags, name)
	if err != nil {
		return "", 0, err
	}
	selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return "", 0, fmt.Errorf("job %s: %w", name, err)
	}
	if selector.Empty() {
		return "", 0, fmt.Errorf("job %s has no selector", name)
	}
	if index >= 0 {
		req, err := labels.NewRequirement(names.JobCompletionIndexAnnotation, "=", []string{strconv.Itoa(index)})
		if err != nil {
			return "", 0, err
		}
		selector = selector.Add(*req)
	}
	pods, err := kube.CoreV1().Pods(job.Namespace).List(cmd.Context(), metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return "", 0, err
	}
	if len(pods.Items) == 0 {
		what := "job " + name
		if index >= 0 {
			what += " index " + strconv.Itoa(index)
		}
		return "", 0, fmt.Errorf("%s has no pods", what)
	}
	streams := len(pods.Items)
	if allContainers {
		streams = 0
		for _, p := range pods.Items {
			streams += len(p.Spec.InitContainers) + len(p.Spec.Containers) + len(p.Spec.EphemeralContainers)
		}
	}
	return selector.String(), streams, nil
}
