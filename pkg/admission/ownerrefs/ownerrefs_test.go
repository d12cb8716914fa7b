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

package ownerrefs

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
)

// fakeAuthorizer allows the "verb group/resource/subresource" strings in
// allowed (with "*" for any group or resource) and records what it was
// asked.
type fakeAuthorizer struct {
	allowed sets.Set[string]
	asked   []authorizer.Attributes
}

func (f *fakeAuthorizer) Authorize(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	f.asked = append(f.asked, a)
	key := fmt.Sprintf("%s %s/%s/%s", a.GetVerb(), a.GetAPIGroup(), a.GetResource(), a.GetSubresource())
	if f.allowed.Has(key) {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "no rule for " + key, nil
}

var (
	jobsResource = batch.SchemeGroupVersion.WithResource("jobs")
	jobKind      = batch.SchemeGroupVersion.WithKind("Job")
	owner        = metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "owner", UID: "owner-uid"}
	nodeOwner    = metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: "node-1", UID: "node-uid"}
	unmappable   = metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Nothing", Name: "x", UID: "x-uid"}
)

const (
	createJobs       = "create batch.jobserver.dev/jobs/"
	deleteJobs       = "delete batch.jobserver.dev/jobs/"
	finalizeCMs      = "update /configmaps/finalizers"
	finalizeNodes    = "update /nodes/finalizers"
	finalizeAnything = "update */*/finalizers"
)

func blocking(ref metav1.OwnerReference, block bool) metav1.OwnerReference {
	ref.BlockOwnerDeletion = ptr.To(block)
	return ref
}

func job(refs ...metav1.OwnerReference) *batch.Job {
	return &batch.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "job", OwnerReferences: refs}}
}

func newPlugin(t *testing.T, allowed ...string) (*Plugin, *fakeAuthorizer) {
	t.Helper()
	authz := &fakeAuthorizer{allowed: sets.New(allowed...)}
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Node"}, meta.RESTScopeRoot)
	p := New()
	p.SetUnconditionalAuthorizer(authz)
	p.SetRESTMapper(mapper)
	require.NoError(t, p.ValidateInitialization())
	return p, authz
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		allowed  []string
		old, new *batch.Job
		// wantErr is a part of the 403's message; empty: admitted.
		wantErr string
	}{
		{name: "create without owners", new: job()},
		{name: "create with a non-blocking owner needs no delete", new: job(owner), allowed: []string{createJobs}},
		{name: "create with blockOwnerDeletion false", new: job(blocking(owner, false))},
		{
			name: "create with a blocking owner, no finalizers right", new: job(blocking(owner, true)),
			wantErr: "cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on: no rule for update /configmaps/finalizers, <nil>",
		},
		{name: "create with a blocking owner, finalizers right", new: job(blocking(owner, true)), allowed: []string{finalizeCMs}},
		{name: "create with a blocking cluster-scoped owner", new: job(blocking(nodeOwner, true)), allowed: []string{finalizeNodes}},
		{
			name: "create with a blocking owner of an unknown kind", new: job(blocking(unmappable, true)),
			wantErr: "cannot set blockOwnerDeletion in this case because cannot find RESTMapping for APIVersion example.com/v1 Kind Nothing",
		},
		{
			name: "finalizing anything skips the mapping", new: job(blocking(unmappable, true)),
			allowed: []string{finalizeAnything},
		},
		{
			name: "one of two blocking owners not finalizable", new: job(blocking(owner, true), blocking(nodeOwner, true)),
			allowed: []string{finalizeCMs},
			wantErr: "can't set finalizers on: no rule for update /nodes/finalizers",
		},
		{name: "update without owner change", old: job(owner), new: job(owner)},
		{
			name: "update adding an owner without delete", old: job(), new: job(owner),
			wantErr: "cannot set an ownerRef on a resource you can't delete: no rule for delete batch.jobserver.dev/jobs/, <nil>",
		},
		{
			name: "update removing an owner without delete", old: job(owner), new: job(),
			wantErr: "cannot set an ownerRef on a resource you can't delete",
		},
		{name: "update adding a non-blocking owner with delete", old: job(), new: job(owner), allowed: []string{deleteJobs}},
		{
			name: "update making an owner blocking", old: job(blocking(owner, false)), new: job(blocking(owner, true)),
			allowed: []string{deleteJobs},
			wantErr: "can't set finalizers on",
		},
		{
			name: "update making an owner blocking, finalizers right", old: job(owner), new: job(blocking(owner, true)),
			allowed: []string{deleteJobs, finalizeCMs},
		},
		{
			name: "update keeping a blocking owner, adding another", old: job(blocking(owner, true)),
			new: job(blocking(owner, true), nodeOwner), allowed: []string{deleteJobs},
		},
		{
			name: "update unblocking an owner", old: job(blocking(owner, true)), new: job(blocking(owner, false)),
			allowed: []string{deleteJobs},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, authz := newPlugin(t, tc.allowed...)
			op := admission.Create
			if tc.old != nil {
				op = admission.Update
			}
			attrs := admission.NewAttributesRecord(tc.new, objOrNil(tc.old), jobKind, "ns", "job", jobsResource, "", op,
				nil, false, &user.DefaultInfo{Name: "alice"})
			err := p.Validate(context.Background(), attrs, nil)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, apierrors.IsForbidden(err), "want 403, got %v", err)
			assert.Contains(t, err.Error(), `jobs.batch.jobserver.dev "job" is forbidden: `)
			assert.Contains(t, err.Error(), tc.wantErr)
			for _, a := range authz.asked {
				assert.Equal(t, "alice", a.GetUser().GetName())
			}
		})
	}
}

// objOrNil keeps a nil *batch.Job a nil interface.
func objOrNil(j *batch.Job) runtime.Object {
	if j == nil {
		return nil
	}
	return j
}

// TestFinalizersRecord checks what is asked for a blocking owner: update
// on its finalizers, by name, in the Job's namespace if it is namespaced.
func TestFinalizersRecord(t *testing.T) {
	for _, tc := range []struct {
		ref       metav1.OwnerReference
		allowed   string
		resource  string
		namespace string
	}{
		{owner, finalizeCMs, "configmaps", "ns"},
		{nodeOwner, finalizeNodes, "nodes", ""},
	} {
		p, authz := newPlugin(t, tc.allowed)
		attrs := admission.NewAttributesRecord(job(blocking(tc.ref, true)), nil, jobKind, "ns", "job", jobsResource, "",
			admission.Create, nil, false, &user.DefaultInfo{Name: "alice"})
		require.NoError(t, p.Validate(context.Background(), attrs, nil))
		require.Len(t, authz.asked, 2, "finalize-anything, then the owner's finalizers")
		last := authz.asked[1]
		assert.Equal(t, "update", last.GetVerb())
		assert.Equal(t, tc.resource, last.GetResource())
		assert.Equal(t, "finalizers", last.GetSubresource())
		assert.Equal(t, tc.ref.Name, last.GetName())
		assert.Equal(t, tc.namespace, last.GetNamespace())
		assert.True(t, last.IsResourceRequest())
	}
}

func TestValidateInitialization(t *testing.T) {
	assert.EqualError(t, New().ValidateInitialization(), "missing authorizer")
	p := New()
	p.SetUnconditionalAuthorizer(&fakeAuthorizer{})
	assert.EqualError(t, p.ValidateInitialization(), "missing restMapper")
}
