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

package integration

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	typedbatchv1 "github.com/jobserver-dev/jobserver/pkg/generated/clientset/versioned/typed/batch/v1"
)

// testJobLogs checks jobs/log up to where a kubelet is needed (the e2e
// tests read real lines from kwok's simulated containers): discovery, the
// query parameters decoded and checked against the Job, and the clear
// refusals when there is nothing to read.
func testJobLogs(t *testing.T, env *controllerEnv) {
	ctx, jt := env.setup(t, "logs")
	jobs := jt.jobs.BatchV1().Jobs(jt.ns)

	resources, err := jt.jobs.Discovery().ServerResourcesForGroupVersion(batchv1.SchemeGroupVersion.String())
	require.NoError(t, err)
	var verbs []string
	for _, r := range resources.APIResources {
		if r.Name == "jobs/log" {
			verbs = r.Verbs
		}
	}
	assert.Equal(t, []string{"get"}, verbs, "jobs/log in discovery")

	// A suspended Job has no pods: 404 saying why, not an empty 200.
	suspended := newJob("suspended")
	suspended.Spec.Suspend = ptr.To(true)
	jt.create(ctx, suspended)
	_, err = readLogs(ctx, jobs, "suspended", &batchv1.JobLogOptions{})
	require.True(t, apierrors.IsNotFound(err), "want 404, got %v", err)
	assert.Contains(t, err.Error(), `job "suspended" has no pods to read logs from: it is suspended`)

	_, err = readLogs(ctx, jobs, "missing", &batchv1.JobLogOptions{})
	require.True(t, apierrors.IsNotFound(err), "want 404, got %v", err)
	assert.Contains(t, err.Error(), `jobs.batch.jobserver.dev "missing" not found`)

	// A running Job whose pod no kubelet started (there is none here).
	job := jt.create(ctx, newJob("pending"))
	pod := jt.waitActivePods(ctx, job, 1)[0]
	_, err = readLogs(ctx, jobs, "pending", &batchv1.JobLogOptions{})
	require.True(t, apierrors.IsBadRequest(err), "want 400, got %v", err)
	assert.Contains(t, err.Error(), `no container of job "pending"'s pods has started yet: pod/`+pod.Name+`/main (Pending)`)

	// Bad parameters: 422 naming the parameter, decoded from the query.
	for name, tc := range map[string]struct {
		opts  batchv1.JobLogOptions
		field string
	}{
		"negative tailLines":  {batchv1.JobLogOptions{TailLines: ptr.To[int64](-1)}, "tailLines"},
		"zero sinceSeconds":   {batchv1.JobLogOptions{SinceSeconds: ptr.To[int64](0)}, "sinceSeconds"},
		"container and all":   {batchv1.JobLogOptions{Container: "main", AllContainers: true}, "allContainers"},
		"unknown container":   {batchv1.JobLogOptions{Container: "nope"}, "container"},
		"index of NonIndexed": {batchv1.JobLogOptions{Index: ptr.To[int64](0)}, "index"},
		"negative index":      {batchv1.JobLogOptions{Index: ptr.To[int64](-1)}, "index"},
	} {
		_, err := readLogs(ctx, jobs, "pending", &tc.opts)
		requireInvalid(t, err, tc.field)
		assert.Contains(t, err.Error(), "JobLogOptions", name)
	}

	indexed := newJob("indexed")
	indexed.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	indexed.Spec.Completions = ptr.To[int32](2)
	indexed.Spec.Suspend = ptr.To(true)
	jt.create(ctx, indexed)
	_, err = readLogs(ctx, jobs, "indexed", &batchv1.JobLogOptions{Index: ptr.To[int64](2)})
	requireInvalid(t, err, "index")
	assert.Contains(t, err.Error(), "must be less than spec.completions (2)")
	_, err = readLogs(ctx, jobs, "indexed", &batchv1.JobLogOptions{Index: ptr.To[int64](1)})
	require.True(t, apierrors.IsNotFound(err), "want 404, got %v", err)
	assert.Contains(t, err.Error(), `job "indexed" index 1 has no pods to read logs from: it is suspended`)
}

// readLogs reads jobs/log as clients do (Stream decodes a Status error;
// DoRaw would not).
func readLogs(ctx context.Context, jobs typedbatchv1.JobInterface, name string, opts *batchv1.JobLogOptions) (string, error) {
	r, err := jobs.GetLogs(name, opts).Stream(ctx)
	if err != nil {
		return "", err
	}
	defer func() { _ = r.Close() }()
	b, err := io.ReadAll(r)
	return string(b), err
}
