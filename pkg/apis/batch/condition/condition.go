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

// Package condition looks up Job conditions, for the internal API (the
// registry, validation) and the v1 API (the controller) alike: both
// JobCondition types have the methods of Condition. It is a leaf: it
// imports none of the API packages.
package condition

import corev1 "k8s.io/api/core/v1"

// The condition types the helpers below know by name; equal to the
// JobComplete and JobFailed constants of both APIs.
const (
	Complete = "Complete"
	Failed   = "Failed"
)

// Condition is a Job condition whose type is a T.
type Condition[T ~string] interface {
	ConditionType() T
	ConditionStatus() corev1.ConditionStatus
}

// Find returns the condition of type t in list, or nil. The result points
// into list, so callers may change it in place.
func Find[C Condition[T], T ~string](list []C, t T) *C {
	for i := range list {
		if list[i].ConditionType() == t {
			return &list[i]
		}
	}
	return nil
}

// FindTrue returns the first condition of type t in list whose status is
// True (a list may repeat a type; as upstream, any True one counts).
func FindTrue[C Condition[T], T ~string](list []C, t T) *C {
	return find(list, t, corev1.ConditionTrue)
}

// IsTrue reports whether list has a condition of type t with status True.
func IsTrue[C Condition[T], T ~string](list []C, t T) bool {
	return find(list, t, corev1.ConditionTrue) != nil
}

// IsFalse reports whether list has a condition of type t with status False.
func IsFalse[C Condition[T], T ~string](list []C, t T) bool {
	return find(list, t, corev1.ConditionFalse) != nil
}

func find[C Condition[T], T ~string](list []C, t T, status corev1.ConditionStatus) *C {
	for i := range list {
		if list[i].ConditionType() == t && list[i].ConditionStatus() == status {
			return &list[i]
		}
	}
	return nil
}

// Finished returns the True Complete condition, else the True Failed one,
// else nil: a Job with either has finished.
func Finished[C Condition[T], T ~string](list []C) *C {
	if c := FindTrue(list, T(Complete)); c != nil {
		return c
	}
	return FindTrue(list, T(Failed))
}
