/*
Copyright 2016 The Kubernetes Authors.
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
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
	corevalidation "github.com/jobserver-dev/jobserver/pkg/apis/core/validation"
)

const (
	// maxParallelismForIndexedJob caps parallelism of Indexed Jobs, which
	// caps the length of status.completedIndexes.
	maxParallelismForIndexedJob = 100_000
	// maxFailedIndexesForIndexedJob caps maxFailedIndexes, which caps the
	// length of status.failedIndexes.
	maxFailedIndexesForIndexedJob = 100_000

	completionsSoftLimit                    = 100_000
	parallelismLimitForHighCompletions      = 10_000
	maxFailedIndexesLimitForHighCompletions = 10_000

	// maxManagedByLength is the maximum length of spec.managedBy.
	maxManagedByLength = 63
)

var (
	metadataPath = field.NewPath("metadata")
	specPath     = field.NewPath("spec")
)

// ValidateJobCreate validates a new Job, after the registry generated its
// selector and template labels.
func ValidateJobCreate(job *batch.Job, opts JobValidationOptions) field.ErrorList {
	if job == nil {
		return field.ErrorList{field.InternalError(nil, errors.New("nil Job"))}
	}
	allErrs := validateObjectMeta(&job.ObjectMeta, metadataPath)
	allErrs = append(allErrs, validateGeneratedSelector(job, opts.RequirePrefixedLabels)...)
	allErrs = append(allErrs, validateJobSpec(&job.Spec, specPath, specValidationOptions{})...)
	allErrs = append(allErrs, validateNameAllowsCompletions(job)...)
	return allErrs
}

// ValidateJobUpdate validates an update of oldJob to job through the main
// resource: the new spec must be valid, and the update rules hold
// (immutable fields, completions of Indexed Jobs only in tandem with
// parallelism, the pod template mutable only as opts allow).
func ValidateJobUpdate(job, oldJob *batch.Job, opts JobValidationOptions) field.ErrorList {
	if job == nil || oldJob == nil {
		return field.ErrorList{field.InternalError(nil, errors.New("nil Job"))}
	}
	allErrs := validateObjectMetaUpdate(&job.ObjectMeta, &oldJob.ObjectMeta, metadataPath)
	allErrs = append(allErrs, validateJobSpecUpdate(&job.Spec, &oldJob.Spec, specPath, opts)...)
	allErrs = append(allErrs, validateNameAllowsCompletions(job)...)
	return allErrs
}

// validateObjectMeta checks the Job's metadata: namespaced, name a DNS
// subdomain, valid labels, annotations, owners and finalizers.
func validateObjectMeta(meta *metav1.ObjectMeta, fldPath *field.Path) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMeta(meta, true, apimachineryvalidation.NameIsDNSSubdomain, fldPath)
	return append(allErrs, validateFinalizerNames(meta.Finalizers, fldPath.Child("finalizers"))...)
}

func validateObjectMetaUpdate(newMeta, oldMeta *metav1.ObjectMeta, fldPath *field.Path) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMetaUpdate(newMeta, oldMeta, fldPath)
	return append(allErrs, validateFinalizerNames(newMeta.Finalizers, fldPath.Child("finalizers"))...)
}

// standardFinalizers are the only finalizer names allowed without a domain
// prefix (core validation validateKubeFinalizerName).
var standardFinalizers = sets.New(
	string(corev1.FinalizerKubernetes),
	metav1.FinalizerOrphanDependents,
	metav1.FinalizerDeleteDependents,
)

func validateFinalizerNames(finalizers []string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, name := range finalizers {
		if !strings.Contains(name, "/") && !standardFinalizers.Has(name) {
			allErrs = append(allErrs, field.Invalid(fldPath.Index(i), name, "name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return allErrs
}

// validateGeneratedSelector checks, unless manualSelector is true, that the
// template carries the labels generated from the Job's name and UID and that
// the selector matches them. Automatic generation skips labels the user set,
// so a conflicting user label is caught here.
func validateGeneratedSelector(job *batch.Job, validateBatchLabels bool) field.ErrorList {
	var allErrs field.ErrorList
	if ptr.Deref(job.Spec.ManualSelector, false) {
		return allErrs
	}
	if job.Spec.Selector == nil {
		// Reported by validateJobSpec.
		return allErrs
	}
	// Without a UID the selector would be "controller-uid=", matching any
	// Pod with an empty label.
	if job.UID == "" {
		allErrs = append(allErrs, field.Required(metadataPath.Child("uid"), ""))
	}
	templateMetaPath := specPath.Child("template", "metadata")
	uid, name := string(job.UID), job.Name
	allErrs = append(allErrs, validateHasLabel(job.Spec.Template.Labels, templateMetaPath, names.LegacyControllerUIDLabel, uid)...)
	allErrs = append(allErrs, validateHasLabel(job.Spec.Template.Labels, templateMetaPath, names.LegacyJobNameLabel, name)...)
	expectedLabels := labels.Set{
		names.LegacyControllerUIDLabel: uid,
		names.LegacyJobNameLabel:       name,
	}
	if validateBatchLabels {
		allErrs = append(allErrs, validateHasLabel(job.Spec.Template.Labels, templateMetaPath, names.ControllerUIDLabel, uid)...)
		allErrs = append(allErrs, validateHasLabel(job.Spec.Template.Labels, templateMetaPath, names.JobNameLabel, name)...)
		expectedLabels[names.ControllerUIDLabel] = uid
		expectedLabels[names.JobNameLabel] = name
	}
	if selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector); err == nil && !selector.Matches(expectedLabels) {
		allErrs = append(allErrs, field.Invalid(specPath.Child("selector"), job.Spec.Selector, "`selector` not auto-generated"))
	}
	return allErrs
}

// validateHasLabel requires the label key=expectedValue.
func validateHasLabel(lbls map[string]string, metaPath *field.Path, key, expectedValue string) field.ErrorList {
	actualValue, found := lbls[key]
	if !found {
		return field.ErrorList{field.Required(metaPath.Child("labels").Key(key), fmt.Sprintf("must be '%s'", expectedValue))}
	}
	if actualValue != expectedValue {
		return field.ErrorList{field.Invalid(metaPath.Child("labels").Key(key), lbls, fmt.Sprintf("must be '%s'", expectedValue))}
	}
	return nil
}

// validateNameAllowsCompletions checks that the hostname of the Pod with the
// highest index, "<name>-<completions-1>", is a DNS-1123 label; otherwise the
// controller could not create that Pod.
func validateNameAllowsCompletions(job *batch.Job) field.ErrorList {
	if !isIndexed(&job.Spec) || job.Spec.Completions == nil || *job.Spec.Completions <= 0 {
		return nil
	}
	maximumPodHostname := fmt.Sprintf("%s-%d", job.Name, *job.Spec.Completions-1)
	if errs := utilvalidation.IsDNS1123Label(maximumPodHostname); len(errs) > 0 {
		return field.ErrorList{field.Invalid(metadataPath.Child("name"), job.Name, fmt.Sprintf("will not able to create pod with invalid DNS label: %s", maximumPodHostname))}
	}
	return nil
}

func isIndexed(spec *batch.JobSpec) bool {
	return ptr.Deref(spec.CompletionMode, batch.NonIndexedCompletion) == batch.IndexedCompletion
}

// specValidationOptions relax validateJobSpec on update, for what was
// stored under older, laxer rules.
type specValidationOptions struct {
	// allowInvalidLabelValueInSelector keeps an update of a Job whose stored
	// selector predates stricter label-value validation possible.
	allowInvalidLabelValueInSelector bool
	// storedPodSpec, on update, is the pod spec as stored. It was accepted
	// then; rules added since (by a newer jobserver) must not make the Job
	// impossible to update: to label it, suspend it, let the garbage
	// collector remove its foregroundDeletion finalizer, or change what a
	// suspended Job's template may change. So an unchanged pod spec is not
	// validated again, and a changed one is refused only for errors in the
	// parts it changes or that the stored one did not have
	// (validatePodSpecUpdate). Upstream reaches a similar end with one
	// ratcheting option per tightened rule (pod.GetValidationOptionsFromPodSpecAndMeta).
	storedPodSpec *corev1.PodSpec
}

// validateJobSpec validates a spec on create and update: the field rules,
// the pod template, the required selector and its match with the template
// labels.
func validateJobSpec(spec *batch.JobSpec, fldPath *field.Path, opts specValidationOptions) field.ErrorList {
	allErrs := validateJobSpecFields(spec, fldPath)
	allErrs = append(allErrs, corevalidation.ValidatePodTemplateSpec(&spec.Template, opts.storedPodSpec, fldPath.Child("template"))...)
	allErrs = append(allErrs, validateRestartPolicy(spec, fldPath.Child("template", "spec", "restartPolicy"))...)

	if spec.Selector == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("selector"), ""))
	} else {
		selectorOpts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: opts.allowInvalidLabelValueInSelector}
		allErrs = append(allErrs, metav1validation.ValidateLabelSelector(spec.Selector, selectorOpts, fldPath.Child("selector"))...)
	}
	// Whether manual or generated, the selector must match the Pods the Job
	// creates. A nil selector converts to one that matches nothing.
	if selector, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !selector.Matches(labels.Set(spec.Template.Labels)) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("template", "metadata", "labels"), spec.Template.Labels, "`selector` does not match template `labels`"))
	}
	return allErrs
}

// validateJobSpecFields checks the scalar fields and the policies.
func validateJobSpecFields(spec *batch.JobSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	nonNegative := func(v *int32, name string) {
		if v != nil {
			allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(int64(*v), fldPath.Child(name))...)
		}
	}
	nonNegative(spec.Parallelism, "parallelism")
	nonNegative(spec.Completions, "completions")
	if spec.ActiveDeadlineSeconds != nil {
		allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(*spec.ActiveDeadlineSeconds, fldPath.Child("activeDeadlineSeconds"))...)
	}
	nonNegative(spec.BackoffLimit, "backoffLimit")
	nonNegative(spec.TTLSecondsAfterFinished, "ttlSecondsAfterFinished")
	nonNegative(spec.BackoffLimitPerIndex, "backoffLimitPerIndex")
	if spec.MaxFailedIndexes != nil {
		nonNegative(spec.MaxFailedIndexes, "maxFailedIndexes")
		if spec.BackoffLimitPerIndex == nil {
			allErrs = append(allErrs, field.Required(fldPath.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
		}
	}
	if spec.ManagedBy != nil {
		allErrs = append(allErrs, utilvalidation.IsDomainPrefixedPath(fldPath.Child("managedBy"), *spec.ManagedBy)...)
		if len(*spec.ManagedBy) > maxManagedByLength {
			allErrs = append(allErrs, field.TooLong(fldPath.Child("managedBy"), "", maxManagedByLength))
		}
	}
	if spec.CompletionMode != nil {
		mode := *spec.CompletionMode
		if mode != batch.NonIndexedCompletion && mode != batch.IndexedCompletion {
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("completionMode"), mode, []batch.CompletionMode{batch.NonIndexedCompletion, batch.IndexedCompletion}))
		}
		if mode == batch.IndexedCompletion {
			allErrs = append(allErrs, validateIndexedLimits(spec, fldPath)...)
		}
	}
	if !isIndexed(spec) {
		if spec.BackoffLimitPerIndex != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("backoffLimitPerIndex"), *spec.BackoffLimitPerIndex, "requires indexed completion mode"))
		}
		if spec.MaxFailedIndexes != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, "requires indexed completion mode"))
		}
	}
	if spec.PodFailurePolicy != nil {
		allErrs = append(allErrs, validatePodFailurePolicy(spec, fldPath.Child("podFailurePolicy"))...)
	}
	if spec.SuccessPolicy != nil {
		if !isIndexed(spec) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("successPolicy"), *spec.SuccessPolicy, "requires indexed completion mode"))
		} else {
			allErrs = append(allErrs, validateSuccessPolicy(spec, fldPath.Child("successPolicy"))...)
		}
	}
	allErrs = append(allErrs, validatePodReplacementPolicy(spec, fldPath.Child("podReplacementPolicy"))...)
	return allErrs
}

// validateIndexedLimits checks the rules specific to Indexed Jobs, which
// keep status.completedIndexes and status.failedIndexes bounded.
func validateIndexedLimits(spec *batch.JobSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if spec.Completions == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("completions"), fmt.Sprintf("when completion mode is %s", batch.IndexedCompletion)))
	}
	if spec.Parallelism != nil && *spec.Parallelism > maxParallelismForIndexedJob {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("parallelism"), *spec.Parallelism, fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxParallelismForIndexedJob, batch.IndexedCompletion)))
	}
	if spec.Completions != nil && spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > *spec.Completions {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, "must be less than or equal to completions"))
	}
	if spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > maxFailedIndexesForIndexedJob {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, fmt.Sprintf("must be less than or equal to %d", maxFailedIndexesForIndexedJob)))
	}
	if spec.Completions != nil && *spec.Completions > completionsSoftLimit && spec.BackoffLimitPerIndex != nil {
		if spec.MaxFailedIndexes == nil {
			allErrs = append(allErrs, field.Required(fldPath.Child("maxFailedIndexes"), fmt.Sprintf("must be specified when completions is above %d", completionsSoftLimit)))
		}
		if spec.Parallelism != nil && *spec.Parallelism > parallelismLimitForHighCompletions {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("parallelism"), *spec.Parallelism, fmt.Sprintf("must be less than or equal to %d when completions are above %d and used with backoff limit per index", parallelismLimitForHighCompletions, completionsSoftLimit)))
		}
		if spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > maxFailedIndexesLimitForHighCompletions {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, fmt.Sprintf("must be less than or equal to %d when completions are above %d and used with backoff limit per index", maxFailedIndexesLimitForHighCompletions, completionsSoftLimit)))
		}
	}
	return allErrs
}

// validateRestartPolicy allows only OnFailure and Never for Job Pods, and
// only Never with a podFailurePolicy. "" is reported too, as upstream does:
// the v1 defaults turn it into Always, which a Job rejects.
func validateRestartPolicy(spec *batch.JobSpec, fldPath *field.Path) field.ErrorList {
	policy := spec.Template.Spec.RestartPolicy
	switch {
	case policy == corev1.RestartPolicyAlways || policy == "":
		return field.ErrorList{field.Required(fldPath, fmt.Sprintf("valid values: %q, %q", corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever))}
	case policy != corev1.RestartPolicyOnFailure && policy != corev1.RestartPolicyNever:
		return field.ErrorList{field.NotSupported(fldPath, policy, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever})}
	case spec.PodFailurePolicy != nil && policy != corev1.RestartPolicyNever:
		return field.ErrorList{field.Invalid(fldPath, policy, fmt.Sprintf("only %q is supported when podFailurePolicy is specified", corev1.RestartPolicyNever))}
	}
	return nil
}

// validateJobSpecUpdate validates the new spec and the update rules.
func validateJobSpecUpdate(spec, oldSpec *batch.JobSpec, fldPath *field.Path, opts JobValidationOptions) field.ErrorList {
	allErrs := validateJobSpec(spec, fldPath, specValidationOptions{
		allowInvalidLabelValueInSelector: metav1validation.LabelSelectorHasInvalidLabelValue(oldSpec.Selector),
		storedPodSpec:                    &oldSpec.Template.Spec,
	})
	allErrs = append(allErrs, validateCompletionsUpdate(spec, oldSpec, fldPath.Child("completions"))...)
	allErrs = append(allErrs, apimachineryvalidation.ValidateImmutableField(spec.Selector, oldSpec.Selector, fldPath.Child("selector"))...)
	allErrs = append(allErrs, validatePodTemplateUpdate(spec, oldSpec, fldPath, opts)...)
	allErrs = append(allErrs, apimachineryvalidation.ValidateImmutableField(spec.CompletionMode, oldSpec.CompletionMode, fldPath.Child("completionMode"))...)
	allErrs = append(allErrs, apimachineryvalidation.ValidateImmutableField(spec.PodFailurePolicy, oldSpec.PodFailurePolicy, fldPath.Child("podFailurePolicy"))...)
	allErrs = append(allErrs, apimachineryvalidation.ValidateImmutableField(spec.BackoffLimitPerIndex, oldSpec.BackoffLimitPerIndex, fldPath.Child("backoffLimitPerIndex"))...)
	allErrs = append(allErrs, apimachineryvalidation.ValidateImmutableField(spec.ManagedBy, oldSpec.ManagedBy, fldPath.Child("managedBy"))...)
	allErrs = append(allErrs, apimachineryvalidation.ValidateImmutableField(spec.SuccessPolicy, oldSpec.SuccessPolicy, fldPath.Child("successPolicy"))...)
	return allErrs
}

// validateCompletionsUpdate: completions is immutable for NonIndexed Jobs.
// An Indexed Job is elastic: completions may change, but only to the new
// parallelism, so the Job scales as a whole.
func validateCompletionsUpdate(spec, oldSpec *batch.JobSpec, fldPath *field.Path) field.ErrorList {
	if !isIndexed(spec) {
		return apimachineryvalidation.ValidateImmutableField(spec.Completions, oldSpec.Completions, fldPath)
	}
	if apiequality.Semantic.DeepEqual(spec.Completions, oldSpec.Completions) {
		return nil
	}
	// An Indexed Job without completions is reported by validateJobSpec.
	if spec.Completions == nil {
		return nil
	}
	if !ptr.Equal(spec.Completions, spec.Parallelism) {
		return field.ErrorList{field.Invalid(fldPath, spec.Completions, fmt.Sprintf("can only be modified in tandem with %s", fldPath.Root().Child("parallelism")))}
	}
	return nil
}

// validatePodTemplateUpdate enforces template immutability. When the old Job
// was suspended and opts allow it
// (docs/job-semantics.md#template-updates-of-a-suspended-job), the
// scheduling directives (node affinity, node selector, tolerations,
// scheduling gates), the template labels and annotations, and the
// containers' resources may change. The old suspend value decides, so a Job
// can be edited and resumed in one update.
func validatePodTemplateUpdate(spec, oldSpec *batch.JobSpec, fldPath *field.Path, opts JobValidationOptions) field.ErrorList {
	var allowed corevalidation.MutableParts
	if opts.AllowMutableSchedulingDirectives {
		allowed |= corevalidation.SchedulingDirectives
	}
	if ptr.Deref(oldSpec.Suspend, false) && opts.AllowMutablePodResources {
		allowed |= corevalidation.PodResources
	}
	return corevalidation.ValidatePodTemplateUpdate(&spec.Template, &oldSpec.Template, allowed, fldPath.Child("template"))
}
