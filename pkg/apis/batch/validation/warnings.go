/*
Copyright 2021 The Kubernetes Authors.
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
	"fmt"

	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	corevalidation "github.com/jobserver-dev/jobserver/pkg/apis/core/validation"
)

const parallelismSoftLimitForUnlimitedCompletions = 10_000

// WarningsForJob returns the warnings for creating job (oldJob nil) or
// updating oldJob to job. The strategy asks for update warnings only when
// the generation changed. The name warning is given on create only, as
// upstream: the name cannot change.
func WarningsForJob(job, oldJob *batch.Job) []string {
	if job == nil {
		return nil
	}
	var warnings []string
	if oldJob == nil {
		if msgs := utilvalidation.IsDNS1123Label(job.Name); len(msgs) != 0 {
			warnings = append(warnings, fmt.Sprintf("metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: %v", msgs))
		}
	}
	return append(warnings, warningsForJobSpec(specPath, &job.Spec)...)
}

func warningsForJobSpec(fldPath *field.Path, spec *batch.JobSpec) []string {
	var warnings []string
	if isIndexed(spec) {
		completions := ptr.Deref(spec.Completions, 0)
		parallelism := ptr.Deref(spec.Parallelism, 0)
		if completions > completionsSoftLimit && parallelism > parallelismSoftLimitForUnlimitedCompletions {
			warnings = append(warnings, fmt.Sprintf("%s: In Indexed Jobs with a number of completions higher than 10^5 and a parallelism higher than 10^4, Kubernetes might not be able to track completedIndexes when a big number of indexes fail", fldPath))
		}
	}
	return append(warnings, corevalidation.WarningsForPodTemplate(fldPath.Child("template"), &spec.Template)...)
}
