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
	"k8s.io/apimachinery/pkg/util/sets"
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
// the common ones (emptyDir, hostPath, secret, configMap,
// persistentVolumeClaim, downwardAPI).
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
		if len(src.Secret.SecretName) == 0 {
			allErrs = append(allErrs, field.Required(srcPath.Child("secretName"), ""))
		}
		allErrs = append(allErrs, validateFileMode(src.Secret.DefaultMode, srcPath.Child("defaultMode"))...)
		for i := range src.Secret.Items {
			allErrs = append(allErrs, validateKeyToPath(&src.Secret.Items[i], srcPath.Child("items").Index(i))...)
		}
	case "configMap":
		if len(src.ConfigMap.Name) == 0 {
			allErrs = append(allErrs, field.Required(srcPath.Child("name"), ""))
		}
		allErrs = append(allErrs, validateFileMode(src.ConfigMap.DefaultMode, srcPath.Child("defaultMode"))...)
		for i := range src.ConfigMap.Items {
			allErrs = append(allErrs, validateKeyToPath(&src.ConfigMap.Items[i], srcPath.Child("items").Index(i))...)
		}
	case "persistentVolumeClaim":
		if len(src.PersistentVolumeClaim.ClaimName) == 0 {
			allErrs = append(allErrs, field.Required(srcPath.Child("claimName"), ""))
		}
	case "downwardAPI":
		allErrs = append(allErrs, validateFileMode(src.DownwardAPI.DefaultMode, srcPath.Child("defaultMode"))...)
		for i := range src.DownwardAPI.Items {
			// Upstream reports item errors under the source's path.
			allErrs = append(allErrs, validateDownwardAPIVolumeFile(&src.DownwardAPI.Items[i], srcPath)...)
		}
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
