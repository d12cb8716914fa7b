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
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
)

// columns are upstream's Job columns (pkg/printers/internalversion): kubectl
// shows the priority-0 ones, and the rest with -o wide.
var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	{Name: "Status", Type: "string", Description: "Status of the job."},
	{Name: "Completions", Type: "string", Description: "The number of pods which reached phase Succeeded, out of the completions wanted."},
	{Name: "Duration", Type: "string", Description: "Time required to complete the job."},
	{Name: "Age", Type: "string", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
	{Name: "Containers", Type: "string", Priority: 1, Description: "Names of each container in the template."},
	{Name: "Images", Type: "string", Priority: 1, Description: "Images referenced by each container in the template."},
	{Name: "Selector", Type: "string", Priority: 1, Description: "A label query over pods that should match the pod count."},
}

// tableConvertor renders Jobs as the server-side table kubectl prints.
type tableConvertor struct {
	now func() time.Time
}

// ConvertToTable converts a Job or a JobList into a table.
func (c tableConvertor) ConvertToTable(ctx context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	table := &metav1.Table{}
	if opts, ok := tableOptions.(*metav1.TableOptions); !ok && tableOptions != nil {
		return nil, fmt.Errorf("unrecognized type %T for table options, can't display tabular output", tableOptions)
	} else if opts == nil || !opts.NoHeaders {
		table.ColumnDefinitions = columns
	}
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	switch t := obj.(type) {
	case *batch.Job:
		table.Rows = []metav1.TableRow{jobRow(t, now())}
	case *batch.JobList:
		table.Rows = make([]metav1.TableRow, 0, len(t.Items))
		for i := range t.Items {
			table.Rows = append(table.Rows, jobRow(&t.Items[i], now()))
		}
	default:
		return nil, fmt.Errorf("no table conversion for %T", obj)
	}
	if m, err := meta.ListAccessor(obj); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
		table.Continue = m.GetContinue()
		table.RemainingItemCount = m.GetRemainingItemCount()
	} else if m, err := meta.CommonAccessor(obj); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
	}
	return table, nil
}

func jobRow(job *batch.Job, now time.Time) metav1.TableRow {
	names := make([]string, 0, len(job.Spec.Template.Spec.Containers))
	images := make([]string, 0, len(job.Spec.Template.Spec.Containers))
	for _, c := range job.Spec.Template.Spec.Containers {
		names = append(names, c.Name)
		images = append(images, c.Image)
	}
	return metav1.TableRow{
		Object: runtime.RawExtension{Object: job},
		Cells: []interface{}{
			job.Name,
			jobStatus(job),
			completions(job),
			jobDuration(job, now),
			age(job.CreationTimestamp, now),
			strings.Join(names, ","),
			strings.Join(images, ","),
			metav1.FormatLabelSelector(job.Spec.Selector),
		},
	}
}

// jobStatus is the STATUS column: the first of these that applies.
func jobStatus(job *batch.Job) string {
	has := func(t batch.JobConditionType) bool { return condition.IsTrue(job.Status.Conditions, t) }
	switch {
	case has(batch.JobComplete):
		return "Complete"
	case has(batch.JobFailed):
		return "Failed"
	case job.DeletionTimestamp != nil:
		return "Terminating"
	case has(batch.JobSuspended):
		return "Suspended"
	case has(batch.JobFailureTarget):
		return "FailureTarget"
	case has(batch.JobSuccessCriteriaMet):
		return "SuccessCriteriaMet"
	default:
		return "Running"
	}
}

// completions is the COMPLETIONS column: "succeeded/completions", or, when
// any success completes the Job, "succeeded/1" or "succeeded/1 of P".
func completions(job *batch.Job) string {
	if job.Spec.Completions != nil {
		return fmt.Sprintf("%d/%d", job.Status.Succeeded, *job.Spec.Completions)
	}
	if job.Spec.Parallelism != nil && *job.Spec.Parallelism > 1 {
		return fmt.Sprintf("%d/1 of %d", job.Status.Succeeded, *job.Spec.Parallelism)
	}
	return fmt.Sprintf("%d/1", job.Status.Succeeded)
}

// jobDuration is the DURATION column: empty before the Job starts, running
// time until it completes. Failed Jobs never get a completionTime, so their
// duration keeps growing, as upstream.
func jobDuration(job *batch.Job, now time.Time) string {
	switch {
	case job.Status.StartTime == nil:
		return ""
	case job.Status.CompletionTime == nil:
		return duration.HumanDuration(now.Sub(job.Status.StartTime.Time))
	default:
		return duration.HumanDuration(job.Status.CompletionTime.Sub(job.Status.StartTime.Time))
	}
}

func age(created metav1.Time, now time.Time) string {
	if created.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(created.Time))
}
