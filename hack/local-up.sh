#!/usr/bin/env bash
# Brings up a local cluster with jobserver aggregated into it (make run):
#   etcd, kube-apiserver (aggregation layer on), kube-controller-manager
#   (garbage collector, namespace, service-account, job controllers, ...),
#   kube-scheduler, kwok playing the kubelet of a few fake nodes, and
#   jobserver with its embedded etcd and delegated authn/authz, reached
#   through the APIService v1.batch.jobserver.dev.
# Every binary is built from pinned Go modules (hack/build-tools.sh).
# Re-running it restarts everything it started before, keeping the data.
#
# Settings (environment):
#   LOCAL_DIR        state, certificates, logs   (default _output/local)
#   ETCD_PORT        etcd client port            (default 23790; peer = +10)
#   KAS_PORT         kube-apiserver port         (default 26443)
#   JOBSERVER_PORT   jobserver port              (default 28443)
#   KCM_PORT         kube-controller-manager     (default 20257)
#   SCHEDULER_PORT   kube-scheduler              (default 20259)
#   KWOK_PORT        kwok                        (default 20247)
#   NODES            number of fake nodes        (default 4)
#   JOBSERVER_ARGS   extra jobserver flags
#   DROP_IN          1: drop-in mode, bare "kubectl get jobs" means jobserver's
#                    Jobs (artifacts/deploy/components/drop-in)
set -o errexit -o nounset -o pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "${JOBSERVER_ROOT}/hack/local-lib.sh"
cd "${JOBSERVER_ROOT}"

NODES="${NODES:-4}"

"${JOBSERVER_ROOT}/hack/local-down.sh" --quiet
mkdir -p "${LOCAL_DIR}/pki" "${LOCAL_DIR}/logs" "${LOCAL_DIR}/run" "${LOCAL_DIR}/home"

log "building tools, jobserver and hack/kit"
"${JOBSERVER_ROOT}/hack/build-tools.sh"
go build -trimpath -o "${BIN}/jobserver" ./cmd/jobserver
go build -trimpath -o "${BIN}/kubectl-jobserver" ./cmd/kubectl-jobserver
go build -trimpath -o "${BIN}/kit" ./hack/kit

generate_pki
write_kubeconfigs

log "starting etcd on 127.0.0.1:${ETCD_PORT}"
start etcd "${BIN}/etcd" \
  --name=local --data-dir="${LOCAL_DIR}/etcd" \
  --listen-client-urls="http://127.0.0.1:${ETCD_PORT}" \
  --advertise-client-urls="http://127.0.0.1:${ETCD_PORT}" \
  --listen-peer-urls="http://127.0.0.1:$((ETCD_PORT + 10))" \
  --initial-advertise-peer-urls="http://127.0.0.1:$((ETCD_PORT + 10))" \
  --initial-cluster="local=http://127.0.0.1:$((ETCD_PORT + 10))" \
  --log-level=warn
wait_for "etcd" curl -fsS "http://127.0.0.1:${ETCD_PORT}/health"

log "starting kube-apiserver on 127.0.0.1:${KAS_PORT}"
# The flags are the integration tests' too (test/kit/kubeapiserver.go).
kas_out="$("${BIN}/kit" kube-apiserver-flags --pki-dir="${PKI}" \
  --etcd-url="http://127.0.0.1:${ETCD_PORT}" --port="${KAS_PORT}")"
kas_flags=()
while IFS= read -r flag; do kas_flags+=("${flag}"); done <<<"${kas_out}"
start kube-apiserver "${BIN}/kube-apiserver" "${kas_flags[@]}"
wait_for "kube-apiserver" kubectl get --raw=/readyz

log "starting kube-controller-manager and kube-scheduler"
start kube-controller-manager "${BIN}/kube-controller-manager" \
  --kubeconfig="${LOCAL_DIR}/kube-controller-manager.kubeconfig" \
  --authentication-kubeconfig="${LOCAL_DIR}/kube-controller-manager.kubeconfig" \
  --authorization-kubeconfig="${LOCAL_DIR}/kube-controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port="${KCM_PORT}" \
  --leader-elect=false \
  --controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller,job-controller,ttl-after-finished-controller,clusterrole-aggregation-controller,root-ca-certificate-publisher-controller \
  --service-account-private-key-file="${PKI}/sa.key" --root-ca-file="${PKI}/ca.crt" \
  --use-service-account-credentials=true
start kube-scheduler "${BIN}/kube-scheduler" \
  --kubeconfig="${LOCAL_DIR}/kube-scheduler.kubeconfig" \
  --authentication-kubeconfig="${LOCAL_DIR}/kube-scheduler.kubeconfig" \
  --authorization-kubeconfig="${LOCAL_DIR}/kube-scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port="${SCHEDULER_PORT}" \
  --leader-elect=false

log "starting kwok with ${NODES} fake nodes"
create_nodes "${NODES}"
HOME="${LOCAL_DIR}/home" start kwok "${BIN}/kwok" \
  --kubeconfig="${KUBECONFIG}" \
  --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --config="${JOBSERVER_ROOT}/hack/local/kwok-stages.yaml" \
  --cidr=10.0.0.0/16 --node-ip=127.0.0.1 --node-port="${KWOK_PORT}" \
  --server-address="127.0.0.1:${KWOK_PORT}"

log "installing jobserver's namespace, RBAC, Service and APIService"
install_aggregation

log "starting jobserver on 127.0.0.1:${JOBSERVER_PORT} (embedded etcd in ${LOCAL_DIR}/jobserver.etcd)"
# shellcheck disable=SC2086 # JOBSERVER_ARGS is a list of flags.
start jobserver "${BIN}/jobserver" \
  --kubeconfig="${LOCAL_DIR}/jobserver.kubeconfig" \
  --authentication-kubeconfig="${LOCAL_DIR}/jobserver.kubeconfig" \
  --authorization-kubeconfig="${LOCAL_DIR}/jobserver.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port="${JOBSERVER_PORT}" \
  --tls-cert-file="${PKI}/jobserver.crt" --tls-private-key-file="${PKI}/jobserver.key" \
  --embedded-etcd-data-dir="${LOCAL_DIR}/jobserver.etcd" \
  ${JOBSERVER_ARGS:-}

# /readyz, asked directly: Available only means discovery answers, while
# /readyz also waits for the front-proxy CA (before it, proxied requests
# would be served as system:anonymous).
wait_for "jobserver to be ready" \
  kubectl get --raw=/readyz --server="https://127.0.0.1:${JOBSERVER_PORT}" \
  --certificate-authority="${PKI}/jobserver-ca.crt" --tls-server-name="${JOBSERVER_SERVICE}.${JOBSERVER_NAMESPACE}.svc"
wait_for "the APIService v1.batch.jobserver.dev to be Available" \
  kubectl wait --for=condition=Available --timeout=5s apiservice/v1.batch.jobserver.dev
wait_for "nodes to be Ready" kubectl wait --for=condition=Ready --timeout=5s node --all
wait_for "the default ServiceAccount" kubectl get serviceaccount default -n default

cat <<EOF

The local cluster is up, with jobserver aggregated into it. Use it with:

  export KUBECONFIG=${KUBECONFIG}
  export PATH=${BIN}:\$PATH          # kubectl v1.37.2
  kubectl get jobs.batch.jobserver.dev -A
  kubectl apply -f artifacts/examples/job.quiz-init.yaml

Logs: ${LOCAL_DIR}/logs/   Stop it: make down
EOF
