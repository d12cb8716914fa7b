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
	"testing"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
)

// The Job manifests of the Jobs chapter (/work/shared/seed/jobs-chapter.txt),
// in the batch.jobserver.dev group. Elided parts ("...") are filled with
// what the chapter's files contain in spirit.
var chapterListings = map[string]string{
	"Listing 17.1 quiz-init": `
apiVersion: batch.jobserver.dev/v1
kind: Job
metadata:
  name: quiz-init
  labels:
    app: quiz
    task: init
spec:
  template:
    metadata:
      labels:
        app: quiz
        task: init
    spec:
      restartPolicy: OnFailure
      initContainers:
      - name: init
        image: mongo:5
        command:
        - sh
        - -c
        - |
          mongosh mongodb://quiz-0.quiz-pods.kiada.svc.cluster.local --quiet --file /dev/stdin <<EOF
          EOF
      containers:
      - name: import
        image: mongo:5
        command:
        - mongoimport
        - mongodb+srv://quiz-pods.kiada.svc.cluster.local/kiada?tls=false
        - --collection
        - questions
        - --file
        - /questions.json
        - --drop
`,
	"Listing 17.2 demo-suspend": `
apiVersion: batch.jobserver.dev/v1
kind: Job
metadata:
  name: demo-suspend
spec:
  suspend: true
  template:
    spec:
      restartPolicy: OnFailure
      containers:
      - name: demo
        image: busybox
        command:
        - sleep
        - "60"
`,
	"Listing 17.3 generate-responses": `
apiVersion: batch.jobserver.dev/v1
kind: Job
metadata:
  name: generate-responses
  labels:
    app: quiz
spec:
  completions: 5
  parallelism: 2
  template:
    metadata:
      labels:
        app: quiz
    spec:
      restartPolicy: OnFailure
      containers:
      - name: mongo
        image: mongo:5
        command:
        - mongosh
        - mongodb+srv://quiz-pods.kiada.svc.cluster.local/kiada?tls=false
        - --quiet
        - --file
        - /script.js
`,
	"Listing 17.4 demo-always-fails": `
apiVersion: batch.jobserver.dev/v1
kind: Job
metadata:
  name: demo-always-fails
spec:
  completions: 10
  parallelism: 3
  template:
    spec:
      restartPolicy: OnFailure
      containers:
      - name: demo
        image: busybox
        command:
        - 'false'
`,
	"Listing 17.5 demo-deadline": `
apiVersion: batch.jobserver.dev/v1
kind: Job
metadata:
  name: demo-deadline
spec:
  completions: 2
  parallelism: 1
  activeDeadlineSeconds: 90
  template:
    spec:
      restartPolicy: OnFailure
      containers:
      - name: demo-suspend
        image: busybox
        command:
        - sleep
        - "60"
`,
	"Listing 17.7 aggregate-responses-2020 (month 12)": `
apiVersion: batch.jobserver.dev/v1
kind: Job
metadata:
  name: aggregate-responses-2020-12
spec:
  completionMode: NonIndexed
  template:
    spec:
      restartPolicy: OnFailure
      containers:
      - name: updater
        image: mongo:5
        env:
        - name: YEAR
          value: "2020"
        - name: MONTH
          value: "12"
        command:
        - mongosh
        - mongodb+srv://quiz-pods.kiada.svc.cluster.local/kiada?tls=false
        - --quiet
        - --file
        - /script.js
        volumeMounts:
        - name: script
          subPath: script.js
          mountPath: /script.js
      volumes:
      - name: script
        configMap:
          name: aggregate-responses-2020
`,
	"Listing 17.8 aggregate-responses-2021": `
apiVersion: batch.jobserver.dev/v1
kind: Job
metadata:
  name: aggregate-responses-2021
  labels:
    app: aggregate-responses
    year: "2021"
spec:
  completionMode: Indexed
  completions: 12
  parallelism: 3
  template:
    metadata:
      labels:
        app: aggregate-responses
        year: "2021"
    spec:
      restartPolicy: OnFailure
      containers:
      - name: updater
        image: mongo:5
        env:
        - name: YEAR
          value: "2021"
        command:
        - mongosh
        - mongodb+srv://quiz-pods.kiada.svc.cluster.local/kiada?tls=false
        - --quiet
        - --file
        - /script.js
        volumeMounts:
        - name: script
          subPath: script.js
          mountPath: /script.js
      volumes:
      - name: script
        configMap:
          name: aggregate-responses-indexed
`,
	"Listing 17.10 aggregate-responses-queue-coarse": `
apiVersion: batch.jobserver.dev/v1
kind: Job
metadata:
  name: aggregate-responses-queue-coarse
spec:
  completions: 6
  parallelism: 3
  template:
    spec:
      restartPolicy: OnFailure
      containers:
      - name: processor
        image: mongo:5
        command:
        - mongosh
        - mongodb+srv://quiz-pods.kiada.svc.cluster.local/kiada?tls=false
        - --quiet
        - --file
        - /script.js
        volumeMounts:
        - name: script
          subPath: script.js
          mountPath: /script.js
      volumes:
      - name: script
        configMap:
          name: aggregate-responses-queue-coarse
`,
	"Listing 17.12 aggregate-responses-queue-fine": `
apiVersion: batch.jobserver.dev/v1
kind: Job
metadata:
  name: aggregate-responses-queue-fine
spec:
  parallelism: 3
  template:
    spec:
      restartPolicy: OnFailure
      containers:
      - name: processor
        image: mongo:5
        command:
        - mongosh
        - mongodb+srv://quiz-pods.kiada.svc.cluster.local/kiada?tls=false
        - --quiet
        - --file
        - /script.js
        volumeMounts:
        - name: script
          subPath: script.js
          mountPath: /script.js
      volumes:
      - name: script
        configMap:
          name: aggregate-responses-queue-fine
`,
	"Listing 17.15 comm-demo": `
apiVersion: batch.jobserver.dev/v1
kind: Job
metadata:
  name: comm-demo
spec:
  completionMode: Indexed
  completions: 2
  parallelism: 2
  template:
    spec:
      subdomain: demo-service
      restartPolicy: Never
      containers:
      - name: comm-demo
        image: busybox
        command:
        - sleep
        - "600"
`,
}

