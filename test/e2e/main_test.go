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

// Package e2e tests jobserver end to end: a local cluster of real
// Kubernetes binaries and kwok nodes (hack/local-up.sh), jobserver reached
// through kube-apiserver's aggregation layer, and the real kubectl.
package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/jobserver-dev/jobserver/test/e2e/framework"
)

// cluster is the local cluster every test of this package uses.
var cluster *framework.Cluster

func TestMain(m *testing.M) {
	c, stop, err := framework.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the e2e cluster: %v\n", err)
		os.Exit(1)
	}
	cluster = c
	code := m.Run()
	stop()
	os.Exit(code)
}
