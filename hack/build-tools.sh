#!/usr/bin/env bash
# Builds the pinned test tools into _output/bin/ from the Go modules in
# hack/tools/ (see hack/tools/README.md), through the Go module proxy only.
#
# Usage: hack/build-tools.sh [-f|--force] [TOOL...]
#   TOOL is one of: etcd kube-apiserver kube-controller-manager kube-scheduler
#   kubectl kwok, krew (only for hack/krew-release.sh --verify), or "all"
#   (the default: every tool but krew).
#   --force (or FORCE=1) rebuilds even when the binary is up to date.
#
# A tool is rebuilt only when its binary or its stamp file is missing, or when
# the stamp's key changed: _output/bin/.stamp-<tool>-<version> holds a hash of
# the tool module's go.mod and go.sum, the Go version and the build flags.
# Changing a pinned version in hack/tools/**/go.mod rebuilds what depends on it.
set -o errexit -o nounset -o pipefail

# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TOOLS_DIR="${JOBSERVER_ROOT}/hack/tools"
BIN_DIR="${OUTPUT_DIR}/bin"
ALL_TOOLS=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)

log() { echo "build-tools: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
  sed -n '2,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

# tool_info TOOL sets: MOD_DIR (tool module), PKG (main package), VERSION_MOD
# (the module whose version is the tool's version).
tool_info() {
  case "$1" in
    kube-apiserver | kube-controller-manager | kube-scheduler | kubectl)
      MOD_DIR="${TOOLS_DIR}"
      PKG="k8s.io/kubernetes/cmd/$1"
      VERSION_MOD="k8s.io/kubernetes"
      ;;
    etcd)
      MOD_DIR="${TOOLS_DIR}/etcd"
      PKG="go.etcd.io/etcd/server/v3"
      VERSION_MOD="go.etcd.io/etcd/server/v3"
      ;;
    kwok)
      MOD_DIR="${TOOLS_DIR}/kwok"
      PKG="sigs.k8s.io/kwok/cmd/kwok"
      VERSION_MOD="sigs.k8s.io/kwok"
      ;;
    krew)
      MOD_DIR="${TOOLS_DIR}/krew"
      PKG="sigs.k8s.io/krew/cmd/krew"
      VERSION_MOD="sigs.k8s.io/krew"
      ;;
    *) return 1 ;;
  esac
}

# go_in DIR ARGS... runs go in a tool module, never in a workspace and never
# editing go.mod/go.sum (a missing entry is an error, not a silent change).
go_in() {
  local dir="$1"
  shift
  (cd "${dir}" && GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=readonly" go "$@")
}

# module_version DIR MOD prints "VERSION TIME" of MOD as selected in DIR.
module_version() {
  go_in "$1" list -m -f '{{.Version}} {{with .Time}}{{.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' "$2"
}

# ldflags_for TOOL VERSION TIME prints the -X flags that stamp the version.
ldflags_for() {
  local tool="$1" version="$2" time="$3"
  case "${tool}" in
    kube-*|kubectl)
      # As kubernetes' hack/lib/version.sh does, for both version packages.
      # The module proxy gives no git commit, so gitCommit stays empty and
      # buildDate is the release's module time (reproducible builds).
      local major minor
      major="${version#v}"; major="${major%%.*}"
      minor="${version#v*.}"; minor="${minor%%.*}"
      local -a kv=(
        "gitVersion=${version}" "gitMajor=${major}" "gitMinor=${minor}"
        "gitCommit=" "gitTreeState=clean" "buildDate=${time}"
      )
      local p e
      for p in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
        for e in "${kv[@]}"; do
          printf -- '-X %s.%s ' "${p}" "${e}"
        done
      done
      ;;
    etcd)
      # etcd's own build sets the git SHA; there is none from the proxy.
      printf -- '-X go.etcd.io/etcd/api/v3/version.GitSHA=module-%s ' "${version}"
      ;;
    kwok)
      printf -- '-X sigs.k8s.io/kwok/pkg/consts.Version=%s ' "${version}"
      ;;
    krew)
      printf -- '-X sigs.k8s.io/krew/internal/version.gitTag=%s ' "${version}"
      ;;
  esac
}