// TestChapterListingsAreValid: every Job of the chapter is accepted on
// create, and on an update that changes nothing, with no warnings.
func TestChapterListingsAreValid(t *testing.T) {
	require.Len(t, chapterListings, 10)
	for name, manifest := range chapterListings {
		t.Run(name, func(t *testing.T) {
			job := jobFromManifest(t, manifest, "kiada", types.UID("0b7c5a3e-9c8e-4a53-b3a4-6f1f2f2f0d11"))

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
	fine := jobFromManifest(t, chapterListings["Listing 17.12 aggregate-responses-queue-fine"], "kiada", uid)
	assert.Nil(t, fine.Spec.Completions, "completions stay nil when only parallelism is set")
	assert.Equal(t, ptr.To[int32](3), fine.Spec.Parallelism)
	assert.Equal(t, ptr.To[int32](6), fine.Spec.BackoffLimit)
	assert.Equal(t, ptr.To(batch.NonIndexedCompletion), fine.Spec.CompletionMode)
	assert.Equal(t, ptr.To(batch.TerminatingOrFailed), fine.Spec.PodReplacementPolicy)
	assert.Equal(t, map[string]string{names.ControllerUIDLabel: string(uid)}, fine.Spec.Selector.MatchLabels)
	assert.Equal(t, generatedLabels("aggregate-responses-queue-fine", uid), fine.Spec.Template.Labels)

	suspended := jobFromManifest(t, chapterListings["Listing 17.2 demo-suspend"], "kiada", uid)
	assert.Equal(t, ptr.To(true), suspended.Spec.Suspend)
	assert.Equal(t, ptr.To[int32](1), suspended.Spec.Completions)
	assert.Equal(t, ptr.To[int32](1), suspended.Spec.Parallelism)

	quizInit := jobFromManifest(t, chapterListings["Listing 17.1 quiz-init"], "kiada", uid)
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
			job := jobFromManifest(t, chapterListings[tc.listing], "kiada", uid)
			tc.mutate(job)
			assertErrors(t, ValidateJobCreate(job, JobCreateValidationOptions(job)), tc.want...)
		})
	}
}
