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

package job

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

// This file runs Decide in a loop against an in-memory cluster: an API
// store of pods with finalizer and deletion semantics, a fake kubelet that
// runs each pod for a scripted time and exit code, and an executor that
// applies Decisions the way the real one must (status first, per-pod action
// order, slow-start batches, backoff record, expectations). Optional chaos
// fails API calls, drops the controller's memory and lets its pod cache lag,
// to check that no pod outcome is lost or counted twice.

// outcome scripts how the n-th created pod (0-based) ends.
type outcome func(n int, p *corev1.Pod) (exitCode int32, runFor time.Duration)

type simOptions struct {
	outcome outcome
	// hook runs at every tick before syncing; it returns true when it
	// changed the Job (a spec update event).
	hook func(s *sim) bool
	// chaos, in percent per call or tick; seed drives it.
	seed                                        int64
	actionFailPct, statusFailPct, restartPct    int
	evictPct, cacheLagPct                       int
	maxTicks                                    int
	syncEveryTick                               bool
	wantMaxActive                               int32
	skipMaxActiveCheck, skipDuplicateIndexCheck bool
	expectOutcomesCountedOnce, expectNoFailures bool
}

type podRun struct {
	n       int
	started time.Time
	runFor  time.Duration
	code    int32
}

type sim struct {
	t    *testing.T
	opts simOptions
	rng  *rand.Rand
	now  time.Time
	job  *batchv1.Job

	store []*corev1.Pod // the API server's pods, in creation order
	cache []*corev1.Pod // the executor's informer view
	runs  map[types.UID]*podRun

	// executor memory
	backoff        BackoffRecord
	expectedRm     sets.Set[types.UID]
	pendingCreates sets.Set[types.UID]
	pendingDeletes sets.Set[types.UID]
	requeueAt      time.Time

	// observations
	created      int
	events       []Event
	creations    []time.Time
	failures     []time.Time
	maxActive    int32
	recorded     map[types.UID]string          // uncounted list a UID entered, at most once
	owed         map[types.UID]corev1.PodPhase // outcome a pod ended with while holding the finalizer
	succeededIdx map[int]int                   // successes per index while holding the finalizer
}

func newSim(t *testing.T, job *batchv1.Job, opts simOptions) *sim {
	if opts.maxTicks == 0 {
		opts.maxTicks = 3600
	}
	return &sim{
		t: t, opts: opts, rng: rand.New(rand.NewSource(opts.seed)), now: t0, job: job,
		runs: map[types.UID]*podRun{}, expectedRm: sets.New[types.UID](),
		pendingCreates: sets.New[types.UID](), pendingDeletes: sets.New[types.UID](),
		recorded: map[types.UID]string{}, owed: map[types.UID]corev1.PodPhase{}, succeededIdx: map[int]int{},
	}
}

func (s *sim) chance(pct int) bool { return pct > 0 && s.rng.Intn(100) < pct }

func (s *sim) find(uid types.UID) (int, *corev1.Pod) {
	for i, p := range s.store {
		if p.UID == uid {
			return i, p
		}
	}
	return -1, nil
}

func (s *sim) remove(uid types.UID) {
	if i, _ := s.find(uid); i >= 0 {
		s.store = slices.Delete(s.store, i, i+1)
	}
}

func isTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// refreshCache is a fresh LIST: the cache shows the store and every
// expectation is observed.
func (s *sim) refreshCache() {
	s.cache = make([]*corev1.Pod, len(s.store))
	for i, p := range s.store {
		s.cache[i] = p.DeepCopy()
	}
	s.expectedRm = sets.New[types.UID]()
	s.pendingCreates = sets.New[types.UID]()
	s.pendingDeletes = sets.New[types.UID]()
}

