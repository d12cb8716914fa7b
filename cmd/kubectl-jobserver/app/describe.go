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
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	kbatchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	typedbatchv1 "k8s.io/client-go/kubernetes/typed/batch/v1"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/describe"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	versioned "github.com/jobserver-dev/jobserver/pkg/generated/clientset/versioned"
)

func newDescribeCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	showEvents := true
	var chunkSize int64 = 500
	cmd := &cobra.Command{
		Use:   "describe job NAME",
		Short: "Show the details of a jobserver Job, as kubectl describe shows a batch/v1 Job",
		Example: `  kubectl jobserver describe job quiz-init
  kubectl jobserver describe job/quiz-init -n kiada`,
		Args: cobra.RangeArgs(1, 2),
		// Errors as kubectl prints them (error: ..., Error from server ...).
		Run: func(cmd *cobra.Command, args []string) {
			name, err := jobName(args)
			cmdutil.CheckErr(err)
			out, err := describeJob(cmd, flags, name, describe.DescriberSettings{ShowEvents: showEvents, ChunkSize: chunkSize})
			cmdutil.CheckErr(err)
			_, err = fmt.Fprint(streams.Out, out)
			cmdutil.CheckErr(err)
		},
	}
	cmd.Flags().BoolVar(&showEvents, "show-events", showEvents, "If true, display events related to the described object.")
	cmd.Flags().Int64Var(&chunkSize, "chunk-size", chunkSize, "Return large lists in chunks rather than all at once. Pass 0 to disable.")
	return cmd
}

// describeJob runs kubectl's batch/v1 Job describer on a jobserver Job.
// The describer reads the Job with BatchV1() and its Events with CoreV1():
// it is given the cluster's client with BatchV1() answered by a fake that
// holds the jobserver Job as the batch/v1 Job it mirrors field for field.
// kubectl's describeJob itself is unexported, hence this detour.
func describeJob(cmd *cobra.Command, flags *genericclioptions.ConfigFlags, name string, settings describe.DescriberSettings) (string, error) {
	job, kube, err := getJob(cmd, flags, name)
	if err != nil {
		return "", err
	}
	ns := job.Namespace
	builtin, err := asBuiltinJob(job)
	if err != nil {
		return "", err
	}
	client := withBatch{Interface: kube, batch: fake.NewClientset(builtin).BatchV1()}
	return (&describe.JobDescriber{Interface: client}).Describe(ns, name, settings)
}

// getJob reads the named jobserver Job in the namespace the kubectl flags
// select, and returns it with a client of the cluster.
func getJob(cmd *cobra.Command, flags *genericclioptions.ConfigFlags, name string) (*batchv1.Job, kubernetes.Interface, error) {
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil, nil, err
	}
	ns, _, err := flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, nil, err
	}
	jobs, err := versioned.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	job, err := jobs.BatchV1().Jobs(ns).Get(cmd.Context(), name, metav1.GetOptions{})
	if err != nil {
		return nil, nil, err
	}
	return job, kube, nil
}

// asBuiltinJob converts a jobserver Job to the batch/v1 Job with the same
// fields (the types share their JSON schema).
func asBuiltinJob(job *batchv1.Job) (*kbatchv1.Job, error) {
	raw, err := json.Marshal(job)
	if err != nil {
		return nil, err
	}
	out := &kbatchv1.Job{}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("reading Job %s as a batch/v1 Job: %w", job.Name, err)
	}
	out.APIVersion, out.Kind = kbatchv1.SchemeGroupVersion.String(), "Job"
	return out, nil
}

// withBatch is a cluster client whose BatchV1() is another one's.
type withBatch struct {
	kubernetes.Interface
	batch typedbatchv1.BatchV1Interface
}

func (c withBatch) BatchV1() typedbatchv1.BatchV1Interface { return c.batch }
