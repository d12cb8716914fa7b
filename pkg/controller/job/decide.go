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
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

const (
	// DefaultMaxActionsPerSync caps pod creations and deletions of one
	// Decide for the target count (upstream MaxPodCreateDeletePerSync).
	DefaultMaxActionsPerSync = 500
	// MaxUncountedPods caps status.uncountedTerminatedPods (and so the
	// finalizer removals of finished pods) per Decide, keeping the status
	// small and one big Job from starving the others.
	MaxUncountedPods = 500
)

// Input is everything Decide reads; nothing else is.
type Input struct {
	// Job as last seen, never older than the executor's last successful
	// status write (see the package documentation).
	Job *batchv1.Job
	// Pods owned by the Job (controller ownerRef to it) and matching its
	// selector, adopted ones included. Decide does not modify them.
	Pods []*corev1.Pod
	// Now is the only clock Decide reads.
	Now time.Time
	// Backoff is the executor's in-memory record of the Job's failures.
	Backoff BackoffRecord
	// MaxActionsPerSync caps creates and deletes for the target count, and
	// the finalizers released for a finished Job; 0 means
	// DefaultMaxActionsPerSync.
	MaxActionsPerSync int
	// ExpectedFinalizerRemovals are UIDs of pods whose tracking finalizer the
	// executor removed successfully but whose update its pod cache may not
	// show yet. Decide treats them as having no finalizer.
	ExpectedFinalizerRemovals sets.Set[types.UID]
	// PodExpectationsPending is true while the executor still waits to
	// observe pod creations or deletions it made, so Pods may be incomplete.
	// Decide then still tracks finished pods, but does not manage the pod
	// count, and for a Job heading to an end (failure, success policy) it
	// deletes the active pods without writing the interim condition yet.
	PodExpectationsPending bool
}

// Decision is what the executor applies, in this order:
//  1. if StatusChanged, UpdateStatus(Status) with the resourceVersion of
//     Input.Job; on any error stop here (nothing below may run on a status
//     that was not persisted);
//  2. Actions in list order: all RemoveFinalizer, then DeletePod, then
//     CreatePod by Batch; a failed action skips the later actions on the
//     same pod, and a CreatePod batch with an error skips the later batches;
//  3. Events;
//  4. store BackoffAfter;
//  5. if DeleteJob, GET the Job live and delete it (Foreground, UID
//     precondition) when TTLRemaining still says it expired;
//  6. requeue after RequeueAfter if it is > 0.
type Decision struct {
	// Unmanaged means the Job is not this controller's (spec.managedBy) or
	// cannot be synced; the executor must not write its status nor touch
	// its pods. Events may still hold a warning, and DeleteJob and
	// RequeueAfter still carry the TTL.
	Unmanaged bool
	// Status is the new status; StatusChanged is whether it differs from
	// Input.Job's.
	Status        batchv1.JobStatus
	StatusChanged bool
	// Actions on pods, ordered as described above.
	Actions []Action
	// Events to record on the Job. SuccessfulCreate/FailedCreate and
	// SuccessfulDelete/FailedDelete are the executor's, after each call.
	Events []Event
	// RequeueAfter is when the Job must be synced again at the latest even
	// if nothing changes (pod backoff expiry, activeDeadlineSeconds, TTL);
	// 0 means no timed resync is needed.
	RequeueAfter time.Duration
	// DeleteJob means ttlSecondsAfterFinished expired.
	DeleteJob bool
	// BackoffAfter replaces the executor's backoff record once Status is
	// persisted (or unchanged).
	BackoffAfter BackoffRecord
}

// ActionKind says what an Action does.
type ActionKind string

const (
	// ActionRemoveFinalizer patches the tracking finalizer away from a pod.
	ActionRemoveFinalizer ActionKind = "RemoveFinalizer"
	// ActionDeletePod deletes a pod (UID precondition).
	ActionDeletePod ActionKind = "DeletePod"
	// ActionCreatePod creates Action.Pod.
	ActionCreatePod ActionKind = "CreatePod"
)

