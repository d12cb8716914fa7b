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

// Package quota enforces the cluster's ResourceQuotas on jobserver's Jobs:
// k8s.io/apiserver's ResourceQuota admission plugin, given a quota
// configuration that counts Jobs (count/jobs.batch.jobserver.dev). The
// plugin reads the ResourceQuotas of the cluster through the shared
// informer factory of the cluster (RecommendedOptions.CoreAPI) and writes
// the usage it charges to their status through the cluster's client, as
// kube-apiserver does for its own resources.
package quota

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/admission/plugin/resourcequota"
	quota "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
)

// PluginName is the admission plugin's name, as in kube-apiserver.
const PluginName = resourcequota.PluginName

// Register registers the ResourceQuota admission plugin.
func Register(plugins *admission.Plugins) {
	resourcequota.Register(plugins)
}

// Jobs is the resource counted; its quota name is
// count/jobs.batch.jobserver.dev.
var Jobs = batch.Resource("jobs")

// Configuration is the quota configuration of jobserver's admission: an
// object-count evaluator for Jobs. As kube-apiserver's admission
// configuration, it lists nothing (admission charges the object admitted;
// recomputing the usage from scratch is the job of kube-controller-manager's
// resource quota controller, which discovers jobserver's Jobs like any
// aggregated resource) and ignores no resource: jobserver serves no virtual
// resources that are created (jobs/log is read-only, and the evaluator
// skips subresources).
func Configuration() quota.Configuration {
	return generic.NewConfiguration(
		[]quota.Evaluator{generic.NewObjectCountEvaluator(Jobs, nil, "")},
		nil)
}

// NewInitializer returns the admission plugin initializer that hands
// configuration to the plugins that want a quota configuration (the
// ResourceQuota plugin). It must run after the generic initializer, which
// hands the plugin its stop channel first.
func NewInitializer(configuration quota.Configuration) admission.PluginInitializer {
	return pluginInitializer{configuration: configuration}
}

type pluginInitializer struct {
	configuration quota.Configuration
}

// Initialize implements admission.PluginInitializer.
func (i pluginInitializer) Initialize(plugin admission.Interface) {
	if wants, ok := plugin.(initializer.WantsQuotaConfiguration); ok {
		wants.SetQuotaConfiguration(i.configuration)
	}
}

// ResourceName is the quota resource name that limits the number of Jobs
// in a namespace.
func ResourceName() corev1.ResourceName {
	return generic.ObjectCountQuotaResourceNameFor(Jobs)
}
