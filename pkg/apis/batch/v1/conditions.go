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

package v1

import corev1 "k8s.io/api/core/v1"

// ConditionType is the condition's type, for pkg/apis/batch/condition.
func (c JobCondition) ConditionType() JobConditionType { return c.Type }

// ConditionStatus is the condition's status, for pkg/apis/batch/condition.
func (c JobCondition) ConditionStatus() corev1.ConditionStatus { return c.Status }
