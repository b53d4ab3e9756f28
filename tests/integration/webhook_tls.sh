# webhook_tls.sh — the webhook's TLS: 1.2 and 1.3 accepted and verified with the dev CA, 1.1
# and 1.0 refused (because of the version: the same client with 1.2 gets through), plain HTTP
# gets no admission answer, the certificate names 127.0.0.1 and localhost, and a missing,
# unreadable or broken cert dir makes gungnir exit non-zero with a clear message.
#
#   bash tests/integration/webhook_tls.sh <path-to-gungnir> <repo-root>
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init "$@"

CERTS=$T/certs
make_certs "$CERTS"
CA=$CERTS/ca.crt
start_gungnir "$CERTS" || finish
GOOD=$ROOT/bench/admission-create.json

# s_client VERSION_FLAG [args] — one handshake; output in $T/sc.out.
s_client() {
    local v=$1
    shift
    timeout 15 openssl s_client -connect "127.0.0.1:$WEBHOOK_PORT" "$v" -CAfile "$CA" -verify_return_error \
        -msg "$@" </dev/null >"$T/sc.out" 2>&1
}

# ---- accepted versions ------------------------------------------------------------------
log "TLS 1.2 and 1.3"
for v in 1.2 1.3; do
    flag=-tls${v/./_}
    s_client "$flag" -servername localhost -verify_hostname localhost
    rc=$?
    expect_eq "TLS $v handshake (openssl s_client $flag, verified by the dev CA)" "0 TLSv$v" \
        "$rc $(grep -m1 -oE 'Protocol *: *TLSv[0-9.]+|New, TLSv[0-9.]+' "$T/sc.out" | grep -oE 'TLSv[0-9.]+')"
    expect_contains "TLS $v: chain verifies" "Verify return code: 0 (ok)" "$(cat "$T/sc.out")"
    post "$VALIDATE_PATH" "$GOOD" --tlsv"$v" --tls-max "$v"
    expect_eq "TLS $v: curl gets an admission answer" "200 true" "$HTTP_CODE $(printf '%s' "$BODY" | jq -r .response.allowed 2>/dev/null)"
done

