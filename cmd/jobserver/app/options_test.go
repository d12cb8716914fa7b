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
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseFlags(t *testing.T, args ...string) *Options {
	t.Helper()
	o := NewOptions()
	fs := pflag.NewFlagSet("jobserver", pflag.ContinueOnError)
	for _, f := range o.Flags().FlagSets {
		fs.AddFlagSet(f)
	}
	require.NoError(t, fs.Parse(args))
	return o
}

func TestRunsController(t *testing.T) {
	assert.True(t, parseFlags(t).RunsControllers())
	assert.False(t, parseFlags(t, "--standalone").RunsControllers(), "standalone: no cluster, no controller")
	assert.False(t, parseFlags(t, "--controllers-enabled=false").RunsControllers(), "an API-only replica")
}

// TestValidateChangesNothing: with the embedded etcd, Validate checks the
// etcd options against a stand-in address, in a copy.
func TestValidateChangesNothing(t *testing.T) {
	o := parseFlags(t, "--standalone", "--client-ca-file=/nonexistent")
	// Empty but not nil: a Validate that swapped in a stand-in and
	// restored "nothing" would leave nil behind.
	o.Server.Recommended.Etcd.StorageConfig.Transport.ServerList = []string{}
	require.NoError(t, o.Complete())
	_ = o.Validate()
	assert.NotNil(t, o.Server.Recommended.Etcd.StorageConfig.Transport.ServerList)
	assert.Empty(t, o.Server.Recommended.Etcd.StorageConfig.Transport.ServerList)
	assert.True(t, o.Server.UsesEmbeddedEtcd())
}

// TestControllerOptionsValidatedOnlyWhenRun: an API-only replica does not
// fail on controller flags it ignores.
func TestControllerOptionsValidatedOnlyWhenRun(t *testing.T) {
	o := parseFlags(t, "--standalone", "--concurrent-job-syncs=0")
	require.NoError(t, o.Complete())
	err := o.Validate()
	if err != nil {
		assert.NotContains(t, err.Error(), "--concurrent-job-syncs")
	}
	o = parseFlags(t, "--kubeconfig=/nonexistent", "--concurrent-job-syncs=0")
	require.NoError(t, o.Complete())
	require.Error(t, o.Validate())
	assert.Contains(t, o.Validate().Error(), "--concurrent-job-syncs")
}
