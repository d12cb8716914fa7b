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

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

// TTLRemaining reports whether ttlSecondsAfterFinished applies to job at
// now and how long is left until the Job expires (≤0: expired). It applies
// when the TTL is set, the Job is not being deleted and has a True Complete
// or Failed condition with a transition time; expiry is that time plus the
// TTL (upstream ttlafterfinished). The executor calls it again on a live GET
// before deleting, so a TTL changed in the meantime is honoured.
func TTLRemaining(job *batchv1.Job, now time.Time) (time.Duration, bool) {
	if job.Spec.TTLSecondsAfterFinished == nil || job.DeletionTimestamp != nil {
		return 0, false
	}
	c := condition.Finished(job.Status.Conditions)
	if c == nil || c.LastTransitionTime.IsZero() {
		return 0, false
	}
	expireAt := c.LastTransitionTime.Add(time.Duration(*job.Spec.TTLSecondsAfterFinished) * time.Second)
	return expireAt.Sub(now), true
}