# ---- refused versions -------------------------------------------------------------------
log "TLS 1.1 and 1.0"
# The client must offer the old version for real: OpenSSL 3 only does so at security level 0.
for v in 1.1 1.0; do
    case $v in 1.1) flag=-tls1_1 ;; 1.0) flag=-tls1 ;; esac
    s_client "$flag" -cipher 'DEFAULT@SECLEVEL=0'
    rc=$?
    out=$(cat "$T/sc.out")
    expect_eq "TLS $v: the client really sent a TLS $v ClientHello" yes \
        "$(grep -q ">>> TLS $v, Handshake \[length [0-9a-f]*\], ClientHello" "$T/sc.out" && echo yes || echo "no: $(head -5 "$T/sc.out")")"
    expect_eq "TLS $v: the handshake fails" yes "$([ "$rc" != 0 ] && echo yes || echo "no (s_client exit 0)")"
    expect_not_contains "TLS $v: no ServerHello came back" "<<< TLS" "$(grep '<<< TLS.*ServerHello' "$T/sc.out")"
    expect_eq "TLS $v: no session was set up" "Cipher is (NONE)" "$(grep -oE 'Cipher is \(NONE\)' "$T/sc.out" | head -1)"
    # Either a protocol_version alert or a closed connection; never "no protocols available"
    # (that would be the client refusing on its own).
    if [[ "$out" == *"alert protocol version"* ]]; then
        pass "TLS $v: refused with a protocol_version alert"
    elif [[ "$out" == *"unexpected eof"* ]] || [[ "$out" == *"read 0 bytes"* ]]; then
        pass "TLS $v: refused (the server closed the connection after the ClientHello)"
        log "NOTE TLS $v: the server closes without sending a protocol_version alert"
    else
        fail "TLS $v: refused by the server" "expected: alert protocol version, or the connection closed" "got: $(grep -iE 'error|alert' "$T/sc.out" | head -3)"
    fi
    # Control: the same client options with only the version changed go through.
    s_client -tls1_2 -cipher 'DEFAULT@SECLEVEL=0'
    expect_eq "TLS $v control: the same options with TLS 1.2 succeed" 0 "$?"
    code=$(curl -sS --max-time 10 --cacert "$CA" --tlsv"$v" --tls-max "$v" --ciphers 'DEFAULT@SECLEVEL=0' \
        -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$GOOD" "$BASE$VALIDATE_PATH" 2>/dev/null)
    rc=$?
    expect_eq "TLS $v: curl gets no answer (exit 35, handshake failed)" "35 000" "$rc $code"
done

# ---- plain HTTP to the TLS port ---------------------------------------------------------
log "plain HTTP"
code=$(curl -sS --max-time 10 -o "$T/plain.body" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @"$GOOD" "http://127.0.0.1:$WEBHOOK_PORT$VALIDATE_PATH" 2>"$T/plain.err")
rc=$?
expect_eq "plain HTTP: no HTTP 200" yes "$([ "$code" != 200 ] && echo yes || echo "no: 200")"
expect_not_contains "plain HTTP: no admission answer" "AdmissionReview" "$(cat "$T/plain.body" 2>/dev/null)"
log "plain HTTP got: status $code, curl exit $rc ($(cat "$T/plain.err"))"
gungnir_alive "alive after plain HTTP"

# ---- the certificate presented ----------------------------------------------------------
log "certificate"
timeout 15 openssl s_client -connect "127.0.0.1:$WEBHOOK_PORT" -servername localhost -showcerts </dev/null 2>/dev/null |
    openssl x509 >"$T/served.pem" 2>/dev/null
SAN=$(openssl x509 -in "$T/served.pem" -noout -ext subjectAltName 2>/dev/null)
expect_contains "SAN has IP Address:127.0.0.1" "IP Address:127.0.0.1" "$SAN"
expect_contains "SAN has DNS:localhost" "DNS:localhost" "$SAN"
expect_contains "SAN has the in-cluster service name" "DNS:gungnir-webhook.gungnir-system.svc" "$SAN"
expect_eq "the served certificate is tls.crt" "$(cert_serial "$CERTS/tls.crt")" "$(openssl x509 -in "$T/served.pem" -noout -serial 2>/dev/null | sed 's/^serial=//')"
expect_eq "the served certificate verifies against the dev CA" "$T/served.pem: OK" "$(openssl verify -CAfile "$CA" "$T/served.pem" 2>&1)"
for host in 127.0.0.1 localhost; do
    code=$(curl -sS --max-time 10 --cacert "$CA" --resolve "localhost:$WEBHOOK_PORT:127.0.0.1" -o /dev/null -w '%{http_code}' \
        -H 'Content-Type: application/json' --data-binary @"$GOOD" "https://$host:$WEBHOOK_PORT$VALIDATE_PATH" 2>&1)
    expect_eq "https://$host: verified by curl --cacert (no -k)" 200 "$code"
done
code=$(curl -sS --max-time 10 --cacert "$CA" --resolve "wrong.example:$WEBHOOK_PORT:127.0.0.1" -o /dev/null -w '%{http_code}' \
    "https://wrong.example:$WEBHOOK_PORT$VALIDATE_PATH" 2>/dev/null)
expect_eq "a name not in the SANs fails verification (curl exit 60)" "60" "$?"
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' --cacert /etc/ssl/certs/ca-certificates.crt \
    "https://127.0.0.1:$WEBHOOK_PORT$VALIDATE_PATH" 2>/dev/null)
expect_eq "without the dev CA verification fails (curl exit 60)" "60" "$?"

stop_gungnir

# ---- bad cert dirs: exit non-zero with a clear message ----------------------------------
log "bad cert dirs"
# run_bad DESC DIR NEEDLE [runner...] — gungnir must exit (within 20 s) with status 1 and
# log the needle. Never becomes ready.
run_bad() {
    local desc=$1 dir=$2 needle=$3
    shift 3
    local wp hp mp rc err
    wp=$(free_port) && hp=$(free_port) && mp=$(free_port)
    err=$T/bad.$RANDOM.err
    timeout 20 "$@" "$GUNGNIR" --disable-controller --webhook-cert-dir "$dir" \
        --webhook-bind-address "127.0.0.1:$wp" --health-probe-bind-address "127.0.0.1:$hp" \
        --metrics-bind-address "127.0.0.1:$mp" >/dev/null 2>"$err"
    rc=$?
    expect_eq "$desc: gungnir exits with status 1" 1 "$rc"
    expect_contains "$desc: says it cannot load the certificate" "cannot load the webhook serving certificate" "$(cat "$err")"
    expect_contains "$desc: names the cause" "$needle" "$(cat "$err")"
    sanitizer_clean "$desc: no sanitizer report" "$err"
}
run_bad "missing cert dir" "$T/does-not-exist" "$T/does-not-exist/tls.crt: No such file or directory"
mkdir -p "$T/empty-dir"
run_bad "empty cert dir" "$T/empty-dir" "tls.crt: No such file or directory"
mkdir -p "$T/nokey" && cp "$CERTS/tls.crt" "$T/nokey/"
run_bad "no tls.key" "$T/nokey" "$T/nokey/tls.key: No such file or directory"
mkdir -p "$T/emptycrt" && : >"$T/emptycrt/tls.crt" && cp "$CERTS/tls.key" "$T/emptycrt/"
run_bad "empty tls.crt" "$T/emptycrt" "tls.crt: empty file"
mkdir -p "$T/garbage" && echo "not a certificate" >"$T/garbage/tls.crt" && cp "$CERTS/tls.key" "$T/garbage/"
run_bad "tls.crt not PEM" "$T/garbage" "not a PEM certificate"
mkdir -p "$T/garbagekey" && cp "$CERTS/tls.crt" "$T/garbagekey/" && echo "not a key" >"$T/garbagekey/tls.key"
run_bad "tls.key not PEM" "$T/garbagekey" "not a PEM private key"
mkdir -p "$T/other" && bash "$ROOT/certs/make-dev-certs.sh" "$T/other" >/dev/null 2>&1
mkdir -p "$T/mismatch" && cp "$CERTS/tls.crt" "$T/mismatch/" && cp "$T/other/tls.key" "$T/mismatch/"
run_bad "tls.key of another certificate" "$T/mismatch" "does not match the certificate"

# Unreadable: as root, permissions do not stop reads, so run gungnir as nobody.
mkdir -p "$T/unreadable" && cp "$CERTS/tls.crt" "$CERTS/tls.key" "$T/unreadable/"
chmod 000 "$T/unreadable/tls.key"
if [ "$(id -u)" != 0 ]; then
    run_bad "unreadable tls.key" "$T/unreadable" "tls.key: Permission denied"
elif command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$GUNGNIR" 2>/dev/null; then
    chmod 755 "$T"
    chmod 755 "$T/unreadable" && chmod 644 "$T/unreadable/tls.crt"
    run_bad "unreadable tls.key (as nobody)" "$T/unreadable" "tls.key: Permission denied" setpriv --reuid=65534 --regid=65534 --clear-groups
    chmod 700 "$T"
else
    log "SKIP unreadable tls.key: running as root and cannot run gungnir as another user"
fi
chmod 600 "$T/unreadable/tls.key"

finish
