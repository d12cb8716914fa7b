#!/usr/bin/env bash
# Creates the TLS material with which kube-apiserver trusts jobserver: a CA,
# and a serving certificate signed by it for <service>.<namespace>.svc (the
# name kube-apiserver's aggregator verifies) and the other names of the
# Service. Writes them, the TLS Secret and the APIService caBundle patch as a
# kustomize component that artifacts/deploy and artifacts/deploy/external-etcd
# include.
#
# Unless --no-etcd, also the TLS material of the bundled etcd
# (artifacts/deploy/components/etcd), in the subdirectory etcd/ as a
# component of its own that only artifacts/deploy includes: a second CA,
# separate from jobserver's, an etcd server certificate for
# etcd.<namespace>.svc, etcd.<namespace>.svc.<cluster-domain>, etcd,
# localhost and 127.0.0.1 (the last two for etcdctl through a port-forward
# or inside the Pod), and jobserver's client certificate (CN jobserver) for
# etcd's --client-cert-auth. The external-etcd overlay does not use them;
# --no-etcd skips them there.
#
# Usage: hack/gen-serving-cert.sh [flags]
#   -n, --namespace NS       namespace of jobserver's Service
#                            (env JOBSERVER_NAMESPACE; default jobserver-system)
#   -s, --service NAME       name of jobserver's Service
#                            (env JOBSERVER_SERVICE; default jobserver)
#   -o, --out-dir DIR        where to write (env JOBSERVER_CERT_DIR;
#                            default artifacts/deploy/generated, ignored by git)
#       --cluster-domain D   cluster DNS domain (env CLUSTER_DOMAIN; default cluster.local)
#       --secret NAME        name of the TLS Secret (default jobserver-serving-cert)
#       --apiservice NAME    APIService to patch (default v1.batch.jobserver.dev)
#       --extra-san SAN      one more DNS name or IP address of jobserver's serving
#                            certificate; repeatable
#       --days N             validity of a certificate (default 365)
#       --ca-days N          validity of a CA (default 3650)
#       --renew-days N       renew what expires within N days (default 30)
#       --force              new CAs and certificates, even if valid
#       --no-etcd            skip the bundled etcd's CA, certificates and Secrets
#                            (for external-etcd; leaves an existing etcd/ alone)
#       --print-kubectl      also print kubectl commands that install the Secret
#                            and the caBundle without kustomize
#   -h, --help               this text
#
# Idempotent: a run keeps a CA and its certificates while they are valid for
# more than --renew-days, belong together, and each certificate has the
# names and usages asked for; otherwise it issues a new certificate (with a
# new CA only when the CA itself is missing, broken or expiring, so the
# caBundle rarely changes). --days, --ca-days and --renew-days apply to both
# CAs. The manifests are rewritten only when their content changes.
# jobserver reloads a renewed serving certificate from its mounted Secret by
# itself; etcd and jobserver's etcd client read their renewed certificates
# at the next connection. A new etcd CA needs a restart of etcd and of
# jobserver (artifacts/deploy/README.md).
#
# Files in the output directory (private keys are mode 600; keep ca.key safe,
# anyone holding it can impersonate jobserver to kube-apiserver):
#   ca.crt ca.key                the CA; ca.crt is the APIService caBundle
#   tls.crt tls.key              jobserver's serving certificate and key
#   secret.yaml                  Secret <secret> (type kubernetes.io/tls)
#   apiservice-cabundle.yaml     JSON patch: spec.caBundle and spec.service
#   kustomization.yaml           kustomize Component with the two above
#   etcd/ca.crt etcd/ca.key      the bundled etcd's CA (anyone holding ca.key
#                                can make certificates etcd accepts)
#   etcd/server.crt server.key   etcd's server certificate (also client usage:
#                                etcd dials its own port with it)
#   etcd/client.crt client.key   jobserver's client certificate for etcd
#   etcd/etcd-server-tls.yaml    Secret etcd-server-tls (ca.crt, tls.crt, tls.key)
#   etcd/jobserver-etcd-client.yaml
#                                Secret jobserver-etcd-client (ca.crt, tls.crt, tls.key)
#   etcd/kustomization.yaml      kustomize Component with the two Secrets
#
# Then: kubectl apply -k artifacts/deploy   (see artifacts/deploy/README.md)
# Needs Go: the certificates are made by hack/kit (test/kit), built on the way.
set -o errexit -o nounset -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

NAMESPACE="${JOBSERVER_NAMESPACE:-jobserver-system}"
SERVICE="${JOBSERVER_SERVICE:-jobserver}"
OUT_DIR="${JOBSERVER_CERT_DIR:-${ROOT}/artifacts/deploy/generated}"
CLUSTER_DOMAIN="${CLUSTER_DOMAIN:-cluster.local}"
SECRET="jobserver-serving-cert"
APISERVICE="v1.batch.jobserver.dev"
EXTRA_SANS=()
DAYS=365
CA_DAYS=3650
RENEW_DAYS=30
FORCE=false
PRINT_KUBECTL=false
ETCD=true

