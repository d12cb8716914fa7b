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

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
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

// ensureCondition sets the condition of type t to status/reason/message,
// stamping now when anything changes. A missing condition is not added as
// False (a Job created unsuspended never gets Suspended=False). It reports
// whether the list changed.
func ensureCondition(conditions []batchv1.JobCondition, t batchv1.JobConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) ([]batchv1.JobCondition, bool) {
	if c := condition.Find(conditions, t); c != nil {
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

// IsJobFinished reports whether the Job has a True Complete or Failed
// condition; nothing but TTL and finalizer cleanup happens after that.
func IsJobFinished(job *batchv1.Job) bool {
	return condition.Finished(job.Status.Conditions) != nil
}
