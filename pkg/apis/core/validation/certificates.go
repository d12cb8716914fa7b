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

// Signer names and the clusterTrustBundle and podCertificate sources of
// projected volumes (upstream core validation names.go and
// validateProjectionSources).

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	// Upstream certificates.MaxMaxExpirationSeconds and
	// KubernetesMaxMaxExpirationSeconds.
	maxMaxExpirationSeconds           = 91 * 24 * 60 * 60
	kubernetesMaxMaxExpirationSeconds = 24 * 60 * 60
)

// supportedPodCertificateKeyTypes, in upstream's order (error messages).
var supportedPodCertificateKeyTypes = []string{"RSA3072", "RSA4096", "ECDSAP256", "ECDSAP384", "ECDSAP521", "ED25519"}

// validateClusterTrustBundleProjection checks one clusterTrustBundle source
// at projPath; claimPath records its path against the volume's others
// and returns the conflict, if any.
func validateClusterTrustBundleProjection(ctb *corev1.ClusterTrustBundleProjection, projPath *field.Path, claimPath func(string, any) field.ErrorList) field.ErrorList {
	var allErrs field.ErrorList
	switch {
	case ctb.Name != nil && ctb.SignerName != nil:
		allErrs = append(allErrs, field.Invalid(projPath, ctb, "only one of name and signerName may be used"))
	case ctb.Name != nil:
		name := *ctb.Name
		if name == "" {
			allErrs = append(allErrs, field.Required(projPath.Child("name"), "must be a valid object name"))
		}
		signerName, _ := signerNameOfClusterTrustBundle(name)
		for _, msg := range validateClusterTrustBundleName(signerName, name) {
			allErrs = append(allErrs, field.Invalid(projPath.Child("name"), name, fmt.Sprintf("not a valid clustertrustbundlename: %v", msg)))
		}
		if ctb.LabelSelector != nil {
			allErrs = append(allErrs, field.Invalid(projPath.Child("labelSelector"), ctb.LabelSelector, "labelSelector must be unset if name is specified"))
		}
	case ctb.SignerName != nil:
		if *ctb.SignerName == "" {
			allErrs = append(allErrs, field.Required(projPath.Child("signerName"), "must be a valid signer name"))
		}
		allErrs = append(allErrs, validateSignerName(projPath.Child("signerName"), *ctb.SignerName)...)
		allErrs = append(allErrs, metav1validation.ValidateLabelSelector(ctb.LabelSelector,
			metav1validation.LabelSelectorValidationOptions{}, projPath.Child("labelSelector"))...)
	default:
		allErrs = append(allErrs, field.Required(projPath, "either name or signerName must be specified"))
	}
	if ctb.Path == "" {
		allErrs = append(allErrs, field.Required(projPath.Child("path"), ""))
	}
	allErrs = append(allErrs, validateUserField(ctb.User, projPath.Child("user"))...)
	allErrs = append(allErrs, validateLocalNonReservedPath(ctb.Path, projPath.Child("path"))...)
	allErrs = append(allErrs, claimPath(ctb.Path, ctb.Path)...)
	return allErrs
}

// validatePodCertificateProjection checks one podCertificate source.
func validatePodCertificateProjection(pc *corev1.PodCertificateProjection, projPath *field.Path, claimPath func(string, any) field.ErrorList) field.ErrorList {
	allErrs := validateSignerName(projPath.Child("signerName"), pc.SignerName)
	if pc.UserAnnotations != nil {
		annotationsPath := projPath.Child("userAnnotations")
		for k := range pc.UserAnnotations {
			// Case does not matter.
			allErrs = append(allErrs, utilvalidation.IsDomainPrefixedKey(annotationsPath, strings.ToLower(k))...)
		}
		if err := apimachineryvalidation.ValidateAnnotationsSize(pc.UserAnnotations); err != nil {
			allErrs = append(allErrs, field.TooLong(annotationsPath, "", apimachineryvalidation.TotalAnnotationSizeLimitB))
		}
	}
	allErrs = append(allErrs, validateUserField(pc.User, projPath.Child("user"))...)
	if !slices.Contains(supportedPodCertificateKeyTypes, pc.KeyType) {
		allErrs = append(allErrs, field.NotSupported(projPath.Child("keyType"), pc.KeyType, supportedPodCertificateKeyTypes))
	}
	if exp := pc.MaxExpirationSeconds; exp != nil {
		if *exp < 3600 {
			allErrs = append(allErrs, field.Invalid(projPath.Child("maxExpirationSeconds"), *exp, "if provided, maxExpirationSeconds must be >= 3600"))
		}
		limit := maxMaxExpirationSeconds
		if isKubernetesSignerName(pc.SignerName) {
			limit = kubernetesMaxMaxExpirationSeconds
		}
		if *exp > int32(limit) {
			allErrs = append(allErrs, field.Invalid(projPath.Child("maxExpirationSeconds"), *exp, fmt.Sprintf("if provided, maxExpirationSeconds must be <= %d", limit)))
		}
	}
	numPaths := 0
	for _, p := range []struct{ value, name string }{
		{pc.CredentialBundlePath, "credentialBundlePath"},
		{pc.KeyPath, "keyPath"},
		{pc.CertificateChainPath, "certificateChainPath"},
	} {
		if len(p.value) == 0 {
			continue
		}
		numPaths++
		allErrs = append(allErrs, validateLocalNonReservedPath(p.value, projPath.Child(p.name))...)
		allErrs = append(allErrs, claimPath(p.value, p.value)...)
	}
	if numPaths == 0 {
		allErrs = append(allErrs, field.Required(projPath, "specify at least one of credentialBundlePath, keyPath, and certificateChainPath"))
	}
	return allErrs
}

