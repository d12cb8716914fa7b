/*
Copyright 2016 The Kubernetes Authors.
Copyright 2026 The jobserver Authors.

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

package validation

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
)

// IsJobFinished reports whether the Job has a Complete=True or Failed=True
// condition. A nil Job is not finished.
func IsJobFinished(job *batch.Job) bool {
	return IsJobComplete(job) || IsJobFailed(job)
}

// IsJobComplete reports whether the Job has a Complete=True condition.
func IsJobComplete(job *batch.Job) bool {
	return job != nil && IsConditionTrue(job.Status.Conditions, batch.JobComplete)
}

// IsJobFailed reports whether the Job has a Failed=True condition.
func IsJobFailed(job *batch.Job) bool {
	return job != nil && IsConditionTrue(job.Status.Conditions, batch.JobFailed)
}

// IsConditionTrue reports whether list holds a condition of type t with
// status True.
func IsConditionTrue(list []batch.JobCondition, t batch.JobConditionType) bool {
	return hasCondition(list, t, corev1.ConditionTrue)
}

// isConditionFalse reports whether list holds a condition of type t with
// status False.
func isConditionFalse(list []batch.JobCondition, t batch.JobConditionType) bool {
	return hasCondition(list, t, corev1.ConditionFalse)
}

func hasCondition(list []batch.JobCondition, t batch.JobConditionType, status corev1.ConditionStatus) bool {
	for _, c := range list {
		if c.Type == t && c.Status == status {
			return true
		}
	}
	return false
}

func isJobSuccessCriteriaMet(job *batch.Job) bool {
	return job != nil && IsConditionTrue(job.Status.Conditions, batch.JobSuccessCriteriaMet)
}

func isJobFailureTarget(job *batch.Job) bool {
	return job != nil && IsConditionTrue(job.Status.Conditions, batch.JobFailureTarget)
}
