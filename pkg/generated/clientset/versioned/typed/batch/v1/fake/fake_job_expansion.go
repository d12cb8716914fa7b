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

// This file is written by hand, not generated: the fake of JobExpansion.

package fake

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"k8s.io/apimachinery/pkg/runtime"
	restclient "k8s.io/client-go/rest"
	fakerest "k8s.io/client-go/rest/fake"
	core "k8s.io/client-go/testing"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	"github.com/jobserver-dev/jobserver/pkg/generated/clientset/versioned/scheme"
)

// GetLogs records a get of jobs/log and answers what a reactor returns as
// *runtime.Unknown, or "fake logs", as client-go's fake pods/log does.
func (c *fakeJobs) GetLogs(name string, opts *batchv1.JobLogOptions) *restclient.Request {
	action := core.GenericActionImpl{}
	action.Verb = "get"
	action.Namespace = c.Namespace()
	action.Resource = c.Resource()
	action.Subresource = "log"
	action.Value = opts

	defaultLogResponse := &runtime.Unknown{Raw: []byte("fake logs")}
	obj, err := c.Fake.Invokes(action, defaultLogResponse)
	logs := defaultLogResponse.Raw
	if err == nil {
		unknown, ok := obj.(*runtime.Unknown)
		if !ok || unknown == nil {
			err = fmt.Errorf("fake Jobs.GetLogs expected reactor to return *runtime.Unknown, got %T", obj)
		} else {
			logs = unknown.Raw
		}
	}
	fakeClient := &fakerest.RESTClient{
		Client: fakerest.CreateHTTPClient(func(*http.Request) (*http.Response, error) {
			if err != nil {
				return nil, err
			}
			return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(bytes.NewReader(logs))}, nil
		}),
		NegotiatedSerializer: scheme.Codecs.WithoutConversion(),
		GroupVersion:         c.Kind().GroupVersion(),
		VersionedAPIPath:     fmt.Sprintf("/apis/%s/namespaces/%s/jobs/%s/log", c.Kind().GroupVersion(), c.Namespace(), name),
	}
	return fakeClient.Request()
}