// sync runs one Decide and applies it; it reports whether it changed
// anything (which, in the real executor, shows as events that sync again).
func (s *sim) sync() bool {
	t := s.t
	pods := make([]*corev1.Pod, len(s.cache))
	for i, p := range s.cache {
		pods[i] = p.DeepCopy()
	}
	job := s.job.DeepCopy()
	d := Decide(Input{
		Job: job, Pods: pods, Now: s.now, Backoff: s.backoff,
		ExpectedFinalizerRemovals: s.expectedRm.Clone(),
		PodExpectationsPending:    s.pendingCreates.Len()+s.pendingDeletes.Len() > 0,
	})
	require.False(t, d.Unmanaged)
	require.Equal(t, s.job, job, "Decide must not modify its input Job")
	s.requeueAt = time.Time{}
	if d.RequeueAfter > 0 {
		s.requeueAt = s.now.Add(d.RequeueAfter)
	}
	if d.StatusChanged {
		validateStatusUpdate(t, s.job, d.Status)
		if s.chance(s.opts.statusFailPct) {
			return true // a conflict: nothing of this Decision may happen
		}
		s.ledger(s.job.Status, d.Status)
		s.job.Status = *d.Status.DeepCopy()
	}

	failedPods := sets.New[types.UID]()
	failedBatch := -1
	for _, a := range d.Actions {
		switch a.Kind {
		case ActionRemoveFinalizer:
			if failedPods.Has(a.PodUID) || s.chance(s.opts.actionFailPct) {
				failedPods.Insert(a.PodUID)
				continue
			}
			_, p := s.find(a.PodUID)
			if p == nil {
				continue // NotFound counts as done
			}
			p.Finalizers = slices.DeleteFunc(p.Finalizers, func(f string) bool { return f == "batch.jobserver.dev/job-tracking" })
			s.expectedRm.Insert(a.PodUID)
			if p.DeletionTimestamp != nil && len(p.Finalizers) == 0 {
				s.remove(p.UID)
			}
		case ActionDeletePod:
			if failedPods.Has(a.PodUID) || s.chance(s.opts.actionFailPct) {
				failedPods.Insert(a.PodUID)
				continue
			}
			_, p := s.find(a.PodUID)
			if p == nil {
				continue
			}
			if p.DeletionTimestamp == nil {
				p.DeletionTimestamp = ptr.To(metav1.NewTime(s.now))
				s.pendingDeletes.Insert(p.UID)
			}
			if isTerminal(p) && len(p.Finalizers) == 0 {
				s.remove(p.UID)
			}
		case ActionCreatePod:
			if failedBatch >= 0 && a.Batch > failedBatch {
				continue // slow start: stop after a failing batch
			}
			if s.chance(s.opts.actionFailPct) {
				failedBatch = a.Batch
				continue
			}
			s.create(a.Pod)
		}
	}
	s.events = append(s.events, d.Events...)
	s.backoff = d.BackoffAfter

	if s.chance(s.opts.restartPct) {
		// A new leader: no backoff record, no expectations, a fresh LIST.
		s.backoff = BackoffRecord{}
		s.refreshCache()
	} else if !s.lagging() {
		s.refreshCache()
	}
	s.checkInvariants()
	return d.StatusChanged || len(d.Actions) > 0
}

func (s *sim) lagging() bool { return s.chance(s.opts.cacheLagPct) }

func (s *sim) create(template *corev1.Pod) {
	p := template.DeepCopy()
	n := s.created
	s.created++
	p.Name = fmt.Sprintf("%s%05d", p.GenerateName, n)
	p.UID = types.UID(fmt.Sprintf("pod-%05d", n))
	p.CreationTimestamp = metav1.NewTime(s.now)
	p.Spec.NodeName = "kwok-node"
	p.Status.Phase = corev1.PodPending
	code, runFor := s.opts.outcome(n, p)
	s.runs[p.UID] = &podRun{n: n, runFor: runFor, code: code}
	s.store = append(s.store, p)
	s.pendingCreates.Insert(p.UID)
	s.creations = append(s.creations, s.now)
}

// ledger checks every UID enters an uncounted list at most once over the
// whole run.
func (s *sim) ledger(old, cur batchv1.JobStatus) {
	var before sets.Set[types.UID] = sets.New[types.UID]()
	if u := old.UncountedTerminatedPods; u != nil {
		before.Insert(u.Succeeded...)
		before.Insert(u.Failed...)
	}
	enter := func(uids []types.UID, kind string) {
		for _, uid := range uids {
			if before.Has(uid) {
				continue
			}
			prev, seen := s.recorded[uid]
			require.False(s.t, seen, "pod %s recorded twice (%s, then %s)", uid, prev, kind)
			s.recorded[uid] = kind
		}
	}
	enter(cur.UncountedTerminatedPods.Succeeded, "succeeded")
	enter(cur.UncountedTerminatedPods.Failed, "failed")
}

