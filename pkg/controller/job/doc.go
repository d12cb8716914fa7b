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

// Package job is jobserver's Job controller. Its core is Decide, a pure
// function from a Job, its pods, a clock reading and a backoff record to the
// Job's new status and the pod actions that realise it (create, delete,
// remove the tracking finalizer), plus events, a requeue delay and the TTL
// verdict. The executor that lists pods, applies a Decision with
// expectations and runs under leader election is a thin layer on top.
//
// # Exactly-once counting
//
// Every finished pod of a Job contributes exactly once to status.succeeded
// or status.failed (or, for an Indexed success, to status.completedIndexes),
// across resyncs, stale caches and controller restarts. The tracking
// finalizer batch.jobserver.dev/job-tracking is the token: a pod "holds" its
// outcome while it carries the finalizer and its UID is not recorded.
//
//  1. Record. Decide adds a finished pod to status.uncountedTerminatedPods
//     only if the pod carries the finalizer (and is not in
//     Input.ExpectedFinalizerRemovals) and its UID is in neither list.
//     An Indexed success is recorded by adding its index to
//     completedIndexes, a set, so repeating it is harmless.
//  2. Release. The same Decision asks to remove that pod's finalizer. The
//     executor does so only after Decision.Status is persisted by an
//     UpdateStatus carrying Input.Job's resourceVersion, so a Decision made
//     from a stale Job fails with a conflict and releases nothing.
//  3. Count. A later Decide moves a recorded UID into the counter only when
//     the pod no longer carries the finalizer (observed, or reported through
//     ExpectedFinalizerRemovals) or is gone; removal from the list and the
//     increment are one status write.
//
// No loss: until step 2 the finalizer keeps the pod (and its phase) in the
// API, and after step 1 the record lives in the persisted status until step
// 3. No double count: a pod without the finalizer is never recorded (step 1),
// a recorded UID is never recorded again, and it leaves the list exactly
// when it is counted. A cache that still shows a removed finalizer is
// covered by ExpectedFinalizerRemovals; after a restart the executor's
// caches start from a fresh LIST, which shows every completed removal.
// Pods that are removed without counting (suspend, scale-down, ignored by
// the pod failure policy, non-succeeded pods once success criteria are met)
// lose the finalizer without a record, before they are deleted, so they are
// never taken for failures.
//
// The executor must therefore (a) persist Status before any action, (b)
// never pass Decide a Job older than its own last successful status write
// (keep the object UpdateStatus returned until the informer catches up, as
// upstream's consistency store does), and (c) use expectations so that pods
// it created or deleted are observed before the next Decide that manages
// pods (or set Input.PodExpectationsPending).
package job
