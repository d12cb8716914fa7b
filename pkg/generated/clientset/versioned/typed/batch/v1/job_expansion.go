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

// This file is written by hand, not generated: client-gen leaves the
// expansion of a type to a file named <type>_expansion.go and keeps it.

package v1

import (
	restclient "k8s.io/client-go/rest"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	"github.com/jobserver-dev/jobserver/pkg/generated/clientset/versioned/scheme"
)

// JobExpansion adds the Job's subresources that are not objects.
type JobExpansion interface {
	// GetLogs returns the request for the logs of the Job's Pods
	// (GET .../jobs/NAME/log), to Stream or DoRaw: text lines, each tagged
	// "[pod/POD/CONTAINER] " or "[pod/POD/CONTAINER index=N] ".
	GetLogs(name string, opts *batchv1.JobLogOptions) *restclient.Request
}

func (c *jobs) GetLogs(name string, opts *batchv1.JobLogOptions) *restclient.Request {
	return c.GetClient().Get().Namespace(c.GetNamespace()).Resource("jobs").Name(name).
		SubResource("log").VersionedParams(opts, scheme.ParameterCodec)
}
