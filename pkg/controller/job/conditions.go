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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

// Condition reasons and messages written by Decide (upstream's wording).
const (
	reasonSuspended = "JobSuspended"
	reasonResumed   = "JobResumed"

	msgSuspended          = "Job suspended"
	msgResumed            = "Job resumed"
	msgBackoffLimit       = "Job has reached the specified backoff limit"
	msgDeadline           = "Job was active longer than specified deadline"
	msgMaxFailedIndexes   = "Job has exceeded the specified maximal number of failed indexes"
	msgFailedIndexes      = "Job has failed indexes"
	msgCompletionsReached = "Reached expected number of succeeded pods"
)

func newCondition(t batchv1.JobConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) *batchv1.JobCondition {
	return &batchv1.JobCondition{
		Type:               t,
		Status:             status,
		LastProbeTime:      metav1.NewTime(now),
		LastTransitionTime: metav1.NewTime(now),
		Reason:             reason,
		Message:            message,
	}
}

func findCondition(conditions []batchv1.JobCondition, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range conditions {
		if conditions[i].Type == t {
			return &conditions[i]
		}
	}
	return nil
}

// trueCondition returns the condition of type t if it is True.
func trueCondition(conditions []batchv1.JobCondition, t batchv1.JobConditionType) *batchv1.JobCondition {
	if c := findCondition(conditions, t); c != nil && c.Status == corev1.ConditionTrue {
		return c
	}
	return nil
}

// ensureCondition sets the condition of type t to status/reason/message,
// stamping now when anything changes. A missing condition is not added as
// False (a Job created unsuspended never gets Suspended=False). It reports
// whether the list changed.
func ensureCondition(conditions []batchv1.JobCondition, t batchv1.JobConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) ([]batchv1.JobCondition, bool) {
	if c := findCondition(conditions, t); c != nil {
		if c.Status == status && c.Reason == reason && c.Message == message {
			return conditions, false
		}
		*c = *newCondition(t, status, reason, message, now)
		return conditions, true
	}
	if status == corev1.ConditionFalse {
		return conditions, false
	}
	return append(conditions, *newCondition(t, status, reason, message, now)), true
}

// finishedCondition returns the True Complete or Failed condition, if any.
func finishedCondition(status *batchv1.JobStatus) *batchv1.JobCondition {
	if c := trueCondition(status.Conditions, batchv1.JobComplete); c != nil {
		return c
	}
	return trueCondition(status.Conditions, batchv1.JobFailed)
}

// IsJobFinished reports whether the Job has a True Complete or Failed
// condition; nothing but TTL and finalizer cleanup happens after that.
func IsJobFinished(job *batchv1.Job) bool {
	return finishedCondition(&job.Status) != nil
}
