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
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/semaphore"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/warning"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/kubectl/pkg/cmd/util/podcmd"
	"k8s.io/kubectl/pkg/util/podutils"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/condition"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/validation"
)

const (
	// MaxFollowStreams bounds the log streams one follow request of
	// jobs/log holds open towards kube-apiserver (one per container of each
	// Pod). A Job with more is followed in parts: one index or one
	// container at a time.
	MaxFollowStreams = 50
	// MaxOpenStreams bounds the pods/log streams all jobs/log requests of
	// this server hold open at once (a read without follow holds one at a
	// time). A request that would exceed it is answered 429 with a
	// Retry-After, so that no caller can make jobserver hold an unbounded
	// number of connections.
	MaxOpenStreams = 200
	// maxLineBytes bounds the memory a line takes: a longer line (a
	// container that writes no newline) is passed on in tagged pieces of
	// this size.
	maxLineBytes = 64 << 10
)

// LogREST serves jobs/log: the logs of a Job's Pods, read from the cluster
// (pods/log) with jobserver's own credentials, after the caller was
// authorized for get on jobs/log. Each line is tagged with its Pod,
// container and, for Indexed Jobs, completion index.
type LogREST struct {
	jobs *REST
	pods corev1client.PodsGetter
	// open counts the pods/log streams held open, up to MaxOpenStreams.
	open *semaphore.Weighted
}

var (
	_ rest.GetterWithOptions = &LogREST{}
	_ rest.StorageMetadata   = &LogREST{}
)

// NewLogREST returns the jobs/log subresource, reading Jobs from jobs and
// their Pods' logs through pods.
func NewLogREST(jobs *REST, pods corev1client.PodsGetter) *LogREST {
	return &LogREST{jobs: jobs, pods: pods, open: semaphore.NewWeighted(MaxOpenStreams)}
}

// New returns an empty Job, the parent of the subresource.
func (r *LogREST) New() runtime.Object { return &batch.Job{} }

// Destroy does nothing: the main store owns the storage.
func (r *LogREST) Destroy() {}

// ProducesMIMETypes says the answer is plain text.
func (r *LogREST) ProducesMIMETypes(string) []string { return []string{"text/plain"} }

// ProducesObject says the answer is a string, for OpenAPI.
func (r *LogREST) ProducesObject(string) any { return "" }

// NewGetOptions returns the query parameters of jobs/log.
func (r *LogREST) NewGetOptions() (runtime.Object, bool, string) {
	return &batch.JobLogOptions{}, false, ""
}

// Get checks the options against the Job, lists its Pods and returns the
// stream of their logs. Everything that can be refused is refused here,
// with a status, before any line is sent.
func (r *LogREST) Get(ctx context.Context, name string, options runtime.Object) (runtime.Object, error) {
	opts, ok := options.(*batch.JobLogOptions)
	if !ok {
		return nil, fmt.Errorf("invalid options object: %#v", options)
	}
	if errs := validation.ValidateJobLogOptions(opts); len(errs) > 0 {
		return nil, apierrors.NewInvalid(batch.Kind("JobLogOptions"), name, errs)
	}
	obj, err := r.jobs.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	job := obj.(*batch.Job)
	indexed := job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batch.IndexedCompletion
	if errs := validateLogOptionsForJob(job, opts, indexed); len(errs) > 0 {
		return nil, apierrors.NewInvalid(batch.Kind("JobLogOptions"), name, errs)
	}
	pods, err := r.jobPods(ctx, job, opts)
	if err != nil {
		return nil, err
	}
	streams, err := logStreams(ctx, job, pods, opts, indexed)
	if err != nil {
		return nil, err
	}
	held := int64(1) // read one after the other
	if opts.Follow {
		if len(streams) > MaxFollowStreams {
			return nil, tooManyStreamsError(name, len(streams), indexed)
		}
		held = int64(len(streams))
	}
	return &logStreamer{pods: r.pods, namespace: job.Namespace, opts: opts, streams: streams, open: r.open, held: held}, nil
}

