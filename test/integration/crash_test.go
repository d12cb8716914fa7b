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

package integration

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/jobserver-dev/jobserver/test/integration/framework"
)

// TestCreatesSurviveSIGKILL: jobserver with its embedded etcd is SIGKILLed
// in the middle of a stream of 500 creates (4 clients at once). Started
// again on the same data directory, it has every Job whose create got a 201,
// and each create that got no answer either stored the whole Job or
// nothing: a 201 means etcd made the write durable before answering.
func TestCreatesSurviveSIGKILL(t *testing.T) {
	const total, workers, killAfter = 500, 4, 150
	sp := framework.StartServerProcess(t, framework.ServerOptions{})
	client := sp.Clientset(t)
	ctx := testContext(t)

	var (
		mu       sync.Mutex
		created  = map[string]bool{}
		answered = 0
		next     = 0
		killed   = make(chan struct{})
		once     sync.Once
	)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				if next == total {
					mu.Unlock()
					return
				}
				name := fmt.Sprintf("crash-%03d", next)
				next++
				mu.Unlock()
				reqCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
				_, err := client.BatchV1().Jobs(ns).Create(reqCtx, newJob(name), metav1.CreateOptions{})
				cancel()
				mu.Lock()
				answered++
				if err == nil {
					created[name] = true
					if len(created) == killAfter {
						once.Do(func() { close(killed) })
					}
				}
				mu.Unlock()
			}
		})
	}
	select {
	case <-killed:
		sp.Kill()
	case <-time.After(2 * time.Minute):
		t.Fatal("fewer creates than expected succeeded")
	}
	wg.Wait()
	require.Equal(t, total, answered)
	require.Less(t, len(created), total, "the kill came mid-stream")
	t.Logf("%d creates got 201 before the SIGKILL", len(created))

	sp.Start(t)
	list, err := client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	stored := map[string]bool{}
	want := newJob("x").Spec.Template.Spec.Containers
	for _, job := range list.Items {
		stored[job.Name] = true
		assert.Equal(t, want[0].Image, job.Spec.Template.Spec.Containers[0].Image, "%s is stored whole", job.Name)
		assert.NotNil(t, job.Spec.Selector, "%s is stored whole", job.Name)
	}
	for name := range created {
		assert.True(t, stored[name], "%s got 201 but is gone after the SIGKILL", name)
	}
	for name := range stored {
		assert.Regexp(t, `^crash-\d{3}$`, name)
	}
	t.Logf("%d stored after restart (%d more than the 201s: creates cut off after the write)", len(stored), len(stored)-len(created))
}

// TestShutdownDelayKeepsServing: with --shutdown-delay-duration, a
// jobserver told to stop (SIGTERM, as in a rollout) keeps answering
// requests for that long while /readyz already fails, so the Service takes
// it out of rotation before it stops listening: no request is dropped.
func TestShutdownDelayKeepsServing(t *testing.T) {
	const delay = 8 * time.Second
	sp := framework.StartServerProcess(t, framework.ServerOptions{
		ExtraFlags: []string{"--shutdown-delay-duration=" + delay.String()},
	})
	client := sp.Clientset(t)
	ctx := testContext(t)
	_, err := client.BatchV1().Jobs(ns).Create(ctx, newJob("before-shutdown"), metav1.CreateOptions{})
	require.NoError(t, err)
	kc, err := kubernetes.NewForConfig(sp.AdminConfig)
	require.NoError(t, err)

	require.NoError(t, sp.Terminate())
	start := time.Now()
	unready := false
	served := 0
	for time.Since(start) < delay-3*time.Second {
		_, err := client.BatchV1().Jobs(ns).Get(ctx, "before-shutdown", metav1.GetOptions{})
		require.NoError(t, err, "a request %v into the shutdown delay failed", time.Since(start).Round(time.Millisecond))
		served++
		if _, err := kc.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil {
			unready = true
		}
		time.Sleep(100 * time.Millisecond)
	}
	assert.True(t, unready, "/readyz fails during the shutdown delay")
	assert.False(t, sp.Exited(), "still running within the delay")
	t.Logf("%d requests served during the first %v of the delay", served, delay-3*time.Second)
	require.Eventually(t, sp.Exited, time.Minute, 100*time.Millisecond, "exits after the delay")
}
