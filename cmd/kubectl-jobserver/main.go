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

// Command kubectl-jobserver is the kubectl plugin for jobserver's Jobs:
// `kubectl jobserver describe job NAME` prints what kubectl's own describer
// prints for a batch/v1 Job, and `kubectl jobserver logs job/NAME` prints
// the logs of all the Job's Pods. Install it on PATH (go install
// ./cmd/kubectl-jobserver, or make build and _output/bin).
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/component-base/cli"

	"github.com/jobserver-dev/jobserver/cmd/kubectl-jobserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewCommand(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})))
}
