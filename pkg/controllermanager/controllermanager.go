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

// Package controllermanager runs jobserver's controllers: their options,
// leader election (one replica reconciles at a time), the clients and the
// shared informer factories every controller is built from, and the list of
// controllers (controllers.go), where adding one is one entry.
//
// It knows nothing of the API server: the caller starts the Manager once
// the API serves (the controllers read Jobs through the loopback client)
// and stops it before the API stops serving.
package controllermanager

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	jobcontroller "github.com/jobserver-dev/jobserver/pkg/controller/job"
	versioned "github.com/jobserver-dev/jobserver/pkg/generated/clientset/versioned"
	jobinformers "github.com/jobserver-dev/jobserver/pkg/generated/informers/externalversions"
)

const (
	// stopTimeout bounds how long Stop waits for the controllers' workers
	// and the Lease release.
	stopTimeout = time.Minute
	// leaderHealthTolerance is how long past the Lease's expiry a leader
	// that has not renewed it still counts as healthy on /healthz, as
	// kube-controller-manager's 20 s.
	leaderHealthTolerance = 20 * time.Second
)

// Config is the complete configuration of the controller manager.
type Config struct {
	// KubeConfig reaches the cluster (pods, events, the Lease), rate-limited.
	KubeConfig *rest.Config
	// LeaderElection is nil when every replica reconciles.
	LeaderElection *LeaderElectionConfig
	// Controllers are the enabled entries of the controller list.
	Controllers []Controller
	// ConcurrentJobSyncs is the number of concurrent Job syncs.
	ConcurrentJobSyncs int
}

// Context is what a controller is built from. The informer factories are
// shared by all controllers and started by the manager once every
// controller has asked for its informers.
type Context struct {
	// JobClient reaches jobserver's own API (the loopback client).
	JobClient versioned.Interface
	// KubeClient reaches the cluster, rate-limited by --kube-api-qps/-burst.
	KubeClient kubernetes.Interface
	// JobInformers list and watch jobserver's API.
	JobInformers jobinformers.SharedInformerFactory
	// OwnedPodInformers list and watch only the cluster's Pods that carry
	// the ownership label, so memory follows jobserver's Pods, not the
	// cluster's.
	OwnedPodInformers informers.SharedInformerFactory
	// Config is the manager's configuration (per-controller settings).
	Config *Config
}

// Controller is one entry of the controller list.
type Controller struct {
	// Name is what --controllers enables or disables.
	Name string
	// New builds the controller from the shared context, asking the
	// factories for the informers it needs, and returns what runs it until
	// its context ends. A run that returns early is an error.
	New func(ctx context.Context, c *Context) (run func(context.Context) error, err error)
}

// Manager starts the enabled controllers once the API serves and stops them
// on shutdown.
type Manager struct {
	config *Config
	// leaderHealth fails /healthz for a leader whose elector is stuck; nil
	// without leader election.
	leaderHealth *leaderelection.HealthzAdaptor

	mu      sync.Mutex
	started bool
	// stopped is set by Stop: a later Start does nothing.
	stopped bool
	cancel  context.CancelFunc
	done    chan struct{}
	// failed receives the error that ended the controllers on their own
	// (a controller failed, or its caches never synced).
	failed chan error
}

// New returns a Manager for config; nothing runs before Start.
func New(config *Config) *Manager {
	m := &Manager{config: config, done: make(chan struct{}), failed: make(chan error, 1)}
	if config.LeaderElection != nil {
		m.leaderHealth = leaderelection.NewLeaderHealthzAdaptor(leaderHealthTolerance)
	}
	return m
}

// HealthChecks are the manager's checks for /healthz and /livez: with
// leader election, the elector's ("leaderElection"), which fails while this
// replica believes it leads but has not renewed its Lease for longer than
// the Lease duration plus 20 s (its elector is stuck).
func (m *Manager) HealthChecks() []healthz.HealthChecker {
	if m.leaderHealth == nil {
		return nil
	}
	return []healthz.HealthChecker{m.leaderHealth}
}

// Failed delivers the error that ended the controllers on their own; the
// caller shuts down and exits with it.
func (m *Manager) Failed() <-chan error { return m.failed }

