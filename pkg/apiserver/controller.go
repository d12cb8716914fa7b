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

package apiserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	jobcontroller "github.com/jobserver-dev/jobserver/pkg/controller/job"
	versioned "github.com/jobserver-dev/jobserver/pkg/generated/clientset/versioned"
	jobinformers "github.com/jobserver-dev/jobserver/pkg/generated/informers/externalversions"
)

const (
	// LeaderElectionLeaseName is the coordination.k8s.io Lease the
	// controller replicas compete for.
	LeaderElectionLeaseName = "jobserver-controller"
	// DefaultLeaderElectionNamespace holds the Lease unless POD_NAMESPACE
	// or --leader-elect-resource-namespace say otherwise.
	DefaultLeaderElectionNamespace = "jobserver-system"
	// controllerUserAgent names the controller's requests in audit logs.
	controllerUserAgent = "jobserver-controller"
	// controllerStopTimeout bounds how long shutdown waits for the
	// controller's workers and the Lease release.
	controllerStopTimeout = time.Minute
)

// ControllerOptions are the flags of the Job controller half.
type ControllerOptions struct {
	// Enabled runs the controller (under leader election); false makes an
	// API-only replica.
	Enabled bool
	// LeaderElect makes replicas compete for a Lease so exactly one
	// reconciles; without it every replica with Enabled reconciles.
	LeaderElect       bool
	LeaseDuration     time.Duration
	RenewDeadline     time.Duration
	RetryPeriod       time.Duration
	ResourceNamespace string
	// ConcurrentJobSyncs is the number of workers syncing Jobs.
	ConcurrentJobSyncs int
	// KubeAPIQPS and KubeAPIBurst rate-limit the controller's requests to
	// the cluster (pods, events, the Lease).
	KubeAPIQPS   float32
	KubeAPIBurst int
}

// NewControllerOptions returns the defaults (those of
// kube-controller-manager where it has the same flag).
func NewControllerOptions() *ControllerOptions {
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		ns = DefaultLeaderElectionNamespace
	}
	return &ControllerOptions{
		Enabled:            true,
		LeaderElect:        true,
		LeaseDuration:      15 * time.Second,
		RenewDeadline:      10 * time.Second,
		RetryPeriod:        2 * time.Second,
		ResourceNamespace:  ns,
		ConcurrentJobSyncs: 5,
		KubeAPIQPS:         50,
		KubeAPIBurst:       100,
	}
}

// AddFlags adds the controller flags to fs.
func (o *ControllerOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.Enabled, "controllers-enabled", o.Enabled,
		"Run the Job controller, which creates the Jobs' Pods in the cluster (one replica at a time with "+
			"--leader-elect). false makes an API-only replica. Always off with --standalone.")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect,
		"Take a coordination.k8s.io Lease named "+LeaderElectionLeaseName+" before running the controller, "+
			"so that of several replicas exactly one reconciles. A replica that loses the Lease stops its "+
			"controller and exits with an error, to be restarted afresh.")
	fs.DurationVar(&o.LeaseDuration, "leader-elect-lease-duration", o.LeaseDuration,
		"How long a standby replica waits after the leader's last renewal before taking the Lease over.")
	fs.DurationVar(&o.RenewDeadline, "leader-elect-renew-deadline", o.RenewDeadline,
		"How long the leader keeps trying to renew the Lease before it gives up leading; less than the lease duration.")
	fs.DurationVar(&o.RetryPeriod, "leader-elect-retry-period", o.RetryPeriod,
		"How long replicas wait between attempts to acquire or renew the Lease.")
	fs.StringVar(&o.ResourceNamespace, "leader-elect-resource-namespace", o.ResourceNamespace,
		"Namespace of the Lease; defaults to $POD_NAMESPACE, else "+DefaultLeaderElectionNamespace+".")
	fs.IntVar(&o.ConcurrentJobSyncs, "concurrent-job-syncs", o.ConcurrentJobSyncs,
		"Number of Jobs synced concurrently; more is more responsive and costs more CPU and API load.")
	fs.Float32Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS,
		"Queries per second the controller may send to the cluster's kube-apiserver.")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst,
		"Burst of requests the controller may send to the cluster's kube-apiserver.")
}

// Validate reports every invalid controller option.
func (o *ControllerOptions) Validate() []error {
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
	if !o.LeaderElect {
		return errs
	}
	if o.RetryPeriod <= 0 {
		errs = append(errs, fmt.Errorf("--leader-elect-retry-period must be positive, got %v", o.RetryPeriod))
	}
	// client-go's leader election rules.
	if o.LeaseDuration <= o.RenewDeadline {
		errs = append(errs, fmt.Errorf("--leader-elect-lease-duration (%v) must be greater than --leader-elect-renew-deadline (%v)",
			o.LeaseDuration, o.RenewDeadline))
	}
	if float64(o.RenewDeadline) <= 1.2*float64(o.RetryPeriod) {
		errs = append(errs, fmt.Errorf("--leader-elect-renew-deadline (%v) must be greater than 1.2 × --leader-elect-retry-period (%v)",
			o.RenewDeadline, o.RetryPeriod))
	}
	for _, msg := range validation.IsDNS1123Label(o.ResourceNamespace) {
		errs = append(errs, fmt.Errorf("--leader-elect-resource-namespace %q: %s", o.ResourceNamespace, msg))
	}
	return errs
}

