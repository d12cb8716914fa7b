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

package controllermanager

import (
	"context"

	jobcontroller "github.com/jobserver-dev/jobserver/pkg/controller/job"
)

// controllers is every controller jobserver runs, in start order. Adding a
// controller is one entry here: its name (for --controllers) and a function
// that builds it from the shared Context.
var controllers = []Controller{
	{Name: "job-controller", New: newJobController},
}

// controllerNames lists the names --controllers accepts.
func controllerNames() []string {
	names := make([]string, 0, len(controllers))
	for _, c := range controllers {
		names = append(names, c.Name)
	}
	return names
}

func newJobController(ctx context.Context, c *Context) (func(context.Context) error, error) {
	controller, err := jobcontroller.NewController(ctx, jobcontroller.Config{
		JobClient:   c.JobClient,
		KubeClient:  c.KubeClient,
		JobInformer: c.JobInformers.Batch().V1().Jobs(),
		PodInformer: c.OwnedPodInformers.Core().V1().Pods(),
	})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return controller.Run(ctx, c.Config.ConcurrentJobSyncs) }, nil
}
