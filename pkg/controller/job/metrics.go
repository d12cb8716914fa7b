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

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"

	// Workqueue metrics (depth, latency, retries of the "job" and
	// "job_orphan_pod" queues) on the same registry.
	_ "k8s.io/component-base/metrics/prometheus/workqueue"
)

// The controller's Prometheus metrics, in k8s.io/component-base's legacy
// registry, which jobserver serves on /metrics.
const metricsSubsystem = "jobserver_job_controller"

// Values of the result label.
const (
	resultSuccess  = "success"
	resultError    = "error"
	resultConflict = "conflict"
)

var (
	// jobSyncsTotal counts syncs of a Job key by result: success, error (an
	// API call failed; the key is requeued with backoff) or conflict (the
	// status write lost a race; nothing else was applied).
	jobSyncsTotal = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      metricsSubsystem,
		Name:           "job_syncs_total",
		Help:           "Number of Job syncs, by result (success, error, conflict).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"result"})

	// jobSyncDuration is how long a sync takes, API calls included.
	jobSyncDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Subsystem:      metricsSubsystem,
		Name:           "job_sync_duration_seconds",
		Help:           "Time taken to sync a Job, by result (success, error, conflict).",
		Buckets:        metrics.ExponentialBuckets(0.004, 2, 15),
		StabilityLevel: metrics.ALPHA,
	}, []string{"result"})

	// podsCreatedTotal counts pod creations by result (success, error).
	podsCreatedTotal = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      metricsSubsystem,
		Name:           "pods_created_total",
		Help:           "Number of pods the Job controller created, by result (success, error).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"result"})

	// podsDeletedTotal counts pod deletions by result (success, error).
	podsDeletedTotal = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      metricsSubsystem,
		Name:           "pods_deleted_total",
		Help:           "Number of pods the Job controller deleted, by result (success, error).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"result"})

	// finalizersRemovedTotal counts removals of the tracking finalizer by
	// result (success, error), orphaned pods included.
	finalizersRemovedTotal = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      metricsSubsystem,
		Name:           "pod_finalizers_removed_total",
		Help:           "Number of tracking finalizer removals from pods, by result (success, error).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"result"})

	// podsAdoptedTotal and podsReleasedTotal count the pods Jobs adopted
	// (ownerless pods matching a selector) and released (controlled pods
	// no longer matching it, or stripped of the ownership label).
	podsAdoptedTotal = metrics.NewCounter(&metrics.CounterOpts{
		Subsystem:      metricsSubsystem,
		Name:           "pods_adopted_total",
		Help:           "Number of ownerless pods adopted by a Job whose selector they match.",
		StabilityLevel: metrics.ALPHA,
	})
	podsReleasedTotal = metrics.NewCounter(&metrics.CounterOpts{
		Subsystem:      metricsSubsystem,
		Name:           "pods_released_total",
		Help:           "Number of pods released by their Job (controller reference and tracking finalizer removed).",
		StabilityLevel: metrics.ALPHA,
	})

	// jobsFinishedTotal counts Jobs this controller finished, by the final
	// condition (Complete, Failed) and its reason.
	jobsFinishedTotal = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      metricsSubsystem,
		Name:           "jobs_finished_total",
		Help:           "Number of Jobs finished, by condition (Complete, Failed) and reason.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"condition", "reason"})
)

var registerMetrics sync.Once

// RegisterMetrics registers the controller's metrics in the legacy registry;
// calling it again is a no-op. NewController calls it.
func RegisterMetrics() {
	registerMetrics.Do(func() {
		legacyregistry.MustRegister(jobSyncsTotal, jobSyncDuration, podsCreatedTotal,
			podsDeletedTotal, finalizersRemovedTotal, podsAdoptedTotal, podsReleasedTotal, jobsFinishedTotal)
	})
}

func resultLabel(err error) string {
	if err != nil {
		return resultError
	}
	return resultSuccess
}
