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
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

// maxGeneratedNameLength is the longest generateName the API server keeps
// whole before appending its 5 random characters (63 − 5).
const maxGeneratedNameLength = 58

// completionIndexFieldPath is the downward-API path of the index label.
var completionIndexFieldPath = fmt.Sprintf("metadata.labels['%s']", names.JobCompletionIndexAnnotation)

// NewPod builds the pod the controller creates for job; index is nil for a
// NonIndexed Job. The pod has:
//   - the template's labels, annotations, finalizers and spec (deep copies);
//   - the tracking finalizer batch.jobserver.dev/job-tracking;
//   - the ownership label batch.jobserver.dev/controller-uid=<job uid>;
//   - a controller ownerRef to the Job (blockOwnerDeletion);
//   - generateName "<job>-".
//
// Indexed pods also get generateName "<job>-<index>-" (the job part truncated
// so it fits 58 characters), the job-completion-index label and annotation,
// hostname "<job>-<index>" (the template's subdomain is kept), and the env
// JOB_COMPLETION_INDEX from the label on every container and init container.
// With backoffLimitPerIndex the job-index-failure-count annotation starts at
// "0"; Decide raises it for a replacement.
func NewPod(job *batchv1.Job, index *int) *corev1.Pod {
	template := job.Spec.Template.DeepCopy()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:    job.Namespace,
			GenerateName: podGenerateName(job.Name),
			Labels:       make(map[string]string, len(template.Labels)+2),
			Annotations:  make(map[string]string, len(template.Annotations)+2),
			Finalizers:   template.Finalizers,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion:         batchv1.SchemeGroupVersion.String(),
				Kind:               "Job",
				Name:               job.Name,
				UID:                job.UID,
				Controller:         ptr.To(true),
				BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: template.Spec,
	}
	for k, v := range template.Labels {
		pod.Labels[k] = v
	}
	for k, v := range template.Annotations {
		pod.Annotations[k] = v
	}
	pod.Labels[names.PodOwnershipLabel] = string(job.UID)
	if !hasTrackingFinalizer(pod) {
		pod.Finalizers = append(pod.Finalizers, names.JobTrackingFinalizer)
	}
	if index == nil {
		return pod
	}
	ix := strconv.Itoa(*index)
	pod.GenerateName = podGenerateNameWithIndex(job.Name, *index)
	pod.Labels[names.JobCompletionIndexAnnotation] = ix
	pod.Annotations[names.JobCompletionIndexAnnotation] = ix
	pod.Spec.Hostname = fmt.Sprintf("%s-%d", job.Name, *index)
	for i := range pod.Spec.InitContainers {
		addCompletionIndexEnv(&pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		addCompletionIndexEnv(&pod.Spec.Containers[i])
	}
	if job.Spec.BackoffLimitPerIndex != nil {
		pod.Annotations[names.JobIndexFailureCountAnnotation] = "0"
	}
	return pod
}

// setIndexFailureCounts records the failures of the index a pod replaces:
// job-index-failure-count always, job-index-ignored-failure-count only when
// some failure was ignored.
func setIndexFailureCounts(pod *corev1.Pod, counted, ignored int32) {
	pod.Annotations[names.JobIndexFailureCountAnnotation] = strconv.Itoa(int(counted))
	if ignored > 0 {
		pod.Annotations[names.JobIndexIgnoredFailureCountAnnotation] = strconv.Itoa(int(ignored))
	}
}

func addCompletionIndexEnv(c *corev1.Container) {
	for _, e := range c.Env {
		if e.Name == names.JobCompletionIndexEnv {
			return
		}
	}
	c.Env = append(c.Env, corev1.EnvVar{
		Name:      names.JobCompletionIndexEnv,
		ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: completionIndexFieldPath}},
	})
}

// podGenerateName is "<job>-", or the bare job name when the dash would make
// it an invalid name prefix (as upstream's getPodsPrefix).
func podGenerateName(jobName string) string {
	prefix := jobName + "-"
	if len(validation.IsDNS1123Subdomain(prefix[:len(prefix)-1]+"a")) != 0 {
		return jobName
	}
	return prefix
}

// podGenerateNameWithIndex is "<job>-<index>-", with the job name cut so the
// whole prefix fits maxGeneratedNameLength.
func podGenerateNameWithIndex(jobName string, index int) string {
	suffix := "-" + strconv.Itoa(index) + "-"
	prefix := jobName + suffix
	if len(prefix) > maxGeneratedNameLength {
		prefix = prefix[:maxGeneratedNameLength-len(suffix)] + suffix
	}
	return prefix
}
