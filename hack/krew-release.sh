#!/usr/bin/env bash
# Builds the kubectl plugin's release archives and its krew manifest.
#
# Usage: hack/krew-release.sh [--verify] [VERSION]
#   VERSION (default v0.0.0-dev) names the release; the archives' URLs are
#   ${KREW_URL_BASE:-https://github.com/jobserver-dev/jobserver/releases/download/VERSION}/<archive>.
#   Writes _output/release/VERSION/kubectl-jobserver_<os>_<arch>.tar.gz for
#   linux, darwin and windows on amd64 and arm64, and jobserver.yaml, the
#   manifest (artifacts/krew/jobserver.yaml plus one platform per archive).
#   Upload the archives to that URL and submit the manifest to a krew index,
#   or install from the files: kubectl krew install --manifest=jobserver.yaml
#   --archive=kubectl-jobserver_<os>_<arch>.tar.gz.
#
#   --verify builds only this machine's platform and installs it with the
#   pinned krew (hack/tools/krew) into a temporary KREW_ROOT, as a user
#   would, then runs the installed plugin. make verify runs it.
#
# The archives are reproducible: same commit and Go version, same bytes
# (no build paths, no VCS stamp, sorted tar entries with fixed owner, mode
# and time, gzip without a timestamp). Needs GNU tar.
set -o errexit -o nounset -o pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${JOBSERVER_ROOT}"

verify=0
if [[ "${1:-}" == --verify ]]; then
  verify=1
  shift
fi
version="${1:-v0.0.0-dev}"
url_base="${KREW_URL_BASE:-https://github.com/jobserver-dev/jobserver/releases/download/${version}}"
out="${OUTPUT_DIR}/release/${version}"
platforms=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64)
tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
if [[ "${verify}" == 1 ]]; then
  platforms=("$(go env GOOS)/$(go env GOARCH)")
  out="${tmp}/release"
fi
mkdir -p "${out}"

manifest="${out}/jobserver.yaml"
sed "s|@VERSION@|${version}|" artifacts/krew/jobserver.yaml >"${manifest}"

for platform in "${platforms[@]}"; do
  os="${platform%/*}" arch="${platform#*/}"
  bin="kubectl-jobserver"
  [[ "${os}" == windows ]] && bin+=".exe"
  stage="${tmp}/stage-${os}-${arch}"
  mkdir -p "${stage}"
  CGO_ENABLED=0 GOOS="${os}" GOARCH="${arch}" \
    go build -trimpath -buildvcs=false -ldflags="-s -w" -o "${stage}/${bin}" ./cmd/kubectl-jobserver
  cp LICENSE "${stage}/LICENSE"
  archive="kubectl-jobserver_${os}_${arch}.tar.gz"
  tar -C "${stage}" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
    --mode=u=rwX,go=rX -cf - "${bin}" LICENSE |
    gzip -n -9 >"${out}/${archive}"
  sha="$(sha256sum "${out}/${archive}" | cut -d' ' -f1)"
  cat >>"${manifest}" <<YAML
  - selector:
      matchLabels:
        os: ${os}
        arch: ${arch}
    uri: ${url_base}/${archive}
    sha256: ${sha}
    bin: ${bin}
    files:
    - from: ${bin}
      to: .
    - from: LICENSE
      to: .
YAML
  echo "krew-release: ${out}/${archive} ${sha}" >&2
done
echo "krew-release: ${manifest}" >&2

if [[ "${verify}" == 1 ]]; then
  hack/build-tools.sh krew
  krew_root="${out}/krew-root"
  # No index and no upgrade check: krew installs from the two files and
  # dials nothing.
  KREW_ROOT="${krew_root}" KREW_NO_UPGRADE_CHECK=1 "${OUTPUT_DIR}/bin/krew" install \
    --manifest="${manifest}" --archive="${out}/kubectl-jobserver_${platforms[0]/\//_}.tar.gz" </dev/null
  help="$("${krew_root}/bin/kubectl-jobserver" --help)"
  grep -q "kubectl jobserver describe job NAME" <<<"${help}" ||
    { echo "krew-release: the installed plugin does not run: ${help}" >&2; exit 1; }
  echo "krew-release: krew installed the plugin from the manifest and archive; it runs" >&2
fi
