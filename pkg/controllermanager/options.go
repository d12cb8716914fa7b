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
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	componentbaseconfig "k8s.io/component-base/config"
	componentbaseoptions "k8s.io/component-base/config/options"
	componentbasevalidation "k8s.io/component-base/config/validation"
)

const (
	// LeaderElectionLeaseName is the coordination.k8s.io Lease the
	// controller replicas compete for, unless --leader-elect-resource-name
	// says otherwise.
	LeaderElectionLeaseName = "jobserver-controller"
	// DefaultLeaderElectionNamespace holds the Lease unless POD_NAMESPACE
	// or --leader-elect-resource-namespace say otherwise.
	DefaultLeaderElectionNamespace = "jobserver-system"
	// userAgent names the controllers' requests in audit logs.
	userAgent = "jobserver-controller"
)

// Options are the flags of the controller manager half.
type Options struct {
	// Enabled runs the controllers (under leader election); false makes an
	// API-only replica.
	Enabled bool
	// Controllers lists the controllers to run, as kube-controller-manager's
	// --controllers: "*" for all, "name" to enable one, "-name" to disable one.
	Controllers []string
	// LeaderElection makes replicas compete for a Lease so exactly one
	// reconciles; without it every replica with Enabled reconciles. Bound
	// with component-base's flags (--leader-elect, --leader-elect-*).
	LeaderElection componentbaseconfig.LeaderElectionConfiguration
	// ConcurrentJobSyncs is the number of workers syncing Jobs.
	ConcurrentJobSyncs int
	// KubeAPIQPS and KubeAPIBurst rate-limit the controllers' requests to
	// the cluster (pods, events).
	KubeAPIQPS   float32
	KubeAPIBurst int
}

// NewOptions returns the defaults (those of kube-controller-manager where
// it has the same flag).
func NewOptions() *Options {
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		ns = DefaultLeaderElectionNamespace
	}
	return &Options{
		Enabled:     true,
		Controllers: []string{"*"},
		LeaderElection: componentbaseconfig.LeaderElectionConfiguration{
			LeaderElect:       true,
			LeaseDuration:     metav1.Duration{Duration: 15 * time.Second},
			RenewDeadline:     metav1.Duration{Duration: 10 * time.Second},
			RetryPeriod:       metav1.Duration{Duration: 2 * time.Second},
			ResourceLock:      resourcelock.LeasesResourceLock,
			ResourceName:      LeaderElectionLeaseName,
			ResourceNamespace: ns,
		},
		ConcurrentJobSyncs: 5,
		KubeAPIQPS:         50,
		KubeAPIBurst:       100,
	}
}

// AddFlags adds the controller manager's flags to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.Enabled, "controllers-enabled", o.Enabled,
		"Run the controllers, which create the Jobs' Pods in the cluster (one replica at a time with "+
			"--leader-elect). false makes an API-only replica. Always off with --standalone.")
	fs.StringSliceVar(&o.Controllers, "controllers", o.Controllers, fmt.Sprintf(
		"The controllers to run: '*' enables all, 'foo' enables the controller named foo, '-foo' disables it. "+
			"All controllers: %s.", strings.Join(controllerNames(), ", ")))
	componentbaseoptions.BindLeaderElectionFlags(&o.LeaderElection, fs)
	// component-base's help texts, with what jobserver does on top.
	fs.Lookup("leader-elect").Usage = "Take a coordination.k8s.io Lease (--leader-elect-resource-name) before running " +
		"the controllers, so that of several replicas exactly one reconciles. A replica that loses the Lease stops " +
		"its controllers, keeps serving the API and campaigns again; each term starts the controllers afresh."
	fs.Lookup("leader-elect-resource-namespace").Usage = "Namespace of the Lease; defaults to $POD_NAMESPACE, else " +
		DefaultLeaderElectionNamespace + "."
	fs.IntVar(&o.ConcurrentJobSyncs, "concurrent-job-syncs", o.ConcurrentJobSyncs,
		"Number of Jobs synced concurrently; more is more responsive and costs more CPU and API load.")
	fs.Float32Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS,
		"Queries per second the controllers may send to the cluster's kube-apiserver.")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst,
		"Burst of requests the controllers may send to the cluster's kube-apiserver.")
}

// leaderElectionFlags names the flag behind each field that component-base
// validates, so errors speak of what the user typed.
var leaderElectionFlags = map[string]string{
	"leaseDuration":     "--leader-elect-lease-duration",
	"renewDeadline":     "--leader-elect-renew-deadline",
	"retryPeriod":       "--leader-elect-retry-period",
	"resourceLock":      "--leader-elect-resource-lock",
	"resourceName":      "--leader-elect-resource-name",
	"resourceNamespace": "--leader-elect-resource-namespace",
}

