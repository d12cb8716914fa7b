#!/usr/bin/env bash
# Regenerates everything under pkg/generated and every zz_generated.*.go with
# k8s.io/code-generator's kube_codegen.sh at the pinned version. This is the
# only way generated code is produced; hack/verify-codegen.sh checks for drift.
set -o errexit -o nounset -o pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${JOBSERVER_ROOT}"

CODEGEN_PKG="$(codegen_pkg)"
[[ -n "${CODEGEN_PKG}" ]] || { echo "cannot download k8s.io/code-generator@${CODEGEN_VERSION}" >&2; exit 1; }
# Install the generators into _output, keyed by version, not into GOPATH/bin.
export GOBIN="${OUTPUT_DIR}/tools/code-generator-${CODEGEN_VERSION}"
mkdir -p "${GOBIN}"
source "${CODEGEN_PKG}/kube_codegen.sh"
# Types from other modules that our API embeds: openapi-gen reads them but
# must never write into the module cache.
KUBE_CODEGEN_READONLY_PKGS+=(k8s.io/api/core/v1 k8s.io/apimachinery/pkg/util/intstr)

boilerplate="${JOBSERVER_ROOT}/hack/boilerplate.go.txt"

kube::codegen::gen_helpers \
  --boilerplate "${boilerplate}" \
  "${JOBSERVER_ROOT}/pkg/apis"

kube::codegen::gen_openapi \
  --output-dir "${JOBSERVER_ROOT}/pkg/generated/openapi" \
  --output-pkg "${JOBSERVER_PKG}/pkg/generated/openapi" \
  --report-filename "${JOBSERVER_ROOT}/hack/api-rules-violations.list" \
  --update-report \
  --extra-pkgs k8s.io/api/core/v1 \
  --extra-pkgs k8s.io/apimachinery/pkg/util/intstr \
  --output-model-name-file "zz_generated.model_name.go" \
  --boilerplate "${boilerplate}" \
  "${JOBSERVER_ROOT}/pkg/apis"

kube::codegen::gen_client \
  --with-watch \
  --with-applyconfig \
  --applyconfig-externals k8s.io/api/core/v1.PodTemplateSpec:k8s.io/client-go/applyconfigurations/core/v1 \
  --applyconfig-openapi-schema <(go run ./hack/models-schema) \
  --output-dir "${JOBSERVER_ROOT}/pkg/generated" \
  --output-pkg "${JOBSERVER_PKG}/pkg/generated" \
  --boilerplate "${boilerplate}" \
  "${JOBSERVER_ROOT}/pkg/apis"
