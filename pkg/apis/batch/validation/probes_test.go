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

package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestValidateProbesAndHooks(t *testing.T) {
	const c0 = "spec.template.spec.containers[0]."
	// As the v1 defaults leave them.
	probe := func(h corev1.ProbeHandler) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: h, TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3}
	}
	execProbe := func() *corev1.Probe {
		return probe(corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}})
	}
	httpGet := func(port intstr.IntOrString) *corev1.HTTPGetAction {
		return &corev1.HTTPGetAction{Path: "/healthz", Port: port, Scheme: corev1.URISchemeHTTP}
	}
	cases := map[string]struct {
		mutate func(c *corev1.Container)
		want   []wantErr
	}{
		"valid probes of every kind and hooks": {mutate: func(c *corev1.Container) {
			c.LivenessProbe = probe(corev1.ProbeHandler{HTTPGet: httpGet(intstr.FromString("http"))})
			c.ReadinessProbe = probe(corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}})
			c.StartupProbe = probe(corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000}})
			c.StartupProbe.TerminationGracePeriodSeconds = ptr.To[int64](10)
			c.Lifecycle = &corev1.Lifecycle{
				PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}},
				PreStop:   &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 0}},
			}
		}},
		"probe without a handler": {
			mutate: func(c *corev1.Container) { c.LivenessProbe = probe(corev1.ProbeHandler{}) },
			want:   []wantErr{required(c0+"livenessProbe", "must specify a handler type")},
		},
		"probe with two handlers": {
			mutate: func(c *corev1.Container) {
				c.ReadinessProbe = execProbe()
				c.ReadinessProbe.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}
			},
			want: []wantErr{forbidden(c0+"readinessProbe.tcpSocket", "may not specify more than 1 handler type")},
		},
		"exec without a command": {
			mutate: func(c *corev1.Container) { c.StartupProbe = probe(corev1.ProbeHandler{Exec: &corev1.ExecAction{}}) },
			want:   []wantErr{required(c0 + "startupProbe.exec.command")},
		},
		"httpGet: no path, bad port, bad scheme, bad header": {
			mutate: func(c *corev1.Container) {
				h := httpGet(intstr.FromInt32(70000))
				h.Path, h.Scheme = "", "FTP"
				h.HTTPHeaders = []corev1.HTTPHeader{{Name: "bad header", Value: "x"}}
				c.ReadinessProbe = probe(corev1.ProbeHandler{HTTPGet: h})
			},
			want: []wantErr{
				required(c0 + "readinessProbe.httpGet.path"),
				invalid(c0+"readinessProbe.httpGet.port", "between 1 and 65535"),
				notSupported(c0 + "readinessProbe.httpGet.scheme"),
				invalid(c0 + "readinessProbe.httpGet.httpHeaders"),
			},
		},
		"tcpSocket and grpc ports": {
			mutate: func(c *corev1.Container) {
				c.ReadinessProbe = probe(corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("not_a_name")}})
				c.StartupProbe = probe(corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 0}})
			},
			want: []wantErr{
				invalid(c0 + "readinessProbe.tcpSocket.port"),
				invalid(c0+"startupProbe.grpc.port", "between 1 and 65535"),
			},
		},
		"negative timings": {
			mutate: func(c *corev1.Container) {
				c.ReadinessProbe = execProbe()
				c.ReadinessProbe.InitialDelaySeconds, c.ReadinessProbe.TimeoutSeconds, c.ReadinessProbe.PeriodSeconds = -1, -1, -1
				c.ReadinessProbe.SuccessThreshold, c.ReadinessProbe.FailureThreshold = -1, -1
			},
			want: []wantErr{
				invalid(c0+"readinessProbe.initialDelaySeconds", "must be greater than or equal to 0"),
				invalid(c0 + "readinessProbe.timeoutSeconds"),
				invalid(c0 + "readinessProbe.periodSeconds"),
				invalid(c0 + "readinessProbe.successThreshold"),
				invalid(c0 + "readinessProbe.failureThreshold"),
			},
		},
		"liveness and startup successThreshold must be 1": {
			mutate: func(c *corev1.Container) {
				c.LivenessProbe, c.StartupProbe = execProbe(), execProbe()
				c.LivenessProbe.SuccessThreshold, c.StartupProbe.SuccessThreshold = 2, 3
			},
			want: []wantErr{
				invalid(c0+"livenessProbe.successThreshold", "must be 1"),
				invalid(c0+"startupProbe.successThreshold", "must be 1"),
			},
		},
		"probe terminationGracePeriodSeconds": {
			mutate: func(c *corev1.Container) {
				c.LivenessProbe, c.ReadinessProbe = execProbe(), execProbe()
				c.LivenessProbe.TerminationGracePeriodSeconds = ptr.To[int64](0)
				c.ReadinessProbe.TerminationGracePeriodSeconds = ptr.To[int64](5)
			},
			want: []wantErr{
				invalid(c0+"livenessProbe.terminationGracePeriodSeconds", "must be greater than 0"),
				invalid(c0+"readinessProbe.terminationGracePeriodSeconds", "must not be set for readinessProbes"),
			},
		},
		"hook without a handler, hook with two": {
			mutate: func(c *corev1.Container) {
				c.Lifecycle = &corev1.Lifecycle{
					PostStart: &corev1.LifecycleHandler{},
					PreStop: &corev1.LifecycleHandler{HTTPGet: httpGet(intstr.FromInt32(80)),
						Sleep: &corev1.SleepAction{Seconds: 1}},
				}
			},
			want: []wantErr{
				required(c0+"lifecycle.postStart", "must specify a handler type"),
				forbidden(c0 + "lifecycle.preStop.sleep"),
			},
		},
		"preStop sleep longer than the grace period": {
			mutate: func(c *corev1.Container) {
				c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 31}}}
			},
			want: []wantErr{invalid(c0+"lifecycle.preStop.sleep", "less than terminationGracePeriodSeconds (30)")},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			job := containerJob(tc.mutate)
			assertErrors(t, ValidateJobCreate(job, JobCreateValidationOptions(job)), tc.want...)
		})
	}

	t.Run("sidecar probes are validated, plain init containers may not have them", func(t *testing.T) {
		job := podSpecJob(func(spec *corev1.PodSpec) {
			bad := probe(corev1.ProbeHandler{})
			spec.InitContainers = []corev1.Container{
				{Name: "sidecar", Image: "busybox", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
					ImagePullPolicy: corev1.PullIfNotPresent, TerminationMessagePath: corev1.TerminationMessagePathDefault,
					TerminationMessagePolicy: corev1.TerminationMessageReadFile, ReadinessProbe: bad},
				{Name: "init", Image: "busybox",
					ImagePullPolicy: corev1.PullIfNotPresent, TerminationMessagePath: corev1.TerminationMessagePathDefault,
					TerminationMessagePolicy: corev1.TerminationMessageReadFile, ReadinessProbe: execProbe()},
			}
		})
		assertErrors(t, ValidateJobCreate(job, JobCreateValidationOptions(job)),
			required("spec.template.spec.initContainers[0].readinessProbe", "must specify a handler type"),
			forbidden("spec.template.spec.initContainers[1].readinessProbe", "restartPolicy=Always"),
		)
	})
}

func TestProbesValidOnceDefaulted(t *testing.T) {
	// What users write: no thresholds, no scheme. The v1 defaults fill them
	// in before validation, as for the built-in Job.
	job := jobFromManifest(t, `
apiVersion: batch.jobserver.dev/v1
kind: Job
metadata:
  name: probed
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        livenessProbe:
          httpGet:
            path: /healthz
            port: 8080
        startupProbe:
          exec:
            command: ["true"]
        lifecycle:
          preStop:
            sleep:
              seconds: 5
`, "default", testUID)
	assertErrors(t, ValidateJobCreate(job, JobCreateValidationOptions(job)))
}