// Validate reports every invalid controller manager option. It changes
// nothing.
func (o *Options) Validate() []error {
	var errs []error
	if o.ConcurrentJobSyncs < 1 {
		errs = append(errs, fmt.Errorf("--concurrent-job-syncs must be at least 1, got %d", o.ConcurrentJobSyncs))
	}
	if o.KubeAPIQPS <= 0 {
		errs = append(errs, fmt.Errorf("--kube-api-qps must be positive, got %v", o.KubeAPIQPS))
	}
	if o.KubeAPIBurst < 1 {
		errs = append(errs, fmt.Errorf("--kube-api-burst must be at least 1, got %d", o.KubeAPIBurst))
	}
	errs = append(errs, validateControllers(o.Controllers)...)
	le := &o.LeaderElection
	if !le.LeaderElect {
		return errs
	}
	for _, fe := range componentbasevalidation.ValidateLeaderElectionConfiguration(le, field.NewPath("leaderElection")) {
		errs = append(errs, o.leaderElectionError(fe))
	}
	// client-go's elector refuses a renew deadline within its retry jitter.
	if float64(le.RenewDeadline.Duration) <= 1.2*float64(le.RetryPeriod.Duration) {
		errs = append(errs, fmt.Errorf("--leader-elect-renew-deadline (%v) must be greater than 1.2 × --leader-elect-retry-period (%v)",
			le.RenewDeadline.Duration, le.RetryPeriod.Duration))
	}
	if le.ResourceLock != "" && le.ResourceLock != resourcelock.LeasesResourceLock {
		errs = append(errs, fmt.Errorf("--leader-elect-resource-lock %q: only %q is supported", le.ResourceLock, resourcelock.LeasesResourceLock))
	}
	if le.ResourceName != "" {
		for _, msg := range validation.IsDNS1123Subdomain(le.ResourceName) {
			errs = append(errs, fmt.Errorf("--leader-elect-resource-name %q: %s", le.ResourceName, msg))
		}
	}
	if le.ResourceNamespace != "" {
		for _, msg := range validation.IsDNS1123Label(le.ResourceNamespace) {
			errs = append(errs, fmt.Errorf("--leader-elect-resource-namespace %q: %s", le.ResourceNamespace, msg))
		}
	}
	return errs
}

// leaderElectionError words a component-base validation error in terms of
// the flag, with the flag's own value (component-base reports the renew
// deadline's value for a too short lease duration).
func (o *Options) leaderElectionError(fe *field.Error) error {
	le := &o.LeaderElection
	name := fe.Field[strings.LastIndex(fe.Field, ".")+1:]
	flag := leaderElectionFlags[name]
	if flag == "" {
		return fe
	}
	if fe.Type == field.ErrorTypeRequired {
		return fmt.Errorf("%s must not be empty", flag)
	}
	value := map[string]any{
		"leaseDuration": le.LeaseDuration.Duration,
		"renewDeadline": le.RenewDeadline.Duration,
		"retryPeriod":   le.RetryPeriod.Duration,
	}[name]
	detail := strings.ReplaceAll(fe.Detail, "`RenewDeadline`", fmt.Sprintf("--leader-elect-renew-deadline (%v)", le.RenewDeadline.Duration))
	return fmt.Errorf("%s (%v) %s", flag, value, detail)
}

// validateControllers checks --controllers against the registered names.
func validateControllers(list []string) []error {
	known := sets.New(controllerNames()...)
	var errs []error
	for _, item := range list {
		name := strings.TrimPrefix(item, "-")
		if item != "*" && !known.Has(name) {
			errs = append(errs, fmt.Errorf("--controllers: unknown controller %q; known: %s", item, strings.Join(controllerNames(), ", ")))
		}
	}
	return errs
}

// enabled tells whether --controllers enables the named controller.
func enabled(list []string, name string) bool {
	if slices.Contains(list, "-"+name) {
		return false
	}
	return slices.Contains(list, name) || slices.Contains(list, "*")
}

// Config turns the options into a Config; cluster is the rest config of the
// cluster jobserver extends.
func (o *Options) Config(cluster *rest.Config) (*Config, error) {
	kube := rest.CopyConfig(cluster)
	kube.QPS = o.KubeAPIQPS
	kube.Burst = o.KubeAPIBurst
	kube.ContentType = "application/vnd.kubernetes.protobuf"
	kube.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	kube = rest.AddUserAgent(kube, userAgent)
	cfg := &Config{KubeConfig: kube, ConcurrentJobSyncs: o.ConcurrentJobSyncs}
	for _, c := range controllers {
		if enabled(o.Controllers, c.Name) {
			cfg.Controllers = append(cfg.Controllers, c)
		}
	}
	if o.LeaderElection.LeaderElect {
		identity, err := leaderIdentity()
		if err != nil {
			return nil, err
		}
		le := &o.LeaderElection
		cfg.LeaderElection = &LeaderElectionConfig{
			Namespace:     le.ResourceNamespace,
			Name:          le.ResourceName,
			Identity:      identity,
			LeaseDuration: le.LeaseDuration.Duration,
			RenewDeadline: le.RenewDeadline.Duration,
			RetryPeriod:   le.RetryPeriod.Duration,
		}
	}
	return cfg, nil
}

// leaderIdentity is $POD_NAME when set (unique in a Deployment), else the
// host name with a random suffix, as kube-controller-manager does.
func leaderIdentity() (string, error) {
	if name := os.Getenv("POD_NAME"); name != "" {
		return name, nil
	}
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("choosing a leader election identity: %w", err)
	}
	return host + "_" + string(uuid.NewUUID()), nil
}
