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

package condition_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

// TestNamesMatchTheAPIs: the names Finished looks for are the APIs'.
func TestNamesMatchTheAPIs(t *testing.T) {
	assert.Equal(t, condition.Complete, string(batch.JobComplete))
	assert.Equal(t, condition.Failed, string(batch.JobFailed))
	assert.Equal(t, condition.Complete, string(batchv1.JobComplete))
	assert.Equal(t, condition.Failed, string(batchv1.JobFailed))
}

func TestHelpersOnBothAPIs(t *testing.T) {
	internal := []batch.JobCondition{
		{Type: batch.JobSuspended, Status: corev1.ConditionFalse},
		{Type: batch.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded"},
	}
	assert.True(t, condition.IsTrue(internal, batch.JobFailed))
	assert.False(t, condition.IsTrue(internal, batch.JobSuspended))
	assert.True(t, condition.IsFalse(internal, batch.JobSuspended))
	assert.False(t, condition.IsFalse(internal, batch.JobComplete), "absent is neither True nor False")
	assert.Equal(t, "BackoffLimitExceeded", condition.Finished(internal).Reason)

	v1 := []batchv1.JobCondition{
		{Type: batchv1.JobFailed, Status: corev1.ConditionFalse},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue},
	}
	assert.Equal(t, batchv1.JobComplete, condition.Finished(v1).Type)
	c := condition.Find(v1, batchv1.JobFailed)
	c.Reason = "changed in place"
	assert.Equal(t, "changed in place", v1[0].Reason)
	assert.Nil(t, condition.FindTrue(v1, batchv1.JobFailed))
	assert.Nil(t, condition.Finished([]batchv1.JobCondition(nil)))
	assert.Nil(t, condition.Find([]batch.JobCondition(nil), batch.JobComplete))

	// A type may repeat; as upstream, any True one counts.
	repeated := []batchv1.JobCondition{
		{Type: batchv1.JobFailed, Status: corev1.ConditionFalse},
		{Type: batchv1.JobFailed, Status: corev1.ConditionTrue},
	}
	assert.True(t, condition.IsTrue(repeated, batchv1.JobFailed))
	assert.True(t, condition.IsFalse(repeated, batchv1.JobFailed))
	assert.Same(t, &repeated[1], condition.Finished(repeated))
	assert.Same(t, &repeated[0], condition.Find(repeated, batchv1.JobFailed), "Find returns the first")
}
