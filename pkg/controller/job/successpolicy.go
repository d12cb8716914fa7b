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
	"fmt"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

// matchSuccessPolicy returns upstream's "Matched rules at index i" message
// for the first rule the succeeded indexes satisfy. A rule with
// succeededIndexes matches when all of them succeeded, or at least
// succeededCount of them; a rule with only succeededCount matches when that
// many indexes succeeded in total.
func matchSuccessPolicy(policy *batchv1.SuccessPolicy, completions int, succeeded orderedIntervals) (string, bool) {
	if policy == nil || len(succeeded) == 0 {
		return "", false
	}
	for i, rule := range policy.Rules {
		matched := false
		switch {
		case rule.SucceededIndexes != nil:
			required := parseIndexes(*rule.SucceededIndexes, completions)
			if len(required) == 0 {
				continue
			}
			matched = matchSucceededIndexesRule(required, succeeded, rule.SucceededCount)
		case rule.SucceededCount != nil:
			matched = succeeded.total() >= int(*rule.SucceededCount)
		}
		if matched {
			return fmt.Sprintf("Matched rules at index %d", i), true
		}
	}
	return "", false
}

// matchSucceededIndexesRule counts how many of the required indexes
// succeeded.
func matchSucceededIndexesRule(required, succeeded orderedIntervals, succeededCount *int32) bool {
	contains := 0
	r, s := 0, 0
	for r < len(required) && s < len(succeeded) {
		if overlap := min(required[r].Last, succeeded[s].Last) - max(required[r].First, succeeded[s].First) + 1; overlap > 0 {
			contains += overlap
		}
		switch {
		case succeeded[s].Last < required[r].Last:
			s++
		case succeeded[s].Last > required[r].Last:
			r++
		default:
			s++
			r++
		}
	}
	return contains == required.total() || (succeededCount != nil && contains >= int(*succeededCount))
}
