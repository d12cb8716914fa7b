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
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/ptr"
)

func testLeaderElection(identity string) *LeaderElectionConfig {
	return &LeaderElectionConfig{
		Namespace: "jobserver-system", Name: LeaderElectionLeaseName, Identity: identity,
		LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 100 * time.Millisecond,
	}
}

// newLeaseClient is a fake clientset whose Lease updates carry
// resourceVersion preconditions as a real server's do (the fake's own
// tracker ignores them), so a replica that lost the Lease cannot
// overwrite it.
func newLeaseClient() *fake.Clientset {
	client := fake.NewClientset()
	leases := coordinationv1.SchemeGroupVersion.WithResource("leases")
	client.PrependReactor("create", "leases", func(action clienttesting.Action) (bool, runtime.Object, error) {
		action.(clienttesting.CreateAction).GetObject().(*coordinationv1.Lease).ResourceVersion = "1"
		return false, nil, nil
	})
	client.PrependReactor("update", "leases", func(action clienttesting.Action) (bool, runtime.Object, error) {
		lease := action.(clienttesting.UpdateAction).GetObject().(*coordinationv1.Lease)
		current, err := client.Tracker().Get(leases, lease.Namespace, lease.Name)
		if err != nil {
			return true, nil, err
		}
		rv := current.(*coordinationv1.Lease).ResourceVersion
		if lease.ResourceVersion != rv {
			return true, nil, apierrors.NewConflict(leases.GroupResource(), lease.Name, errors.New("stale resourceVersion"))
		}
		n, _ := strconv.Atoi(rv)
		lease.ResourceVersion = strconv.Itoa(n + 1)
		return false, nil, nil
	})
	return client
}

func leaseLock(client *fake.Clientset, cfg *LeaderElectionConfig) *resourcelock.LeaseLock {
	return &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.Namespace, Name: cfg.Name},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}
}

func holder(t *testing.T, client *fake.Clientset) string {
	t.Helper()
	lease, err := client.CoordinationV1().Leases("jobserver-system").Get(context.Background(), LeaderElectionLeaseName, metav1.GetOptions{})
	require.NoError(t, err)
	return ptr.Deref(lease.Spec.HolderIdentity, "")
}

// startElection runs runWithLeaderElection in the background.
func startElection(ctx context.Context, client *fake.Clientset, cfg *LeaderElectionConfig, run func(context.Context) error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- runWithLeaderElection(ctx, leaseLock(client, cfg), cfg, run) }()
	return done
}

func TestLeaderElectionShutdownStopsRunThenReleases(t *testing.T) {
	client := newLeaseClient()
	cfg := testLeaderElection("a")
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var holderWhenStopped atomic.Value
	done := startElection(ctx, client, cfg, func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		holderWhenStopped.Store(holder(t, client))
		return nil
	})
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("run did not start")
	}
	assert.Equal(t, "a", holder(t, client))

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err, "a shutdown is not an error")
	case <-time.After(10 * time.Second):
		t.Fatal("runWithLeaderElection did not return")
	}
	assert.Equal(t, "a", holderWhenStopped.Load(), "the Lease is held until run has returned")
	assert.Empty(t, holder(t, client), "then released, for a standby to take over at once")
}

// TestLeaderElectionLostLeaseStopsRunAndCampaignsAgain: a replica that
// cannot renew its Lease stops its controllers, stays up (the API half
// keeps serving), and leads again, with a fresh run, once the Lease is free.
func TestLeaderElectionLostLeaseStopsRunAndCampaignsAgain(t *testing.T) {
	client := newLeaseClient()
	cfg := testLeaderElection("a")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	starts := make(chan struct{}, 2)
	var runs, stopped atomic.Int32
	done := startElection(ctx, client, cfg, func(ctx context.Context) error {
		runs.Add(1)
		starts <- struct{}{}
		<-ctx.Done()
		stopped.Add(1)
		return nil
	})
	waitStart := func(what string) {
		t.Helper()
		select {
		case <-starts:
		case <-time.After(10 * time.Second):
			t.Fatal(what)
		}
	}
	waitStart("run did not start")

	// Another replica takes the Lease (as after a network partition).
	leases := client.CoordinationV1().Leases("jobserver-system")
	lease, err := leases.Get(context.Background(), LeaderElectionLeaseName, metav1.GetOptions{})
	require.NoError(t, err)
	lease.Spec.HolderIdentity = ptr.To("b")
	lease.Spec.LeaseDurationSeconds = ptr.To[int32](3600)
	lease.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
	_, err = leases.Update(context.Background(), lease, metav1.UpdateOptions{})
	require.NoError(t, err)

	require.Eventually(t, func() bool { return stopped.Load() == 1 }, 10*time.Second, 20*time.Millisecond,
		"run is stopped once the Lease cannot be renewed")
	select {
	case err := <-done:
		t.Fatalf("runWithLeaderElection returned (%v): the replica would exit", err)
	case <-time.After(3 * cfg.LeaseDuration):
	}
	assert.Equal(t, int32(1), runs.Load(), "no run while another replica holds the Lease")
	assert.Equal(t, "b", holder(t, client))

	// b gives the Lease up: a leads again, with a new run.
	lease, err = leases.Get(context.Background(), LeaderElectionLeaseName, metav1.GetOptions{})
	require.NoError(t, err)
	lease.Spec.HolderIdentity = ptr.To("")
	lease.Spec.LeaseDurationSeconds = ptr.To[int32](1)
	_, err = leases.Update(context.Background(), lease, metav1.UpdateOptions{})
	require.NoError(t, err)
	waitStart("a did not lead again once the Lease was free")
	assert.Equal(t, "a", holder(t, client))

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("runWithLeaderElection did not return on shutdown")
	}
	assert.Equal(t, int32(2), stopped.Load(), "both runs stopped")
}

