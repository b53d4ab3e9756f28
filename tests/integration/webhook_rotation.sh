# webhook_rotation.sh — serving certificate rotation as cert-manager and the kubelet do it: the
# cert dir holds tls.crt and tls.key as symlinks into `..data`, itself a symlink to a
# timestamped directory, swapped atomically. While several clients send requests without
# pause: a new pair (same CA) is served within 10 s with zero failed requests; a broken pair
# (key not matching the certificate) is refused, the old certificate keeps serving, the log
# says so and the failure metric moves; a good pair after that is taken again.
#
#   bash tests/integration/webhook_rotation.sh <path-to-gungnir> <repo-root>
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init "$@"

GOOD=$ROOT/bench/admission-create.json
GOOD_UID=$(jq -r .request.uid "$GOOD")
GEN=$T/gen        # make-dev-certs.sh works here: keeps the CA, writes a new pair each run
DIR=$T/serving    # the projected-volume style cert dir gungnir reads
CA=$GEN/ca.crt
mkdir -p "$DIR"

# new_pair NAME [make-dev-certs args] — a fresh pair signed by the CA in $DIR/..NAME/.
new_pair() {
    local name=$1
    shift
    bash "$ROOT/certs/make-dev-certs.sh" "$GEN" "$@" >/dev/null 2>&1 || { fail "make-dev-certs.sh"; finish; }
    mkdir "$DIR/..$name"
    cp "$GEN/tls.crt" "$GEN/tls.key" "$DIR/..$name/"
    chmod 644 "$DIR/..$name/tls.crt"
    chmod 600 "$DIR/..$name/tls.key"
}
# swap NAME — points ..data at ..NAME atomically (rename over the old symlink).
swap() {
    (cd "$DIR" && ln -sfn "..$1" ..data_tmp && mv -T ..data_tmp ..data)
}

new_pair 2026_01_01_00_00_00.000000001 --days 365
ln -s ..2026_01_01_00_00_00.000000001 "$DIR/..data"
ln -s ..data/tls.crt "$DIR/tls.crt"
ln -s ..data/tls.key "$DIR/tls.key"
SERIAL_A=$(cert_serial "$DIR/tls.crt")

start_gungnir "$DIR" --cert-reload-interval 1 || finish
expect_eq "the first pair is served" "$SERIAL_A" "$(served_serial "$WEBHOOK_PORT")"
expect_eq "reload counters start at 0" "0 0" \
    "$(metric 'gungnir_webhook_cert_reloads_total{result="success"}') $(metric 'gungnir_webhook_cert_reloads_total{result="failure"}')"

# ---- load: several clients, a new TLS connection per request ----------------------------
STOP=$T/stop
WORKERS=4
worker() { # N — requests until $STOP exists (at most 100000); one line per request
    local n=$1 i code uid
    for ((i = 0; i < 100000; i++)); do
        [ -e "$STOP" ] && break
        code=$(curl -sS --max-time 10 --cacert "$CA" -o "$T/w$n.body" -w '%{http_code}' \
            -H 'Content-Type: application/json' --data-binary @"$GOOD" "$BASE$VALIDATE_PATH" 2>>"$T/w$n.err")
        uid=$(grep -o "\"uid\":\"$GOOD_UID\"" "$T/w$n.body" 2>/dev/null)
        if [ "$code" = 200 ] && [ -n "$uid" ]; then
            echo ok
        else
            echo "fail $(date +%T.%N) status=$code body=$(head -c 200 "$T/w$n.body" 2>/dev/null)"
        fi
    done >"$T/w$n.log"
}
for ((n = 0; n < WORKERS; n++)); do
    worker "$n" &
    BG_PIDS+=($!)
done
# counts — "ok fail" over all workers so far
counts() { cat "$T"/w*.log 2>/dev/null | awk '$1 == "ok" { ok++ } $1 == "fail" { bad++ } END { print ok + 0, bad + 0 }'; }
wait_requests() { # N — until N more requests succeeded (at most 30 s)
    local start want i
    start=$(counts | cut -d' ' -f1)
    want=$((start + $1))
    for ((i = 0; i < 300; i++)); do
        [ "$(counts | cut -d' ' -f1)" -ge "$want" ] && return 0
        sleep 0.1
    done
    fail "load: $1 more requests within 30 s" "expected: at least $want ok" "got: $(counts)"
}
wait_requests 20

# ---- rotate to a new good pair ----------------------------------------------------------
log "rotate to a new pair"
new_pair 2026_02_01_00_00_00.000000002 --days 30
SERIAL_B=$(cert_serial "$DIR/..2026_02_01_00_00_00.000000002/tls.crt")
expect_eq "test data: the new pair has another serial" yes "$([ "$SERIAL_A" != "$SERIAL_B" ] && echo yes || echo no)"
swap 2026_02_01_00_00_00.000000002
expect_eq "test data: tls.crt now resolves to the new pair" "$SERIAL_B" "$(cert_serial "$DIR/tls.crt")"
got=""
for ((i = 0; i < 20; i++)); do
    got=$(served_serial "$WEBHOOK_PORT")
    [ "$got" = "$SERIAL_B" ] && break
    sleep 0.5
