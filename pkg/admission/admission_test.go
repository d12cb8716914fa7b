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

package admission

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"

	"github.com/jobserver-dev/jobserver/pkg/admission/quota"
)

func TestRegister(t *testing.T) {
	o := genericoptions.NewRecommendedOptions("/registry/test", nil)
	Register(o)
	assert.Equal(t, []string{
		"NamespaceLifecycle",
		"OwnerReferencesPermissionEnforcement",
		"MutatingAdmissionPolicy",
		"MutatingAdmissionWebhook",
		"ValidatingAdmissionPolicy",
		"ValidatingAdmissionWebhook",
		"ResourceQuota",
	}, o.Admission.RecommendedPluginOrder)
	assert.Empty(t, o.Admission.DefaultOffPlugins, "every plugin is on by default")
	assert.Empty(t, o.Admission.Validate(), "every plugin registered is ordered and vice versa")

	initializers, err := o.ExtraAdmissionInitializers(genericapiserver.NewRecommendedConfig(
		serializer.NewCodecFactory(runtime.NewScheme())))
	require.NoError(t, err)
	require.Len(t, initializers, 1, "the quota configuration")
}

func TestRegisterStandalone(t *testing.T) {
	o := genericoptions.NewRecommendedOptions("/registry/test", nil)
	o.Admission = nil
	Register(o)
	assert.Nil(t, o.Admission)
}

func TestQuotaResourceName(t *testing.T) {
	assert.EqualValues(t, "count/jobs.batch.jobserver.dev", quota.ResourceName())
	evaluators := quota.Configuration().Evaluators()
	require.Len(t, evaluators, 1)
	assert.Equal(t, quota.Jobs, evaluators[0].GroupResource())
}
