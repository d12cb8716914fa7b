/*
Copyright 2014 The Kubernetes Authors.
Copyright 2026 The jobserver Authors.

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

// Pod template volumes, volume mounts and volume devices
// (core validation ValidateVolumes, ValidateVolumeMounts,
// ValidateVolumeDevices).

import (
	"path"
	"path/filepath"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	fileModeErrorMsg     = "must be a number between 0 and 0777 (octal), both inclusive"
	emptyDirModeErrorMsg = "must be a number between 0 and 01777 (octal), both inclusive"
)

var (
	supportedHostPathTypes = sets.New(
		corev1.HostPathUnset,
		corev1.HostPathDirectoryOrCreate,
		corev1.HostPathDirectory,
		corev1.HostPathFileOrCreate,
		corev1.HostPathFile,
		corev1.HostPathSocket,
		corev1.HostPathCharDev,
		corev1.HostPathBlockDev)
	supportedAccessModes             = sets.New(corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod)
	supportedVolumeModes             = sets.New(corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem)
	validVolumeDownwardAPIFieldPaths = sets.New(
		"metadata.name",
		"metadata.namespace",
		"metadata.labels",
		"metadata.annotations",
		"metadata.uid")
)

// validateVolumes checks names (unique DNS-1123 labels) and sources (exactly
// one). It returns the valid volumes by name, for the volume mounts.
func validateVolumes(volumes []corev1.Volume, fldPath *field.Path) (map[string]*corev1.VolumeSource, field.ErrorList) {
	var allErrs field.ErrorList
	vols := make(map[string]*corev1.VolumeSource, len(volumes))
	for i := range volumes {
		vol := &volumes[i]
		idxPath := fldPath.Index(i)
		namePath := idxPath.Child("name")
		errs := validateVolumeSource(&vol.VolumeSource, idxPath)
		if len(vol.Name) == 0 {
			errs = append(errs, field.Required(namePath, ""))
		} else {
			errs = append(errs, validateDNS1123Label(vol.Name, namePath)...)
		}
		if _, dup := vols[vol.Name]; dup {
			errs = append(errs, field.Duplicate(namePath, vol.Name))
		}
		if len(errs) == 0 {
			vols[vol.Name] = &vol.VolumeSource
		} else {
			allErrs = append(allErrs, errs...)
		}
	}
	return vols, allErrs
}

// setVolumeSources returns the JSON names of the sources set in src, in
// field order.
func setVolumeSources(src *corev1.VolumeSource) []string {
	var names []string
	v := reflect.ValueOf(src).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() != reflect.Pointer || f.IsNil() {
			continue
		}
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	return names
}

// validateVolumeSource requires exactly one source and checks the details of
// emptyDir, hostPath, secret, configMap, persistentVolumeClaim, downwardAPI,
// projected, nfs, csi, ephemeral and image. Not ported: the in-tree sources
// of cloud and storage vendors (gcePersistentDisk, awsElasticBlockStore,
// iscsi, rbd, cephfs, ...), which kube-apiserver still checks on each Pod.
func validateVolumeSource(src *corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	sources := setVolumeSources(src)
	if len(sources) == 0 {
		return field.ErrorList{field.Required(fldPath, "must specify a volume type")}
	}
	var allErrs field.ErrorList
	for _, extra := range sources[1:] {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child(extra), "may not specify more than 1 volume type"))
	}
	srcPath := fldPath.Child(sources[0])
	switch sources[0] {
	case "emptyDir":
		if src.EmptyDir.SizeLimit != nil && src.EmptyDir.SizeLimit.Sign() < 0 {
			allErrs = append(allErrs, field.Forbidden(srcPath.Child("sizeLimit"), "SizeLimit field must be a valid resource quantity"))
		}
		if mode := src.EmptyDir.Mode; mode != nil && (*mode > 01777 || *mode < 0) {
			allErrs = append(allErrs, field.Invalid(srcPath.Child("mode"), *mode, emptyDirModeErrorMsg))
		}
	case "hostPath":
		if len(src.HostPath.Path) == 0 {
			allErrs = append(allErrs, field.Required(srcPath.Child("path"), ""))
			break
		}
		allErrs = append(allErrs, validatePathNoBacksteps(src.HostPath.Path, srcPath.Child("path"))...)
		if src.HostPath.Type != nil && !supportedHostPathTypes.Has(*src.HostPath.Type) {
			allErrs = append(allErrs, field.NotSupported(srcPath.Child("type"), *src.HostPath.Type, sets.List(supportedHostPathTypes)))
		}
	case "secret":
		allErrs = append(allErrs, validateKeyedVolume(srcPath, "secretName", src.Secret.SecretName,
			src.Secret.DefaultMode, src.Secret.DefaultUser, src.Secret.Items)...)
	case "configMap":
		allErrs = append(allErrs, validateKeyedVolume(srcPath, "name", src.ConfigMap.Name,
			src.ConfigMap.DefaultMode, src.ConfigMap.DefaultUser, src.ConfigMap.Items)...)
	case "persistentVolumeClaim":
		if len(src.PersistentVolumeClaim.ClaimName) == 0 {
			allErrs = append(allErrs, field.Required(srcPath.Child("claimName"), ""))
		}
	case "downwardAPI":
		allErrs = append(allErrs, validateFileMode(src.DownwardAPI.DefaultMode, srcPath.Child("defaultMode"))...)
		allErrs = append(allErrs, validateUserField(src.DownwardAPI.DefaultUser, srcPath.Child("defaultUser"))...)
		for i := range src.DownwardAPI.Items {
			// Upstream reports item errors under the source's path.
			allErrs = append(allErrs, validateDownwardAPIVolumeFile(&src.DownwardAPI.Items[i], srcPath)...)
		}
	case "projected":
		allErrs = append(allErrs, validateFileMode(src.Projected.DefaultMode, srcPath.Child("defaultMode"))...)
		allErrs = append(allErrs, validateUserField(src.Projected.DefaultUser, srcPath.Child("defaultUser"))...)
		allErrs = append(allErrs, validateProjectionSources(src.Projected, srcPath)...)
	case "nfs":
		if len(src.NFS.Server) == 0 {
			allErrs = append(allErrs, field.Required(srcPath.Child("server"), ""))
		}
		if len(src.NFS.Path) == 0 {
			allErrs = append(allErrs, field.Required(srcPath.Child("path"), ""))
		}
		if !path.IsAbs(src.NFS.Path) {
			allErrs = append(allErrs, field.Invalid(srcPath.Child("path"), src.NFS.Path, "must be an absolute path"))
		}
	case "csi":
		allErrs = append(allErrs, validateCSIDriverName(src.CSI.Driver, srcPath.Child("driver"))...)
		if ref := src.CSI.NodePublishSecretRef; ref != nil {
			if len(ref.Name) == 0 {
				allErrs = append(allErrs, field.Required(srcPath.Child("nodePublishSecretRef", "name"), ""))
			} else {
				// Upstream reports it at csi.name.
				allErrs = append(allErrs, validateDNS1123Subdomain(ref.Name, srcPath.Child("name"))...)
			}
		}
	case "ephemeral":
		if src.Ephemeral.VolumeClaimTemplate == nil {
			allErrs = append(allErrs, field.Required(srcPath.Child("volumeClaimTemplate"), ""))
		} else {
			allErrs = append(allErrs, validatePersistentVolumeClaimTemplate(src.Ephemeral.VolumeClaimTemplate, srcPath.Child("volumeClaimTemplate"))...)
		}
	case "image":
		if len(src.Image.Reference) == 0 {
			allErrs = append(allErrs, field.Required(srcPath.Child("reference"), ""))
		}
		if p := src.Image.PullPolicy; p != "" && !supportedPullPolicies.Has(p) {
			allErrs = append(allErrs, field.NotSupported(srcPath.Child("pullPolicy"), p, sets.List(supportedPullPolicies)))
		}
	}
	return allErrs
}

// validateProjectionSources checks each source of a projected volume (one
// kind per entry) and that no two write the same path. As upstream, some
// errors are reported at the projected volume's path rather than the
// entry's.
func validateProjectionSources(projection *corev1.ProjectedVolumeSource, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	allPaths := sets.New[string]()
	// claimPath records a file path and returns the conflict, if another
	// source of the volume writes it too.
	claimPath := func(p string, value any) field.ErrorList {
		if allPaths.Has(p) {
			return field.ErrorList{field.Invalid(fldPath, value, "conflicting duplicate paths")}
		}
		allPaths.Insert(p)
		return nil
	}
	for i, source := range projection.Sources {
		numSources := 0
		srcPath := fldPath.Child("sources").Index(i)
		// A secret or configMap source: its name, and each item's key and path.
		keyToPaths := func(name string, items []corev1.KeyToPath, projPath *field.Path) {
			numSources++
			if len(name) == 0 {
				allErrs = append(allErrs, field.Required(projPath.Child("name"), ""))
			}
			for j := range items {
				allErrs = append(allErrs, validateKeyToPath(&items[j], projPath.Child("items").Index(j))...)
				if len(items[j].Path) > 0 {
					allErrs = append(allErrs, claimPath(items[j].Path, name)...)
				}
			}
		}
		if source.Secret != nil {
			keyToPaths(source.Secret.Name, source.Secret.Items, srcPath.Child("secret"))
		}
		if source.ConfigMap != nil {
			keyToPaths(source.ConfigMap.Name, source.ConfigMap.Items, srcPath.Child("configMap"))
		}
		if projPath := srcPath.Child("downwardAPI"); source.DownwardAPI != nil {
			numSources++
			for j := range source.DownwardAPI.Items {
				file := &source.DownwardAPI.Items[j]
				allErrs = append(allErrs, validateDownwardAPIVolumeFile(file, projPath)...)
				if len(file.Path) > 0 {
					allErrs = append(allErrs, claimPath(file.Path, file.Path)...)
				}
			}
		}
		if projPath := srcPath.Child("serviceAccountToken"); source.ServiceAccountToken != nil {
			numSources++
			sat := source.ServiceAccountToken
			if exp := sat.ExpirationSeconds; exp == nil {
				allErrs = append(allErrs, field.Required(projPath.Child("expirationSeconds"), ""))
			} else {
				if *exp < 10*60 {
					allErrs = append(allErrs, field.Invalid(projPath.Child("expirationSeconds"), *exp, "may not specify a duration less than 10 minutes"))
				}
				if *exp > 1<<32 {
					allErrs = append(allErrs, field.Invalid(projPath.Child("expirationSeconds"), *exp, "may not specify a duration larger than 2^32 seconds"))
				}
			}
			if sat.Path == "" {
				allErrs = append(allErrs, field.Required(fldPath.Child("path"), ""))
			} else {
				allErrs = append(allErrs, validateLocalNonReservedPath(sat.Path, fldPath.Child("path"))...)
			}
			allErrs = append(allErrs, validateUserField(sat.User, projPath.Child("user"))...)
		}
		if projPath := srcPath.Child("clusterTrustBundle"); source.ClusterTrustBundle != nil {
			numSources++
			allErrs = append(allErrs, validateClusterTrustBundleProjection(source.ClusterTrustBundle, projPath, claimPath)...)
		}
		if projPath := srcPath.Child("podCertificate"); source.PodCertificate != nil {
			numSources++
			allErrs = append(allErrs, validatePodCertificateProjection(source.PodCertificate, projPath, claimPath)...)
		}
		if numSources > 1 {
			allErrs = append(allErrs, field.Forbidden(srcPath, "may not specify more than 1 volume type per source"))
		}
	}
	return allErrs
}

// validatePersistentVolumeClaimTemplate checks the claim template of an
// ephemeral volume (upstream ValidatePersistentVolumeClaimTemplate): only
// labels and annotations in its metadata, and the main rules of the claim
// spec. Not ported: dataSource and dataSourceRef.
func validatePersistentVolumeClaimTemplate(tpl *corev1.PersistentVolumeClaimTemplate, fldPath *field.Path) field.ErrorList {
	metaPath := fldPath.Child("metadata")
	allErrs := apimachineryvalidation.ValidateAnnotations(tpl.Annotations, metaPath.Child("annotations"))
	allErrs = append(allErrs, metav1validation.ValidateLabels(tpl.Labels, metaPath.Child("labels"))...)
	// Every other field of the metadata must be unset.
	meta := reflect.ValueOf(tpl.ObjectMeta)
	for i := 0; i < meta.NumField(); i++ {
		f := meta.Type().Field(i)
		if f.Name == "Labels" || f.Name == "Annotations" || meta.Field(i).IsZero() {
			continue
		}
		allErrs = append(allErrs, field.Forbidden(metaPath.Child(strings.ToLower(f.Name[:1])+f.Name[1:]), "cannot be set"))
	}

	spec := &tpl.Spec
	specPath := fldPath.Child("spec")
	if len(spec.AccessModes) == 0 {
		allErrs = append(allErrs, field.Required(specPath.Child("accessModes"), "at least 1 access mode is required"))
	}
	if spec.Selector != nil {
		allErrs = append(allErrs, metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, specPath.Child("selector"))...)
	}
	rwop, others := false, false
	for _, mode := range spec.AccessModes {
		switch {
		case !supportedAccessModes.Has(mode):
			allErrs = append(allErrs, field.NotSupported(specPath.Child("accessModes"), mode, sets.List(supportedAccessModes)))
		case mode == corev1.ReadWriteOncePod:
			rwop = true
		default:
			others = true
		}
	}
	if rwop && others {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("accessModes"), "may not use ReadWriteOncePod with other access modes"))
	}
	storagePath := specPath.Child("resources").Key(string(corev1.ResourceStorage))
	if storage, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		allErrs = append(allErrs, field.Required(storagePath, ""))
	} else if storage.Sign() <= 0 {
		allErrs = append(allErrs, field.Invalid(storagePath, storage.String(), "must be greater than zero"))
	}
	if spec.StorageClassName != nil && len(*spec.StorageClassName) > 0 {
		allErrs = append(allErrs, validateDNS1123Subdomain(*spec.StorageClassName, specPath.Child("storageClassName"))...)
	}
	if spec.VolumeMode != nil && !supportedVolumeModes.Has(*spec.VolumeMode) {
		allErrs = append(allErrs, field.NotSupported(specPath.Child("volumeMode"), *spec.VolumeMode, sets.List(supportedVolumeModes)))
	}
	if name := spec.VolumeAttributesClassName; name != nil && len(*name) > 0 {
		allErrs = append(allErrs, validateDNS1123Subdomain(*name, specPath.Child("volumeAttributesClassName"))...)
	}
	return allErrs
}

// validateCSIDriverName: required, at most 63 characters, a DNS subdomain
// when lower-cased.
func validateCSIDriverName(driver string, fldPath *field.Path) field.ErrorList {
	if len(driver) == 0 {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var allErrs field.ErrorList
	if len(driver) > 63 {
		allErrs = append(allErrs, field.TooLong(fldPath, "", 63))
	}
	for _, msg := range utilvalidation.IsDNS1123Subdomain(strings.ToLower(driver)) {
		allErrs = append(allErrs, field.Invalid(fldPath, driver, msg))
	}
	return allErrs
}

// validateUserField: a user ID, when set, is in range.
func validateUserField(user *int64, fldPath *field.Path) field.ErrorList {
	if user == nil {
		return nil
	}
	var allErrs field.ErrorList
	for _, msg := range utilvalidation.IsValidUserID(*user) {
		allErrs = append(allErrs, field.Invalid(fldPath, *user, msg))
	}
	return allErrs
}

func validateFileMode(mode *int32, fldPath *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0777 || *mode < 0) {
		return field.ErrorList{field.Invalid(fldPath, *mode, fileModeErrorMsg)}
	}
	return nil
}

func validateKeyToPath(kp *corev1.KeyToPath, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(kp.Key) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("key"), ""))
	}
	if len(kp.Path) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("path"), ""))
	}
	allErrs = append(allErrs, validateLocalNonReservedPath(kp.Path, fldPath.Child("path"))...)
	allErrs = append(allErrs, validateFileMode(kp.Mode, fldPath.Child("mode"))...)
	allErrs = append(allErrs, validateUserField(kp.User, fldPath.Child("user"))...)
	return allErrs
}

func validateDownwardAPIVolumeFile(file *corev1.DownwardAPIVolumeFile, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(file.Path) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("path"), ""))
	}
	allErrs = append(allErrs, validateLocalNonReservedPath(file.Path, fldPath.Child("path"))...)
	switch {
	case file.FieldRef != nil:
		allErrs = append(allErrs, validateObjectFieldSelector(file.FieldRef, validVolumeDownwardAPIFieldPaths, fldPath.Child("fieldRef"))...)
		if file.ResourceFieldRef != nil {
			allErrs = append(allErrs, field.Invalid(fldPath, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	case file.ResourceFieldRef != nil:
		allErrs = append(allErrs, validateResourceFieldSelector(file.ResourceFieldRef, fldPath.Child("resourceFieldRef"), true)...)
	default:
		allErrs = append(allErrs, field.Required(fldPath, "one of fieldRef and resourceFieldRef is required"))
	}
	allErrs = append(allErrs, validateFileMode(file.Mode, fldPath.Child("mode"))...)
	allErrs = append(allErrs, validateUserField(file.User, fldPath.Child("user"))...)
	return allErrs
}

// validateLocalDescendingPath requires a relative path without "..".
func validateLocalDescendingPath(targetPath string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if path.IsAbs(targetPath) {
		allErrs = append(allErrs, field.Invalid(fldPath, targetPath, "must be a relative path"))
	}
	return append(allErrs, validatePathNoBacksteps(targetPath, fldPath)...)
}

func validateLocalNonReservedPath(targetPath string, fldPath *field.Path) field.ErrorList {
	allErrs := validateLocalDescendingPath(targetPath, fldPath)
	if strings.HasPrefix(targetPath, "..") && !strings.HasPrefix(targetPath, "../") {
		allErrs = append(allErrs, field.Invalid(fldPath, targetPath, "must not start with '..'"))
	}
	return allErrs
}

func validatePathNoBacksteps(targetPath string, fldPath *field.Path) field.ErrorList {
	for _, item := range strings.Split(filepath.ToSlash(targetPath), "/") {
		if item == ".." {
			return field.ErrorList{field.Invalid(fldPath, targetPath, "must not contain '..'")}
		}
	}
	return nil
}

// validateVolumeMounts requires each mount to name a valid volume and to have
// a unique, non-empty mountPath.
func validateVolumeMounts(ctr *corev1.Container, vols map[string]*corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	devices := make(map[string]string, len(ctr.VolumeDevices))
	for _, dev := range ctr.VolumeDevices {
		devices[dev.Name] = dev.DevicePath
	}
	mountPaths := sets.New[string]()
	for i, mnt := range ctr.VolumeMounts {
		idxPath := fldPath.Index(i)
		if len(mnt.Name) == 0 {
			allErrs = append(allErrs, field.Required(idxPath.Child("name"), ""))
		}
		if _, ok := vols[mnt.Name]; !ok {
			allErrs = append(allErrs, field.NotFound(idxPath.Child("name"), mnt.Name))
		}
		if len(mnt.MountPath) == 0 {
			allErrs = append(allErrs, field.Required(idxPath.Child("mountPath"), ""))
		}
		if mountPaths.Has(mnt.MountPath) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("mountPath"), mnt.MountPath, "must be unique"))
		}
		mountPaths.Insert(mnt.MountPath)
		if _, ok := devices[mnt.Name]; ok {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("name"), mnt.Name, "must not already exist in volumeDevices"))
		}
		for _, devPath := range devices {
			if devPath == mnt.MountPath {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("mountPath"), mnt.MountPath, "must not already exist as a path in volumeDevices"))
				break
			}
		}
		// Upstream reports these under the list's path, not the item's.
		if len(mnt.SubPath) > 0 {
			allErrs = append(allErrs, validateLocalDescendingPath(mnt.SubPath, fldPath.Child("subPath"))...)
		}
		if len(mnt.SubPathExpr) > 0 {
			if len(mnt.SubPath) > 0 {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("subPathExpr"), mnt.SubPathExpr, "subPathExpr and subPath are mutually exclusive"))
			}
			allErrs = append(allErrs, validateLocalDescendingPath(mnt.SubPathExpr, fldPath.Child("subPathExpr"))...)
		}
	}
	return allErrs
}

// validateVolumeDevices requires each device to name a PVC-backed volume and
// to have a unique devicePath.
func validateVolumeDevices(ctr *corev1.Container, vols map[string]*corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	mounts := make(map[string]string, len(ctr.VolumeMounts))
	for _, mnt := range ctr.VolumeMounts {
		mounts[mnt.Name] = mnt.MountPath
	}
	devicePaths := sets.New[string]()
	deviceNames := sets.New[string]()
	for i, dev := range ctr.VolumeDevices {
		idxPath := fldPath.Index(i)
		src, found := vols[dev.Name]
		if len(dev.Name) == 0 {
			allErrs = append(allErrs, field.Required(idxPath.Child("name"), ""))
		}
		if deviceNames.Has(dev.Name) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("name"), dev.Name, "must be unique"))
		}
		if found && src.PersistentVolumeClaim == nil && src.Ephemeral == nil {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("name"), dev.Name, "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode"))
		}
		if !found {
			allErrs = append(allErrs, field.NotFound(idxPath.Child("name"), dev.Name))
		}
		if len(dev.DevicePath) == 0 {
			allErrs = append(allErrs, field.Required(idxPath.Child("devicePath"), ""))
		}
		if devicePaths.Has(dev.DevicePath) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("devicePath"), dev.DevicePath, "must be unique"))
		}
		if len(dev.DevicePath) > 0 && len(validatePathNoBacksteps(dev.DevicePath, idxPath)) > 0 {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("devicePath"), dev.DevicePath, "can not contain backsteps ('..')"))
		} else {
			devicePaths.Insert(dev.DevicePath)
		}
		if _, ok := mounts[dev.Name]; ok {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("name"), dev.Name, "must not already exist in volumeMounts"))
		}
		for _, mountPath := range mounts {
			if mountPath == dev.DevicePath {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("devicePath"), dev.DevicePath, "must not already exist as a path in volumeMounts"))
				break
			}
		}
		if len(dev.Name) > 0 {
			deviceNames.Insert(dev.Name)
		}
	}
	return allErrs
}

// validateKeyedVolume checks what secret and configMap volumes share: the
// name of the object (in the field nameField), the default mode and user,
// and the items.
func validateKeyedVolume(srcPath *field.Path, nameField, name string, mode *int32, user *int64, items []corev1.KeyToPath) field.ErrorList {
	var allErrs field.ErrorList
	if len(name) == 0 {
		allErrs = append(allErrs, field.Required(srcPath.Child(nameField), ""))
	}
	allErrs = append(allErrs, validateFileMode(mode, srcPath.Child("defaultMode"))...)
	allErrs = append(allErrs, validateUserField(user, srcPath.Child("defaultUser"))...)
	for i := range items {
		allErrs = append(allErrs, validateKeyToPath(&items[i], srcPath.Child("items").Index(i))...)
	}
	return allErrs
}
