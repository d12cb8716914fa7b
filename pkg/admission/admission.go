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

// Package admission adds jobserver's own admission plugins to the generic
// server's chain: OwnerReferencesPermissionEnforcement (package ownerrefs)
// and ResourceQuota (package quota), both on by default.
package admission

import (
	"slices"

	genericadmission "k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle"
	validatingwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook/validating"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"

	"github.com/jobserver-dev/jobserver/pkg/admission/ownerrefs"
	"github.com/jobserver-dev/jobserver/pkg/admission/quota"
)

// Register registers jobserver's plugins in o.Admission, in the order of
// kube-apiserver: OwnerReferencesPermissionEnforcement right after
// NamespaceLifecycle, ResourceQuota last, after ValidatingAdmissionWebhook.
// The generic server runs every mutating plugin before every validating
// one, so the chain for Jobs is NamespaceLifecycle, MutatingAdmissionPolicy,
// MutatingAdmissionWebhook, then OwnerReferencesPermissionEnforcement,
// ValidatingAdmissionPolicy, ValidatingAdmissionWebhook, ResourceQuota.
// It also adds the initializer that gives ResourceQuota its configuration.
// With o.Admission nil (standalone) it does nothing.
func Register(o *genericoptions.RecommendedOptions) {
	if o.Admission == nil {
		return
	}
	ownerrefs.Register(o.Admission.Plugins)
	quota.Register(o.Admission.Plugins)
	order := o.Admission.RecommendedPluginOrder
	order = insertAfter(order, lifecycle.PluginName, ownerrefs.PluginName)
	order = insertAfter(order, validatingwebhook.PluginName, quota.PluginName)
	o.Admission.RecommendedPluginOrder = order

	extra := o.ExtraAdmissionInitializers
	configuration := quota.Configuration()
	o.ExtraAdmissionInitializers = func(c *genericapiserver.RecommendedConfig) ([]genericadmission.PluginInitializer, error) {
		var initializers []genericadmission.PluginInitializer
		if extra != nil {
			var err error
			if initializers, err = extra(c); err != nil {
				return nil, err
			}
		}
		return append(initializers, quota.NewInitializer(configuration)), nil
	}
}

// insertAfter inserts name into order after the plugin after, or at the
// end if after is not there.
func insertAfter(order []string, after, name string) []string {
	i := slices.Index(order, after)
	if i < 0 {
		return append(slices.Clone(order), name)
	}
	return slices.Insert(slices.Clone(order), i+1, name)
}
