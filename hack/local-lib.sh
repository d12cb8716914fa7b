#!/usr/bin/env bash
# Functions and settings of the local cluster (hack/local-up.sh,
# hack/local-down.sh). Source it after hack/lib.sh; do not run it.

LOCAL_DIR="${LOCAL_DIR:-${OUTPUT_DIR}/local}"
BIN="${OUTPUT_DIR}/bin"
PKI="${LOCAL_DIR}/pki"
KUBECONFIG="${LOCAL_DIR}/kubeconfig"
export KUBECONFIG
ETCD_PORT="${ETCD_PORT:-23790}"
KAS_PORT="${KAS_PORT:-26443}"
JOBSERVER_PORT="${JOBSERVER_PORT:-28443}"
KCM_PORT="${KCM_PORT:-20257}"
SCHEDULER_PORT="${SCHEDULER_PORT:-20259}"
KWOK_PORT="${KWOK_PORT:-20247}"
# The processes the local cluster runs, in start order.
LOCAL_COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok jobserver)
JOBSERVER_NAMESPACE="jobserver-system"
JOBSERVER_SERVICE="jobserver"

log() { echo "local-up: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

kubectl() { "${BIN}/kubectl" --kubeconfig="${KUBECONFIG}" "$@"; }

# start NAME BINARY ARGS... runs a component in the background, logging to
# logs/NAME.log, and records its PID (and binary) so local-down.sh stops
# exactly it.
start() {
  local name="$1"
  shift
  nohup "$@" >"${LOCAL_DIR}/logs/${name}.log" 2>&1 &
  echo "$! $1" >"${LOCAL_DIR}/run/${name}.pid"
}

# wait_for WHAT COMMAND... retries COMMAND for up to WAIT_TIMEOUT seconds
# (default 120), failing with the component logs' tail if it never succeeds.
wait_for() {
  local what="$1" deadline=$((SECONDS + ${WAIT_TIMEOUT:-120}))
  shift
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then
      log "timed out waiting for ${what}; last output:"
      "$@" >&2 || true
      for f in "${LOCAL_DIR}"/logs/*.log; do
        echo "--- tail ${f}" >&2
        tail -n 15 "${f}" >&2
      done
      exit 1
    fi
    check_running
    sleep 0.5
  done
}

# check_running fails if a component it started has exited.
check_running() {
  local f pid bin
  for f in "${LOCAL_DIR}"/run/*.pid; do
    [[ -e "${f}" ]] || continue
    read -r pid bin <"${f}"
    if ! kill -0 "${pid}" 2>/dev/null; then
      local name
      name="$(basename "${f}" .pid)"
      log "${name} exited; the end of ${LOCAL_DIR}/logs/${name}.log:"
      tail -n 30 "${LOCAL_DIR}/logs/${name}.log" >&2
      exit 1
    fi
  done
}

# --- certificates ----------------------------------------------------------

# generate_pki writes the CAs, certificates and service-account keys into
# PKI, keeping those that exist (hack/kit, built by local-up.sh).
generate_pki() {
  "${BIN}/kit" local-pki --dir="${PKI}" --namespace="${JOBSERVER_NAMESPACE}" --service="${JOBSERVER_SERVICE}"
}

# kubeconfig FILE CERT writes a kubeconfig for the client certificate CERT.
kubeconfig() {
  local file="$1" cert="$2"
  rm -f "${file}"
  "${BIN}/kubectl" --kubeconfig="${file}" config set-cluster local \
    --server="https://127.0.0.1:${KAS_PORT}" --certificate-authority="${PKI}/ca.crt" --embed-certs >/dev/null
  "${BIN}/kubectl" --kubeconfig="${file}" config set-credentials user \
    --client-certificate="${PKI}/${cert}.crt" --client-key="${PKI}/${cert}.key" --embed-certs >/dev/null
  "${BIN}/kubectl" --kubeconfig="${file}" config set-context local --cluster=local --user=user >/dev/null
  "${BIN}/kubectl" --kubeconfig="${file}" config use-context local >/dev/null
}

write_kubeconfigs() {
  kubeconfig "${KUBECONFIG}" admin
  kubeconfig "${LOCAL_DIR}/kube-controller-manager.kubeconfig" kube-controller-manager
  kubeconfig "${LOCAL_DIR}/kube-scheduler.kubeconfig" kube-scheduler
  kubeconfig "${LOCAL_DIR}/jobserver.kubeconfig" jobserver-client
}

# create_nodes N registers N fake nodes that kwok manages. Each advertises
# 127.0.0.1 and kwok's server port as its kubelet, so kube-apiserver's
# pods/log, exec and port-forward requests reach kwok on loopback, never
# another address. The status patch also moves nodes that an older cluster
# registered with another address (kwok's stage keeps an existing one).
create_nodes() {
  local i
  for ((i = 0; i < $1; i++)); do
    kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-${i}
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: kwok-node-${i}
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
EOF
  done
  # Every fake node, also those an older cluster registered with more NODES.
  local node
  for node in $(kubectl get nodes -l type=kwok -o name); do
    kubectl patch "${node}" --subresource=status --type=merge >/dev/null -p \
      "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"127.0.0.1\"}],\"daemonEndpoints\":{\"kubeletEndpoint\":{\"Port\":${KWOK_PORT}}}}}"
  done
}

# install_aggregation applies jobserver's namespace and RBAC from the
# deploy manifests, and an APIService that reaches jobserver on loopback
# through an ExternalName Service "localhost", verified with the caBundle.
install_aggregation() {
  local base="${JOBSERVER_ROOT}/artifacts/deploy/base" f
  for f in namespace serviceaccount rbac rbac-aggregated; do
    kubectl apply -f "${base}/${f}.yaml" >/dev/null
  done
  # groupPriorityMinimum: the base manifest's, or with DROP_IN=1 the drop-in
  # component's, so that bare "kubectl get jobs" means jobserver's Jobs.
  local priority
  if [[ "${DROP_IN:-0}" == 1 ]]; then
    priority="$(awk '$1 == "value:" {print $2}' "${JOBSERVER_ROOT}/artifacts/deploy/components/drop-in/kustomization.yaml")"
  else
    priority="$(awk '$1 == "groupPriorityMinimum:" {print $2}' "${base}/apiservice.yaml")"
  fi
  local ca_bundle
  ca_bundle="$(base64 -w0 <"${PKI}/jobserver-ca.crt")"
  kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata:
  name: ${JOBSERVER_SERVICE}
  namespace: ${JOBSERVER_NAMESPACE}
spec:
  type: ExternalName
  externalName: localhost
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1.batch.jobserver.dev
spec:
  group: batch.jobserver.dev
  version: v1
  groupPriorityMinimum: ${priority}
  versionPriority: 15
  service:
    name: ${JOBSERVER_SERVICE}
    namespace: ${JOBSERVER_NAMESPACE}
    port: ${JOBSERVER_PORT}
  caBundle: ${ca_bundle}
EOF
}
