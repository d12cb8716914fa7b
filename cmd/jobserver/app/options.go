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

package app

import (
	"errors"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	cliflag "k8s.io/component-base/cli/flag"

	"github.com/jobserver-dev/jobserver/pkg/apiserver"
	"github.com/jobserver-dev/jobserver/pkg/controllermanager"
)

// Options are everything jobserver can be told on its command line: the
// API server's and the controller manager's.
type Options struct {
	Server      *apiserver.Options
	Controllers *controllermanager.Options
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{Server: apiserver.NewOptions(), Controllers: controllermanager.NewOptions()}
}

// Flags returns the flags, in named sections for --help.
func (o *Options) Flags() cliflag.NamedFlagSets {
	var fss cliflag.NamedFlagSets
	o.Server.AddFlags(&fss)
	o.Controllers.AddFlags(fss.FlagSet("controllers"))
	return fss
}

// Complete decides what follows from the flags.
func (o *Options) Complete() error {
	return o.Server.Complete()
}

// Validate reports every invalid option at once; it changes nothing.
func (o *Options) Validate() error {
	errs := o.Server.Validate()
	if o.RunsControllers() {
		errs = append(errs, o.Controllers.Validate()...)
	}
	return utilerrors.NewAggregate(errs)
}

// RunsControllers tells whether this replica runs the controllers: not in
// standalone mode (there is no cluster to create pods in) and not with
// --controllers-enabled=false.
func (o *Options) RunsControllers() bool {
	return o.Controllers.Enabled && !o.Server.Standalone
}

// errNoCluster is returned when the controllers have no cluster to act in.
var errNoCluster = errors.New("the controllers need a cluster: --kubeconfig or an in-cluster configuration")