func tooManyStreamsError(name string, n int, indexed bool) error {
	narrow := "one container (container=NAME)"
	if indexed {
		narrow = "one completion index (index=N) or " + narrow
	}
	err := apierrors.NewBadRequest(fmt.Sprintf(
		"following job %q takes %d log streams (one per container of each pod), more than the %d one request may hold; "+
			"follow %s, or read without follow", name, n, MaxFollowStreams, narrow))
	err.ErrStatus.Details = &metav1.StatusDetails{Name: name, Group: batch.GroupName, Kind: "jobs",
		Causes: []metav1.StatusCause{{Type: names.TooManyLogStreamsCause, Field: "follow",
			Message: fmt.Sprintf("%d streams, at most %d", n, MaxFollowStreams)}}}
	return err
}

// validateLogOptionsForJob checks what depends on the Job: an index only
// for Indexed Jobs, and within its completions.
func validateLogOptionsForJob(job *batch.Job, opts *batch.JobLogOptions, indexed bool) field.ErrorList {
	if opts.Index == nil {
		return nil
	}
	indexPath := field.NewPath("index")
	if !indexed {
		return field.ErrorList{field.Invalid(indexPath, *opts.Index,
			"only Indexed Jobs (spec.completionMode: Indexed) have completion indexes")}
	}
	if job.Spec.Completions != nil && *opts.Index >= int64(*job.Spec.Completions) {
		return field.ErrorList{field.Invalid(indexPath, *opts.Index,
			fmt.Sprintf("must be less than spec.completions (%d)", *job.Spec.Completions))}
	}
	return nil
}

// jobPods lists the Pods the Job controls (its selector and its UID as
// controller), of one index if asked, in the order of their indexes, then
// of creation.
func (r *LogREST) jobPods(ctx context.Context, job *batch.Job, opts *batch.JobLogOptions) ([]corev1.Pod, error) {
	selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil || selector.Empty() {
		return nil, apierrors.NewInternalError(fmt.Errorf("job %q has no usable selector: %v", job.Name, err))
	}
	what := fmt.Sprintf("job %q", job.Name)
	if opts.Index != nil {
		index := strconv.Itoa(int(*opts.Index))
		req, err := labels.NewRequirement(names.JobCompletionIndexAnnotation, "=", []string{index})
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		selector = selector.Add(*req)
		what += " index " + index
	}
	list, err := r.pods.Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, podsError(err, "listing the pods of "+what)
	}
	pods := list.Items[:0]
	for _, p := range list.Items {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == job.UID {
			pods = append(pods, p)
		}
	}
	if len(pods) == 0 {
		return nil, noPodsError(job, what)
	}
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := podIndexOrder(&pods[i]), podIndexOrder(&pods[j])
		if a != b {
			return a < b
		}
		if !pods[i].CreationTimestamp.Equal(&pods[j].CreationTimestamp) {
			return pods[i].CreationTimestamp.Before(&pods[j].CreationTimestamp)
		}
		return pods[i].Name < pods[j].Name
	})
	return pods, nil
}

// podIndexOrder is the Pod's completion index for sorting, -1 without one.
func podIndexOrder(p *corev1.Pod) int {
	ix, err := strconv.Atoi(p.Annotations[names.JobCompletionIndexAnnotation])
	if err != nil {
		return -1
	}
	return ix
}

// noPodsError says why there is nothing to read: a 404 whose message names
// the Job's state, rather than an empty answer.
func noPodsError(job *batch.Job, what string) error {
	why := "it has none now"
	switch {
	case job.Spec.Suspend != nil && *job.Spec.Suspend:
		why = "it is suspended"
	case condition.Finished(job.Status.Conditions) != nil:
		why = "it has finished and its pods were removed"
	case job.Status.StartTime == nil:
		why = "it has not started yet"
	}
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusNotFound,
		Reason:  metav1.StatusReasonNotFound,
		Message: fmt.Sprintf("%s has no pods to read logs from: %s", what, why),
		Details: &metav1.StatusDetails{Name: job.Name, Group: batch.GroupName, Kind: "jobs"},
	}}
}