// kubelet advances every pod to now; it reports whether anything changed.
func (s *sim) kubelet() bool {
	changed := false
	terminate := func(p *corev1.Pod, code int32) {
		p.Status.Phase = corev1.PodSucceeded
		if code != 0 {
			p.Status.Phase = corev1.PodFailed
			s.failures = append(s.failures, s.now)
		}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("main", code, s.now)}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(s.now)}}
		if hasTrackingFinalizer(p) {
			if _, ok := s.owed[p.UID]; !ok {
				s.owed[p.UID] = p.Status.Phase
			}
			if p.Status.Phase == corev1.PodSucceeded {
				s.succeededIdx[completionIndex(p)]++
			}
		}
		changed = true
	}
	for _, p := range slices.Clone(s.store) {
		run := s.runs[p.UID]
		switch {
		case isTerminal(p):
		case p.DeletionTimestamp != nil:
			terminate(p, 137)
		case p.Status.Phase == corev1.PodPending:
			p.Status.Phase = corev1.PodRunning
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(s.now)}}
			run.started = s.now
			changed = true
		case !s.now.Before(run.started.Add(run.runFor)):
			terminate(p, run.code)
		case s.chance(s.opts.evictPct):
			// Someone else deletes the pod (eviction): with
			// TerminatingOrFailed it is a failure from now on.
			p.DeletionTimestamp = ptr.To(metav1.NewTime(s.now))
			if hasTrackingFinalizer(p) {
				s.owed[p.UID] = corev1.PodFailed
			}
			changed = true
		}
		if p.DeletionTimestamp != nil && isTerminal(p) && len(p.Finalizers) == 0 {
			s.remove(p.UID)
			changed = true
		}
	}
	return changed
}

func (s *sim) checkInvariants() {
	t := s.t
	var active int32
	indexes := map[int]int{}
	for _, p := range s.store {
		if isPodActive(p) {
			active++
			if ix := completionIndex(p); ix != noIndex {
				indexes[ix]++
				if !s.opts.skipDuplicateIndexCheck {
					require.LessOrEqual(t, indexes[ix], 1, "two active pods for index %d at %v", ix, s.now.Sub(t0))
				}
			}
		}
	}
	s.maxActive = max(s.maxActive, active)
	if !s.opts.skipMaxActiveCheck {
		require.LessOrEqual(t, active, ptr.Deref(s.job.Spec.Parallelism, 1), "more active pods than parallelism at %v", s.now.Sub(t0))
	}
}

// run ticks the clock one second at a time until the Job is finished and
// no pod holds the finalizer.
func (s *sim) run() {
	t := s.t
	s.refreshCache()
	dirty := true
	for tick := 0; tick < s.opts.maxTicks; tick++ {
		if s.opts.hook != nil && s.opts.hook(s) {
			dirty = true
		}
		if !s.requeueAt.IsZero() && !s.now.Before(s.requeueAt) {
			dirty = true
		}
		if s.opts.syncEveryTick {
			if !s.lagging() {
				s.refreshCache()
			}
			s.sync()
		} else {
			for n := 0; dirty; n++ {
				require.Less(t, n, 20, "Decide keeps changing things at %v", s.now.Sub(t0))
				dirty = s.sync()
			}
		}
		if IsJobFinished(s.job) && !slices.ContainsFunc(s.store, hasTrackingFinalizer) {
			s.checkExactlyOnce()
			return
		}
		s.now = s.now.Add(time.Second)
		if s.kubelet() && !s.lagging() {
			// The informer delivers the kubelet's updates, which sync the Job.
			s.refreshCache()
			dirty = true
		}
	}
	for _, p := range s.store {
		t.Logf("pod %s %s index=%d finalizers=%v deleting=%v", p.Name, p.Status.Phase, completionIndex(p), p.Finalizers, p.DeletionTimestamp != nil)
	}
	t.Fatalf("Job not finished after %d ticks: %v status=%+v", s.opts.maxTicks, condSummary(s.job.Status), s.job.Status)
}

// checkExactlyOnce: the counters are exactly the recorded UIDs (NonIndexed),
// and every outcome a pod ended with while holding the finalizer was
// recorded.
func (s *sim) checkExactlyOnce() {
	t := s.t
	st := s.job.Status
	if !isIndexed(s.job) {
		var succeeded, failed int32
		for _, kind := range s.recorded {
			if kind == "succeeded" {
				succeeded++
			} else {
				failed++
			}
		}
		assert.Equal(t, succeeded, st.Succeeded, "succeeded counter vs recorded successes")
		assert.Equal(t, failed, st.Failed, "failed counter vs recorded failures")
		for uid, phase := range s.owed {
			kind, ok := s.recorded[uid]
			if !assert.True(t, ok, "pod %s ended %s holding the finalizer but was never counted", uid, phase) {
				continue
			}
			if phase == corev1.PodSucceeded && isJobComplete(s.job) {
				assert.Equal(t, "succeeded", kind, "pod %s", uid)
			}
		}
	}
	assert.Empty(t, st.UncountedTerminatedPods.Succeeded)
	assert.Empty(t, st.UncountedTerminatedPods.Failed)
}

