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

// Package ownerrefs is the OwnerReferencesPermissionEnforcement admission
// plugin for jobserver's Jobs. kube-apiserver's plugin of that name lives in
// k8s.io/kubernetes (plugin/pkg/admission/gc), which a library must not
// import, so this is a copy of its logic at Kubernetes v1.37.2, with the
// same checks and the same messages:
//
//   - changing a Job's metadata.ownerReferences (on update; on create the
//     caller could have not created the Job at all) requires delete on the
//     Job;
//   - setting blockOwnerDeletion: true on a reference, a new one or one that
//     was not blocking before, requires update on the owner's finalizers
//     subresource (<resource>/finalizers, the resource found by the REST
//     mapper over the cluster's discovery, in the Job's namespace if the
//     owner is namespaced), since it lets the caller delay the owner's
//     foreground deletion. An owner kind the mapper does not know is
//     refused. A caller allowed update on every finalizers subresource
//     skips the mapping.
//
// Upstream exempts pods/status, whose strategy keeps ownerReferences;
// jobserver serves no such subresource, so nothing is exempt.
package ownerrefs

import (
	"context"
	"fmt"
	"io"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// PluginName is the admission plugin's name, as in kube-apiserver.
const PluginName = "OwnerReferencesPermissionEnforcement"

// Register registers the plugin.
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(io.Reader) (admission.Interface, error) {
		return New(), nil
	})
}

// New returns the plugin; the admission initializers give it the server's
// authorizer and the REST mapper over the cluster's discovery.
func New() *Plugin {
	return &Plugin{Handler: admission.NewHandler(admission.Create, admission.Update)}
}

// Plugin enforces the permissions that setting owner references implies.
type Plugin struct {
	*admission.Handler

	authorizer authorizer.UnconditionalAuthorizer
	restMapper meta.RESTMapper
}

var (
	_ admission.ValidationInterface            = &Plugin{}
	_ initializer.WantsUnconditionalAuthorizer = &Plugin{}
	_ initializer.WantsRESTMapper              = &Plugin{}
)

// Validate implements admission.ValidationInterface.
func (p *Plugin) Validate(ctx context.Context, attributes admission.Attributes, _ admission.ObjectInterfaces) error {
	// If we aren't changing owner references, then the edit is always
	// allowed.
	if !isChangingOwnerReference(attributes.GetObject(), attributes.GetOldObject()) {
		return nil
	}

	// Whoever creates an object may set its owner references: they could
	// have not created it. Blocking owner deletion is still checked below:
	// the power to delete does not imply the power to prevent the deletion
	// of other resources.
	if attributes.GetOperation() != admission.Create {
		deleteAttributes := authorizer.AttributesRecord{
			User:            attributes.GetUserInfo(),
			Verb:            "delete",
			Namespace:       attributes.GetNamespace(),
			APIGroup:        attributes.GetResource().Group,
			APIVersion:      attributes.GetResource().Version,
			Resource:        attributes.GetResource().Resource,
			Subresource:     attributes.GetSubresource(),
			Name:            attributes.GetName(),
			ResourceRequest: true,
		}
		decision, reason, err := p.authorizer.Authorize(ctx, deleteAttributes)
		if decision != authorizer.DecisionAllow {
			return admission.NewForbidden(attributes, fmt.Errorf("cannot set an ownerRef on a resource you can't delete: %v, %v", reason, err))
		}
	}

	// Setting blockOwnerDeletion to true needs update on the owner's
	// finalizers.
	newBlockingRefs := newBlockingOwnerDeletionRefs(attributes.GetObject(), attributes.GetOldObject())
	if len(newBlockingRefs) == 0 {
		return nil
	}

	// The REST mapper may need discovery, which can be slow or fail; a
	// caller who may finalize anything needs no mapping.
	if decision, _, _ := p.authorizer.Authorize(ctx, finalizeAnythingRecord(attributes.GetUserInfo())); decision == authorizer.DecisionAllow {
		return nil
	}

	for _, ref := range newBlockingRefs {
		records, err := p.ownerRefToFinalizeAttributeRecords(ref, attributes)
		if err != nil {
			return admission.NewForbidden(attributes, fmt.Errorf("cannot set blockOwnerDeletion in this case because cannot find RESTMapping for APIVersion %s Kind %s: %v", ref.APIVersion, ref.Kind, err))
		}
		// A kind may map to several resources: the caller needs the
		// permission on each.
		for _, record := range records {
			decision, reason, err := p.authorizer.Authorize(ctx, record)
			if decision != authorizer.DecisionAllow {
				return admission.NewForbidden(attributes, fmt.Errorf("cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on: %v, %v", reason, err))
			}
		}
	}
	return nil
}