// Action is one API call on a pod.
type Action struct {
	Kind ActionKind
	// PodName and PodUID identify the existing pod (RemoveFinalizer,
	// DeletePod).
	PodName string
	PodUID  types.UID
	// Pod is the full object to create (CreatePod), from NewPod.
	Pod *corev1.Pod
	// Index is the completion index of the pod, for Indexed Jobs.
	Index *int
	// Batch is the slow-start batch of a CreatePod: batch b holds up to 2^b
	// pods (1, 2, 4, …).
	Batch int
}

// Event is an Event to record on the Job.
type Event struct {
	Type    string
	Reason  string
	Message string
}

// Decide computes, from a Job, its pods and the clock, the Job's new status
// and the actions that bring the pods towards the spec. It is pure: it
// reads only in and returns a fresh Decision.
func Decide(in Input) Decision {
	job := in.Job
	d := Decision{Status: *job.Status.DeepCopy(), BackoffAfter: in.Backoff}
	s := newSyncState(in, &d)
	if unmanaged, warning := unmanagedJob(job); unmanaged {
		d.Unmanaged = true
		if warning != nil {
			d.Events = append(d.Events, *warning)
		}
		// ttlSecondsAfterFinished applies whoever manages the Job (upstream's
		// TTL controller ignores managedBy).
		s.applyTTL()
		return d
	}
	if IsJobFinished(job) {
		s.decideFinished()
	} else {
		s.run()
	}
	s.collectActions()
	d.StatusChanged = !apiequality.Semantic.DeepEqual(job.Status, d.Status)
	return d
}

// unmanagedJob reports Jobs this controller leaves alone: those managed by
// another controller, and specs it cannot sync (which the API rejects).
func unmanagedJob(job *batchv1.Job) (bool, *Event) {
	if m := job.Spec.ManagedBy; m != nil && *m != names.JobControllerName {
		return true, nil
	}
	if m := job.Spec.CompletionMode; m != nil && *m != batchv1.NonIndexedCompletion && *m != batchv1.IndexedCompletion {
		return true, &Event{Type: corev1.EventTypeWarning, Reason: "UnknownCompletionMode", Message: "Skipped Job sync because completion mode is unknown"}
	}
	if isIndexed(job) && job.Spec.Completions == nil {
		return true, &Event{Type: corev1.EventTypeWarning, Reason: "InvalidJobSpec", Message: "Skipped Job sync because an Indexed Job requires spec.completions"}
	}
	return false, nil
}

func isIndexed(job *batchv1.Job) bool {
	return job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion
}

// syncState is the working memory of one Decide.
type syncState struct {
	in  Input
	job *batchv1.Job
	// status is the Decision's status, being built.
	status *batchv1.JobStatus
	d      *Decision
	now    time.Time

	pods        []*corev1.Pod
	activePods  []*corev1.Pod
	ready       int32
	terminating int32

	// uncountedSucceeded and uncountedFailed are the UIDs recorded in the
	// Job's status as read (not as being rewritten).
	uncountedSucceeded sets.Set[types.UID]
	uncountedFailed    sets.Set[types.UID]
	// newSucceeded and newFailed are finished pods not yet accounted for:
	// they carry the finalizer and are not in the uncounted lists.
	newSucceeded []*corev1.Pod
	newFailed    []*corev1.Pod
	// succeeded and failed are the counters including new and uncounted pods.
	succeeded int32
	failed    int32
	// backoff includes every new finished pod; it governs creation delay.
	backoff BackoffRecord

	// finished is the condition the Job is heading to: an interim
	// SuccessCriteriaMet or FailureTarget to add, or (when that interim
	// condition already exists) the final Failed; nil while running.
	finished *batchv1.JobCondition

	prevSucceededIndexes orderedIntervals
	succeededIndexes     orderedIntervals
	failedIndexes        *orderedIntervals
	// delayed holds per index the failed pod whose finalizer stays until
	// its replacement exists (backoffLimitPerIndex).
	delayed map[int]*corev1.Pod

	finalizerRemovals []Action
	deletions         []Action
	creations         []Action
	removingFinalizer sets.Set[types.UID]
	deleting          sets.Set[types.UID]
}