log() { echo "gen-serving-cert: $*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}
usage() { sed -n '2,/^set -o/{/^set -o/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

need_arg() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n | --namespace) need_arg "$@"; NAMESPACE="$2"; shift 2 ;;
    -s | --service) need_arg "$@"; SERVICE="$2"; shift 2 ;;
    -o | --out-dir) need_arg "$@"; OUT_DIR="$2"; shift 2 ;;
    --cluster-domain) need_arg "$@"; CLUSTER_DOMAIN="$2"; shift 2 ;;
    --secret) need_arg "$@"; SECRET="$2"; shift 2 ;;
    --apiservice) need_arg "$@"; APISERVICE="$2"; shift 2 ;;
    --extra-san) need_arg "$@"; EXTRA_SANS+=("$2"); shift 2 ;;
    --days) need_arg "$@"; DAYS="$2"; shift 2 ;;
    --ca-days) need_arg "$@"; CA_DAYS="$2"; shift 2 ;;
    --renew-days) need_arg "$@"; RENEW_DAYS="$2"; shift 2 ;;
    --force) FORCE=true; shift ;;
    --print-kubectl) PRINT_KUBECTL=true; shift ;;
    --no-etcd) ETCD=false; shift ;;
    -h | --help) usage; exit 0 ;;
    --namespace=* | --service=* | --out-dir=* | --cluster-domain=* | --secret=* | --apiservice=* | \
      --extra-san=* | --days=* | --ca-days=* | --renew-days=*)
      set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

command -v go >/dev/null || die "go not found"
dns_label='[a-z0-9]([-a-z0-9]*[a-z0-9])?'
[[ "${NAMESPACE}" =~ ^${dns_label}$ ]] || die "--namespace: not a DNS label: ${NAMESPACE}"
[[ "${SERVICE}" =~ ^${dns_label}$ ]] || die "--service: not a DNS label: ${SERVICE}"
[[ "${CLUSTER_DOMAIN}" =~ ^${dns_label}(\.${dns_label})*$ ]] || die "--cluster-domain: not a DNS name: ${CLUSTER_DOMAIN}"
for n in "${DAYS}" "${CA_DAYS}" "${RENEW_DAYS}"; do
  [[ "${n}" =~ ^[0-9]+$ ]] || die "not a number of days: ${n}"
done
((DAYS > RENEW_DAYS && CA_DAYS > DAYS)) || die "need --ca-days > --days > --renew-days"

# The names kube-apiserver and in-cluster clients use for the Service; the
# aggregator verifies <service>.<namespace>.svc.
DNS_NAMES=("${SERVICE}.${NAMESPACE}.svc" "${SERVICE}.${NAMESPACE}.svc.${CLUSTER_DOMAIN}"
  "${SERVICE}.${NAMESPACE}" "${SERVICE}")
IP_ADDRS=()
for san in "${EXTRA_SANS[@]+"${EXTRA_SANS[@]}"}"; do
  if [[ "${san}" =~ ^[0-9.]+$ || "${san}" == *:* ]]; then
    IP_ADDRS+=("${san}")
  elif [[ "${san}" =~ ^(\*\.)?${dns_label}(\.${dns_label})*$ ]]; then
    DNS_NAMES+=("${san}")
  else
    die "--extra-san: neither a DNS name nor an IP address: ${san}"
  fi
done

mkdir -p "${OUT_DIR}"
OUT_DIR="$(cd "${OUT_DIR}" && pwd -P)"
umask 077
TMP="$(mktemp -d "${OUT_DIR}/.tmp.XXXXXX")"
trap 'rm -rf "${TMP}"' EXIT

CA_CRT="${OUT_DIR}/ca.crt"
TLS_CRT="${OUT_DIR}/tls.crt"
TLS_KEY="${OUT_DIR}/tls.key"

# hack/kit keeps or replaces the CA and the certificate, saying why.
(cd "${ROOT}" && go build -o "${TMP}/kit" ./hack/kit) || die "building hack/kit failed"
kit_args=(--out-dir="${OUT_DIR}" --cn="${SERVICE}.${NAMESPACE}.svc"
  --days="${DAYS}" --ca-days="${CA_DAYS}" --renew-days="${RENEW_DAYS}")
for name in "${DNS_NAMES[@]}"; do kit_args+=(--dns="${name}"); done
for ip in "${IP_ADDRS[@]+"${IP_ADDRS[@]}"}"; do kit_args+=(--ip="${ip}"); done
if ${FORCE}; then kit_args+=(--force); fi
"${TMP}/kit" serving-cert "${kit_args[@]}" || die "issuing the certificates failed"

b64() { base64 <"$1" | tr -d '\n'; }
CA_BUNDLE="$(b64 "${CA_CRT}")"
HEADER="# Generated by hack/gen-serving-cert.sh for Service ${SERVICE}.${NAMESPACE}; do not edit."

