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
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/cmd/logs"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
	versioned "github.com/jobserver-dev/jobserver/pkg/generated/clientset/versioned"
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
	cmd.ValidArgsFunction = nil
	index := -1
	cmd.Flags().IntVar(&index, "index", index, "Only the Pods of this completion index (Indexed Jobs).")
	run := cmd.Run
	cmd.Args = cobra.RangeArgs(1, 2)
	cmd.Run = func(cmd *cobra.Command, args []string) {
		selector, pods, err := jobPodSelector(cmd, flags, args, index)
		cmdutil.CheckErr(err)
		cmdutil.CheckErr(cmd.Flags().Set("selector", selector))
		// Following every Pod of a Job needs a stream each.
		if follow, _ := cmd.Flags().GetBool("follow"); follow && !cmd.Flags().Changed("max-log-requests") && pods > 5 {
			cmdutil.CheckErr(cmd.Flags().Set("max-log-requests", strconv.Itoa(pods)))
		}
		run(cmd, nil)
	}
	return cmd
}

// jobPodSelector returns the label selector of the Job's Pods (of one
// index if index >= 0) and how many Pods it matches now.
func jobPodSelector(cmd *cobra.Command, flags *genericclioptions.ConfigFlags, args []string, index int) (string, int, error) {
	name, err := jobName(args)
	if err != nil {
		return "", 0, err
	}
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return "", 0, err
	}
	ns, _, err := flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", 0, err
	}
	jobs, err := versioned.NewForConfig(cfg)
	if err != nil {
		return "", 0, err
	}
	job, err := jobs.BatchV1().Jobs(ns).Get(cmd.Context(), name, metav1.GetOptions{})
	if err != nil {
		return "", 0, err
	}
	selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return "", 0, fmt.Errorf("job %s: %w", name, err)
	}
	if index >= 0 {
		req, err := labels.NewRequirement(names.JobCompletionIndexAnnotation, "=", []string{strconv.Itoa(index)})
		if err != nil {
			return "", 0, err
		}
		selector = selector.Add(*req)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", 0, err
	}
	pods, err := kube.CoreV1().Pods(ns).List(cmd.Context(), metav1.ListOptions{LabelSelector: selector.String()})
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
	return selector.String(), len(pods.Items), nil
}