func isJobComplete(job *batchv1.Job) bool {
	return condition.FindTrue(job.Status.Conditions, batchv1.JobComplete) != nil
}

func eventReasons(events []Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Reason)
	}
	return out
}

func constantOutcome(code int32, runFor time.Duration) outcome {
	return func(int, *corev1.Pod) (int32, time.Duration) { return code, runFor }
}

// TestSeedChapterScenarios replays the Job chapter's examples.
func TestSeedChapterScenarios(t *testing.T) {
	t.Run("completions 5, parallelism 2: at most 2 at a time, Complete with 5", func(t *testing.T) {
		s := newSim(t, newJob(completions(5), parallelism(2), notStarted()), simOptions{outcome: constantOutcome(0, 10*time.Second)})
		s.run()
		assert.Equal(t, int32(2), s.maxActive)
		assert.Equal(t, 5, s.created)
		assert.Equal(t, int32(5), s.job.Status.Succeeded)
		assert.Equal(t, int32(0), s.job.Status.Failed)
		assert.True(t, isJobComplete(s.job))
		assert.Equal(t, []string{"SuccessCriteriaMet=True/CompletionsReached", "Complete=True/CompletionsReached"}, condSummary(s.job.Status))
		assert.Equal(t, []string{"Completed"}, eventReasons(s.events))
		require.NotNil(t, s.job.Status.CompletionTime)
		assert.Equal(t, 3*11*time.Second, s.job.Status.CompletionTime.Sub(s.job.Status.StartTime.Time), "three rounds of pods, each 1s pending and 10s running")
	})
	t.Run("Indexed completions 12, parallelism 4: each index succeeds exactly once", func(t *testing.T) {
		job := newJob(indexed(), completions(12), parallelism(4), notStarted())
		s := newSim(t, job, simOptions{outcome: func(_ int, p *corev1.Pod) (int32, time.Duration) {
			return 0, time.Duration(3+completionIndex(p)%4) * time.Second
		}})
		s.run()
		assert.Equal(t, int32(4), s.maxActive)
		assert.Equal(t, 12, s.created)
		assert.Equal(t, "0-11", s.job.Status.CompletedIndexes)
		assert.Equal(t, int32(12), s.job.Status.Succeeded)
		for ix := 0; ix < 12; ix++ {
			assert.Equal(t, 1, s.succeededIdx[ix], "successes of index %d", ix)
		}
		assert.True(t, isJobComplete(s.job))
	})
	t.Run("parallelism 3 without completions: done at the first success, the others finish (3/1 of 3)", func(t *testing.T) {
		job := newJob(parallelism(3), noCompletions(), notStarted())
		s := newSim(t, job, simOptions{outcome: func(n int, _ *corev1.Pod) (int32, time.Duration) {
			return 0, time.Duration(5+2*n) * time.Second
		}})
		s.run()
		assert.Equal(t, 3, s.created, "no new pods after the first success")
		assert.Equal(t, int32(3), s.job.Status.Succeeded)
		assert.True(t, isJobComplete(s.job))
		assert.Equal(t, at(1+9), s.job.Status.CompletionTime.Time, "complete when the last pod is done")
	})
	t.Run("always failing, backoffLimit 6, restartPolicy Never: Failed after 7 failures", func(t *testing.T) {
		job := newJob(backoffLimit(6), notStarted())
		s := newSim(t, job, simOptions{outcome: constantOutcome(1, time.Second), maxTicks: 2000})
		s.run()
		assert.Equal(t, 7, s.created)
		assert.Equal(t, int32(7), s.job.Status.Failed)
		assert.Equal(t, []string{"FailureTarget=True/BackoffLimitExceeded", "Failed=True/BackoffLimitExceeded"}, condSummary(s.job.Status))
		assert.Equal(t, "Job has reached the specified backoff limit", cond(s.job.Status, batchv1.JobFailed).Message)
		assert.Equal(t, []Event{{Type: corev1.EventTypeWarning, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}}, s.events)
		require.Len(t, s.failures, 7)
		for i := 1; i < 7; i++ {
			delay := DefaultPodFailureBackoff << (i - 1)
			gap := s.creations[i].Sub(s.failures[i-1])
			assert.GreaterOrEqual(t, gap, delay, "pod %d recreated before its backoff", i)
			assert.Less(t, gap, delay+2*time.Second, "pod %d recreated late: RequeueAfter missing", i)
		}
	})
	t.Run("activeDeadlineSeconds 90 with two sequential 60s pods: DeadlineExceeded", func(t *testing.T) {
		job := newJob(completions(2), parallelism(1), deadline(90), notStarted())
		s := newSim(t, job, simOptions{outcome: constantOutcome(0, 60*time.Second)})
		s.run()
		assert.Equal(t, []string{"FailureTarget=True/DeadlineExceeded", "Failed=True/DeadlineExceeded"}, condSummary(s.job.Status))
		assert.Equal(t, int32(1), s.job.Status.Succeeded)
		assert.Equal(t, int32(1), s.job.Status.Failed, "the pod stopped at the deadline counts as failed")
		failedAt := cond(s.job.Status, batchv1.JobFailureTarget).LastTransitionTime.Time
		assert.Equal(t, at(90), failedAt, "the deadline fires on time (RequeueAfter)")
	})
	t.Run("suspend and resume midway: suspended pods are not failures", func(t *testing.T) {
		job := newJob(completions(4), parallelism(2), notStarted())
		s := newSim(t, job, simOptions{outcome: constantOutcome(0, 10*time.Second), hook: func(s *sim) bool {
			switch s.now {
			case at(5):
				s.job.Spec.Suspend = ptr.To(true)
				return true
			case at(30):
				s.job.Spec.Suspend = ptr.To(false)
				return true
			}
			return false
		}})
		s.run()
		assert.Equal(t, 6, s.created, "two pods deleted by the suspend, four that completed")
		assert.Equal(t, int32(4), s.job.Status.Succeeded)
		assert.Equal(t, int32(0), s.job.Status.Failed)
		assert.Equal(t, []string{"Suspended", "Resumed", "Completed"}, eventReasons(s.events))
		assert.Equal(t, at(30), s.job.Status.StartTime.Time, "startTime is the resume time")
	})
}

