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
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"
)

// TestManagerStopsEveryControllerWhenOneFails: every enabled controller is
// built with the shared context and run; when one returns early, the
// others are stopped and Failed reports which one and why.
func TestManagerStopsEveryControllerWhenOneFails(t *testing.T) {
	boom := errors.New("caches never synced")
	otherStopped := make(chan struct{})
	var built []string
	fake := func(name string, run func(context.Context) error) Controller {
		return Controller{Name: name, New: func(ctx context.Context, c *Context) (func(context.Context) error, error) {
			require.NotNil(t, c.JobClient)
			require.NotNil(t, c.KubeClient)
			require.NotNil(t, c.JobInformers)
			require.NotNil(t, c.OwnedPodInformers)
			built = append(built, name)
			return run, nil
		}}
	}
	config := &Config{
		// Never dialled: no informer is asked for.
		KubeConfig: &rest.Config{Host: "https://127.0.0.1:1"},
		Controllers: []Controller{
			fake("steady", func(ctx context.Context) error { <-ctx.Done(); close(otherStopped); return nil }),
			fake("failing", func(context.Context) error { return boom }),
		},
	}
	m := New(config)
	assert.Empty(t, m.HealthChecks(), "no leader election, no watchdog")
	require.NoError(t, m.Start(context.Background(), &rest.Config{Host: "https://127.0.0.1:1"}))

	select {
	case err := <-m.Failed():
		assert.True(t, errors.Is(err, boom), "got %v", err)
		assert.Contains(t, err.Error(), "the failing stopped")
	case <-time.After(10 * time.Second):
		t.Fatal("the failure was not reported")
	}
	select {
	case <-otherStopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the other controller was not stopped")
	}
	assert.Equal(t, []string{"steady", "failing"}, built)
	assert.NoError(t, m.Stop())
}

// TestManagerStopEndsTheControllers: Stop cancels the controllers and waits
// for them; nothing is reported as a failure.
func TestManagerStopEndsTheControllers(t *testing.T) {
	returned := make(chan struct{})
	m := New(&Config{
		KubeConfig: &rest.Config{Host: "https://127.0.0.1:1"},
		Controllers: []Controller{{Name: "steady", New: func(context.Context, *Context) (func(context.Context) error, error) {
			return func(ctx context.Context) error { <-ctx.Done(); close(returned); return nil }, nil
		}}},
	})
	require.NoError(t, m.Start(context.Background(), &rest.Config{Host: "https://127.0.0.1:1"}))
	require.NoError(t, m.Stop())
	select {
	case <-returned:
	default:
		t.Fatal("Stop returned before the controller did")
	}
	select {
	case err := <-m.Failed():
		t.Fatalf("a stop is not a failure: %v", err)
	default:
	}
}

// TestManagerWatchdogWithLeaderElection: with leader election the elector's
// check is offered for /healthz and /livez.
func TestManagerWatchdogWithLeaderElection(t *testing.T) {
	m := New(&Config{LeaderElection: testLeaderElection("a")})
	require.Len(t, m.HealthChecks(), 1)
	assert.Equal(t, "leaderElection", m.HealthChecks()[0].Name())
	assert.NoError(t, m.HealthChecks()[0].Check(nil), "healthy before it ever leads")
}