# write FILE: stdin to FILE, only when the content changed.
write() {
  local tmp="${TMP}/write"
  cat >"${tmp}"
  if ! cmp -s "${tmp}" "$1"; then
    chmod "${2:-644}" "${tmp}"
    mv -f "${tmp}" "$1"
    log "wrote $1"
  fi
}

write "${OUT_DIR}/secret.yaml" 600 <<EOF
${HEADER}
apiVersion: v1
kind: Secret
metadata:
  name: ${SECRET}
  namespace: ${NAMESPACE}
  labels:
    app.kubernetes.io/name: jobserver
    app.kubernetes.io/part-of: jobserver
type: kubernetes.io/tls
data:
  ca.crt: ${CA_BUNDLE}
  tls.crt: $(b64 "${TLS_CRT}")
  tls.key: $(b64 "${TLS_KEY}")
EOF

write "${OUT_DIR}/apiservice-cabundle.yaml" <<EOF
${HEADER}
# kube-apiserver verifies jobserver's certificate with this CA, for the name
# ${SERVICE}.${NAMESPACE}.svc.
- op: add
  path: /spec/caBundle
  value: ${CA_BUNDLE}
- op: add
  path: /spec/service/namespace
  value: ${NAMESPACE}
- op: add
  path: /spec/service/name
  value: ${SERVICE}
EOF

write "${OUT_DIR}/kustomization.yaml" <<EOF
${HEADER}
# The serving certificate Secret and the APIService caBundle, for
# artifacts/deploy and artifacts/deploy/external-etcd.
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
- secret.yaml
patches:
- path: apiservice-cabundle.yaml
  target:
    group: apiregistration.k8s.io
    version: v1
    kind: APIService
    name: ${APISERVICE}
EOF

# The bundled etcd: its own CA, a server certificate for the Service etcd
# (and loopback) and jobserver's client certificate, as two Secrets in a
# component of their own, which artifacts/deploy includes and
# external-etcd does not.
if ${ETCD}; then
  ETCD_DIR="${OUT_DIR}/etcd"
  mkdir -p "${ETCD_DIR}"
  etcd_args=(--out-dir="${ETCD_DIR}" --client-cn=jobserver
    --dns="etcd.${NAMESPACE}.svc" --dns="etcd.${NAMESPACE}.svc.${CLUSTER_DOMAIN}" --dns=etcd --dns=localhost
    --ip=127.0.0.1 --days="${DAYS}" --ca-days="${CA_DAYS}" --renew-days="${RENEW_DAYS}")
  if ${FORCE}; then etcd_args+=(--force); fi
  "${TMP}/kit" etcd-certs "${etcd_args[@]}" || die "issuing the etcd certificates failed"

  ETCD_CA="$(b64 "${ETCD_DIR}/ca.crt")"
  ETCD_HEADER="# Generated by hack/gen-serving-cert.sh for the bundled etcd in ${NAMESPACE}; do not edit."
  # etcd_secret FILE NAME APP COMMENT CERT KEY: a kubernetes.io/tls Secret
  # with ca.crt (the etcd CA), tls.crt and tls.key.
  etcd_secret() {
    write "${ETCD_DIR}/$1" 600 <<EOF
${ETCD_HEADER}
# $4
apiVersion: v1
kind: Secret
metadata:
  name: $2
  namespace: ${NAMESPACE}
  labels:
    app.kubernetes.io/name: $3
    app.kubernetes.io/part-of: jobserver
type: kubernetes.io/tls
data:
  ca.crt: ${ETCD_CA}
  tls.crt: $(b64 "${ETCD_DIR}/$5")
  tls.key: $(b64 "${ETCD_DIR}/$6")
EOF
  }
  etcd_secret etcd-server-tls.yaml etcd-server-tls etcd \
    "etcd's server certificate and key; ca.crt verifies its clients." server.crt server.key
  etcd_secret jobserver-etcd-client.yaml jobserver-etcd-client jobserver \
    "jobserver's client certificate and key for etcd; ca.crt verifies etcd." client.crt client.key
  write "${ETCD_DIR}/kustomization.yaml" <<EOF
${ETCD_HEADER}
# The bundled etcd's Secrets, for artifacts/deploy (components/etcd mounts
# them); not for artifacts/deploy/external-etcd.
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
- etcd-server-tls.yaml
- jobserver-etcd-client.yaml
EOF
fi

if ${PRINT_KUBECTL}; then
  cat <<EOF
# Without kustomize:
kubectl apply -f '${OUT_DIR}/secret.yaml'
kubectl patch apiservice '${APISERVICE}' --type=json -p '[{"op":"add","path":"/spec/caBundle","value":"${CA_BUNDLE}"}]'
EOF
  if ${ETCD}; then
    echo "kubectl apply -f '${ETCD_DIR}/etcd-server-tls.yaml' -f '${ETCD_DIR}/jobserver-etcd-client.yaml'"
  fi
fi
log "done: ${OUT_DIR}"