func newSyncState(in Input, d *Decision) *syncState {
	s := &syncState{
		in:                in,
		job:               in.Job,
		status:            &d.Status,
		d:                 d,
		now:               in.Now,
		pods:              in.Pods,
		removingFinalizer: sets.New[types.UID](),
		deleting:          sets.New[types.UID](),
	}
	if u := in.Job.Status.UncountedTerminatedPods; u != nil {
		s.uncountedSucceeded = sets.New(u.Succeeded...)
		s.uncountedFailed = sets.New(u.Failed...)
	} else {
		s.uncountedSucceeded = sets.New[types.UID]()
		s.uncountedFailed = sets.New[types.UID]()
	}
	return s
}

func (s *syncState) indexed() bool { return isIndexed(s.job) }

func (s *syncState) perIndex() bool { return s.job.Spec.BackoffLimitPerIndex != nil }

func (s *syncState) suspended() bool { return ptr.Deref(s.job.Spec.Suspend, false) }

// completions is spec.completions as an int, 0 when unset (only used for
// Indexed Jobs, where it is required).
func (s *syncState) completions() int { return int(ptr.Deref(s.job.Spec.Completions, 0)) }

func (s *syncState) parallelism() int32 { return ptr.Deref(s.job.Spec.Parallelism, 1) }

// backoffLimit is spec.backoffLimit with the API default when unset.
func (s *syncState) backoffLimit() int32 {
	if l := s.job.Spec.BackoffLimit; l != nil {
		return *l
	}
	if s.perIndex() {
		return 1<<31 - 1
	}
	return 6
}

func (s *syncState) maxActions() int {
	if s.in.MaxActionsPerSync > 0 {
		return s.in.MaxActionsPerSync
	}
	return DefaultMaxActionsPerSync
}

// hasFinalizer reports whether p still carries the tracking finalizer as far
// as Decide knows: in the cache and not already removed by the executor.
func (s *syncState) hasFinalizer(p *corev1.Pod) bool {
	return hasTrackingFinalizer(p) && !s.in.ExpectedFinalizerRemovals.Has(p.UID)
}

// requeue asks for a sync after at most d.
func (s *syncState) requeue(d time.Duration) {
	if d <= 0 {
		return
	}
	if s.d.RequeueAfter == 0 || d < s.d.RequeueAfter {
		s.d.RequeueAfter = d
	}
}

func (s *syncState) event(eventType, reason, message string) {
	s.d.Events = append(s.d.Events, Event{Type: eventType, Reason: reason, Message: message})
}

