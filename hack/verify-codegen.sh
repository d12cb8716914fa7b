#!/usr/bin/env bash
# Fails when the generated code differs from what hack/update-codegen.sh
# produces from the current sources. Runs the generators on a copy of the
# tree, so the working tree is never modified.
set -o errexit -o nounset -o pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${JOBSERVER_ROOT}"

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
# Copy the sources (not _output or .git) and regenerate there.
tar -C "${JOBSERVER_ROOT}" --exclude=./_output --exclude=./.git -cf - . | tar -C "${tmp}" -xf -
# Generated files are deleted first, so stale leftovers also count as drift.
find "${tmp}/pkg" -name 'zz_generated.*.go' -delete
rm -rf "${tmp}/pkg/generated/clientset" "${tmp}/pkg/generated/listers" \
  "${tmp}/pkg/generated/informers" "${tmp}/pkg/generated/applyconfiguration" \
  "${tmp}/pkg/generated/openapi/zz_generated.openapi.go"
# kube_codegen.sh lists the old output directories before it writes them.
mkdir -p "${tmp}/pkg/generated/clientset" "${tmp}/pkg/generated/listers" \
  "${tmp}/pkg/generated/informers" "${tmp}/pkg/generated/applyconfiguration"
# Share the installed generators with the real tree, so they are built once.
mkdir -p "${tmp}/_output" "${OUTPUT_DIR}/tools"
ln -s "${OUTPUT_DIR}/tools" "${tmp}/_output/tools"
"${tmp}/hack/update-codegen.sh"

if ! diff -Nru "${JOBSERVER_ROOT}/pkg" "${tmp}/pkg" >"${tmp}/codegen.diff" || \
   ! diff -Nu "${JOBSERVER_ROOT}/hack/api-rules-violations.list" "${tmp}/hack/api-rules-violations.list" >>"${tmp}/codegen.diff"; then
  cat "${tmp}/codegen.diff"
  echo
  echo "Generated code is out of date: run hack/update-codegen.sh and commit the result." >&2
  exit 1
fi
echo "Generated code is up to date."