// Config turns the options into a ControllerConfig; cluster is the rest
// config of the cluster jobserver extends.
func (o *ControllerOptions) Config(cluster *rest.Config) (*ControllerConfig, error) {
	kube := rest.CopyConfig(cluster)
	kube.QPS = o.KubeAPIQPS
	kube.Burst = o.KubeAPIBurst
	kube.ContentType = "application/vnd.kubernetes.protobuf"
	kube.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	kube = rest.AddUserAgent(kube, controllerUserAgent)
	cfg := &ControllerConfig{KubeConfig: kube, Workers: o.ConcurrentJobSyncs}
	if o.LeaderElect {
		identity, err := leaderIdentity()
		if err != nil {
			return nil, err
		}
		cfg.LeaderElection = &LeaderElectionConfig{
			Namespace:     o.ResourceNamespace,
			Name:          LeaderElectionLeaseName,
			Identity:      identity,
			LeaseDuration: o.LeaseDuration,
			RenewDeadline: o.RenewDeadline,
			RetryPeriod:   o.RetryPeriod,
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

// ControllerConfig is the complete configuration of the controller half.
type ControllerConfig struct {
	// KubeConfig reaches the cluster (pods, events, the Lease), rate-limited.
	KubeConfig *rest.Config
	// LeaderElection is nil when every replica reconciles.
	LeaderElection *LeaderElectionConfig
	// Workers is the number of concurrent Job syncs.
	Workers int
}

// controllerRunner starts the controller from a post-start hook (the
// loopback client works from then on) and stops it from a pre-shutdown
// hook, while the server still serves the loopback requests of in-flight
// syncs.
type controllerRunner struct {
	config *ControllerConfig

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
	// failed receives the error that ended the controller on its own (the
	// Lease was lost); Options.Run then shuts the server down and exits
	// with it.
	failed chan error
}

func newControllerRunner(config *ControllerConfig) *controllerRunner {
	return &controllerRunner{config: config, done: make(chan struct{}), failed: make(chan error, 1)}
}

// install adds the hooks to the server.
func (r *controllerRunner) install(s *genericapiserver.GenericAPIServer) error {
	if err := s.AddPostStartHook("start-job-controller", r.start); err != nil {
		return err
	}
	return s.AddPreShutdownHook("stop-job-controller", r.stop)
}

func (r *controllerRunner) start(hookCtx genericapiserver.PostStartHookContext) error {
	loopback := rest.CopyConfig(hookCtx.LoopbackClientConfig)
	// Jobs are served without protobuf.
	loopback.ContentType = "application/json"
	loopback.AcceptContentTypes = "application/json"
	loopback = rest.AddUserAgent(loopback, controllerUserAgent)
	jobClient, err := versioned.NewForConfig(loopback)
	if err != nil {
		return fmt.Errorf("creating the loopback Job client: %w", err)
	}
	kubeClient, err := kubernetes.NewForConfig(r.config.KubeConfig)
	if err != nil {
		return fmt.Errorf("creating the cluster client: %w", err)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithCancel(hookCtx)
	r.started, r.cancel = true, cancel
	go func() {
		defer close(r.done)
		defer cancel()
		err := r.run(ctx, jobClient, kubeClient)
		if err != nil && ctx.Err() == nil {
			r.failed <- err
		}
	}()
	return nil
}

// run runs the controller, under leader election if configured, until ctx
// ends or the Lease is lost.
func (r *controllerRunner) run(ctx context.Context, jobClient versioned.Interface, kubeClient kubernetes.Interface) error {
	logger := klog.FromContext(ctx).WithName("job-controller")
	ctx = klog.NewContext(ctx, logger)
	runController := func(ctx context.Context) error {
		return runJobController(ctx, jobClient, kubeClient, r.config.Workers)
	}
	le := r.config.LeaderElection
	if le == nil {
		logger.Info("Leader election is off; running the Job controller")
		return runController(ctx)
	}
	// The Lease gets a client of its own, with its own rate limiter, so a
	// busy controller's pod and event calls never delay a renewal past the
	// renew deadline (as kube-controller-manager does).
	leaseClient, err := kubernetes.NewForConfig(rest.AddUserAgent(rest.CopyConfig(r.config.KubeConfig), "leader-election"))
	if err != nil {
		return fmt.Errorf("creating the leader election client: %w", err)
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: le.Namespace, Name: le.Name},
		Client:     leaseClient.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: le.Identity},
	}
	return runWithLeaderElection(ctx, lock, le, runController)
}

// runJobController builds fresh informers and a controller (so a new
// leader starts from a fresh LIST and empty expectations) and runs it until
// ctx ends.
func runJobController(ctx context.Context, jobClient versioned.Interface, kubeClient kubernetes.Interface, workers int) error {
	jobFactory := jobinformers.NewSharedInformerFactory(jobClient, 0)
	podFactory := informers.NewSharedInformerFactoryWithOptions(kubeClient, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = jobcontroller.OwnedPodsSelector() }))
	controller, err := jobcontroller.NewController(ctx, jobcontroller.Config{
		JobClient:   jobClient,
		KubeClient:  kubeClient,
		JobInformer: jobFactory.Batch().V1().Jobs(),
		PodInformer: podFactory.Core().V1().Pods(),
	})
	if err != nil {
		return err
	}
	jobFactory.Start(ctx.Done())
	podFactory.Start(ctx.Done())
	defer podFactory.Shutdown()
	defer jobFactory.Shutdown()
	return controller.Run(ctx, workers)
}

// stop cancels the controller and waits until its workers have returned and
// the Lease is released (bounded).
func (r *controllerRunner) stop() error {
	r.mu.Lock()
	started, cancel := r.started, r.cancel
	r.mu.Unlock()
	if !started {
		return nil
	}
	cancel()
	select {
	case <-r.done:
		return nil
	case <-time.After(controllerStopTimeout):
		return errors.New("the Job controller did not stop in time")
	}
}
