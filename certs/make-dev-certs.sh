#!/usr/bin/env bash
# make-dev-certs.sh — a development CA and a webhook serving certificate, made with openssl.
#
#   certs/make-dev-certs.sh [DIR] [--service NAME] [--namespace NS] [--days N]
#
# Writes into DIR (default ./dev-certs):
#   ca.crt, ca.key    the dev CA (kept and reused when it already exists in DIR)
#   tls.crt, tls.key  a fresh serving certificate and key, signed by the CA, for
#                     127.0.0.1, ::1, localhost, NAME, NAME.NS, NAME.NS.svc, NAME.NS.svc.cluster.local
# tls.crt and tls.key are written to temporary files and renamed, so a running gungnir never
# reads half a pair (it reloads them within --cert-reload-interval). Keys are ECDSA P-256.
# Not for production: in a cluster cert-manager issues the serving certificate.
set -euo pipefail

dir=./dev-certs
service=gungnir-webhook
namespace=gungnir-system
days=365
while [ $# -gt 0 ]; do
  case "$1" in
    --service) service=$2; shift 2 ;;
    --namespace) namespace=$2; shift 2 ;;
    --days) days=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "make-dev-certs: unknown option $1" >&2; exit 2 ;;
    *) dir=$1; shift ;;
  esac
done
case "$days" in ''|*[!0-9]*) echo "make-dev-certs: --days takes a whole number" >&2; exit 2 ;; esac
command -v openssl >/dev/null || { echo "make-dev-certs: openssl is missing (run .ci/install-deps)" >&2; exit 1; }

mkdir -p "$dir"
umask 077
work=$(mktemp -d "$dir/.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ ! -s "$dir/ca.crt" ] || [ ! -s "$dir/ca.key" ]; then
  openssl ecparam -name prime256v1 -genkey -noout -out "$work/ca.key"
  openssl req -x509 -new -key "$work/ca.key" -sha256 -days 3650 -subj "/CN=gungnir-dev-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$work/ca.crt" 2>/dev/null
  mv "$work/ca.key" "$dir/ca.key"
  mv "$work/ca.crt" "$dir/ca.crt"
fi

cat > "$work/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:$service,DNS:$service.$namespace,DNS:$service.$namespace.svc,DNS:$service.$namespace.svc.cluster.local
EXT
openssl ecparam -name prime256v1 -genkey -noout -out "$work/tls.key"
openssl req -new -key "$work/tls.key" -subj "/CN=$service.$namespace.svc" -out "$work/tls.csr" 2>/dev/null
openssl x509 -req -in "$work/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
  -CAserial "$work/ca.srl" -days "$days" -sha256 -extfile "$work/ext.cnf" -out "$work/tls.crt" 2>/dev/null
chmod 644 "$work/tls.crt" "$dir/ca.crt"
chmod 600 "$work/tls.key"
# Key first, then certificate: a reader that sees the new certificate also sees its key.
mv "$work/tls.key" "$dir/tls.key"
mv "$work/tls.crt" "$dir/tls.crt"
echo "make-dev-certs: wrote $dir/ca.crt, $dir/tls.crt and $dir/tls.key ($service.$namespace.svc, 127.0.0.1, localhost)"