func TestLeaderElectionStandbyDoesNotRun(t *testing.T) {
	client := newLeaseClient()
	leader := testLeaderElection("a")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	aStarted := make(chan struct{})
	aDone := startElection(ctx, client, leader, func(ctx context.Context) error {
		close(aStarted)
		<-ctx.Done()
		return nil
	})
	<-aStarted

	var bRuns atomic.Int32
	bCtx, bCancel := context.WithCancel(context.Background())
	bDone := startElection(bCtx, client, testLeaderElection("b"), func(ctx context.Context) error {
		bRuns.Add(1)
		<-ctx.Done()
		return nil
	})
	assert.Never(t, func() bool { return bRuns.Load() > 0 }, 500*time.Millisecond, 50*time.Millisecond,
		"the standby waits (several of its retry periods)")

	cancel() // a shuts down and releases the Lease
	require.NoError(t, <-aDone)
	assert.Eventually(t, func() bool { return bRuns.Load() == 1 }, 10*time.Second, 50*time.Millisecond, "b takes over")
	bCancel()
	require.NoError(t, <-bDone)
}

func TestLeaderElectionRunFailureReleasesLease(t *testing.T) {
	client := newLeaseClient()
	boom := errors.New("caches never synced")
	done := startElection(context.Background(), client, testLeaderElection("a"), func(context.Context) error { return boom })
	select {
	case err := <-done:
		assert.True(t, errors.Is(err, boom), "got %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("runWithLeaderElection did not return")
	}
	assert.Empty(t, holder(t, client))
}

// stuckLock is a Lease lock whose renewals hang once stuck is closed,
// ignoring their context, as a wedged client would.
type stuckLock struct {
	resourcelock.Interface
	stuck   chan struct{}
	release chan struct{}
}

func (l *stuckLock) Update(ctx context.Context, record resourcelock.LeaderElectionRecord) error {
	select {
	case <-l.stuck:
		<-l.release
		return errors.New("released")
	default:
		return l.Interface.Update(ctx, record)
	}
}

// TestLeaderElectionStuckElectorFailsHealthz: a leader whose renewals hang
// keeps believing it leads; its watchdog check (on /healthz) fails once the
// Lease has gone unrenewed for the lease duration plus the tolerance, so the
// kubelet restarts it.
func TestLeaderElectionStuckElectorFailsHealthz(t *testing.T) {
	client := newLeaseClient()
	cfg := testLeaderElection("a")
	watchdog := leaderelection.NewLeaderHealthzAdaptor(100 * time.Millisecond)
	cfg = cfg.withWatchDog(watchdog)
	lock := &stuckLock{Interface: leaseLock(client, cfg), stuck: make(chan struct{}), release: make(chan struct{})}
	defer close(lock.release)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	go func() {
		_ = runWithLeaderElection(ctx, lock, cfg, func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			return nil
		})
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("run did not start")
	}
	assert.NoError(t, watchdog.Check(nil), "a leader renewing its Lease is healthy")

	close(lock.stuck)
	assert.Eventually(t, func() bool { return watchdog.Check(nil) != nil }, 10*time.Second, 50*time.Millisecond,
		"a leader whose elector is stuck fails its health check")
}

// TestLeaderElectionRunReturningWhileLeadingReleasesLease: controllers
// that return while leading, even without an error, end the election with
// an error and release the Lease (never a false "lost the Lease").
func TestLeaderElectionRunReturningWhileLeadingReleasesLease(t *testing.T) {
	client := newLeaseClient()
	done := startElection(context.Background(), client, testLeaderElection("a"), func(context.Context) error { return nil })
	select {
	case err := <-done:
		require.Error(t, err)
		assert.False(t, errors.Is(err, errLeaseLost), "got %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("runWithLeaderElection did not return")
	}
	assert.Empty(t, holder(t, client))
}