// run is the sync of an unfinished Job, in upstream's evaluation order.
func (s *syncState) run() {
	st := s.status
	if st.UncountedTerminatedPods == nil {
		st.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	s.activePods = filterPods(s.pods, isPodActive)
	s.ready = countPods(s.activePods, isPodReady)
	s.terminating = countPods(s.pods, isPodTerminating)
	s.newSucceeded, s.newFailed = s.newFinishedPods()
	s.succeeded = st.Succeeded + int32(len(s.newSucceeded)+s.uncountedSucceeded.Len())
	s.failed = st.Failed + countedFailures(s.job, s.newFailed) + int32(s.uncountedFailed.Len())
	if st.StartTime == nil && !s.suspended() {
		st.StartTime = ptr.To(metav1.NewTime(s.now))
	}
	s.backoff = s.in.Backoff.update(s.newSucceeded, s.newFailed)

	s.evaluateFinish()

	active := int32(len(s.activePods))
	if s.finished != nil {
		// Heading for an end: delete every active pod. Their finalizers
		// stay until tracking has recorded them (as failed under a failure).
		deleted, deletedReady := s.deleteActivePods()
		if s.in.PodExpectationsPending {
			// Pods may be missing from the list; settle nothing yet.
			s.finished = nil
		}
		active -= deleted
		s.terminating += deleted
		s.ready -= deletedReady
	} else {
		managed := false
		if !s.in.PodExpectationsPending && s.job.DeletionTimestamp == nil {
			active = s.manageJob()
			managed = true
		}
		if s.completionsReached(active) {
			s.finished = newCondition(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, batchv1.JobReasonCompletionsReached, msgCompletionsReached, s.now)
		} else if managed {
			s.updateSuspendedCondition()
		}
	}
	st.Active = active
	st.Ready = ptr.To(s.ready)
	st.Terminating = ptr.To(s.terminating)

	s.trackFinishedPods()
}

// newFinishedPods returns the finished pods not yet accounted for: carrying
// the finalizer, in neither uncounted list, and for Indexed Jobs with a valid
// index below completions.
func (s *syncState) newFinishedPods() (succeeded, failed []*corev1.Pod) {
	for _, p := range s.pods {
		if !s.hasFinalizer(p) || s.uncountedSucceeded.Has(p.UID) || s.uncountedFailed.Has(p.UID) {
			continue
		}
		if s.indexed() {
			if ix := completionIndex(p); ix == noIndex || ix >= s.completions() {
				continue
			}
		}
		switch {
		case p.Status.Phase == corev1.PodSucceeded:
			succeeded = append(succeeded, p)
		case isPodFailed(p, s.job):
			failed = append(failed, p)
		}
	}
	return succeeded, failed
}

// evaluateFinish decides whether the Job is heading to an end, in order:
// an existing interim condition; a FailJob rule; backoffLimit; the active
// deadline; failed indexes; the success policy. (Reaching completions is
// checked after managing pods, as it depends on the active count.)
func (s *syncState) evaluateFinish() {
	conditions := s.job.Status.Conditions
	if c := condition.FindTrue(conditions, batchv1.JobSuccessCriteriaMet); c != nil {
		s.finished = c.DeepCopy()
	} else if c := condition.FindTrue(conditions, batchv1.JobFailureTarget); c != nil {
		s.finished = newCondition(batchv1.JobFailed, corev1.ConditionTrue, c.Reason, c.Message, s.now)
	} else if msg := failJobMessage(s.job, s.pods); msg != "" {
		s.finished = s.failureTarget(batchv1.JobReasonPodFailurePolicy, msg)
	}
	if s.finished == nil {
		switch {
		case s.failed > s.backoffLimit() || s.pastBackoffLimitOnFailure():
			s.finished = s.failureTarget(batchv1.JobReasonBackoffLimitExceeded, msgBackoffLimit)
		case s.pastActiveDeadline():
			s.finished = s.failureTarget(batchv1.JobReasonDeadlineExceeded, msgDeadline)
		case s.job.Spec.ActiveDeadlineSeconds != nil && !s.suspended():
			s.requeue(s.activeDeadline() - s.now.Sub(s.status.StartTime.Time))
		}
	}
	if !s.indexed() {
		return
	}
	s.prevSucceededIndexes, s.succeededIndexes = s.calculateSucceededIndexes()
	s.succeeded = int32(s.succeededIndexes.total())
	if s.perIndex() {
		s.failedIndexes = s.calculateFailedIndexes()
		if s.finished == nil {
			failed := s.failedIndexes.total()
			switch {
			case s.job.Spec.MaxFailedIndexes != nil && failed > int(*s.job.Spec.MaxFailedIndexes):
				s.finished = s.failureTarget(batchv1.JobReasonMaxFailedIndexesExceeded, msgMaxFailedIndexes)
			case failed > 0 && failed+s.succeededIndexes.total() >= s.completions():
				s.finished = s.failureTarget(batchv1.JobReasonFailedIndexes, msgFailedIndexes)
			}
		}
		s.delayed = s.podsWithDelayedFinalizerRemoval()
	}
	if s.finished == nil {
		if msg, ok := matchSuccessPolicy(s.job.Spec.SuccessPolicy, s.completions(), s.succeededIndexes); ok {
			s.finished = newCondition(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, batchv1.JobReasonSuccessPolicy, msg, s.now)
		}
	}
}

func (s *syncState) failureTarget(reason, message string) *batchv1.JobCondition {
	return newCondition(batchv1.JobFailureTarget, corev1.ConditionTrue, reason, message, s.now)
}

// pastBackoffLimitOnFailure applies to restartPolicy OnFailure, where the
// kubelet restarts failed containers in place: the restarts of pending and
// running pods count against backoffLimit (any restart when it is 0).
func (s *syncState) pastBackoffLimitOnFailure() bool {
	if s.job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		return false
	}
	var restarts int32
	for _, p := range s.pods {
		if p.Status.Phase != corev1.PodRunning && p.Status.Phase != corev1.PodPending {
			continue
		}
		for _, cs := range p.Status.InitContainerStatuses {
			restarts += cs.RestartCount
		}
		for _, cs := range p.Status.ContainerStatuses {
			restarts += cs.RestartCount
		}
	}
	if limit := s.backoffLimit(); limit > 0 {
		return restarts >= limit
	}
	return restarts > 0
}