// isKubernetesSignerName: a signer name reserved by the Kubernetes project.
func isKubernetesSignerName(signerName string) bool {
	hostName, _, _ := strings.Cut(signerName, "/")
	return hostName == "kubernetes.io" || strings.HasSuffix(hostName, ".kubernetes.io")
}

// validateSignerName requires the form example.com/signer-name: a domain
// of at least two DNS labels, a path of DNS subdomains separated by dots,
// at most 571 characters in all.
func validateSignerName(fldPath *field.Path, signerName string) field.ErrorList {
	if len(signerName) == 0 {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	segments := strings.Split(signerName, "/")
	if len(segments) != 2 {
		return field.ErrorList{field.Invalid(fldPath, signerName, "must be a fully qualified domain and path of the form 'example.com/signer-name'")}
	}
	var allErrs field.ErrorList
	maxDomainSegmentLength := utilvalidation.DNS1123SubdomainMaxLength
	if len(segments[0]) > maxDomainSegmentLength {
		allErrs = append(allErrs, field.TooLong(fldPath, "", maxDomainSegmentLength))
	}
	domainLabels := strings.Split(segments[0], ".")
	for _, lbl := range domainLabels {
		if errs := utilvalidation.IsDNS1123Label(lbl); len(errs) > 0 {
			for _, err := range errs {
				allErrs = append(allErrs, field.Invalid(fldPath, segments[0], fmt.Sprintf("validating label %q: %s", lbl, err)))
			}
			break
		}
	}
	if len(domainLabels) < 2 {
		allErrs = append(allErrs, field.Invalid(fldPath, segments[0], "should be a domain with at least two segments separated by dots"))
	}
	for _, lbl := range strings.Split(segments[1], ".") {
		if errs := utilvalidation.IsDNS1123Subdomain(lbl); len(errs) > 0 {
			for _, err := range errs {
				allErrs = append(allErrs, field.Invalid(fldPath, segments[1], fmt.Sprintf("validating label %q: %s", lbl, err)))
			}
			break
		}
	}
	maxPathSegmentLength := utilvalidation.DNS1123SubdomainMaxLength + utilvalidation.DNS1123LabelMaxLength + 1
	maxSignerNameLength := maxDomainSegmentLength + maxPathSegmentLength + 1
	if len(signerName) > maxSignerNameLength {
		allErrs = append(allErrs, field.TooLong(fldPath, "", maxSignerNameLength))
	}
	return allErrs
}

// signerNameOfClusterTrustBundle: a bundle named <signer with / as :>:<name>
// belongs to that signer.
func signerNameOfClusterTrustBundle(name string) (string, bool) {
	if i := strings.LastIndex(name, ":"); i != -1 {
		return strings.ReplaceAll(name[:i], ":", "/"), true
	}
	return "", false
}

// validateClusterTrustBundleName: without a signer, a DNS subdomain without
// ":"; with one, the signer's prefix and then a DNS subdomain.
func validateClusterTrustBundleName(signerName, name string) []string {
	if signerName == "" {
		if strings.Contains(name, ":") {
			return []string{"ClusterTrustBundle without signer name must not have \":\" in its name"}
		}
		return apimachineryvalidation.NameIsDNSSubdomain(name, false)
	}
	requiredPrefix := strings.ReplaceAll(signerName, "/", ":") + ":"
	if !strings.HasPrefix(name, requiredPrefix) {
		return []string{fmt.Sprintf("ClusterTrustBundle for signerName %s must be named with prefix %s", signerName, requiredPrefix)}
	}
	return apimachineryvalidation.NameIsDNSSubdomain(strings.TrimPrefix(name, requiredPrefix), false)
}