// TestChaosExactlyOnce runs Jobs with failing pods while the executor's API
// calls fail, its cache lags and it restarts, and checks that every pod
// outcome is counted exactly once and the Job still ends as specified.
func TestChaosExactlyOnce(t *testing.T) {
	for seed := int64(1); seed <= 8; seed++ {
		flaky := func(rng *rand.Rand) outcome {
			return func(int, *corev1.Pod) (int32, time.Duration) {
				code := int32(0)
				if rng.Intn(100) < 25 {
					code = 1
				}
				return code, time.Duration(1+rng.Intn(8)) * time.Second
			}
		}
		chaos := simOptions{
			seed: seed, actionFailPct: 15, statusFailPct: 15, restartPct: 3, evictPct: 2, cacheLagPct: 40,
			syncEveryTick: true, maxTicks: 20000,
		}
		t.Run(fmt.Sprintf("NonIndexed seed %d", seed), func(t *testing.T) {
			opts := chaos
			opts.outcome = flaky(rand.New(rand.NewSource(seed * 7)))
			s := newSim(t, newJob(completions(10), parallelism(3), backoffLimit(1000), notStarted()), opts)
			s.run()
			assert.True(t, isJobComplete(s.job), condSummary(s.job.Status))
			assert.Equal(t, int32(10), s.job.Status.Succeeded)
			assert.NotZero(t, s.job.Status.Failed, "the scenario has failures")
		})
		t.Run(fmt.Sprintf("Indexed seed %d", seed), func(t *testing.T) {
			opts := chaos
			opts.outcome = flaky(rand.New(rand.NewSource(seed * 11)))
			s := newSim(t, newJob(indexed(), completions(8), parallelism(3), backoffLimit(1000), notStarted()), opts)
			s.run()
			assert.True(t, isJobComplete(s.job), condSummary(s.job.Status))
			assert.Equal(t, "0-7", s.job.Status.CompletedIndexes)
			assert.Equal(t, int32(8), s.job.Status.Succeeded)
			var failed int32
			for _, kind := range s.recorded {
				if kind == "failed" {
					failed++
				}
			}
			assert.Equal(t, failed, s.job.Status.Failed, "failed counter vs recorded failures")
			for uid, phase := range s.owed {
				if phase == corev1.PodFailed {
					assert.Equal(t, "failed", s.recorded[uid], "failure of %s not counted", uid)
				}
			}
		})
	}
}