// podsError turns an error of the cluster's API into one for the caller:
// jobserver's own lack of permission is a server problem (500), named so
// that an administrator can fix the installation.
func podsError(err error, doing string) error {
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
		return apierrors.NewInternalError(fmt.Errorf("%s: jobserver's own credentials were refused "+
			"(its ClusterRole must grant list on pods and get on pods/log): %w", doing, err))
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return err
	}
	return apierrors.NewInternalError(fmt.Errorf("%s: %w", doing, err))
}

// logStream is one container of one Pod whose log is read.
type logStream struct {
	pod, container string
	// tag prefixes each line: "[pod/POD/CONTAINER] " or, with an index,
	// "[pod/POD/CONTAINER index=N] ".
	tag string
}

// logStreams picks the containers to read in each Pod: all of them, the
// one asked for, or the default one as kubectl picks it. Containers that
// have not started have no log yet; they are skipped with a warning, and if
// none has started the request is refused.
func logStreams(ctx context.Context, job *batch.Job, pods []corev1.Pod, opts *batch.JobLogOptions, indexed bool) ([]logStream, error) {
	var streams []logStream
	var waiting []string
	found := opts.Container == ""
	for i := range pods {
		p := &pods[i]
		var containers []string
		switch {
		case opts.AllContainers:
			podutils.VisitContainers(&p.Spec, podutils.AllContainers, func(c *corev1.Container, _ podutils.ContainerType) bool {
				containers = append(containers, c.Name)
				return true
			})
		default:
			c, err := podcmd.FindOrDefaultContainerByName(p, opts.Container, true, io.Discard)
			if err != nil {
				continue // the named container is not in this Pod (an ephemeral one elsewhere)
			}
			found = true
			containers = []string{c.Name}
		}
		for _, c := range containers {
			if !containerStarted(p, c) {
				waiting = append(waiting, fmt.Sprintf("pod/%s/%s (%s)", p.Name, c, waitingReason(p, c)))
				continue
			}
			tag := "[pod/" + p.Name + "/" + c
			if ix, ok := p.Annotations[names.JobCompletionIndexAnnotation]; ok && indexed {
				tag += " index=" + ix
			}
			streams = append(streams, logStream{pod: p.Name, container: c, tag: tag + "] "})
		}
	}
	if !found {
		return nil, apierrors.NewInvalid(batch.Kind("JobLogOptions"), job.Name, field.ErrorList{
			field.NotFound(field.NewPath("container"), opts.Container)})
	}
	if len(streams) == 0 {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("no container of job %q's pods has started yet: %s",
			job.Name, strings.Join(waiting, ", ")))
	}
	if len(waiting) > 0 {
		warning.AddWarning(ctx, "", fmt.Sprintf("skipped the containers that have not started yet: %s", strings.Join(waiting, ", ")))
	}
	return streams, nil
}

// containerStarted tells whether the container has a log to read: it runs,
// has ended, or ran before.
func containerStarted(p *corev1.Pod, name string) bool {
	s := containerStatus(p, name)
	return s != nil && (s.State.Running != nil || s.State.Terminated != nil || s.LastTerminationState.Terminated != nil)
}

func waitingReason(p *corev1.Pod, name string) string {
	if s := containerStatus(p, name); s != nil && s.State.Waiting != nil && s.State.Waiting.Reason != "" {
		return s.State.Waiting.Reason
	}
	return string(p.Status.Phase)
}

func containerStatus(p *corev1.Pod, name string) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses, p.Status.EphemeralContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// logStreamer writes the tagged lines of the streams: one after the other,
// or, following, side by side as the lines come, a whole line at a time.
type logStreamer struct {
	pods      corev1client.PodsGetter
	namespace string
	opts      *batch.JobLogOptions
	streams   []logStream
	// open counts the streams of all requests against MaxOpenStreams; this
	// one holds held of them while it streams. Taken in InputStream, which
	// the handler calls last, so that a request refused after Get (an
	// Accept header asking for a Table, say) takes nothing.
	open *semaphore.Weighted
	held int64
}

var _ rest.ResourceStreamer = &logStreamer{}

// GetObjectKind is empty: the streamer is written as text, never encoded.
func (s *logStreamer) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject is not used on a stream; it returns the streamer itself.
func (s *logStreamer) DeepCopyObject() runtime.Object { return s }

