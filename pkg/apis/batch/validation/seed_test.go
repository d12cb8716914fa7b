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
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
)

// chapterListings are the Job manifests of the Jobs chapter, as shipped in
// artifacts/examples/ (the batch.jobserver.dev group): the file and, for a
// file of several Jobs, the Job's name.
var chapterListings = map[string]struct{ file, name string }{
	"Listing 17.1 quiz-init":                           {"job.quiz-init.yaml", "quiz-init"},
	"Listing 17.2 demo-suspend":                        {"job.demo-suspend.yaml", "demo-suspend"},
	"Listing 17.3 generate-responses":                  {"job.generate-responses.yaml", "generate-responses"},
	"Listing 17.4 demo-always-fails":                   {"job.demo-always-fails.yaml", "demo-always-fails"},
	"Listing 17.5 demo-deadline":                       {"job.demo-deadline.yaml", "demo-deadline"},
	"Listing 17.7 aggregate-responses-2020 (month 12)": {"job.aggregate-responses-2020.generated.yaml", "aggregate-responses-2020-12"},
	"Listing 17.8 aggregate-responses-2021":            {"job.aggregate-responses-2021.yaml", "aggregate-responses-2021"},
	"Listing 17.10 aggregate-responses-queue-coarse":   {"job.aggregate-responses-queue-coarse.yaml", "aggregate-responses-queue-coarse"},
	"Listing 17.12 aggregate-responses-queue-fine":     {"job.aggregate-responses-queue-fine.yaml", "aggregate-responses-queue-fine"},
	"Listing 17.15 comm-demo":                          {"job.comm-demo.yaml", "comm-demo"},
}

// chapterListing returns the manifest of the named listing, read from
// artifacts/examples/.
func chapterListing(t *testing.T, listing string) string {
	t.Helper()
	l, ok := chapterListings[listing]
	require.True(t, ok, "no listing %q", listing)
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "artifacts", "examples", l.file))
	require.NoError(t, err)
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		var meta metav1.PartialObjectMetadata
		require.NoError(t, yaml.Unmarshal(doc, &meta))
		if meta.Kind == "Job" && meta.Name == l.name {
			return string(doc)
		}
	}
	t.Fatalf("%s has no Job %s", l.file, l.name)
	return ""
}

// TestChapterListingsAreValid: every Job of the chapter is accepted on
// create, and on an update that changes nothing, with no warnings.
func TestChapterListingsAreValid(t *testing.T) {
	require.Len(t, chapterListings, 10)
	for name := range chapterListings {
		t.Run(name, func(t *testing.T) {
			job := jobFromManifest(t, chapterListing(t, name), "kiada", types.UID("0b7c5a3e-9c8e-4a53-b3a4-6f1f2f2f0d11"))

			assertErrors(t, ValidateJobCreate(job, JobCreateValidationOptions(job)))
			assert.Empty(t, WarningsForJob(job, nil))

			updated := job.DeepCopy()
			updated.ResourceVersion = "2"
			oldJob := job.DeepCopy()
			oldJob.ResourceVersion = "1"
			assertErrors(t, ValidateJobUpdate(updated, oldJob, JobUpdateValidationOptions(updated, oldJob)))
		})
	}
}

// TestChapterListingDefaults pins the defaults the listings are validated
// with, so the test above exercises what the API server would store.
func TestChapterListingDefaults(t *testing.T) {
	const uid = types.UID("uid-1")
	fine := jobFromManifest(t, chapterListing(t, "Listing 17.12 aggregate-responses-queue-fine"), "kiada", uid)
	assert.Nil(t, fine.Spec.Completions, "completions stay nil when only parallelism is set")
	assert.Equal(t, ptr.To[int32](3), fine.Spec.Parallelism)
	assert.Equal(t, ptr.To[int32](6), fine.Spec.BackoffLimit)
	assert.Equal(t, ptr.To(batch.NonIndexedCompletion), fine.Spec.CompletionMode)
	assert.Equal(t, ptr.To(batch.TerminatingOrFailed), fine.Spec.PodReplacementPolicy)
	assert.Equal(t, map[string]string{names.ControllerUIDLabel: string(uid)}, fine.Spec.Selector.MatchLabels)
	assert.Equal(t, generatedLabels("aggregate-responses-queue-fine", uid), fine.Spec.Template.Labels)

	suspended := jobFromManifest(t, chapterListing(t, "Listing 17.2 demo-suspend"), "kiada", uid)
	assert.Equal(t, ptr.To(true), suspended.Spec.Suspend)
	assert.Equal(t, ptr.To[int32](1), suspended.Spec.Completions)
	assert.Equal(t, ptr.To[int32](1), suspended.Spec.Parallelism)

	quizInit := jobFromManifest(t, chapterListing(t, "Listing 17.1 quiz-init"), "kiada", uid)
	assert.Equal(t, "quiz", quizInit.Spec.Template.Labels["app"])
	assert.Equal(t, map[string]string{"app": "quiz", "task": "init"}, quizInit.Labels)
}

// TestChapterListingsRejectedVariants: small edits of the chapter's Jobs
// that the API must reject.
func TestChapterListingsRejectedVariants(t *testing.T) {
	const uid = types.UID("uid-1")
	cases := map[string]struct {
		listing string
		mutate  func(*batch.Job)
		want    []wantErr
	}{
		"17.2 without restartPolicy (defaulted to Always)": {
			listing: "Listing 17.2 demo-suspend",
			mutate:  func(j *batch.Job) { j.Spec.Template.Spec.RestartPolicy = "Always" },
			want:    []wantErr{required("spec.template.spec.restartPolicy", `valid values: "OnFailure", "Never"`)},
		},
		"17.8 with 64 completions and a long name": {
			listing: "Listing 17.8 aggregate-responses-2021",
			mutate: func(j *batch.Job) {
				j.Name = "aggregate-responses-2021-aggregate-responses-2021-aggregate-r"
				j.Spec.Template.Labels = generatedLabels(j.Name, j.UID)
				j.Spec.Completions = ptr.To[int32](1000)
			},
			want: []wantErr{invalid("metadata.name", "will not able to create pod with invalid DNS label")},
		},
		"17.8 without completions": {
			listing: "Listing 17.8 aggregate-responses-2021",
			mutate:  func(j *batch.Job) { j.Spec.Completions = nil },
			want:    []wantErr{required("spec.completions", "when completion mode is Indexed")},
		},
		"17.15 with an invalid subdomain": {
			listing: "Listing 17.15 comm-demo",
			mutate:  func(j *batch.Job) { j.Spec.Template.Spec.Subdomain = "demo_service" },
			want:    []wantErr{invalid("spec.template.spec.subdomain")},
		},
		"17.10 mounting a volume that does not exist": {
			listing: "Listing 17.10 aggregate-responses-queue-coarse",
			mutate:  func(j *batch.Job) { j.Spec.Template.Spec.Volumes[0].Name = "scripts" },
			want:    []wantErr{notFound("spec.template.spec.containers[0].volumeMounts[0].name")},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			job := jobFromManifest(t, chapterListing(t, tc.listing), "kiada", uid)
			tc.mutate(job)
			assertErrors(t, ValidateJobCreate(job, JobCreateValidationOptions(job)), tc.want...)
		})
	}
}
