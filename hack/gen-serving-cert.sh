#!/usr/bin/env bash
# Creates the TLS material with which kube-apiserver trusts jobserver: a CA,
# and a serving certificate signed by it for <service>.<namespace>.svc (the
# name kube-apiserver's aggregator verifies) and the other names of the
# Service. Writes them, the TLS Secret and the APIService caBundle patch as a
# kustomize component that artifacts/deploy and artifacts/deploy/external-etcd
# include.
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
#       --extra-san SAN      one more DNS name or IP address; repeatable
#       --days N             validity of the serving certificate (default 365)
#       --ca-days N          validity of the CA (default 3650)
#       --renew-days N       renew what expires within N days (default 30)
#       --force              new CA and serving certificate, even if valid
#       --print-kubectl      also print kubectl commands that install the Secret
#                            and the caBundle without kustomize
#   -h, --help               this text
#
# Idempotent: a run keeps the CA and the certificate while they are valid for
# more than --renew-days, belong together, and the certificate covers every
# name asked for; otherwise it issues a new certificate (with a new CA only
# when the CA itself is missing, broken or expiring, so the caBundle rarely
# changes). The manifests are rewritten only when their content changes.
# jobserver reloads a renewed certificate from its mounted Secret by itself.
#
# Files in the output directory (private keys are mode 600; keep ca.key safe,
# anyone holding it can impersonate jobserver to kube-apiserver):
#   ca.crt ca.key                the CA; ca.crt is the APIService caBundle
#   tls.crt tls.key              jobserver's serving certificate and key
#   secret.yaml                  Secret <secret> (type kubernetes.io/tls)
#   apiservice-cabundle.yaml     JSON patch: spec.caBundle and spec.service
#   kustomization.yaml           kustomize Component with the two above
#
# Then: kubectl apply -k artifacts/deploy   (see artifacts/deploy/README.md)
# Needs openssl (OpenSSL 1.1.1 or 3.x).
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
    -h | --help) usage; exit 0 ;;
    --namespace=* | --service=* | --out-dir=* | --cluster-domain=* | --secret=* | --apiservice=* | \
      --extra-san=* | --days=* | --ca-days=* | --renew-days=*)
      set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

command -v openssl >/dev/null || die "openssl not found"
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

renew_seconds=$((RENEW_DAYS * 86400))

# valid_for_renewal CERT: true when CERT parses and does not expire within
# the renewal window.
valid_for_renewal() {
  openssl x509 -in "$1" -noout -checkend "${renew_seconds}" >/dev/null 2>&1
}
# key_matches CERT KEY: true when KEY is CERT's private key.
key_matches() {
  local cert_pub key_pub
  cert_pub="$(openssl x509 -in "$1" -noout -pubkey 2>/dev/null)" || return 1
  key_pub="$(openssl pkey -in "$2" -pubout 2>/dev/null)" || return 1
  [[ -n "${cert_pub}" && "${cert_pub}" == "${key_pub}" ]]
}
# covers_names CERT: true when CERT is valid for every DNS name and IP wanted.
covers_names() {
  local name ip
  for name in "${DNS_NAMES[@]}"; do
    openssl x509 -in "$1" -noout -checkhost "${name}" 2>/dev/null | grep -q " does match " || return 1
  done
  for ip in "${IP_ADDRS[@]+"${IP_ADDRS[@]}"}"; do
    openssl x509 -in "$1" -noout -checkip "${ip}" 2>/dev/null | grep -q " does match " || return 1
  done
}

cat >"${TMP}/openssl.cnf" <<EOF
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
[serving]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName = @sans
[sans]
EOF
i=0
for name in "${DNS_NAMES[@]}"; do
  i=$((i + 1))
  echo "DNS.${i} = ${name}" >>"${TMP}/openssl.cnf"
done
i=0
for ip in "${IP_ADDRS[@]+"${IP_ADDRS[@]}"}"; do
  i=$((i + 1))
  echo "IP.${i} = ${ip}" >>"${TMP}/openssl.cnf"
done

