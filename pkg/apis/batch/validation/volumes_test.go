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
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestValidateMoreVolumeSources covers projected, nfs, csi, ephemeral and
// image volumes, and the user IDs of file-projecting sources.
func TestValidateMoreVolumeSources(t *testing.T) {
	const v0 = "spec.template.spec.volumes[0]."
	storage := func(q string) corev1.VolumeResourceRequirements {
		return corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(q)}}
	}
	claim := func(mutate func(*corev1.PersistentVolumeClaimTemplate)) *corev1.EphemeralVolumeSource {
		tpl := &corev1.PersistentVolumeClaimTemplate{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "scratch"}},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   storage("1Gi"),
				VolumeMode:  ptr.To(corev1.PersistentVolumeFilesystem),
			},
		}
		if mutate != nil {
			mutate(tpl)
		}
		return &corev1.EphemeralVolumeSource{VolumeClaimTemplate: tpl}
	}
	volume := func(src corev1.VolumeSource) func(*corev1.PodSpec) {
		return func(spec *corev1.PodSpec) { spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: src}} }
	}
	cases := map[string]struct {
		mutate func(*corev1.PodSpec)
		want   []wantErr
	}{
		"valid sources": {mutate: func(spec *corev1.PodSpec) {
			spec.Volumes = []corev1.Volume{
				{Name: "projected", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
					DefaultMode: ptr.To[int32](0o440), DefaultUser: ptr.To[int64](1000),
					Sources: []corev1.VolumeProjection{
						{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "vault", ExpirationSeconds: ptr.To[int64](3600), Path: "token"}},
						{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Items: []corev1.KeyToPath{{Key: "k", Path: "config/k"}}}},
						{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}}},
						{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
							{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels"}}}}},
						{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{SignerName: ptr.To("example.com/signer"),
							LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}, Path: "ca.pem"}},
						{PodCertificate: &corev1.PodCertificateProjection{SignerName: "example.com/signer", KeyType: "ED25519", CredentialBundlePath: "creds.pem"}},
					},
				}}},
				{Name: "nfs", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs.example.com", Path: "/exports/data"}}},
				{Name: "csi", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "secrets-store.csi.k8s.io",
					NodePublishSecretRef: &corev1.LocalObjectReference{Name: "creds"}}}},
				{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: claim(nil)}},
				{Name: "model", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "registry.example/model:v1", PullPolicy: corev1.PullIfNotPresent}}},
			}
		}},
		"projected: bad mode and user, two kinds in one source, duplicate paths": {
			mutate: volume(corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				DefaultMode: ptr.To[int32](0o1000), DefaultUser: ptr.To[int64](-1),
				Sources: []corev1.VolumeProjection{
					{ConfigMap: &corev1.ConfigMapProjection{Items: []corev1.KeyToPath{{Key: "k", Path: "same", User: ptr.To[int64](-1)}}},
						Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Items: []corev1.KeyToPath{{Key: "k", Path: "same"}}}},
				},
			}}),
			want: []wantErr{
				invalid(v0+"projected.defaultMode", fileModeErrorMsg),
				invalid(v0 + "projected.defaultUser"),
				required(v0 + "projected.sources[0].configMap.name"),
				invalid(v0+"projected.sources[0].configMap.items[0].user", "between 0 and 2147483647"),
				invalid(v0+"projected", "conflicting duplicate paths"),
				forbidden(v0+"projected.sources[0]", "may not specify more than 1 volume type per source"),
			},
		},
		"projected: service account token too short-lived and without a path": {
			mutate: volume(corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: ptr.To[int64](60)}},
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "../token"}},
			}}}),
			want: []wantErr{
				invalid(v0+"projected.sources[0].serviceAccountToken.expirationSeconds", "less than 10 minutes"),
				required(v0 + "projected.path"),
				required(v0 + "projected.sources[1].serviceAccountToken.expirationSeconds"),
				invalid(v0+"projected.path", "must not contain '..'"),
			},
		},
		"projected: cluster trust bundles and pod certificates": {
			mutate: volume(corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{Name: ptr.To("a"), SignerName: ptr.To("example.com/s"), Path: "a.pem"}},
				{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{Name: ptr.To("b"), LabelSelector: &metav1.LabelSelector{}}},
				{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{Path: "a.pem"}},
				{PodCertificate: &corev1.PodCertificateProjection{SignerName: "example.com/s", KeyType: "DSA"}},
			}}}),
			want: []wantErr{
				invalid(v0+"projected.sources[0].clusterTrustBundle", "only one of name and signerName may be used"),
				invalid(v0+"projected.sources[1].clusterTrustBundle.labelSelector", "labelSelector must be unset if name is specified"),
				required(v0 + "projected.sources[1].clusterTrustBundle.path"),
				required(v0+"projected.sources[2].clusterTrustBundle", "either name or signerName must be specified"),
				invalid(v0+"projected", "conflicting duplicate paths"),
				notSupported(v0 + "projected.sources[3].podCertificate.keyType"),
				required(v0+"projected.sources[3].podCertificate", "specify at least one of credentialBundlePath, keyPath, and certificateChainPath"),
			},
		},
		"projected: signer names, bundle names, certificate lifetimes and annotations": {
			mutate: volume(corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{SignerName: ptr.To("no-slash"), Path: "a"}},
				{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{SignerName: ptr.To("localhost/s"), Path: "b"}},
				{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{Name: ptr.To("example.com:s:Bad_Bundle"), Path: "c"}},
				{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{Name: ptr.To("example.com:s:bundle"), Path: "d"}},
				{PodCertificate: &corev1.PodCertificateProjection{SignerName: "kubernetes.io/kube-apiserver-client-pod", KeyType: "ED25519",
					KeyPath: "k", MaxExpirationSeconds: ptr.To[int32](2 * 24 * 3600), UserAnnotations: map[string]string{"no-domain": "v"}}},
				{PodCertificate: &corev1.PodCertificateProjection{SignerName: "example.com/s", KeyType: "DSA", KeyPath: "k2", MaxExpirationSeconds: ptr.To[int32](60)}},
			}}}),
			want: []wantErr{
				invalid(v0+"projected.sources[0].clusterTrustBundle.signerName", "must be a fully qualified domain and path of the form 'example.com/signer-name'"),
				invalid(v0+"projected.sources[1].clusterTrustBundle.signerName", "should be a domain with at least two segments separated by dots"),
				invalid(v0 + "projected.sources[2].clusterTrustBundle.name"),
				invalid(v0+"projected.sources[4].podCertificate.maxExpirationSeconds", "must be <= 86400"),
				invalid(v0+"projected.sources[4].podCertificate.userAnnotations", "prefix"),
				notSupported(v0+"projected.sources[5].podCertificate.keyType", `"RSA3072", "RSA4096", "ECDSAP256", "ECDSAP384", "ECDSAP521", "ED25519"`),
				invalid(v0+"projected.sources[5].podCertificate.maxExpirationSeconds", "must be >= 3600"),
			},
		},
		"nfs without server and with a relative path": {
			mutate: volume(corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Path: "exports"}}),
			want:   []wantErr{required(v0 + "nfs.server"), invalid(v0+"nfs.path", "must be an absolute path")},
		},
		"csi without driver": {
			mutate: volume(corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{NodePublishSecretRef: &corev1.LocalObjectReference{}}}),
			want:   []wantErr{required(v0 + "csi.driver"), required(v0 + "csi.nodePublishSecretRef.name")},
		},
		"csi with a bad driver and secret name": {
			mutate: volume(corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: strings.Repeat("d", 64) + "_x",
				NodePublishSecretRef: &corev1.LocalObjectReference{Name: "Bad_Name"}}}),
			want: []wantErr{tooLong(v0 + "csi.driver"), invalid(v0 + "csi.driver"), invalid(v0 + "csi.name")},
		},
		"ephemeral without a claim template": {
			mutate: volume(corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}),
			want:   []wantErr{required(v0 + "ephemeral.volumeClaimTemplate")},
		},
		"ephemeral with a bad claim template": {
			mutate: volume(corev1.VolumeSource{Ephemeral: claim(func(tpl *corev1.PersistentVolumeClaimTemplate) {
				tpl.Name, tpl.Namespace = "fixed", "other"
				tpl.Labels = map[string]string{"bad key": "v"}
				tpl.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadWriteOnce, "WriteOnly"}
				tpl.Spec.Resources = storage("0")
				tpl.Spec.StorageClassName = ptr.To("Fast_SSD")
				tpl.Spec.VolumeMode = ptr.To[corev1.PersistentVolumeMode]("Raw")
			})}),
			want: []wantErr{
				forbidden(v0+"ephemeral.volumeClaimTemplate.metadata.name", "cannot be set"),
				forbidden(v0+"ephemeral.volumeClaimTemplate.metadata.namespace", "cannot be set"),
				invalid(v0 + "ephemeral.volumeClaimTemplate.metadata.labels"),
				notSupported(v0 + "ephemeral.volumeClaimTemplate.spec.accessModes"),
				forbidden(v0+"ephemeral.volumeClaimTemplate.spec.accessModes", "may not use ReadWriteOncePod with other access modes"),
				invalid(v0+"ephemeral.volumeClaimTemplate.spec.resources[storage]", "must be greater than zero"),
				invalid(v0 + "ephemeral.volumeClaimTemplate.spec.storageClassName"),
				notSupported(v0 + "ephemeral.volumeClaimTemplate.spec.volumeMode"),
			},
		},
		"ephemeral claim template without access modes or storage": {
			mutate: volume(corev1.VolumeSource{Ephemeral: claim(func(tpl *corev1.PersistentVolumeClaimTemplate) {
				tpl.Spec.AccessModes = nil
				tpl.Spec.Resources = corev1.VolumeResourceRequirements{}
			})}),
			want: []wantErr{
				required(v0+"ephemeral.volumeClaimTemplate.spec.accessModes", "at least 1 access mode is required"),
				required(v0 + "ephemeral.volumeClaimTemplate.spec.resources[storage]"),
			},
		},
		"image without reference and with an unknown pull policy": {
			mutate: volume(corev1.VolumeSource{Image: &corev1.ImageVolumeSource{PullPolicy: "Sometimes"}}),
			want:   []wantErr{required(v0 + "image.reference"), notSupported(v0 + "image.pullPolicy")},
		},
		"user IDs of secret, configMap and downwardAPI volumes": {
			mutate: func(spec *corev1.PodSpec) {
				spec.Volumes = []corev1.Volume{
					{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultUser: ptr.To[int64](-1)}}},
					{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"},
						DefaultUser: ptr.To[int64](1 << 31)}}},
					{Name: "d", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{DefaultUser: ptr.To[int64](-1),
						Items: []corev1.DownwardAPIVolumeFile{{Path: "l", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels"}, User: ptr.To[int64](-1)}}}}},
				}
			},
			want: []wantErr{
				invalid("spec.template.spec.volumes[0].secret.defaultUser"),
				invalid("spec.template.spec.volumes[1].configMap.defaultUser"),
				invalid("spec.template.spec.volumes[2].downwardAPI.defaultUser"),
				invalid("spec.template.spec.volumes[2].downwardAPI.user"),
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			job := podSpecJob(tc.mutate)
			assertErrors(t, ValidateJobCreate(job, JobCreateValidationOptions(job)), tc.want...)
		})
	}
}