done
expect_eq "the new serial is served within 10 s" "$SERIAL_B" "$got"
wait_requests 20
expect_eq "reloads_total{success} is 1" 1 "$(metric 'gungnir_webhook_cert_reloads_total{result="success"}')"
expect_eq "expiry gauge = the new notAfter (30 days)" "$(not_after_epoch "$DIR/tls.crt")" \
    "$(printf '%.0f' "$(metric gungnir_webhook_cert_expiry_timestamp_seconds)")"
expect_contains "the log says the certificate was reloaded" '"msg":"serving certificate reloaded"' "$(cat "$GUNGNIR_ERR")"
read -r OK BAD <<<"$(counts)"
expect_eq "no request failed during the rotation ($OK succeeded)" 0 "$BAD"

# ---- rotate to a broken pair: the old one keeps serving ---------------------------------
log "rotate to a broken pair"
new_pair 2026_03_01_00_00_00.000000003
bash "$ROOT/certs/make-dev-certs.sh" "$GEN" >/dev/null 2>&1
cp "$GEN/tls.key" "$DIR/..2026_03_01_00_00_00.000000003/tls.key" # the key of another certificate
SERIAL_C=$(cert_serial "$DIR/..2026_03_01_00_00_00.000000003/tls.crt")
swap 2026_03_01_00_00_00.000000003
failures=0
for ((i = 0; i < 20; i++)); do
    failures=$(metric 'gungnir_webhook_cert_reloads_total{result="failure"}')
    [ "${failures:-0}" -ge 1 ] && break
    sleep 0.5
done
expect_eq "reloads_total{failure} moved to 1 within 10 s" 1 "${failures:-missing}"
expect_eq "the old (second) pair is still served" "$SERIAL_B" "$(served_serial "$WEBHOOK_PORT")"
expect_eq "reloads_total{success} did not move" 1 "$(metric 'gungnir_webhook_cert_reloads_total{result="success"}')"
expect_eq "expiry gauge still the second pair's" "$(not_after_epoch "$DIR/..2026_02_01_00_00_00.000000002/tls.crt")" \
    "$(printf '%.0f' "$(metric gungnir_webhook_cert_expiry_timestamp_seconds)")"
LOGLINE=$(grep 'new serving certificate refused' "$GUNGNIR_ERR" | head -1)
expect_contains "the log says the new certificate was refused and the old one serves" \
    '"level":"error","msg":"new serving certificate refused; the old one keeps serving"' "$LOGLINE"
expect_contains "the log names the reason" "does not match the certificate" "$LOGLINE"
wait_requests 20
sleep 2 # two more reload intervals: the broken pair is not retried, and not taken
expect_eq "the broken pair was not served meanwhile" "$SERIAL_B" "$(served_serial "$WEBHOOK_PORT")"
expect_eq "one failure counted for one broken pair" 1 "$(metric 'gungnir_webhook_cert_reloads_total{result="failure"}')"
read -r OK BAD <<<"$(counts)"
expect_eq "no request failed with the broken pair in the dir ($OK succeeded)" 0 "$BAD"
expect_eq "test data: the broken pair's serial differs" yes "$([ "$SERIAL_C" != "$SERIAL_B" ] && echo yes || echo no)"

# ---- and a good pair again --------------------------------------------------------------
log "rotate to a good pair again"
new_pair 2026_04_01_00_00_00.000000004
SERIAL_D=$(cert_serial "$DIR/..2026_04_01_00_00_00.000000004/tls.crt")
swap 2026_04_01_00_00_00.000000004
got=""
for ((i = 0; i < 20; i++)); do
    got=$(served_serial "$WEBHOOK_PORT")
    [ "$got" = "$SERIAL_D" ] && break
    sleep 0.5
done
expect_eq "after a refused pair, the next good pair is served within 10 s" "$SERIAL_D" "$got"
wait_requests 20

# ---- stop the load ----------------------------------------------------------------------
touch "$STOP"
for pid in "${BG_PIDS[@]}"; do
    for ((i = 0; i < 150; i++)); do # a worker ends after its current request (curl --max-time 10)
        proc_gone "$pid" && break
        sleep 0.1
    done
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
done
BG_PIDS=()
read -r OK BAD <<<"$(counts)"
expect_eq "zero failed requests over the whole run ($OK succeeded, $WORKERS clients)" 0 "$BAD"
if [ "$BAD" != 0 ]; then
    grep -h '^fail' "$T"/w*.log | head -10 >&2
    sort "$T"/w*.err | uniq -c | head -10 >&2
fi
expect_eq "enough load to mean something (at least 80 requests)" yes "$([ "$OK" -ge 80 ] && echo yes || echo "no: $OK")"

gungnir_alive "alive after the rotations"
stop_gungnir
finish