CA_CRT="${OUT_DIR}/ca.crt"
CA_KEY="${OUT_DIR}/ca.key"
TLS_CRT="${OUT_DIR}/tls.crt"
TLS_KEY="${OUT_DIR}/tls.key"

new_ca=false
if ${FORCE}; then
  new_ca=true
elif [[ ! -s "${CA_CRT}" || ! -s "${CA_KEY}" ]]; then
  new_ca=true
elif ! valid_for_renewal "${CA_CRT}" || ! key_matches "${CA_CRT}" "${CA_KEY}"; then
  log "the CA in ${OUT_DIR} is expiring, broken or does not match its key: creating a new one"
  new_ca=true
fi
if ${new_ca}; then
  log "creating a CA (${CA_DAYS} days)"
  openssl genrsa -out "${TMP}/ca.key" 2048 2>/dev/null
  openssl req -x509 -new -sha256 -key "${TMP}/ca.key" -days "${CA_DAYS}" \
    -subj "/CN=jobserver-ca@$(date +%s)" -config "${TMP}/openssl.cnf" -extensions ca \
    -out "${TMP}/ca.crt"
  mv -f "${TMP}/ca.key" "${CA_KEY}"
  chmod 644 "${TMP}/ca.crt"
  mv -f "${TMP}/ca.crt" "${CA_CRT}"
fi

new_cert=false
if ${new_ca}; then
  new_cert=true
elif [[ ! -s "${TLS_CRT}" || ! -s "${TLS_KEY}" ]]; then
  new_cert=true
elif ! openssl verify -CAfile "${CA_CRT}" "${TLS_CRT}" >/dev/null 2>&1; then
  log "the serving certificate is not signed by the CA (or not valid): issuing a new one"
  new_cert=true
elif ! valid_for_renewal "${TLS_CRT}"; then
  log "the serving certificate expires within ${RENEW_DAYS} days: issuing a new one"
  new_cert=true
elif ! key_matches "${TLS_CRT}" "${TLS_KEY}"; then
  log "the serving certificate does not match tls.key: issuing a new one"
  new_cert=true
elif ! covers_names "${TLS_CRT}"; then
  log "the serving certificate lacks some of the names asked for: issuing a new one"
  new_cert=true
fi
if ${new_cert}; then
  sans=("${DNS_NAMES[@]}" "${IP_ADDRS[@]+"${IP_ADDRS[@]}"}")
  log "issuing a serving certificate for ${sans[*]} (${DAYS} days)"
  openssl genrsa -out "${TMP}/tls.key" 2048 2>/dev/null
  openssl req -new -sha256 -key "${TMP}/tls.key" -subj "/CN=${SERVICE}.${NAMESPACE}.svc" \
    -config "${TMP}/openssl.cnf" -out "${TMP}/tls.csr"
  openssl x509 -req -sha256 -in "${TMP}/tls.csr" -CA "${CA_CRT}" -CAkey "${CA_KEY}" \
    -set_serial "0x$(openssl rand -hex 16)" -days "${DAYS}" \
    -extfile "${TMP}/openssl.cnf" -extensions serving -out "${TMP}/tls.crt" 2>/dev/null
  openssl verify -CAfile "${CA_CRT}" "${TMP}/tls.crt" >/dev/null || die "the new certificate does not verify"
  mv -f "${TMP}/tls.key" "${TLS_KEY}"
  chmod 644 "${TMP}/tls.crt"
  mv -f "${TMP}/tls.crt" "${TLS_CRT}"
else
  log "keeping the CA and serving certificate in ${OUT_DIR}"
fi

b64() { openssl base64 -A -in "$1"; }
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

if ${PRINT_KUBECTL}; then
  cat <<EOF
# Without kustomize:
kubectl apply -f '${OUT_DIR}/secret.yaml'
kubectl patch apiservice '${APISERVICE}' --type=json -p '[{"op":"add","path":"/spec/caBundle","value":"${CA_BUNDLE}"}]'
EOF
fi
log "done: ${OUT_DIR}"
