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

// Command kit is what the hack/ scripts call instead of openssl and instead
// of writing kube-apiserver's flags themselves; it uses the test kit
// (test/kit), as the integration and e2e tests do.
//
//	kit local-pki --dir DIR [--namespace NS] [--service NAME]
//	    writes the local cluster's certificates and keys (hack/local-up.sh)
//	kit kube-apiserver-flags --pki-dir DIR --etcd-url URL --port N
//	    prints the local cluster's kube-apiserver flags, one per line
//	kit serving-cert --out-dir DIR --cn CN --dns NAME... [--ip IP...] ...
//	    issues jobserver's CA and serving certificate (hack/gen-serving-cert.sh)
//	kit etcd-certs --out-dir DIR --dns NAME... [--ip IP...] --client-cn CN ...
//	    issues the bundled etcd's CA, its server certificate and jobserver's
//	    client certificate for it (hack/gen-serving-cert.sh)
package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"
)

var commands = map[string]func(args []string) error{
	"local-pki":            localPKICommand,
	"kube-apiserver-flags": kubeAPIServerFlagsCommand,
	"serving-cert":         servingCertCommand,
	"etcd-certs":           etcdCertsCommand,
}

func main() {
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: kit local-pki|kube-apiserver-flags|serving-cert|etcd-certs [flags] (see hack/kit/main.go)")
		os.Exit(2)
	}
	if err := commands[os.Args[1]](os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "kit %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// parse parses a subcommand's flags, all of which are required unless
// listed in optional.
func parse(fs *pflag.FlagSet, args []string, optional ...string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	skip := map[string]bool{}
	for _, name := range optional {
		skip[name] = true
	}
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Changed && !skip[f.Name] && err == nil {
			err = fmt.Errorf("--%s is required", f.Name)
		}
	})
	return err
}
