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
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
)

// ExpectationsTimeout is how long the executor waits for its pod cache to
// show a write it made before giving up on it (upstream's
// controller.ExpectationsTimeout), so that a watch event lost in a relist
// cannot stall a Job forever.
const ExpectationsTimeout = 5 * time.Minute

// expectationKind is the write whose effect the pod cache must show.
type expectationKind int

const (
	// expectCreate: the created pod appears.
	expectCreate expectationKind = iota
	// expectDelete: the pod is gone or has a deletionTimestamp.
	expectDelete
	// expectFinalizerRemoval: the pod is gone or lacks the tracking
	// finalizer.
	expectFinalizerRemoval
	// expectAdoption: the pod is gone or controlled by the Job and labelled
	// with its UID (so the pod index lists it).
	expectAdoption
)

type expectationKey struct {
	uid  types.UID
	kind expectationKind
}

type expectation struct {
	podName string
	at      time.Time
}

// jobExpectations are the writes of one Job (identified by key and UID)
// that the pod cache does not show yet.
type jobExpectations struct {
	jobUID  types.UID
	pending map[expectationKey]expectation
	// creating counts CreatePod calls in flight; while it is > 0, deleted
	// remembers the UIDs of pods seen deleted, so a pod created and deleted
	// before its Create call returned is not awaited forever.
	creating int
	deleted  sets.Set[types.UID]
}

// podLookup returns the cached pod with the given name in the Job's
// namespace, or nil.
type podLookup func(name string) *corev1.Pod

// expectations record, per Job key, the pod writes the executor made and its
// pod informer has not shown yet. They are UID-exact: a pending write is
// satisfied by an event about that very pod, or when the cache is checked
// at sync time (a delete or finalizer removal shows as the pod being gone
// or changed; a create as the pod being there). A Job recreated under the
// same name starts with none.
//
// Decide gets two things from them: PodExpectationsPending (creates or
// deletes not yet observed: the pod list may be incomplete, so Decide does
// not manage the pod count), and ExpectedFinalizerRemovals (pods whose
// finalizer is gone although the cache still shows it).
type expectations struct {
	mu   sync.Mutex
	jobs map[string]*jobExpectations
	now  func() time.Time
}

func newExpectations(now func() time.Time) *expectations {
	return &expectations{jobs: map[string]*jobExpectations{}, now: now}
}

// job returns the entry of key for jobUID, replacing one of another UID.
// Callers hold mu.
func (e *expectations) job(key string, jobUID types.UID) *jobExpectations {
	je := e.jobs[key]
	if je == nil || je.jobUID != jobUID {
		je = &jobExpectations{jobUID: jobUID, pending: map[expectationKey]expectation{}, deleted: sets.New[types.UID]()}
		e.jobs[key] = je
	}
	return je
}

// expect records a delete or finalizer removal about to be sent for pod
// podName/podUID of the Job.
func (e *expectations) expect(key string, jobUID types.UID, kind expectationKind, podName string, podUID types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.job(key, jobUID).pending[expectationKey{podUID, kind}] = expectation{podName: podName, at: e.now()}
}

// lower drops an expectation whose write failed: no event will come for it.
func (e *expectations) lower(key string, jobUID types.UID, kind expectationKind, podUID types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if je := e.jobs[key]; je != nil && je.jobUID == jobUID {
		delete(je.pending, expectationKey{podUID, kind})
	}
}

// beginCreates is called before a batch of CreatePod calls, endCreates after.
func (e *expectations) beginCreates(key string, jobUID types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.job(key, jobUID).creating++
}

func (e *expectations) endCreates(key string, jobUID types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if je := e.jobs[key]; je != nil && je.jobUID == jobUID {
		if je.creating--; je.creating <= 0 {
			je.creating = 0
			je.deleted = sets.New[types.UID]()
		}
	}
}

// created records a pod the API server created, unless the cache (whose
// store is updated before its event handlers run) already shows it or saw
// it deleted.
func (e *expectations) created(key string, jobUID types.UID, pod *corev1.Pod, lookup podLookup) {
	e.mu.Lock()
	defer e.mu.Unlock()
	je := e.job(key, jobUID)
	if je.deleted.Has(pod.UID) {
		return
	}
	if cached := lookup(pod.Name); cached != nil && cached.UID == pod.UID {
		return
	}
	je.pending[expectationKey{pod.UID, expectCreate}] = expectation{podName: pod.Name, at: e.now()}
}

// observe is called by the pod event handlers with the pod as it is now;
// gone means it was deleted from the API.
func (e *expectations) observe(key string, pod *corev1.Pod, gone bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	je := e.jobs[key]
	if je == nil {
		return
	}
	if gone && je.creating > 0 {
		je.deleted.Insert(pod.UID)
	}
	for k := range je.pending {
		if k.uid == pod.UID && satisfied(k.kind, je.jobUID, pod, gone) {
			delete(je.pending, k)
		}
	}
}

func satisfied(kind expectationKind, jobUID types.UID, pod *corev1.Pod, gone bool) bool {
	switch kind {
	case expectCreate:
		return true
	case expectDelete:
		return gone || pod.DeletionTimestamp != nil
	case expectAdoption:
		if gone {
			return true
		}
		ref := metav1.GetControllerOf(pod)
		return ref != nil && ref.UID == jobUID && pod.Labels[names.PodOwnershipLabel] == string(jobUID)
	default:
		return gone || !hasTrackingFinalizer(pod)
	}
}

// expectationsState is what a sync learns from the expectations.
type expectationsState struct {
	// podsPending: creates, deletes or adoptions the cache does not show
	// yet.
	podsPending bool
	// finalizerRemovals: pods whose finalizer removal the cache does not
	// show yet.
	finalizerRemovals sets.Set[types.UID]
	// expiresIn is when the oldest pending expectation times out (0: none
	// pending).
	expiresIn time.Duration
}

// state checks the pending expectations of the Job against the cache, drops
// those it shows and those that timed out, and reports the rest.
func (e *expectations) state(key string, jobUID types.UID, lookup podLookup) expectationsState {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := expectationsState{finalizerRemovals: sets.New[types.UID]()}
	je := e.jobs[key]
	if je == nil || je.jobUID != jobUID {
		return st
	}
	now := e.now()
	for k, x := range je.pending {
		age := now.Sub(x.at)
		if age >= ExpectationsTimeout {
			delete(je.pending, k)
			continue
		}
		cached := lookup(x.podName)
		if cached != nil && cached.UID != k.uid {
			cached = nil // a different pod with the same name: ours is gone
		}
		switch {
		case k.kind == expectCreate && cached != nil:
			delete(je.pending, k)
			continue
		case k.kind != expectCreate && satisfied(k.kind, jobUID, orEmpty(cached), cached == nil):
			delete(je.pending, k)
			continue
		}
		if k.kind == expectFinalizerRemoval {
			st.finalizerRemovals.Insert(k.uid)
		} else {
			st.podsPending = true
		}
		if left := ExpectationsTimeout - age; st.expiresIn == 0 || left < st.expiresIn {
			st.expiresIn = left
		}
	}
	return st
}

func orEmpty(p *corev1.Pod) *corev1.Pod {
	if p == nil {
		return &corev1.Pod{}
	}
	return p
}

// forget drops everything recorded for key (the Job is gone).
func (e *expectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.jobs, key)
}
