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

package app

import (
	"encoding/json"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/apitesting/fuzzer"
	metafuzzer "k8s.io/apimachinery/pkg/apis/meta/fuzzer"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

func TestJobName(t *testing.T) {
	for _, args := range [][]string{{"job", "pi"}, {"jobs", "pi"}, {"job/pi"}, {"jsjob/pi"}, {"jobs.batch.jobserver.dev", "pi"}} {
		name, err := jobName(args)
		require.NoError(t, err, "%q", args)
		assert.Equal(t, "pi", name)
	}
	for _, args := range [][]string{{"pi"}, {"pod", "pi"}, {"job/"}, {"job"}, {"job", "a", "b"}, {"cronjob/pi"}} {
		_, err := jobName(args)
		assert.Error(t, err, "%q", args)
	}
}

// TestAsBuiltinJobKeepsEveryField: a jobserver Job with every field set
// reads as a batch/v1 Job that serializes to the same JSON, so kubectl's
// describer sees all of it.
func TestAsBuiltinJobKeepsEveryField(t *testing.T) {
	scheme := runtime.NewScheme()
	require.NoError(t, batchv1.AddToScheme(scheme))
	seed := rand.Int63()
	t.Logf("seed %d", seed)
	f := fuzzer.FuzzerFor(metafuzzer.Funcs, rand.NewSource(seed), serializer.NewCodecFactory(scheme))
	for range 100 {
		job := &batchv1.Job{}
		f.Fill(job)
		builtin, err := asBuiltinJob(job)
		require.NoError(t, err)
		assert.Equal(t, "batch/v1", builtin.APIVersion)
		job.APIVersion, job.Kind = builtin.APIVersion, builtin.Kind
		want, err := json.Marshal(job)
		require.NoError(t, err)
		got, err := json.Marshal(builtin)
		require.NoError(t, err)
		require.JSONEq(t, string(want), string(got))
	}
}
