#!/usr/bin/env bash
# Stops the local cluster started by hack/local-up.sh (make down): exactly
# the processes it recorded, newest first, and nothing else. Data,
# certificates and logs stay in _output/local (rm -rf it for a fresh start).
#   --quiet   say nothing when nothing runs
set -o errexit -o nounset -o pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "${JOBSERVER_ROOT}/hack/local-lib.sh"

quiet=false
[[ "${1:-}" == "--quiet" ]] && quiet=true

stopped=()
for ((i = ${#LOCAL_COMPONENTS[@]} - 1; i >= 0; i--)); do
  name="${LOCAL_COMPONENTS[i]}"
  pidfile="${LOCAL_DIR}/run/${name}.pid"
  [[ -e "${pidfile}" ]] || continue
  read -r pid bin <"${pidfile}"
  # Only signal the process if it still is the binary we started (a PID can
  # be reused after a reboot). A binary rebuilt since shows as "(deleted)".
  exe="$(readlink "/proc/${pid}/exe" 2>/dev/null || true)"
  if [[ "${exe% (deleted)}" == "$(readlink -f "${bin}")" ]]; then
    kill -TERM "${pid}" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "${pid}" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "${pid}" 2>/dev/null || true
    stopped+=("${name}")
  fi
  rm -f "${pidfile}"
done

if ((${#stopped[@]} > 0)); then
  echo "local-down: stopped ${stopped[*]}" >&2
elif ! ${quiet}; then
  echo "local-down: nothing was running" >&2
fi