func (s *syncState) activeDeadline() time.Duration {
	return time.Duration(*s.job.Spec.ActiveDeadlineSeconds) * time.Second
}

// pastActiveDeadline: the Job ran activeDeadlineSeconds since startTime
// (reset on resume), and is not suspended.
func (s *syncState) pastActiveDeadline() bool {
	if s.job.Spec.ActiveDeadlineSeconds == nil || s.status.StartTime == nil || s.suspended() {
		return false
	}
	return s.now.Sub(s.status.StartTime.Time) >= s.activeDeadline()
}

// completionsReached: enough successes (any one when completions is unset)
// and nothing left running.
func (s *syncState) completionsReached(active int32) bool {
	if active != 0 {
		return false
	}
	if c := s.job.Spec.Completions; c != nil {
		return s.succeeded >= *c
	}
	return s.succeeded > 0
}

// updateSuspendedCondition keeps the Suspended condition in line with
// spec.suspend: suspending clears startTime, resuming sets it to now (the
// active deadline counts from the resume).
func (s *syncState) updateSuspendedCondition() {
	st := s.status
	var changed bool
	if s.suspended() {
		st.Conditions, changed = ensureCondition(st.Conditions, batchv1.JobSuspended, corev1.ConditionTrue, reasonSuspended, msgSuspended, s.now)
		if changed {
			s.event(corev1.EventTypeNormal, "Suspended", msgSuspended)
			st.StartTime = nil
		}
		return
	}
	st.Conditions, changed = ensureCondition(st.Conditions, batchv1.JobSuspended, corev1.ConditionFalse, reasonResumed, msgResumed, s.now)
	if changed {
		s.event(corev1.EventTypeNormal, "Resumed", msgResumed)
		st.StartTime = ptr.To(metav1.NewTime(s.now))
	}
}

// decideFinished handles a Job with a final condition: drop the backoff
// record, release any pod still carrying the finalizer (everything was
// counted before the Job finished), and apply the TTL.
func (s *syncState) decideFinished() {
	s.d.BackoffAfter = BackoffRecord{}
	for _, p := range s.pods {
		if len(s.finalizerRemovals) >= s.maxActions() {
			break // the pod updates bring the Job back for the rest
		}
		if s.hasFinalizer(p) {
			s.removeFinalizer(p)
		}
	}
	s.applyTTL()
}

// applyTTL sets DeleteJob or a requeue at expiry for a finished Job (as of
// the new status).
func (s *syncState) applyTTL() {
	job := *s.job
	job.Status = *s.status
	remaining, ok := TTLRemaining(&job, s.now)
	if !ok {
		return
	}
	if remaining <= 0 {
		s.d.DeleteJob = true
		return
	}
	s.requeue(remaining)
}

func (s *syncState) removeFinalizer(p *corev1.Pod) {
	if s.removingFinalizer.Has(p.UID) {
		return
	}
	s.removingFinalizer.Insert(p.UID)
	s.finalizerRemovals = append(s.finalizerRemovals, Action{Kind: ActionRemoveFinalizer, PodName: p.Name, PodUID: p.UID, Index: podIndex(p)})
}

func (s *syncState) deletePod(p *corev1.Pod) {
	if s.deleting.Has(p.UID) {
		return
	}
	s.deleting.Insert(p.UID)
	s.deletions = append(s.deletions, Action{Kind: ActionDeletePod, PodName: p.Name, PodUID: p.UID, Index: podIndex(p)})
}

// podIndex is p's completion index as a pointer, nil when it has none.
func podIndex(p *corev1.Pod) *int {
	if ix := completionIndex(p); ix != noIndex {
		return &ix
	}
	return nil
}

func (s *syncState) collectActions() {
	actions := make([]Action, 0, len(s.finalizerRemovals)+len(s.deletions)+len(s.creations))
	actions = append(actions, s.finalizerRemovals...)
	actions = append(actions, s.deletions...)
	actions = append(actions, s.creations...)
	if len(actions) > 0 {
		s.d.Actions = actions
	}
}
