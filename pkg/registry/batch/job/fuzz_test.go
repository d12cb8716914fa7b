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
	"context"
	"os"
	"path/filepath"
	"testing"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/install"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

// The fuzz targets run the path of a request body through the registry:
// decode (JSON or YAML) → default → convert → PrepareForCreate/Update →
// validate, as rest.BeforeCreate and rest.BeforeUpdate do in the server.
// `go test` runs their seed corpus (the example manifests and the invalid
// cases below, plus testdata/fuzz); `make test-fuzz` fuzzes each for a few
// seconds, and longer runs are in the README.

var (
	fuzzScheme = func() *runtime.Scheme {
		s := runtime.NewScheme()
		install.Install(s)
		metav1.AddToGroupVersion(s, batchv1.SchemeGroupVersion)
		return s
	}()
	fuzzCodecs   = serializer.NewCodecFactory(fuzzScheme)
	fuzzDecoder  = fuzzCodecs.UniversalDecoder(batch.SchemeGroupVersion)
	fuzzEncoder  = fuzzCodecs.LegacyCodec(batchv1.SchemeGroupVersion)
	fuzzStrategy = NewStrategy(fuzzScheme)
)

// invalidSeeds are request bodies that must be refused, each for another
// rule, so the fuzzer starts near the validation's edges.
var invalidSeeds = []string{
	`{"apiVersion":"batch.jobserver.dev/v1","kind":"Job","metadata":{"name":"x"},"spec":{"template":{"spec":{"restartPolicy":"Always","containers":[{"name":"c","image":"i"}]}}}}`,
	`{"apiVersion":"batch.jobserver.dev/v1","kind":"Job","metadata":{"name":"x"},"spec":{"completionMode":"Indexed","completions":3,"parallelism":-1,"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"i"}]}}}}`,
	`{"apiVersion":"batch.jobserver.dev/v1","kind":"Job","metadata":{"name":"x"},"spec":{"completionMode":"Indexed","completions":3,"successPolicy":{"rules":[{"succeededIndexes":"2-1,0"}]},"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"i"}]}}}}`,
	`{"apiVersion":"batch.jobserver.dev/v1","kind":"Job","metadata":{"name":"x"},"spec":{"backoffLimitPerIndex":1,"maxFailedIndexes":5,"completions":2,"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"i"}]}}}}`,
	`{"apiVersion":"batch.jobserver.dev/v1","kind":"Job","metadata":{"name":"x"},"spec":{"podFailurePolicy":{"rules":[{"action":"FailIndex","onExitCodes":{"operator":"In","values":[0]}}]},"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"i"}]}}}}`,
	`{"apiVersion":"batch.jobserver.dev/v1","kind":"Job","metadata":{"name":"x"},"spec":{"manualSelector":true,"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"c"}},"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"i"}]}}}}`,
	`{"apiVersion":"batch.jobserver.dev/v1","kind":"Job","metadata":{"generateName":"x-"},"status":{"succeeded":5},"spec":{"ttlSecondsAfterFinished":-1,"activeDeadlineSeconds":0,"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"i","resources":{"limits":{"cpu":"1"},"requests":{"cpu":"2"}}}]}}}}`,
}

// exampleSeeds are the repository's example Job manifests.
func exampleSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "..", "artifacts", "examples", "job.*.yaml"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no example manifests found: %v", err)
	}
	var seeds [][]byte
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, data)
	}
	return seeds
}

func fuzzContext() context.Context {
	return genericapirequest.WithNamespace(genericapirequest.NewContext(), "default")
}

// decodeJob decodes a request body into the internal Job, defaulted, as
// the server does; ok is false for what the server refuses to decode.
func decodeJob(data []byte) (*batch.Job, bool) {
	obj, _, err := fuzzDecoder.Decode(data, nil, nil)
	if err != nil {
		return nil, false
	}
	job, ok := obj.(*batch.Job)
	if ok && job.Namespace == "" {
		job.Namespace = "default"
	}
	return job, ok
}

// create runs what the server runs before storing a new Job: the store
// fills UID and creation time, then BeforeCreate.
func create(job *batch.Job) error {
	rest.FillObjectMetaSystemFields(job)
	return rest.BeforeCreate(fuzzStrategy, fuzzContext(), job)
}

// FuzzCreate: no body panics the create path, and a Job the server accepts
// is still accepted when read back and submitted again (what it stores
// round-trips through v1 and passes its own validation).
func FuzzCreate(f *testing.F) {
	for _, seed := range exampleSeeds(f) {
		f.Add(seed)
	}
	for _, seed := range invalidSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		job, ok := decodeJob(data)
		if !ok {
			return
		}
		if err := create(job); err != nil {
			return
		}
		stored, err := runtime.Encode(fuzzEncoder, job)
		if err != nil {
			t.Fatalf("encoding an accepted Job: %v", err)
		}
		back, ok := decodeJob(stored)
		if !ok {
			t.Fatalf("an accepted Job does not decode again:\n%s", stored)
		}
		if !apiequality.Semantic.DeepEqual(job.Spec, back.Spec) {
			t.Fatalf("the spec changed through storage:\n%s", stored)
		}
		if errs := fuzzStrategy.Validate(fuzzContext(), back); len(errs) > 0 {
			t.Fatalf("an accepted Job fails validation when read back: %v\n%s", errs, stored)
		}
	})
}

// FuzzUpdate: no pair of bodies panics the update path (the old one
// accepted as a create first, as a stored Job was).
func FuzzUpdate(f *testing.F) {
	seeds := exampleSeeds(f)
	for i, seed := range seeds {
		f.Add(seed, seeds[(i+1)%len(seeds)])
		f.Add(seed, seed)
	}
	for _, seed := range invalidSeeds {
		f.Add(seeds[0], []byte(seed))
	}
	f.Fuzz(func(t *testing.T, oldData, newData []byte) {
		old, ok := decodeJob(oldData)
		if !ok || create(old) != nil {
			return
		}
		updated, ok := decodeJob(newData)
		if !ok {
			return
		}
		updated.Name, updated.Namespace = old.Name, old.Namespace
		updated.UID, updated.ResourceVersion = old.UID, "1"
		old.ResourceVersion = "1"
		_ = rest.BeforeUpdate(fuzzStrategy, fuzzContext(), updated, old)
	})
}

// TestFuzzSeeds keeps the fuzz harness honest: every example manifest
// passes the create path and every invalid seed is refused, so the fuzzers
// start on both sides of the validation.
func TestFuzzSeeds(t *testing.T) {
	for i, data := range exampleSeeds(t) {
		job, ok := decodeJob(data)
		if !ok {
			t.Fatalf("example %d does not decode", i)
		}
		if err := create(job); err != nil {
			t.Errorf("example %d (%s) is refused: %v", i, job.Name, err)
		}
	}
	for i, seed := range invalidSeeds {
		job, ok := decodeJob([]byte(seed))
		if !ok {
			t.Fatalf("invalid seed %d does not decode", i)
		}
		if err := create(job); err == nil {
			t.Errorf("invalid seed %d is accepted", i)
		}
	}
}
