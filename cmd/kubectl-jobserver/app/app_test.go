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
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/apitesting/fuzzer"
	metafuzzer "k8s.io/apimachinery/pkg/apis/meta/fuzzer"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"

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

// TestPrintJobLogs turns jobs/log's tagged lines into what kubectl logs
// prints: "[pod/POD/CONTAINER] line" with --prefix (no index, as kubectl),
// the bare line without.
func TestPrintJobLogs(t *testing.T) {
	body := "[pod/a-0-xyz12/main index=0] first\n" +
		"[pod/a-1-abc34/main index=1] 2026-01-01T00:00:00Z second ] with a bracket\n" +
		"[pod/b-qwe56/side] third, no index, no newline"
	var out, errOut strings.Builder
	require.NoError(t, printJobLogs(strings.NewReader(body), &out, &errOut, true))
	assert.Equal(t, "[pod/a-0-xyz12/main] first\n"+
		"[pod/a-1-abc34/main] 2026-01-01T00:00:00Z second ] with a bracket\n"+
		"[pod/b-qwe56/side] third, no index, no newline", out.String())
	out.Reset()
	require.NoError(t, printJobLogs(strings.NewReader(body), &out, &errOut, false))
	assert.Equal(t, "first\n2026-01-01T00:00:00Z second ] with a bracket\nthird, no index, no newline", out.String())
	assert.Empty(t, errOut.String())

	// A log jobserver could not read: said on stderr with its Pod, and the
	// command fails after printing the rest, as kubectl logs does.
	out.Reset()
	err := printJobLogs(strings.NewReader("[pod/a-0-xyz12/main index=0] jobserver: cannot read this log: gone\n[pod/a-1-abc34/main index=1] ok\n"), &out, &errOut, false)
	assert.ErrorIs(t, err, errSomeLogsUnreadable)
	assert.Equal(t, "ok\n", out.String())
	assert.Equal(t, "[pod/a-0-xyz12/main] jobserver: cannot read this log: gone\n", errOut.String())
}

// TestJobLogOptions maps kubectl logs flags to the query of jobs/log.
func TestJobLogOptions(t *testing.T) {
	cmd := newLogsCommand(nil, nil, genericiooptions.NewTestIOStreamsDiscard())
	require.NoError(t, cmd.ParseFlags([]string{"-c", "main", "-f", "--timestamps", "--tail", "5", "--since", "1500ms"}))
	opts, err := jobLogOptions(cmd, 3)
	require.NoError(t, err)
	assert.Equal(t, &batchv1.JobLogOptions{
		Container: "main", Follow: true, Timestamps: true,
		TailLines: ptr.To[int64](5), SinceSeconds: ptr.To[int64](2), Index: ptr.To[int64](3),
	}, opts)

	cmd = newLogsCommand(nil, nil, genericiooptions.NewTestIOStreamsDiscard())
	require.NoError(t, cmd.ParseFlags([]string{"--tail", "-2"}))
	_, err = jobLogOptions(cmd, -1)
	assert.EqualError(t, err, "--tail must be greater than or equal to -1", "as kubectl")

	cmd = newLogsCommand(nil, nil, genericiooptions.NewTestIOStreamsDiscard())
	require.NoError(t, cmd.ParseFlags([]string{"--all-containers"}))
	opts, err = jobLogOptions(cmd, -1)
	require.NoError(t, err)
	assert.Equal(t, &batchv1.JobLogOptions{AllContainers: true}, opts, "no --tail: every line; no --index: every pod")
}