# check_version TOOL VERSION runs the fresh binary and checks its version.
check_version() {
  local tool="$1" version="$2" out want
  case "${tool}" in
    kubectl) out="$("${BIN_DIR}/${tool}" version --client 2>&1)"; want="Client Version: ${version}" ;;
    kube-*) out="$("${BIN_DIR}/${tool}" --version 2>&1)"; want="Kubernetes ${version}" ;;
    etcd) out="$("${BIN_DIR}/${tool}" --version 2>&1)"; want="etcd Version: ${version#v}" ;;
    kwok) out="$("${BIN_DIR}/${tool}" --version 2>&1)"; want="${version}" ;;
    krew) out="$(KREW_ROOT="$(mktemp -d)" KREW_NO_UPGRADE_CHECK=1 "${BIN_DIR}/${tool}" version 2>&1)"; want="GitTag            ${version}" ;;
  esac
  if ! grep -qF -- "${want}" <<<"${out}"; then
    die "${tool}: expected '${want}' in its version output, got: ${out}"
  fi
}

build_tool() {
  local tool="$1"
  tool_info "${tool}" || die "unknown tool '${tool}' (known: ${ALL_TOOLS[*]})"

  local version time
  read -r version time < <(module_version "${MOD_DIR}" "${VERSION_MOD}") || true
  [[ -n "${version:-}" ]] || die "${tool}: cannot resolve the version of ${VERSION_MOD} in ${MOD_DIR}"

  local ldflags
  ldflags="-s -w $(ldflags_for "${tool}" "${version}" "${time:-}")"
  local -a flags=(-trimpath -buildvcs=false -ldflags "${ldflags}")

  local key stamp bin
  key="$({
    cat "${MOD_DIR}/go.mod" "${MOD_DIR}/go.sum"
    go version
    echo "${PKG}" "${flags[*]}" CGO_ENABLED=0
  } | sha256sum | cut -d' ' -f1)"
  stamp="${BIN_DIR}/.stamp-${tool}-${version}"
  bin="${BIN_DIR}/${tool}"

  if [[ "${FORCE}" != 1 && -x "${bin}" && -f "${stamp}" && "$(cat "${stamp}")" == "${key}" ]]; then
    log "${tool} ${version} is up to date"
    return 0
  fi

  log "building ${tool} ${version} (${PKG}) ..."
  local start=${SECONDS}
  rm -f "${BIN_DIR}/.stamp-${tool}-"*
  CGO_ENABLED=0 go_in "${MOD_DIR}" build "${flags[@]}" -o "${bin}.tmp" "${PKG}" \
    || die "${tool}: go build failed"
  mv -f "${bin}.tmp" "${bin}"
  check_version "${tool}" "${version}"
  echo "${key}" > "${stamp}"
  log "built ${bin} (${version}) in $((SECONDS - start))s"
}

main() {
  FORCE="${FORCE:-0}"
  local -a tools=()
  local arg
  for arg in "$@"; do
    case "${arg}" in
      -h | --help) usage; exit 0 ;;
      -f | --force) FORCE=1 ;;
      all) tools+=("${ALL_TOOLS[@]}") ;;
      -*) usage >&2; die "unknown flag '${arg}'" ;;
      *)
        tool_info "${arg}" || die "unknown tool '${arg}' (known: ${ALL_TOOLS[*]})"
        tools+=("${arg}")
        ;;
    esac
  done
  [[ ${#tools[@]} -gt 0 ]] || tools=("${ALL_TOOLS[@]}")

  command -v go >/dev/null || die "go is not on PATH"
  mkdir -p "${BIN_DIR}"

  local t
  for t in "${tools[@]}"; do
    build_tool "${t}"
  done
}

main "$@"
