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

package validation

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
)

// ValidateJobLogOptions checks the query parameters of jobs/log on their
// own, as pods/log checks its own (tailLines, sinceSeconds); what depends
// on the Job (index of an Indexed Job, a container of its Pods) is checked
// by the registry against the Job.
func ValidateJobLogOptions(opts *batch.JobLogOptions) field.ErrorList {
	var allErrs field.ErrorList
	if opts.AllContainers && opts.Container != "" {
		allErrs = append(allErrs, field.Invalid(field.NewPath("allContainers"), opts.AllContainers,
			"may not be set together with container"))
	}
	if opts.Index != nil && *opts.Index < 0 {
		allErrs = append(allErrs, field.Invalid(field.NewPath("index"), *opts.Index,
			"must be greater than or equal to 0"))
	}
	if opts.TailLines != nil && *opts.TailLines < 0 {
		allErrs = append(allErrs, field.Invalid(field.NewPath("tailLines"), *opts.TailLines,
			"must be greater than or equal to 0"))
	}
	if opts.SinceSeconds != nil && *opts.SinceSeconds < 1 {
		allErrs = append(allErrs, field.Invalid(field.NewPath("sinceSeconds"), *opts.SinceSeconds,
			"must be greater than 0"))
	}
	return allErrs
}
