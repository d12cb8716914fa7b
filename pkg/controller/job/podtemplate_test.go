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
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

func TestNewPod(t *testing.T) {
	indexEnv := corev1.EnvVar{Name: "JOB_COMPLETION_INDEX", ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['batch.kubernetes.io/job-completion-index']"},
	}}
	withTemplate := func(j *batchv1.Job) {
		j.Spec.Template.Labels["app"] = "quiz"
		j.Spec.Template.Annotations = map[string]string{"note": "x"}
		j.Spec.Template.Finalizers = []string{"example.com/keep"}
		j.Spec.Template.Spec.Subdomain = "workers"
		j.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init"}}
	}
	cases := []struct {
		name  string
		job   *batchv1.Job
		index *int
		check func(t *testing.T, p *corev1.Pod)
	}{
		{
			name: "NonIndexed: template copied, finalizer, ownership label, controller ownerRef",
			job:  newJob(withTemplate),
			check: func(t *testing.T, p *corev1.Pod) {
				assert.Equal(t, "ns", p.Namespace)
				assert.Equal(t, "job-", p.GenerateName)
				assert.Empty(t, p.Name)
				assert.Equal(t, "quiz", p.Labels["app"])
				assert.Equal(t, "job-uid", p.Labels[names.PodOwnershipLabel])
				assert.Equal(t, "job-uid", p.Labels[names.ControllerUIDLabel])
				assert.Equal(t, map[string]string{"note": "x"}, p.Annotations)
				assert.Equal(t, []string{"example.com/keep", names.JobTrackingFinalizer}, p.Finalizers)
				assert.Equal(t, []metav1.OwnerReference{{
					APIVersion: "batch.jobserver.dev/v1", Kind: "Job", Name: "job", UID: "job-uid",
					Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
				}}, p.OwnerReferences)
				assert.Empty(t, p.Spec.Hostname)
				assert.Empty(t, p.Spec.Containers[0].Env)
				assert.NotContains(t, p.Labels, names.JobCompletionIndexAnnotation)
			},
		},
		{
			name:  "Indexed: index label, annotation, hostname, env on every container",
			job:   newJob(withTemplate, indexed(), completions(5)),
			index: ptr.To(3),
			check: func(t *testing.T, p *corev1.Pod) {
				assert.Equal(t, "job-3-", p.GenerateName)
				assert.Equal(t, "3", p.Labels[names.JobCompletionIndexAnnotation])
				assert.Equal(t, "3", p.Annotations[names.JobCompletionIndexAnnotation])
				assert.Equal(t, "job-3", p.Spec.Hostname)
				assert.Equal(t, "workers", p.Spec.Subdomain, "the template's subdomain is kept")
				assert.Equal(t, []corev1.EnvVar{indexEnv}, p.Spec.Containers[0].Env)
				assert.Equal(t, []corev1.EnvVar{indexEnv}, p.Spec.InitContainers[0].Env)
				assert.NotContains(t, p.Annotations, names.JobIndexFailureCountAnnotation)
			},
		},
		{
			name: "Indexed: an existing JOB_COMPLETION_INDEX is not duplicated",
			job: newJob(indexed(), completions(2), func(j *batchv1.Job) {
				j.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "JOB_COMPLETION_INDEX", Value: "mine"}}
			}),
			index: ptr.To(0),
			check: func(t *testing.T, p *corev1.Pod) {
				assert.Equal(t, []corev1.EnvVar{{Name: "JOB_COMPLETION_INDEX", Value: "mine"}}, p.Spec.Containers[0].Env)
			},
		},
		{
			name:  "backoffLimitPerIndex: failure count starts at 0",
			job:   newJob(indexed(), completions(2), perIndexLimit(1)),
			index: ptr.To(1),
			check: func(t *testing.T, p *corev1.Pod) {
				assert.Equal(t, "0", p.Annotations[names.JobIndexFailureCountAnnotation])
				assert.NotContains(t, p.Annotations, names.JobIndexIgnoredFailureCountAnnotation)
			},
		},
		{
			name: "long names: the job part of generateName is truncated to 58 characters",
			job: newJob(indexed(), completions(20), func(j *batchv1.Job) {
				j.Name = strings.Repeat("a", 60)
			}),
			index: ptr.To(12),
			check: func(t *testing.T, p *corev1.Pod) {
				assert.Equal(t, strings.Repeat("a", 54)+"-12-", p.GenerateName)
				assert.Len(t, p.GenerateName, 58)
				assert.Equal(t, strings.Repeat("a", 60)+"-12", p.Spec.Hostname)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			template := tc.job.Spec.Template.DeepCopy()
			p := NewPod(tc.job, tc.index)
			require.NotNil(t, p)
			tc.check(t, p)
			assert.Equal(t, template, &tc.job.Spec.Template, "the Job's template is not modified")
		})
	}
}
