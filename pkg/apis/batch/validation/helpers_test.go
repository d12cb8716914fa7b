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
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/install"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

const (
	testUID       = types.UID("1a2b3c")
	testName      = "myjob"
	testNamespace = "default"
)

// wantErr describes an expected validation error: its type, its exact field
// path and, if set, a substring of its detail.
type wantErr struct {
	typ    field.ErrorType
	field  string
	detail string
}

func (w wantErr) String() string { return fmt.Sprintf("%s %s", w.typ, w.field) }

// assertErrors asserts that got holds exactly the errors of want (type and
// field, in any order), and that each detail contains the expected text.
func assertErrors(t *testing.T, got field.ErrorList, want ...wantErr) {
	t.Helper()
	gotKeys := make([]string, 0, len(got))
	for _, e := range got {
		gotKeys = append(gotKeys, fmt.Sprintf("%s %s", e.Type, e.Field))
	}
	wantKeys := make([]string, 0, len(want))
	for _, w := range want {
		wantKeys = append(wantKeys, w.String())
	}
	if !assert.ElementsMatch(t, wantKeys, gotKeys, "errors: %v", got) {
		return
	}
	for _, w := range want {
		if w.detail == "" {
			continue
		}
		found := false
		for _, e := range got {
			if e.Type == w.typ && e.Field == w.field && strings.Contains(e.Error(), w.detail) {
				found = true
				break
			}
		}
		assert.True(t, found, "no %s error with detail %q in %v", w, w.detail, got)
	}
}

func required(path string, detail ...string) wantErr {
	return wantErr{typ: field.ErrorTypeRequired, field: path, detail: strings.Join(detail, "")}
}

func invalid(path string, detail ...string) wantErr {
	return wantErr{typ: field.ErrorTypeInvalid, field: path, detail: strings.Join(detail, "")}
}

func notSupported(path string, detail ...string) wantErr {
	return wantErr{typ: field.ErrorTypeNotSupported, field: path, detail: strings.Join(detail, "")}
}

func duplicate(path string) wantErr {
	return wantErr{typ: field.ErrorTypeDuplicate, field: path}
}

func notFound(path string) wantErr {
	return wantErr{typ: field.ErrorTypeNotFound, field: path}
}

func forbidden(path string, detail ...string) wantErr {
	return wantErr{typ: field.ErrorTypeForbidden, field: path, detail: strings.Join(detail, "")}
}

func tooMany(path string) wantErr {
	return wantErr{typ: field.ErrorTypeTooMany, field: path}
}

func tooLong(path string) wantErr {
	return wantErr{typ: field.ErrorTypeTooLong, field: path}
}

// generatedLabels are the template labels the registry generates.
func generatedLabels(name string, uid types.UID) map[string]string {
	return map[string]string{
		names.LegacyJobNameLabel:       name,
		names.JobNameLabel:             name,
		names.LegacyControllerUIDLabel: string(uid),
		names.ControllerUIDLabel:       string(uid),
	}
}

// validPodTemplate is a defaulted template with one container.
func validPodTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: generatedLabels(testName, testUID)},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyOnFailure,
			DNSPolicy:                     corev1.DNSClusterFirst,
			TerminationGracePeriodSeconds: ptr.To[int64](30),
			SchedulerName:                 corev1.DefaultSchedulerName,
			SecurityContext:               &corev1.PodSecurityContext{},
			Containers: []corev1.Container{{
				Name:                     "main",
				Image:                    "busybox",
				ImagePullPolicy:          corev1.PullIfNotPresent,
				TerminationMessagePath:   corev1.TerminationMessagePathDefault,
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			}},
		},
	}
}

// validJob is a defaulted NonIndexed Job as PrepareForCreate leaves it.
func validJob() *batch.Job {
	return &batch.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:       testName,
			Namespace:  testNamespace,
			UID:        testUID,
			Generation: 1,
		},
		Spec: batch.JobSpec{
			Parallelism:          ptr.To[int32](1),
			Completions:          ptr.To[int32](1),
			BackoffLimit:         ptr.To[int32](6),
			CompletionMode:       ptr.To(batch.NonIndexedCompletion),
			Suspend:              ptr.To(false),
			ManualSelector:       ptr.To(false),
			PodReplacementPolicy: ptr.To(batch.TerminatingOrFailed),
			Selector: &metav1.LabelSelector{
				MatchLabels: map[string]string{names.ControllerUIDLabel: string(testUID)},
			},
			Template: validPodTemplate(),
		},
	}
}

// validIndexedJob is validJob in Indexed mode.
func validIndexedJob(completions, parallelism int32) *batch.Job {
	job := validJob()
	job.Spec.CompletionMode = ptr.To(batch.IndexedCompletion)
	job.Spec.Completions = ptr.To(completions)
	job.Spec.Parallelism = ptr.To(parallelism)
	return job
}

// jobWith returns validJob changed by mutate.
func jobWith(mutate func(*batch.Job)) *batch.Job {
	job := validJob()
	mutate(job)
	return job
}

// indexedJobWith returns validIndexedJob(completions, parallelism) changed by
// mutate.
func indexedJobWith(completions, parallelism int32, mutate func(*batch.Job)) *batch.Job {
	job := validIndexedJob(completions, parallelism)
	mutate(job)
	return job
}

// jobFromManifest builds the internal Job the registry would validate for a
// manifest: decoded as batch.jobserver.dev/v1, defaulted, converted to the
// hub version, and prepared for create (status reset, generated selector and
// labels).
func jobFromManifest(t *testing.T, manifest string, namespace string, uid types.UID) *batch.Job {
	t.Helper()
	scheme := runtime.NewScheme()
	install.Install(scheme)

	var external batchv1.Job
	require.NoError(t, yaml.UnmarshalStrict([]byte(manifest), &external))
	require.Equal(t, "batch.jobserver.dev/v1", external.APIVersion)
	batchv1.SetObjectDefaults_Job(&external)

	job := &batch.Job{}
	require.NoError(t, scheme.Convert(&external, job, nil))
	job.Namespace = namespace
	job.UID = uid
	prepareForCreate(job)
	return job
}

// prepareForCreate simulates the registry strategy's PrepareForCreate.
func prepareForCreate(job *batch.Job) {
	job.Status = batch.JobStatus{}
	job.Generation = 1
	if ptr.Deref(job.Spec.ManualSelector, false) {
		return
	}
	if job.Spec.Template.Labels == nil {
		job.Spec.Template.Labels = map[string]string{}
	}
	for key, value := range generatedLabels(job.Name, job.UID) {
		if _, found := job.Spec.Template.Labels[key]; !found {
			job.Spec.Template.Labels[key] = value
		}
	}
	if job.Spec.Selector == nil {
		job.Spec.Selector = &metav1.LabelSelector{}
	}
	if job.Spec.Selector.MatchLabels == nil {
		job.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, found := job.Spec.Selector.MatchLabels[names.ControllerUIDLabel]; !found {
		job.Spec.Selector.MatchLabels[names.ControllerUIDLabel] = string(job.UID)
	}
}

func TestFixturesAreValid(t *testing.T) {
	fixtures := map[string]*batch.Job{
		"validJob":        validJob(),
		"validIndexedJob": validIndexedJob(5, 2),
	}
	for name, job := range fixtures {
		t.Run(name, func(t *testing.T) {
			assertErrors(t, ValidateJobCreate(job, JobCreateValidationOptions(job)))
			assert.Empty(t, WarningsForJob(job, nil))
		})
	}
}
