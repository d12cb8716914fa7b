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

package kit

import (
	kbatchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

// Condition returns the condition of type t of a jobserver Job, whatever
// its status, or nil if the Job has none.
func Condition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	return condition.Find(job.Status.Conditions, t)
}

// HasTrueCondition tells whether the (first) condition of type t of a
// jobserver Job has status True. condition.IsTrue accepts any True one of a
// repeated type.
func HasTrueCondition(job *batchv1.Job, t batchv1.JobConditionType) bool {
	c := condition.Find(job.Status.Conditions, t)
	return c != nil && c.Status == corev1.ConditionTrue
}

// KubeTrueCondition returns the condition of type t of a built-in
// (k8s.io/api/batch/v1) Job if its status is True, or nil. (Built-in types
// lack the methods pkg/apis/batch/condition works with.)
func KubeTrueCondition(job *kbatchv1.Job, t kbatchv1.JobConditionType) *kbatchv1.JobCondition {
	for i, c := range job.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return &job.Status.Conditions[i]
		}
	}
	return nil
}
