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
	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
)

// IsJobFinished reports whether the Job has a Complete=True or Failed=True
// condition. A nil Job is not finished.
func IsJobFinished(job *batch.Job) bool {
	return job != nil && condition.Finished(job.Status.Conditions) != nil
}

// IsJobComplete reports whether the Job has a Complete=True condition.
func IsJobComplete(job *batch.Job) bool {
	return job != nil && condition.IsTrue(job.Status.Conditions, batch.JobComplete)
}

// IsJobFailed reports whether the Job has a Failed=True condition.
func IsJobFailed(job *batch.Job) bool {
	return job != nil && condition.IsTrue(job.Status.Conditions, batch.JobFailed)
}

func isJobSuccessCriteriaMet(job *batch.Job) bool {
	return job != nil && condition.IsTrue(job.Status.Conditions, batch.JobSuccessCriteriaMet)
}

func isJobFailureTarget(job *batch.Job) bool {
	return job != nil && condition.IsTrue(job.Status.Conditions, batch.JobFailureTarget)
}
