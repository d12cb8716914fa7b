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
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
)

func TestTableRows(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(d)); return &t }
	cond := func(ct batch.JobConditionType) batch.JobCondition {
		return batch.JobCondition{Type: ct, Status: corev1.ConditionTrue}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*batch.Job)
		want   []interface{} // NAME, STATUS, COMPLETIONS, DURATION, AGE
	}{
		{"new", nil, []interface{}{"pi", "Running", "0/1", "", "5m"}},
		{"running for 2 minutes", func(j *batch.Job) { j.Status.StartTime = at(-2 * time.Minute) }, []interface{}{"pi", "Running", "0/1", "2m", "5m"}},
		{"complete in 45s", func(j *batch.Job) {
			j.Status.StartTime = at(-time.Minute)
			j.Status.CompletionTime = at(-15 * time.Second)
			j.Status.Succeeded = 1
			j.Status.Conditions = []batch.JobCondition{cond(batch.JobSuccessCriteriaMet), cond(batch.JobComplete)}
		}, []interface{}{"pi", "Complete", "1/1", "45s", "5m"}},
		{"failed keeps counting", func(j *batch.Job) {
			j.Status.StartTime = at(-3 * time.Minute)
			j.Status.Conditions = []batch.JobCondition{cond(batch.JobFailureTarget), cond(batch.JobFailed)}
		}, []interface{}{"pi", "Failed", "0/1", "3m", "5m"}},
		{"terminating", func(j *batch.Job) { j.DeletionTimestamp = at(0) }, []interface{}{"pi", "Terminating", "0/1", "", "5m"}},
		{"suspended", func(j *batch.Job) { j.Status.Conditions = []batch.JobCondition{cond(batch.JobSuspended)} }, []interface{}{"pi", "Suspended", "0/1", "", "5m"}},
		{"resumed (Suspended=False)", func(j *batch.Job) {
			j.Status.Conditions = []batch.JobCondition{{Type: batch.JobSuspended, Status: corev1.ConditionFalse}}
		}, []interface{}{"pi", "Running", "0/1", "", "5m"}},
		{"failure target", func(j *batch.Job) { j.Status.Conditions = []batch.JobCondition{cond(batch.JobFailureTarget)} }, []interface{}{"pi", "FailureTarget", "0/1", "", "5m"}},
		{"success criteria met", func(j *batch.Job) { j.Status.Conditions = []batch.JobCondition{cond(batch.JobSuccessCriteriaMet)} }, []interface{}{"pi", "SuccessCriteriaMet", "0/1", "", "5m"}},
		{"completions 5", func(j *batch.Job) { j.Spec.Completions = ptr.To[int32](5); j.Status.Succeeded = 3 }, []interface{}{"pi", "Running", "3/5", "", "5m"}},
		{"any of 3", func(j *batch.Job) { j.Spec.Completions = nil; j.Spec.Parallelism = ptr.To[int32](3) }, []interface{}{"pi", "Running", "0/1 of 3", "", "5m"}},
		{"any of 1", func(j *batch.Job) { j.Spec.Completions = nil; j.Spec.Parallelism = ptr.To[int32](1) }, []interface{}{"pi", "Running", "0/1", "", "5m"}},
		{"no creation time", func(j *batch.Job) { j.CreationTimestamp = metav1.Time{} }, []interface{}{"pi", "Running", "0/1", "", "<unknown>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := validJob()
			job.CreationTimestamp = *at(-5 * time.Minute)
			job.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": "uid-1"}}
			if tc.mutate != nil {
				tc.mutate(job)
			}
			table, err := tableConvertor{now: func() time.Time { return now }}.ConvertToTable(context.Background(), job, nil)
			require.NoError(t, err)
			require.Len(t, table.Rows, 1)
			assert.Equal(t, tc.want, table.Rows[0].Cells[:5])
			assert.Equal(t, []interface{}{"c", "busybox", "batch.kubernetes.io/controller-uid=uid-1"}, table.Rows[0].Cells[5:])
		})
	}
}

func TestTableOptions(t *testing.T) {
	list := &batch.JobList{ListMeta: metav1.ListMeta{ResourceVersion: "42", Continue: "next"}, Items: []batch.Job{*validJob(), *validJob()}}
	list.Items[1].Spec.Template.Spec.Containers = append(list.Items[1].Spec.Template.Spec.Containers, corev1.Container{Name: "d", Image: "nginx"})
	list.Items[1].Spec.Selector = nil
	table, err := tableConvertor{}.ConvertToTable(context.Background(), list, &metav1.TableOptions{})
	require.NoError(t, err)
	assert.Len(t, table.ColumnDefinitions, 8)
	assert.Equal(t, "42", table.ResourceVersion)
	assert.Equal(t, "next", table.Continue)
	require.Len(t, table.Rows, 2)
	assert.Equal(t, []interface{}{"c,d", "busybox,nginx", "<none>"}, table.Rows[1].Cells[5:])

	noHeaders, err := tableConvertor{}.ConvertToTable(context.Background(), list, &metav1.TableOptions{NoHeaders: true})
	require.NoError(t, err)
	assert.Empty(t, noHeaders.ColumnDefinitions)

	_, err = tableConvertor{}.ConvertToTable(context.Background(), list, &metav1.ListOptions{})
	assert.Error(t, err, "unknown table options")
}
