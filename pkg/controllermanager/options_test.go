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

package controllermanager

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"
)

func parseControllerFlags(t *testing.T, args ...string) *Options {
	t.Helper()
	o := NewOptions()
	fs := pflag.NewFlagSet("jobserver", pflag.ContinueOnError)
	o.AddFlags(fs)
	require.NoError(t, fs.Parse(args))
	return o
}

func TestControllerFlagDefaults(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "")
	c := parseControllerFlags(t)
	assert.True(t, c.Enabled)
	assert.True(t, c.LeaderElection.LeaderElect)
	assert.Equal(t, 15*time.Second, c.LeaderElection.LeaseDuration.Duration)
	assert.Equal(t, 10*time.Second, c.LeaderElection.RenewDeadline.Duration)
	assert.Equal(t, 2*time.Second, c.LeaderElection.RetryPeriod.Duration)
	assert.Equal(t, "jobserver-system", c.LeaderElection.ResourceNamespace)
	assert.Equal(t, LeaderElectionLeaseName, c.LeaderElection.ResourceName)
	assert.Equal(t, "leases", c.LeaderElection.ResourceLock)
	assert.Equal(t, 5, c.ConcurrentJobSyncs)
	assert.Equal(t, float32(50), c.KubeAPIQPS)
	assert.Equal(t, 100, c.KubeAPIBurst)
	assert.Equal(t, []string{"*"}, c.Controllers)
	assert.Empty(t, c.Validate())
}

func TestControllerLeaseNamespaceFromPodNamespace(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "batch-system")
	assert.Equal(t, "batch-system", parseControllerFlags(t).LeaderElection.ResourceNamespace)
	assert.Equal(t, "other", parseControllerFlags(t, "--leader-elect-resource-namespace=other").LeaderElection.ResourceNamespace)
}

func TestControllerFlagValidation(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--concurrent-job-syncs=0"}, []string{"--concurrent-job-syncs"}},
		{[]string{"--kube-api-qps=0", "--kube-api-burst=0"}, []string{"--kube-api-qps", "--kube-api-burst"}},
		{[]string{"--leader-elect-lease-duration=10s"}, []string{"--leader-elect-lease-duration (10s) must be greater"}},
		{[]string{"--leader-elect-renew-deadline=2s"}, []string{"1.2 × --leader-elect-retry-period"}},
		{[]string{"--leader-elect-resource-namespace=Not_A_Namespace"}, []string{"--leader-elect-resource-namespace"}},
		{[]string{"--leader-elect-resource-namespace="}, []string{"--leader-elect-resource-namespace must not be empty"}},
		{[]string{"--leader-elect-resource-name="}, []string{"--leader-elect-resource-name must not be empty"}},
		{[]string{"--leader-elect-resource-name=Bad_Name"}, []string{`--leader-elect-resource-name "Bad_Name"`}},
		{[]string{"--leader-elect-resource-lock=endpoints"}, []string{`--leader-elect-resource-lock "endpoints": only "leases"`}},
		{[]string{"--controllers=*,-cron-controller"}, []string{`unknown controller "-cron-controller"`}},
		// Without leader election its timing does not matter.
		{[]string{"--leader-elect=false", "--leader-elect-lease-duration=1s"}, nil},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			errs := parseControllerFlags(t, tc.args...).Validate()
			require.Len(t, errs, len(tc.want), "%v", errs)
			for i, want := range tc.want {
				assert.Contains(t, errs[i].Error(), want)
			}
		})
	}
}

func TestControllerConfig(t *testing.T) {
	t.Setenv("POD_NAME", "jobserver-7d9f-abcde")
	o := parseControllerFlags(t, "--kube-api-qps=20", "--kube-api-burst=30")
	cluster := &rest.Config{Host: "https://cluster", QPS: 5, Burst: 10}
	cfg, err := o.Config(cluster)
	require.NoError(t, err)
	assert.Equal(t, float32(20), cfg.KubeConfig.QPS)
	assert.Equal(t, 30, cfg.KubeConfig.Burst)
	assert.Equal(t, float32(5), cluster.QPS, "the server's own cluster client is left alone")
	assert.Equal(t, 5, cfg.ConcurrentJobSyncs)
	assert.Equal(t, controllerNames(), names(cfg.Controllers), "every controller is enabled by default")
	require.NotNil(t, cfg.LeaderElection)
	assert.Equal(t, "jobserver-7d9f-abcde", cfg.LeaderElection.Identity)
	assert.Equal(t, LeaderElectionLeaseName, cfg.LeaderElection.Name)

	t.Setenv("POD_NAME", "")
	cfg, err = o.Config(cluster)
	require.NoError(t, err)
	assert.Regexp(t, `^.+_[0-9a-f-]{36}$`, cfg.LeaderElection.Identity, "host name and a random suffix")

	cfg, err = parseControllerFlags(t, "--leader-elect=false").Config(cluster)
	require.NoError(t, err)
	assert.Nil(t, cfg.LeaderElection)

	cfg, err = parseControllerFlags(t, "--controllers=*,-job-controller").Config(cluster)
	require.NoError(t, err)
	assert.Empty(t, cfg.Controllers, "--controllers disables one by name")
}

func names(cs []Controller) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}
