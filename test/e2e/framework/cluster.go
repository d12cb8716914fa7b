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

// Package framework runs end-to-end tests against the local cluster of
// hack/local-up.sh: real etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok nodes, jobserver behind its APIService, and the
// kubectl v1.37.2 built by hack/build-tools.sh.
package framework

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	clientset "github.com/jobserver-dev/jobserver/pkg/generated/clientset/versioned"
	"github.com/jobserver-dev/jobserver/test/kit"
)

// Cluster is the local cluster the e2e tests run against.
type Cluster struct {
	Root       string // repository root
	LocalDir   string // the cluster's state: pki/, logs/, kubeconfig
	Kubeconfig string // system:masters
	Kubectl    string // path of kubectl v1.37.2
	Env        []string
	// JobserverPort is where jobserver listens, for direct requests.
	JobserverPort string
	// KwokPort is where kwok serves the simulated nodes' kubelet API.
	KwokPort string

	Config *rest.Config
	Kube   kubernetes.Interface
	Jobs   clientset.Interface
}

// The e2e cluster uses its own directory and ports, so it never disturbs a
// cluster started with make run.
var e2eEnv = map[string]string{
	"LOCAL_DIR":      "_output/e2e",
	"ETCD_PORT":      "33790",
	"KAS_PORT":       "36443",
	"JOBSERVER_PORT": "38443",
	"KCM_PORT":       "30257",
	"SCHEDULER_PORT": "30259",
	"KWOK_PORT":      "30247",
}

// Start brings the e2e cluster up with hack/local-up.sh and returns it with
// a function that stops it. With E2E_KEEP_CLUSTER=1 the cluster is left
// running (and reused by the next run, which restarts its processes).
func Start() (*Cluster, func(), error) {
	root := kit.RepoRoot()
	env := os.Environ()
	for k, v := range e2eEnv {
		if k == "LOCAL_DIR" {
			v = filepath.Join(root, v)
		}
		env = append(env, k+"="+v)
	}
	c := &Cluster{
		Root:          root,
		LocalDir:      filepath.Join(root, e2eEnv["LOCAL_DIR"]),
		Kubectl:       filepath.Join(kit.ToolsDir(), "kubectl"),
		Env:           env,
		JobserverPort: e2eEnv["JOBSERVER_PORT"],
		KwokPort:      e2eEnv["KWOK_PORT"],
	}
	c.Kubeconfig = filepath.Join(c.LocalDir, "kubeconfig")
	stop := func() {
		if os.Getenv("E2E_KEEP_CLUSTER") == "1" {
			return
		}
		cmd := exec.Command(filepath.Join(root, "hack", "local-down.sh"))
		cmd.Env, cmd.Stdout, cmd.Stderr = env, os.Stderr, os.Stderr
		_ = cmd.Run()
	}
	up := exec.Command(filepath.Join(root, "hack", "local-up.sh"))
	up.Dir, up.Env, up.Stdout, up.Stderr = root, env, os.Stderr, os.Stderr
	if err := up.Run(); err != nil {
		stop()
		return nil, nil, fmt.Errorf("hack/local-up.sh: %w", err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		stop()
		return nil, nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	c.Config = cfg
	c.Kube = kubernetes.NewForConfigOrDie(cfg)
	c.Jobs = clientset.NewForConfigOrDie(cfg)
	return c, stop, nil
}

// Run runs kubectl with the admin kubeconfig and returns its stdout; stderr
// is part of the error.
func (c *Cluster) Run(args ...string) (string, error) {
	return c.RunAs(c.Kubeconfig, args...)
}

// RunAs runs kubectl with the given kubeconfig.
func (c *Cluster) RunAs(kubeconfig string, args ...string) (string, error) {
	return c.run(nil, kubeconfig, args...)
}

// RunWithCache runs kubectl as RunAs does, with its discovery cache in
// cacheDir (KUBECACHEDIR) instead of the user's, so that what it resolves
// bare resource names to is read from the cluster afresh.
func (c *Cluster) RunWithCache(kubeconfig, cacheDir string, args ...string) (string, error) {
	return c.run([]string{"KUBECACHEDIR=" + cacheDir}, kubeconfig, args...)
}

func (c *Cluster) run(env []string, kubeconfig string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	flags := []string{"--kubeconfig=" + kubeconfig}
	if len(args) > 0 && args[0] == "jobserver" {
		// kubectl takes no flags before a plugin's name; the plugin reads them.
		flags = []string{"jobserver", flags[0]}
		args = args[1:]
	}
	cmd := exec.CommandContext(ctx, c.Kubectl, append(flags, args...)...)
	cmd.Dir = c.Root
	// _output/bin first on PATH: `kubectl jobserver` finds the plugin there.
	cmd.Env = append(os.Environ(), append([]string{"PATH=" + filepath.Dir(c.Kubectl) + string(os.PathListSeparator) + os.Getenv("PATH")}, env...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// Kubectl runs kubectl as the admin and fails the test on error.
func (c *Cluster) MustRun(t testing.TB, args ...string) string {
	t.Helper()
	out, err := c.Run(args...)
	require.NoError(t, err)
	return out
}

// Namespace creates a fresh namespace for a test and deletes it afterwards.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	name := strings.ToLower(fmt.Sprintf("e2e-%s-%d", shortName(t.Name()), time.Now().UnixNano()%100000))
	_, err := c.Kube.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = c.Kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	// Pods need the namespace's default ServiceAccount.
	require.NoError(t, wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true,
		func(ctx context.Context) (bool, error) {
			_, err := c.Kube.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
			return err == nil, nil
		}))
	return name
}

func shortName(s string) string {
	s = strings.NewReplacer("/", "-", "_", "-").Replace(s)
	if len(s) > 30 {
		s = s[:30]
	}
	return strings.Trim(s, "-")
}

// UserKubeconfig writes a kubeconfig for user in groups, with a client
// certificate signed by the cluster CA, and returns its path.
func (c *Cluster) UserKubeconfig(t testing.TB, user string, groups ...string) string {
	t.Helper()
	pki := filepath.Join(c.LocalDir, "pki")
	ca, err := kit.LoadCA(filepath.Join(pki, "ca.crt"), filepath.Join(pki, "ca.key"))
	require.NoError(t, err)
	opts := kit.ClientCert(user, groups...)
	opts.Validity = time.Hour
	certPEM, keyPEM := ca.MustIssue(t, opts)
	admin, err := clientcmd.LoadFromFile(c.Kubeconfig)
	require.NoError(t, err)
	for _, auth := range admin.AuthInfos {
		auth.ClientCertificateData = certPEM
		auth.ClientKeyData = keyPEM
	}
	path := filepath.Join(t.TempDir(), user+".kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*admin, path))
	return path
}

// Eventually polls cond every interval until it returns true or timeout
// passes, failing the test with the last error.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, timeout, true,
		func(ctx context.Context) (bool, error) {
			ok, err := cond(ctx)
			if err != nil && !apierrors.IsNotFound(err) {
				last = err
			}
			return ok, nil
		})
	require.NoError(t, err, "waiting for %s (last error: %v)", what, last)
}