// InputStream starts the streams and returns their tagged lines. Without
// follow, the first log is opened before answering, so that a refusal (the
// Pod went away, jobserver may not read pods/log) is a status. Following,
// every stream opens on its own: a kubelet answers a followed log only
// once the container writes, and one quiet container must not hold up the
// others. An error on a stream once the answer has begun is written as a
// tagged line "jobserver: ...".
func (s *logStreamer) InputStream(ctx context.Context, _, _ string) (io.ReadCloser, bool, string, error) {
	if !s.open.TryAcquire(s.held) {
		return nil, false, "", apierrors.NewTooManyRequests(fmt.Sprintf(
			"jobserver already streams the most pod logs it will at once (%d); try again later", MaxOpenStreams), 5)
	}
	release := func() { s.open.Release(s.held) }
	ctx, cancel := context.WithCancel(ctx)
	var first io.ReadCloser
	if !s.opts.Follow {
		var err error
		if first, err = s.openLog(ctx, s.streams[0]); err != nil {
			cancel()
			release()
			return nil, false, "", podsError(err, fmt.Sprintf("reading the log of pod %q container %q", s.streams[0].pod, s.streams[0].container))
		}
	}
	pr, pw := io.Pipe()
	out := &lineWriter{w: pw}
	go func() {
		defer release()
		defer cancel()
		if s.opts.Follow {
			var wg sync.WaitGroup
			for _, st := range s.streams {
				wg.Go(func() { s.copy(ctx, out, st, nil) })
			}
			wg.Wait()
		} else {
			s.copy(ctx, out, s.streams[0], first)
			for _, st := range s.streams[1:] {
				if ctx.Err() != nil {
					break
				}
				s.copy(ctx, out, st, nil)
			}
		}
		_ = pw.Close()
	}()
	return &cancelOnClose{ReadCloser: pr, cancel: cancel}, s.opts.Follow, "text/plain; charset=utf-8", nil
}

func (s *logStreamer) openLog(ctx context.Context, st logStream) (io.ReadCloser, error) {
	return s.pods.Pods(s.namespace).GetLogs(st.pod, &corev1.PodLogOptions{
		Container:    st.container,
		Follow:       s.opts.Follow,
		Timestamps:   s.opts.Timestamps,
		SinceSeconds: s.opts.SinceSeconds,
		TailLines:    s.opts.TailLines,
	}).Stream(ctx)
}

// copy writes the lines of one stream, opening it unless r is given.
func (s *logStreamer) copy(ctx context.Context, out *lineWriter, st logStream, r io.ReadCloser) {
	if r == nil {
		var err error
		if r, err = s.openLog(ctx, st); err != nil {
			if ctx.Err() == nil {
				_ = out.line(st.tag, "jobserver: cannot read this log: "+err.Error()+"\n")
			}
			return
		}
	}
	defer func() { _ = r.Close() }()
	if err := copyLines(out, st.tag, r); err != nil && ctx.Err() == nil && !errors.Is(err, io.ErrClosedPipe) {
		_ = out.line(st.tag, "jobserver: the log ended with an error: "+err.Error()+"\n")
	}
}

// copyLines writes r's lines to out with tag, a line longer than
// maxLineBytes as several tagged pieces, so that a line never takes more
// memory than that. It returns nil at the end of r, or the error that
// stopped it (a failed write: the caller went away).
func copyLines(out *lineWriter, tag string, r io.Reader) error {
	br := bufio.NewReaderSize(r, maxLineBytes)
	for {
		piece, err := br.ReadSlice('\n')
		if len(piece) > 0 {
			line := string(piece)
			if !strings.HasSuffix(line, "\n") {
				line += "\n"
			}
			if werr := out.line(tag, line); werr != nil {
				return werr
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
	}
}

// lineWriter writes whole tagged lines, one writer at a time, so that
// lines of streams followed side by side never interleave.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) line(tag, line string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := io.WriteString(l.w, tag+line)
	return err
}

// cancelOnClose stops the background streams when the answer is closed
// (the caller went away, or everything was written).
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	c.cancel()
	return c.ReadCloser.Close()
}
