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

// Package job holds the registry of the batch.jobserver.dev Job: its create,
// update and status strategies, its etcd storage and its table columns.
package job

import (
	"context"
	"fmt"
	"maps"
	"strconv"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	storagenames "k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/validation"
)

// jobStrategy implements the create, update and delete behaviour of Jobs.
type jobStrategy struct {
	runtime.ObjectTyper
	storagenames.NameGenerator
}

// NewStrategy returns the strategy for the main Job resource.
func NewStrategy(typer runtime.ObjectTyper) jobStrategy {
	return jobStrategy{typer, storagenames.SimpleNameGenerator}
}

// DefaultGarbageCollectionPolicy is Background: deleting a Job deletes its
// Pods unless the client asks otherwise. (batch/v1 orphans for legacy
// reasons; a new API has no such legacy.)
func (jobStrategy) DefaultGarbageCollectionPolicy(ctx context.Context) rest.GarbageCollectionPolicy {
	return rest.DeleteDependents
}

// NamespaceScoped is true: Jobs live in namespaces.
func (jobStrategy) NamespaceScoped() bool { return true }

// GetResetFields makes server-side apply on the main resource ignore status.
func (jobStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		"batch.jobserver.dev/v1": fieldpath.NewSet(fieldpath.MakePathOrDie("status")),
	}
}

// PrepareForCreate clears the status, sets the generation and, unless the
// user manages the selector, generates the selector and template labels.
func (jobStrategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	job := obj.(*batch.Job)
	job.Status = batch.JobStatus{}
	job.Generation = 1
	dropDisabledTemplateFields(&job.Spec.Template, nil)
	if job.Spec.ManualSelector == nil || !*job.Spec.ManualSelector {
		generateSelector(job)
	}
	// Defaulting gives a Job without labels its template's labels each time
	// it is decoded, generated ones included. Store them now, so the stored
	// Job is the one users see and the first no-op apply writes nothing.
	if len(job.Labels) == 0 && len(job.Spec.Template.Labels) > 0 {
		job.Labels = maps.Clone(job.Spec.Template.Labels)
	}
}

// generateSelector adds the job-name and controller-uid template labels
// (prefixed and legacy) unless present, and selects on the prefixed UID label.
func generateSelector(job *batch.Job) {
	if job.Spec.Template.Labels == nil {
		job.Spec.Template.Labels = make(map[string]string)
	}
	for _, key := range []string{names.LegacyJobNameLabel, names.JobNameLabel} {
		if _, found := job.Spec.Template.Labels[key]; !found {
			job.Spec.Template.Labels[key] = job.Name
		}
	}
	for _, key := range []string{names.LegacyControllerUIDLabel, names.ControllerUIDLabel} {
		if _, found := job.Spec.Template.Labels[key]; !found {
			job.Spec.Template.Labels[key] = string(job.UID)
		}
	}
	if job.Spec.Selector == nil {
		job.Spec.Selector = &metav1.LabelSelector{}
	}
	if job.Spec.Selector.MatchLabels == nil {
		job.Spec.Selector.MatchLabels = make(map[string]string)
	}
	if _, found := job.Spec.Selector.MatchLabels[names.ControllerUIDLabel]; !found {
		job.Spec.Selector.MatchLabels[names.ControllerUIDLabel] = string(job.UID)
	}
}

// PrepareForUpdate keeps the stored status (it changes only through /status)
// and bumps the generation when, and only when, the spec changed.
func (jobStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	job := obj.(*batch.Job)
	oldJob := old.(*batch.Job)
	job.Status = oldJob.Status
	dropDisabledTemplateFields(&job.Spec.Template, &oldJob.Spec.Template)
	if !apiequality.Semantic.DeepEqual(job.Spec, oldJob.Spec) {
		job.Generation = oldJob.Generation + 1
	}
}

// Validate validates a new Job.
func (jobStrategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	job := obj.(*batch.Job)
	return validation.ValidateJobCreate(job, validation.JobCreateValidationOptions(job))
}

// WarningsOnCreate returns warnings for a new Job.
func (jobStrategy) WarningsOnCreate(ctx context.Context, obj runtime.Object) []string {
	return validation.WarningsForJob(obj.(*batch.Job), nil)
}

// Canonicalize normalizes nothing: the versioned defaults already did.
func (jobStrategy) Canonicalize(obj runtime.Object) {}

// AllowCreateOnUpdate is false: PUT to a missing Job is NotFound.
func (jobStrategy) AllowCreateOnUpdate(ctx context.Context) bool { return false }

// AllowUnconditionalUpdate allows updates without a resourceVersion.
func (jobStrategy) AllowUnconditionalUpdate(ctx context.Context) bool { return true }

// ValidateUpdate validates an update, including the immutable fields.
func (jobStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	job := obj.(*batch.Job)
	oldJob := old.(*batch.Job)
	return validation.ValidateJobUpdate(job, oldJob, validation.JobUpdateValidationOptions(job, oldJob))
}

// WarningsOnUpdate warns, as on create, when the spec changed.
func (jobStrategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	job := obj.(*batch.Job)
	oldJob := old.(*batch.Job)
	if job.Generation == oldJob.Generation {
		return nil
	}
	return validation.WarningsForJob(job, oldJob)
}

// jobStatusStrategy implements updates of the /status subresource.
type jobStatusStrategy struct {
	jobStrategy
}

// NewStatusStrategy returns the strategy for the /status subresource.
func NewStatusStrategy(strategy jobStrategy) jobStatusStrategy {
	return jobStatusStrategy{strategy}
}

// GetResetFields makes server-side apply on /status ignore the spec.
func (jobStatusStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		"batch.jobserver.dev/v1": fieldpath.NewSet(fieldpath.MakePathOrDie("spec")),
	}
}

// PrepareForUpdate keeps the stored spec: /status never changes the spec.
func (jobStatusStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	obj.(*batch.Job).Spec = old.(*batch.Job).Spec
}

// ValidateUpdate validates a status update.
func (jobStatusStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	job := obj.(*batch.Job)
	oldJob := old.(*batch.Job)
	return validation.ValidateJobUpdateStatus(job, oldJob, validation.StatusValidationOptions(job, oldJob))
}

// WarningsOnUpdate returns no warnings for status updates.
func (jobStatusStrategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return nil
}

// ToSelectableFields returns the fields a field selector can use.
func ToSelectableFields(job *batch.Job) fields.Set {
	objectMetaFieldsSet := generic.ObjectMetaFieldsSet(&job.ObjectMeta, true)
	return generic.MergeFieldsSets(objectMetaFieldsSet, fields.Set{
		"status.successful": strconv.Itoa(int(job.Status.Succeeded)),
	})
}

// GetAttrs returns the labels and selectable fields of a Job.
func GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	job, ok := obj.(*batch.Job)
	if !ok {
		return nil, nil, fmt.Errorf("given object is not a Job but %T", obj)
	}
	return labels.Set(job.Labels), ToSelectableFields(job), nil
}

// MatchJob is the filter used by list and watch.
func MatchJob(label labels.Selector, field fields.Selector) storage.SelectionPredicate {
	return storage.SelectionPredicate{Label: label, Field: field, GetAttrs: GetAttrs}
}