// Start runs the controllers in the background, under leader election if
// configured, until ctx ends, Stop is called or a controller fails (a lost
// Lease only ends a term: the manager campaigns again). loopback
// reaches jobserver's own API.
func (m *Manager) Start(ctx context.Context, loopback *rest.Config) error {
	loopback = rest.CopyConfig(loopback)
	// Jobs are served without protobuf.
	loopback.ContentType = "application/json"
	loopback.AcceptContentTypes = "application/json"
	loopback = rest.AddUserAgent(loopback, userAgent)
	jobClient, err := versioned.NewForConfig(loopback)
	if err != nil {
		return fmt.Errorf("creating the loopback Job client: %w", err)
	}
	kubeClient, err := kubernetes.NewForConfig(m.config.KubeConfig)
	if err != nil {
		return fmt.Errorf("creating the cluster client: %w", err)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return nil // stopped before it was started: stays stopped
	}
	ctx, cancel := context.WithCancel(ctx)
	m.started, m.cancel = true, cancel
	go func() {
		defer close(m.done)
		defer cancel()
		err := m.run(ctx, jobClient, kubeClient)
		if err != nil && ctx.Err() == nil {
			m.failed <- err
		}
	}()
	return nil
}

// run runs the controllers, under leader election if configured, until ctx
// ends or a controller fails, term after term of leadership.
func (m *Manager) run(ctx context.Context, jobClient versioned.Interface, kubeClient kubernetes.Interface) error {
	logger := klog.FromContext(ctx)
	runControllers := func(ctx context.Context) error {
		return runControllers(ctx, &Context{JobClient: jobClient, KubeClient: kubeClient, Config: m.config})
	}
	le := m.config.LeaderElection
	if le == nil {
		logger.Info("Leader election is off; running the controllers")
		return runControllers(ctx)
	}
	// The Lease gets a client of its own, with its own rate limiter, so a
	// busy controller's pod and event calls never delay a renewal past the
	// renew deadline (as kube-controller-manager does).
	leaseClient, err := kubernetes.NewForConfig(rest.AddUserAgent(rest.CopyConfig(m.config.KubeConfig), "leader-election"))
	if err != nil {
		return fmt.Errorf("creating the leader election client: %w", err)
	}
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, le.Namespace, le.Name,
		leaseClient.CoreV1(), leaseClient.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: le.Identity})
	if err != nil {
		return fmt.Errorf("creating the leader election lock: %w", err)
	}
	le = le.withWatchDog(m.leaderHealth)
	return runWithLeaderElection(ctx, lock, le, runControllers)
}

// runControllers builds fresh informers and every enabled controller (so a
// new leader starts from a fresh LIST and empty expectations), starts the
// informers and runs the controllers until ctx ends. If one controller
// returns early, the others are stopped and its error returned.
func runControllers(ctx context.Context, c *Context) error {
	c.JobInformers = jobinformers.NewSharedInformerFactory(c.JobClient, 0)
	c.OwnedPodInformers = informers.NewSharedInformerFactoryWithOptions(c.KubeClient, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = jobcontroller.OwnedPodsSelector() }))
	defer c.OwnedPodInformers.Shutdown()
	defer c.JobInformers.Shutdown()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Each controller logs under its name.
	named := func(name string) context.Context { return klog.NewContext(ctx, klog.FromContext(ctx).WithName(name)) }
	runs := make([]func(context.Context) error, 0, len(c.Config.Controllers))
	for _, ctrl := range c.Config.Controllers {
		run, err := ctrl.New(named(ctrl.Name), c)
		if err != nil {
			return fmt.Errorf("building the %s: %w", ctrl.Name, err)
		}
		runs = append(runs, run)
	}
	c.JobInformers.Start(ctx.Done())
	c.OwnedPodInformers.Start(ctx.Done())

	errs := make(chan error, len(runs))
	var wg sync.WaitGroup
	for i, run := range runs {
		name := c.Config.Controllers[i].Name
		wg.Go(func() {
			err := run(named(name))
			if ctx.Err() == nil {
				if err == nil {
					err = errors.New("returned before it was stopped")
				}
				errs <- fmt.Errorf("the %s stopped: %w", name, err)
				cancel()
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// Stop cancels the controllers and waits until their workers have returned
// and the Lease is released (bounded).
func (m *Manager) Stop() error {
	m.mu.Lock()
	started, cancel := m.started, m.cancel
	m.stopped = true
	m.mu.Unlock()
	if !started {
		return nil
	}
	cancel()
	select {
	case <-m.done:
		return nil
	case <-time.After(stopTimeout):
		return errors.New("the controllers did not stop in time")
	}
}