// isChangingOwnerReference tells whether the request sets owner references
// (create) or changes them (update).
func isChangingOwnerReference(newObj, oldObj runtime.Object) bool {
	newMeta, err := meta.Accessor(newObj)
	if err != nil {
		return false // no object metadata, no owner references
	}
	if oldObj == nil {
		return len(newMeta.GetOwnerReferences()) > 0
	}
	oldMeta, err := meta.Accessor(oldObj)
	if err != nil {
		return false
	}
	oldOwners := oldMeta.GetOwnerReferences()
	newOwners := newMeta.GetOwnerReferences()
	if len(oldOwners) != len(newOwners) {
		return true
	}
	for i := range oldOwners {
		if !apiequality.Semantic.DeepEqual(oldOwners[i], newOwners[i]) {
			return true
		}
	}
	return false
}

// finalizeAnythingRecord is update on every finalizers subresource.
func finalizeAnythingRecord(userInfo user.Info) authorizer.AttributesRecord {
	return authorizer.AttributesRecord{
		User:            userInfo,
		Verb:            "update",
		APIGroup:        "*",
		APIVersion:      "*",
		Resource:        "*",
		Subresource:     "finalizers",
		Name:            "*",
		ResourceRequest: true,
	}
}

// ownerRefToFinalizeAttributeRecords is update on the finalizers of the
// owner ref names. A reference records only the owner's kind, which may
// map to several resources: one record each.
func (p *Plugin) ownerRefToFinalizeAttributeRecords(ref metav1.OwnerReference, attributes admission.Attributes) ([]authorizer.AttributesRecord, error) {
	groupVersion, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil, err
	}
	mappings, err := p.restMapper.RESTMappings(schema.GroupKind{Group: groupVersion.Group, Kind: ref.Kind}, groupVersion.Version)
	if err != nil {
		return nil, err
	}
	var records []authorizer.AttributesRecord
	for _, mapping := range mappings {
		record := authorizer.AttributesRecord{
			User:            attributes.GetUserInfo(),
			Verb:            "update",
			APIGroup:        mapping.Resource.Group,
			APIVersion:      mapping.Resource.Version,
			Resource:        mapping.Resource.Resource,
			Subresource:     "finalizers",
			Name:            ref.Name,
			ResourceRequest: true,
		}
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			// A namespaced owner is in the dependent's namespace.
			record.Namespace = attributes.GetNamespace()
		}
		records = append(records, record)
	}
	return records, nil
}

// blockingOwnerRefs keeps the references with blockOwnerDeletion: true.
func blockingOwnerRefs(refs []metav1.OwnerReference) []metav1.OwnerReference {
	var ret []metav1.OwnerReference
	for _, ref := range refs {
		if ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion {
			ret = append(ret, ref)
		}
	}
	return ret
}

func indexByUID(refs []metav1.OwnerReference) map[types.UID]metav1.OwnerReference {
	ret := make(map[types.UID]metav1.OwnerReference, len(refs))
	for _, ref := range refs {
		ret[ref.UID] = ref
	}
	return ret
}

// newBlockingOwnerDeletionRefs returns the new blocking references and
// those whose blockOwnerDeletion changed from unset or false to true.
func newBlockingOwnerDeletionRefs(newObj, oldObj runtime.Object) []metav1.OwnerReference {
	newMeta, err := meta.Accessor(newObj)
	if err != nil {
		return nil
	}
	blockingNewRefs := blockingOwnerRefs(newMeta.GetOwnerReferences())
	if len(blockingNewRefs) == 0 {
		return nil
	}
	if oldObj == nil {
		return blockingNewRefs
	}
	oldMeta, err := meta.Accessor(oldObj)
	if err != nil {
		// Without old metadata every reference counts as new.
		return blockingNewRefs
	}
	var ret []metav1.OwnerReference
	indexedOldRefs := indexByUID(oldMeta.GetOwnerReferences())
	for _, ref := range blockingNewRefs {
		oldRef, ok := indexedOldRefs[ref.UID]
		if !ok {
			ret = append(ret, ref) // a new blocking reference
			continue
		}
		if oldRef.BlockOwnerDeletion == nil || !*oldRef.BlockOwnerDeletion {
			ret = append(ret, ref) // newly blocking
		}
	}
	return ret
}

// SetUnconditionalAuthorizer implements
// initializer.WantsUnconditionalAuthorizer.
func (p *Plugin) SetUnconditionalAuthorizer(a authorizer.UnconditionalAuthorizer) {
	p.authorizer = a
}

// SetRESTMapper implements initializer.WantsRESTMapper.
func (p *Plugin) SetRESTMapper(m meta.RESTMapper) {
	p.restMapper = m
}

// ValidateInitialization implements admission.InitializationValidator.
func (p *Plugin) ValidateInitialization() error {
	if p.authorizer == nil {
		return fmt.Errorf("missing authorizer")
	}
	if p.restMapper == nil {
		return fmt.Errorf("missing restMapper")
	}
	return nil
}
