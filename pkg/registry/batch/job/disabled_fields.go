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

package job

import (
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

// disabledPodFields are the pod template fields of features that
// Kubernetes 1.37 turns off by default (alpha, and GenericWorkload, beta).
// As upstream's pod.DropDisabledTemplateFields, which the built-in Job
// strategy calls, they are cleared on create, and on update unless the
// stored template already used them: kube-apiserver would clear them from
// the Pods anyway, so storing them would only mislead, and they are not
// validated either.
var disabledPodFields = []struct {
	gate string
	drop func(*corev1.PodSpec)
}{
	{"AtomicWriteVolumeUserFields", dropVolumeUserFields},
	{"EmptyDirVolumeMode", func(spec *corev1.PodSpec) {
		for i := range spec.Volumes {
			if spec.Volumes[i].EmptyDir != nil {
				spec.Volumes[i].EmptyDir.Mode = nil
			}
		}
	}},
	{"VolumeBindMountOptions", func(spec *corev1.PodSpec) {
		visitContainers(spec, func(c *corev1.Container) {
			for j := range c.VolumeMounts {
				c.VolumeMounts[j].BindMountOptions = nil
			}
		})
	}},
	{"ContainerStopSignals", func(spec *corev1.PodSpec) {
		visitContainers(spec, func(c *corev1.Container) {
			if c.Lifecycle != nil && c.Lifecycle.StopSignal != nil {
				c.Lifecycle.StopSignal = nil
				if *c.Lifecycle == (corev1.Lifecycle{}) {
					c.Lifecycle = nil
				}
			}
		})
	}},
	{"GRPCContainerProbeTLS", func(spec *corev1.PodSpec) {
		visitContainers(spec, func(c *corev1.Container) {
			for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
				if p != nil && p.GRPC != nil {
					p.GRPC.Mode = nil
				}
			}
		})
	}},
	{"H2CContainerProbe", func(spec *corev1.PodSpec) {
		visitContainers(spec, func(c *corev1.Container) {
			for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
				if p != nil && p.HTTPGet != nil {
					p.HTTPGet.Protocol = nil
				}
			}
			if c.Lifecycle != nil {
				for _, h := range []*corev1.LifecycleHandler{c.Lifecycle.PostStart, c.Lifecycle.PreStop} {
					if h != nil && h.HTTPGet != nil {
						h.HTTPGet.Protocol = nil
					}
				}
			}
		})
	}},
	{"EvictionRequestAPI", func(spec *corev1.PodSpec) { spec.EvictionResponders = nil }},
	{"GenericWorkload", func(spec *corev1.PodSpec) { spec.SchedulingGroup = nil }},
}

// initContainerAnnotations are the template annotations of init containers
// before spec.initContainers (Kubernetes 1.8); upstream always drops them.
var initContainerAnnotations = []string{
	"pod.beta.kubernetes.io/init-containers",
	"pod.alpha.kubernetes.io/init-containers",
	"pod.beta.kubernetes.io/init-container-statuses",
	"pod.alpha.kubernetes.io/init-container-statuses",
}

// dropDisabledTemplateFields drops the legacy init container annotations
// and the fields of disabledPodFields from tpl; stored is the stored
// template on update, nil on create.
func dropDisabledTemplateFields(tpl, stored *corev1.PodTemplateSpec) {
	for _, key := range initContainerAnnotations {
		delete(tpl.Annotations, key)
	}
	if stored == nil {
		dropDisabledPodFields(&tpl.Spec, nil)
		return
	}
	// An unchanged spec holds only what the stored one uses: nothing to
	// drop (most updates: labels, suspend, finalizers).
	if !apiequality.Semantic.DeepEqual(tpl.Spec, stored.Spec) {
		dropDisabledPodFields(&tpl.Spec, &stored.Spec)
	}
}

// dropDisabledPodFields clears the fields of disabledPodFields from spec,
// except those the stored spec (nil on create) already uses: a field is in
// use when dropping it would change the stored spec.
func dropDisabledPodFields(spec, stored *corev1.PodSpec) {
	for _, f := range disabledPodFields {
		if stored != nil {
			dropped := stored.DeepCopy()
			f.drop(dropped)
			if !apiequality.Semantic.DeepEqual(dropped, stored) {
				continue
			}
		}
		f.drop(spec)
	}
}

// dropVolumeUserFields clears the user IDs of secret, configMap,
// downwardAPI and projected volumes and of their items and sources.
func dropVolumeUserFields(spec *corev1.PodSpec) {
	keyToPaths := func(items []corev1.KeyToPath) {
		for i := range items {
			items[i].User = nil
		}
	}
	files := func(items []corev1.DownwardAPIVolumeFile) {
		for i := range items {
			items[i].User = nil
		}
	}
	for i := range spec.Volumes {
		v := &spec.Volumes[i].VolumeSource
		switch {
		case v.Secret != nil:
			v.Secret.DefaultUser = nil
			keyToPaths(v.Secret.Items)
		case v.ConfigMap != nil:
			v.ConfigMap.DefaultUser = nil
			keyToPaths(v.ConfigMap.Items)
		case v.DownwardAPI != nil:
			v.DownwardAPI.DefaultUser = nil
			files(v.DownwardAPI.Items)
		case v.Projected != nil:
			v.Projected.DefaultUser = nil
			for j := range v.Projected.Sources {
				s := &v.Projected.Sources[j]
				switch {
				case s.Secret != nil:
					keyToPaths(s.Secret.Items)
				case s.DownwardAPI != nil:
					files(s.DownwardAPI.Items)
				case s.ConfigMap != nil:
					keyToPaths(s.ConfigMap.Items)
				case s.ServiceAccountToken != nil:
					s.ServiceAccountToken.User = nil
				case s.ClusterTrustBundle != nil:
					s.ClusterTrustBundle.User = nil
				case s.PodCertificate != nil:
					s.PodCertificate.User = nil
				}
			}
		}
	}
}

func visitContainers(spec *corev1.PodSpec, visit func(*corev1.Container)) {
	for i := range spec.InitContainers {
		visit(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		visit(&spec.Containers[i])
	}
}
