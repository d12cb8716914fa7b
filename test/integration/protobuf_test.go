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

package integration

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/metadata"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	"github.com/jobserver-dev/jobserver/test/integration/framework"
)

// TestMetadataClient uses client-go's metadata client, which prefers
// protobuf, as kube-controller-manager's namespace controller and garbage
// collector do: list, watch and deletecollection must work (in JSON).
func TestMetadataClient(t *testing.T) {
	s := framework.StartServer(t, framework.ServerOptions{})
	ctx := testContext(t)
	for _, name := range []string{"a", "b"} {
		_, err := s.Clientset(t).BatchV1().Jobs(ns).Create(ctx, newJob(name), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	mc, err := metadata.NewForConfig(s.AdminConfig)
	require.NoError(t, err)
	jobs := mc.Resource(batchv1.SchemeGroupVersion.WithResource("jobs")).Namespace(ns)

	list, err := jobs.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, list.Items, 2)
	w, err := jobs.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	require.NoError(t, err)
	w.Stop()

	require.NoError(t, jobs.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}))
	left, err := s.Clientset(t).BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, left.Items)
}
