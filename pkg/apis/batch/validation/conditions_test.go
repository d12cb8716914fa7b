/*
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
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
)

func TestConditionHelpers(t *testing.T) {
	cases := map[string]struct {
		conditions                  []batch.JobCondition
		finished, complete, failed  bool
		successCriteriaMet, interim bool
	}{
		"none":                   {},
		"Suspended":              {conditions: conds(batch.JobSuspended)},
		"interim success":        {conditions: conds(batch.JobSuccessCriteriaMet), successCriteriaMet: true},
		"interim failure":        {conditions: conds(batch.JobFailureTarget), interim: true},
		"Complete":               {conditions: conds(batch.JobSuccessCriteriaMet, batch.JobComplete), finished: true, complete: true, successCriteriaMet: true},
		"Failed":                 {conditions: conds(batch.JobFailureTarget, batch.JobFailed), finished: true, failed: true, interim: true},
		"Complete=False":         {conditions: []batch.JobCondition{cond(batch.JobComplete, corev1.ConditionFalse)}},
		"Failed=Unknown":         {conditions: []batch.JobCondition{cond(batch.JobFailed, corev1.ConditionUnknown)}},
		"Failed=False then True": {conditions: []batch.JobCondition{cond(batch.JobFailed, corev1.ConditionFalse), cond(batch.JobFailed, corev1.ConditionTrue)}, finished: true, failed: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			job := &batch.Job{Status: batch.JobStatus{Conditions: tc.conditions}}
			assert.Equal(t, tc.finished, IsJobFinished(job), "IsJobFinished")
			assert.Equal(t, tc.complete, IsJobComplete(job), "IsJobComplete")
			assert.Equal(t, tc.failed, IsJobFailed(job), "IsJobFailed")
			assert.Equal(t, tc.complete, condition.IsTrue(tc.conditions, batch.JobComplete), "condition.IsTrue(Complete)")
			assert.Equal(t, tc.successCriteriaMet, isJobSuccessCriteriaMet(job), "isJobSuccessCriteriaMet")
			assert.Equal(t, tc.interim, isJobFailureTarget(job), "isJobFailureTarget")
		})
	}
	t.Run("nil Job", func(t *testing.T) {
		assert.False(t, IsJobFinished(nil))
		assert.False(t, IsJobComplete(nil))
		assert.False(t, IsJobFailed(nil))
		assert.False(t, condition.IsTrue([]batch.JobCondition(nil), batch.JobComplete))
	})
}