// TestVolumesValidOnceDefaulted: what users write for a projected token,
// an ephemeral scratch volume and an image volume (no expirationSeconds,
// volumeMode or pullPolicy) is valid once the v1 defaults are applied.
func TestVolumesValidOnceDefaulted(t *testing.T) {
	job := jobFromManifest(t, `
apiVersion: batch.jobserver.dev/v1
kind: Job
metadata:
  name: volumes
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        volumeMounts:
        - {name: token, mountPath: /var/run/token}
        - {name: scratch, mountPath: /scratch}
        - {name: model, mountPath: /model}
      volumes:
      - name: token
        projected:
          sources:
          - serviceAccountToken:
              audience: vault
              path: token
      - name: scratch
        ephemeral:
          volumeClaimTemplate:
            spec:
              accessModes: ["ReadWriteOnce"]
              resources:
                requests:
                  storage: 1Gi
      - name: model
        image:
          reference: registry.example/model:latest
`, "default", testUID)
	assertErrors(t, ValidateJobCreate(job, JobCreateValidationOptions(job)))
	vols := job.Spec.Template.Spec.Volumes
	require.Len(t, vols, 3)
	assert.Equal(t, ptr.To[int64](3600), vols[0].Projected.Sources[0].ServiceAccountToken.ExpirationSeconds)
	assert.Equal(t, ptr.To(corev1.PersistentVolumeFilesystem), vols[1].Ephemeral.VolumeClaimTemplate.Spec.VolumeMode)
	assert.Equal(t, corev1.PullAlways, vols[2].Image.PullPolicy, ":latest")
}

// fileModeErrorMsg is upstream's message for a file mode out of range.
const fileModeErrorMsg = "must be a number between 0 and 0777 (octal), both inclusive"
