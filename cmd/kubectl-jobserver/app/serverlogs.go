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
	"bufio"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	versioned "github.com/jobserver-dev/jobserver/pkg/generated/clientset/versioned"
)

// notServerFlags are kubectl logs flags that jobs/log does not take; with
// any of them the logs are read Pod by Pod. --max-log-requests asks for
// more streams than jobs/log may follow in one request.
var notServerFlags = []string{"previous", "since-time", "limit-bytes", "ignore-errors", "insecure-skip-tls-verify-backend", "max-log-requests"}

// errSomeLogsUnreadable ends a read through jobs/log in which some
// container's log could not be read (each said on stderr), as kubectl logs
// fails unless --ignore-errors.
var errSomeLogsUnreadable = errors.New("some logs could not be read")

// serverLogs prints the Job's logs read through the jobs/log subresource,
// when the server offers it and the flags can be said to it. done is false
// when the caller should read them Pod by Pod instead: an older jobserver,
// a flag jobs/log lacks, a user allowed pods/log but not jobs/log, or a
// follow of more streams than one jobs/log request holds.
func serverLogs(cmd *cobra.Command, flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, args []string, index int) (done bool, err error) {
	for _, f := range notServerFlags {
		if cmd.Flags().Changed(f) {
			return false, nil
		}
	}
	name, err := jobName(args)
	if err != nil {
		return true, err
	}
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return true, err
	}
	cfg = rest.CopyConfig(cfg)
	// The server's warnings (containers skipped because they have not
	// started) on stderr, as kubectl prints them.
	cfg.WarningHandler = rest.NewWarningWriter(streams.ErrOut, rest.WarningWriterOptions{Deduplicate: true})
	ns, _, err := flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return true, err
	}
	client, err := versioned.NewForConfig(cfg)
	if err != nil {
		return true, err
	}
	if offered, err := offersJobLogs(client); err != nil || !offered {
		return false, nil // an older jobserver; kubectl's way works there
	}
	opts, err := jobLogOptions(cmd, index)
	if err != nil {
		return true, err
	}
	prefix, _ := cmd.Flags().GetBool("prefix")
	body, err := client.BatchV1().Jobs(ns).GetLogs(name, opts).Stream(cmd.Context())
	if err != nil {
		if apierrors.IsForbidden(err) || tooManyStreams(err) {
			return false, nil
		}
		return true, err
	}
	defer func() { _ = body.Close() }()
	return true, printJobLogs(body, streams.Out, streams.ErrOut, prefix)
}

// tooManyStreams tells whether jobs/log refused to follow that many
// streams in one request.
func tooManyStreams(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil {
		return false
	}
	for _, c := range status.Status().Details.Causes {
		if string(c.Type) == names.TooManyLogStreamsCause {
			return true
		}
	}
	return false
}

// offersJobLogs tells whether the server lists jobs/log in discovery.
func offersJobLogs(client versioned.Interface) (bool, error) {
	resources, err := client.Discovery().ServerResourcesForGroupVersion(batchv1.SchemeGroupVersion.String())
	if err != nil {
		return false, err
	}
	for _, r := range resources.APIResources {
		if r.Name == "jobs/log" {
			return true, nil
		}
	}
	return false, nil
}

// jobLogOptions turns kubectl logs flags into the query of jobs/log.
func jobLogOptions(cmd *cobra.Command, index int) (*batchv1.JobLogOptions, error) {
	fl := cmd.Flags()
	opts := &batchv1.JobLogOptions{}
	opts.Container, _ = fl.GetString("container")
	opts.AllContainers, _ = fl.GetBool("all-containers")
	opts.Follow, _ = fl.GetBool("follow")
	opts.Timestamps, _ = fl.GetBool("timestamps")
	if index >= 0 {
		ix := int64(index)
		opts.Index = &ix
	}
	if fl.Changed("tail") {
		tail, _ := fl.GetInt64("tail")
		if tail < -1 {
			return nil, errors.New("--tail must be greater than or equal to -1")
		}
		if tail >= 0 {
			opts.TailLines = &tail
		}
	}
	if since, _ := fl.GetDuration("since"); since != 0 {
		if since < 0 {
			return nil, errors.New("--since must be greater than 0")
		}
		// As kubectl: whole seconds, at least one.
		sec := max(int64(since.Round(time.Second).Seconds()), 1)
		opts.SinceSeconds = &sec
	}
	return opts, nil
}

// printJobLogs copies the tagged lines of jobs/log ("[pod/POD/CONTAINER
// index=N] line"), with kubectl's prefix "[pod/POD/CONTAINER] " if prefix,
// else bare, as kubectl logs prints them. jobserver's own lines about a
// log it could not read go to errOut, and make it return
// errSomeLogsUnreadable once everything else is printed.
func printJobLogs(body io.Reader, out, errOut io.Writer, prefix bool) error {
	br := bufio.NewReader(body)
	unreadable := false
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			w := out
			if tag, rest, ok := strings.Cut(line, "] "); ok && strings.HasPrefix(tag, "[pod/") && strings.HasPrefix(rest, "jobserver: ") {
				w, unreadable = errOut, true
				line = untag(line, true)
			} else {
				line = untag(line, prefix)
			}
			if _, werr := io.WriteString(w, line); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			if unreadable {
				return errSomeLogsUnreadable
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// untag rewrites one line's tag: kubectl's prefix (without the index) or
// nothing. A line without a tag is kept as it is.
func untag(line string, prefix bool) string {
	tag, rest, ok := strings.Cut(line, "] ")
	if !ok || !strings.HasPrefix(tag, "[pod/") {
		return line
	}
	if !prefix {
		return rest
	}
	tag, _, _ = strings.Cut(tag, " ")
	return tag + "] " + rest
}
