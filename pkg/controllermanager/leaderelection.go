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
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
	// The leader_election_master_status gauge on /metrics.
	_ "k8s.io/component-base/metrics/prometheus/clientgo/leaderelection"
)

// errLeaseLost ends one term as leader: the Lease could not be renewed.
var errLeaseLost = errors.New("lost the controllers' leader election Lease")

// LeaderElectionConfig says which Lease to compete for, as whom, and with
// which timing (client-go leaderelection semantics).
type LeaderElectionConfig struct {
	Namespace, Name string
	Identity        string
	LeaseDuration   time.Duration
	RenewDeadline   time.Duration
	RetryPeriod     time.Duration
	// WatchDog, when set, learns of the elector, so that its /healthz check
	// fails while the elector is stuck.
	WatchDog *leaderelection.HealthzAdaptor
}

// withWatchDog returns a copy of cfg with w as its watchdog.
func (cfg *LeaderElectionConfig) withWatchDog(w *leaderelection.HealthzAdaptor) *LeaderElectionConfig {
	out := *cfg
	out.WatchDog = w
	return &out
}

// runWithLeaderElection campaigns for the Lease and runs run while this
// replica holds it, term after term, until ctx ends or run fails.
//
// Shutdown (ctx ends): run's context is cancelled first, and the Lease is
// released only once run has returned, so a standby replica takes over at
// once and never overlaps with this one.
//
// Losing the Lease (it could not be renewed within the renew deadline, say
// while kube-apiserver was unreachable, or another replica holds it): run's
// context is cancelled, and once run has returned the replica campaigns
// again, in-process; the API half keeps serving meanwhile. run builds its
// informers and controllers afresh each term (see runControllers), so a
// new term begins from a fresh LIST with no expectations or backoff in
// memory, exactly as a restarted process would: the state the exactly-once
// argument of the decide step assumes.
//
// If run returns on its own while leading (its caches never synced, a
// controller failed), the Lease is released and its error returned: the
// process exits non-zero.
func runWithLeaderElection(ctx context.Context, lock resourcelock.Interface, cfg *LeaderElectionConfig, run func(context.Context) error) error {
	logger := klog.FromContext(ctx)
	for term := 1; ; term++ {
		err := leadOneTerm(ctx, lock, cfg, run)
		if !errors.Is(err, errLeaseLost) {
			return err
		}
		logger.Info("Lost the Lease: the controllers stopped; the API keeps serving; campaigning again",
			"lease", lock.Describe(), "identity", cfg.Identity, "terms", term)
		// The elector retries every RetryPeriod on its own; this pause only
		// keeps a Lease that is lost at once from spinning.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(cfg.RetryPeriod):
		}
	}
}

// leadOneTerm campaigns for the Lease and runs run while this replica holds
// it, once: it returns errLeaseLost when the Lease could not be renewed,
// nil when ctx ended, or run's error.
func leadOneTerm(ctx context.Context, lock resourcelock.Interface, cfg *LeaderElectionConfig, run func(context.Context) error) error {
	logger := klog.FromContext(ctx)
	// The elector's context ends only after run has returned (see above).
	electorCtx, stopElector := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElector()

	var (
		mu       sync.Mutex
		finished bool // no new run may start
		running  sync.WaitGroup
		runErr   error
	)
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:          lock,
		Name:          cfg.Name,
		LeaseDuration: cfg.LeaseDuration,
		RenewDeadline: cfg.RenewDeadline,
		RetryPeriod:   cfg.RetryPeriod,
		WatchDog:      cfg.WatchDog,
		// Never released by the elector: on a lost renewal it would free the
		// Lease before run's context is cancelled, letting another replica
		// start while this controller still acts. Released below, by us,
		// once run has returned.
		ReleaseOnCancel: false,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leading context.Context) {
				mu.Lock()
				if finished {
					mu.Unlock()
					return
				}
				running.Add(1)
				mu.Unlock()
				defer running.Done()

				runCtx, cancel := context.WithCancel(leading)
				defer cancel()
				defer context.AfterFunc(ctx, cancel)()
				logger.Info("Became the leader; starting the controllers", "lease", lock.Describe(), "identity", cfg.Identity)
				err := run(runCtx)
				if runCtx.Err() == nil {
					// run ended while leading: give the Lease up and fail,
					// even if it returned no error.
					if err == nil {
						err = errors.New("the controllers returned while leading")
					}
					mu.Lock()
					runErr = err
					mu.Unlock()
					stopElector()
				}
			},
			OnStoppedLeading: func() {
				logger.Info("Stopped leading", "lease", lock.Describe(), "identity", cfg.Identity)
			},
			OnNewLeader: func(identity string) {
				if identity != cfg.Identity {
					logger.Info("Another replica leads the controllers", "leader", identity)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("configuring leader election: %w", err)
	}
	if cfg.WatchDog != nil {
		// client-go ties the watchdog to the elector only in RunOrDie.
		cfg.WatchDog.SetLeaderElection(elector)
	}

	electorDone := make(chan struct{})
	go func() {
		defer close(electorDone)
		elector.Run(electorCtx)
	}()
	waitRun := func() {
		mu.Lock()
		finished = true
		mu.Unlock()
		running.Wait()
	}

	select {
	case <-ctx.Done():
		waitRun() // ctx cancels run
		stopElector()
		<-electorDone
		releaseLease(ctx, lock, cfg.Identity)
		return nil
	case <-electorDone:
		waitRun() // the elector cancelled run's context
		if ctx.Err() != nil {
			releaseLease(ctx, lock, cfg.Identity)
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if runErr != nil {
			releaseLease(ctx, lock, cfg.Identity)
			return runErr
		}
		return errLeaseLost
	}
}

// releaseLease gives the Lease up if this replica still holds it, as
// client-go's elector would (holder cleared, 1 s duration), so a standby
// takes over without waiting for it to expire. Call it only once this
// replica's controller has stopped.
func releaseLease(ctx context.Context, lock resourcelock.Interface, identity string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	logger := klog.FromContext(ctx)
	record, _, err := lock.Get(ctx)
	if err != nil || record.HolderIdentity != identity {
		return
	}
	now := metav1.NewTime(time.Now())
	if err := lock.Update(ctx, resourcelock.LeaderElectionRecord{
		LeaderTransitions:    record.LeaderTransitions,
		LeaseDurationSeconds: 1,
		RenewTime:            now,
		AcquireTime:          now,
	}); err != nil {
		logger.Error(err, "Releasing the Lease failed; it expires on its own", "lease", lock.Describe())
		return
	}
	logger.Info("Released the Lease", "lease", lock.Describe())
}
