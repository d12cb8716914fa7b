#!/usr/bin/env bash
# Shared settings for the hack/ scripts. Source it; do not run it.

JOBSERVER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
JOBSERVER_PKG="github.com/jobserver-dev/jobserver"
# Pinned versions. Changing one rebuilds what depends on it.
CODEGEN_VERSION="v0.37.2"
OUTPUT_DIR="${JOBSERVER_ROOT}/_output"

# codegen_pkg prints the module-cache directory of k8s.io/code-generator at
# the pinned version, downloading it through the Go module proxy if needed.
codegen_pkg() {
  (cd "${JOBSERVER_ROOT}" && go mod download -json "k8s.io/code-generator@${CODEGEN_VERSION}" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
}
