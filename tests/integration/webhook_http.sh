# webhook_http.sh — the webhook's HTTP layer against bad input, over real TLS: bodies that are
# not JSON or not an AdmissionReview (400), wrong Content-Type (415), wrong method (405 with
# Allow), unknown paths (404), bodies over 7 MiB (413, with Content-Length and chunked, read
# by a client that writes the whole body before it reads; slow and stalled senders cut off), deep
# JSON nesting, fields of the wrong JSON type (field errors, not a crash), keep-alive; after
# all of it the server still answers and is alive.
#
#   bash tests/integration/webhook_http.sh <path-to-gungnir> <repo-root>
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init "$@"

CERTS=$T/certs
make_certs "$CERTS"
CA=$CERTS/ca.crt
start_gungnir "$CERTS" || finish

GOOD=$ROOT/bench/admission-create.json
GOOD_UID=$(jq -r .request.uid "$GOOD")
body() { printf '%s' "$2" >"$T/$1"; echo "$T/$1"; }

# good_request DESC — the bench request on /validate answers 200, allowed, with its uid.
good_request() {
    post "$VALIDATE_PATH" "$GOOD"
    expect_eq "$1" "200 true $GOOD_UID" "$HTTP_CODE $(printf '%s' "$BODY" | jq -r '"\(.response.allowed) \(.response.uid)"' 2>/dev/null)"
}
good_request "a good request answers first"

# expect_text DESC PATH FILE CODE NEEDLE [curl args] — a plain-text refusal.
expect_text() {
    local desc=$1 path=$2 file=$3 code=$4 needle=$5
    shift 5
    post "$path" "$file" "$@"
    unset CT
    expect_eq "$desc: HTTP status" "$code" "$HTTP_CODE"
    expect_contains "$desc: the body says why" "$needle" "$BODY"
    expect_contains "$desc: text/plain" "text/plain" "$(header content-type)"
}

# ---- bodies that are not an AdmissionReview v1 (400) -------------------------------------
log "not an AdmissionReview"
expect_text "non-JSON body" "$VALIDATE_PATH" "$(body notjson 'this is not JSON')" 400 "body is not valid JSON"
expect_text "truncated JSON" "$MUTATE_PATH" "$(body trunc "$(head -c 200 "$GOOD")")" 400 "body is not valid JSON"
expect_text "empty body" "$VALIDATE_PATH" "$(body empty '')" 400 "empty body"
expect_text "JSON array" "$VALIDATE_PATH" "$(body arr '[1,2,3]')" 400 "expected a JSON object"
expect_text "JSON object that is not an AdmissionReview" "$VALIDATE_PATH" "$(body notar '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}')" 400 'kind must be "AdmissionReview"'
expect_text "AdmissionReview v1beta1" "$VALIDATE_PATH" "$(jq -c '.apiVersion = "admission.k8s.io/v1beta1"' "$GOOD" >"$T/v1beta1"; echo "$T/v1beta1")" 400 "only admission.k8s.io/v1 is served"
expect_text "AdmissionReview without request" "$MUTATE_PATH" "$(body noreq '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}')" 400 "no request object"
expect_text "request without uid" "$VALIDATE_PATH" "$(jq -c 'del(.request.uid)' "$GOOD" >"$T/nouid"; echo "$T/nouid")" 400 "request.uid is required"
expect_text "uid of the wrong type" "$VALIDATE_PATH" "$(jq -c '.request.uid = 42' "$GOOD" >"$T/numuid"; echo "$T/numuid")" 400 "request.uid is required"
expect_text "uid of 300 characters" "$VALIDATE_PATH" "$(jq -c --arg u "$(printf 'u%.0s' $(seq 300))" '.request.uid = $u' "$GOOD" >"$T/longuid"; echo "$T/longuid")" 400 "request.uid is too long"
expect_text "uid holding a NUL" "$VALIDATE_PATH" "$(jq -c '.request.uid = "abc\u0000def"' "$GOOD" >"$T/nuluid"; echo "$T/nuluid")" 400 "NUL"
expect_text "unknown operation" "$VALIDATE_PATH" "$(jq -c '.request.operation = "PATCH"' "$GOOD" >"$T/op"; echo "$T/op")" 400 "request.operation must be"
expect_text "request.object a string" "$VALIDATE_PATH" "$(jq -c '.request.object = "spec"' "$GOOD" >"$T/objstr"; echo "$T/objstr")" 400 "request.object must be a JSON object"
expect_text "invalid UTF-8" "$VALIDATE_PATH" "$(jq -c . "$GOOD" | sed 's/"cache"/"ca\xff\xfeche"/' >"$T/utf8"; echo "$T/utf8")" 400 "body is not valid JSON"

# Another resource in a well-formed review: refused in the review, not by HTTP.
post "$VALIDATE_PATH" "$(jq -c '.request.kind = {group:"",version:"v1",kind:"Pod"}' "$GOOD" >"$T/pod"; echo "$T/pod")"
expect_eq "review of a Pod: 200, refused with code 400 and why" \
    "200 false 400 this webhook serves ValkeyCluster.gungnir.dev and its scale subresource, not Pod" \
    "$HTTP_CODE $(printf '%s' "$BODY" | jq -r '"\(.response.allowed) \(.response.status.code) \(.response.status.message)"' 2>/dev/null)"

# ---- media type, method, path -------------------------------------------------------------
log "media type, method, path"
CT=" text/plain" expect_text "Content-Type text/plain" "$VALIDATE_PATH" "$GOOD" 415 "Content-Type: application/json"
CT=" application/x-www-form-urlencoded" expect_text "Content-Type form (curl's default)" "$MUTATE_PATH" "$GOOD" 415 "unsupported media type"
CT=" application/jsonx" expect_text "Content-Type application/jsonx" "$VALIDATE_PATH" "$GOOD" 415 "unsupported media type"
CT="" expect_text "no Content-Type" "$VALIDATE_PATH" "$GOOD" 415 "unsupported media type"
CT=" application/json; charset=utf-8" post "$VALIDATE_PATH" "$GOOD"
expect_eq "Content-Type application/json; charset=utf-8 accepted" 200 "$HTTP_CODE"
CT=" Application/JSON" post "$VALIDATE_PATH" "$GOOD"
expect_eq "Content-Type is case-insensitive" 200 "$HTTP_CODE"

for m in GET PUT DELETE PATCH; do
    post "$VALIDATE_PATH" "$GOOD" -X "$m"
    expect_eq "$m on the webhook path: 405 with Allow: POST" "405 POST" "$HTTP_CODE $(header allow)"
done
HTTP_CODE=$(curl -sS --max-time 10 --cacert "$CA" -o "$T/get.body" -D "$T/get.hdr" -w '%{http_code}' "$BASE$MUTATE_PATH" 2>&1)
expect_eq "plain GET on /mutate: 405 with Allow: POST" "405 POST" "$HTTP_CODE $(tr -d '\r' <"$T/get.hdr" | awk -F': ' 'tolower($1) == "allow" { print $2 }')"
expect_contains "plain GET: the body says use POST" "use POST" "$(cat "$T/get.body")"

for p in / /mutate /validate /validate-gungnir-dev-v1alpha1-valkeycluster/extra "$VALIDATE_PATH?x=1" /metrics; do
    post "$p" "$GOOD"
    if [[ "$p" == *"?"* ]]; then
        # the query string is not part of the path: served
        expect_eq "POST $p (query string ignored): 200" 200 "$HTTP_CODE"
    else
        expect_eq "POST $p: 404" 404 "$HTTP_CODE"
        expect_contains "POST $p: the body names the served paths" "$VALIDATE_PATH" "$BODY"
    fi
done

# ---- too large (413) -----------------------------------------------------------------------
log "bodies over 7 MiB"
MAX=$((7 * 1024 * 1024))
# A valid review padded with spaces to exactly 7 MiB (allowed), and one byte more (refused).
jq -c . "$GOOD" >"$T/good.min"
pad=$((MAX - $(stat -c %s "$T/good.min")))
{ cat "$T/good.min"; head -c "$pad" /dev/zero | tr '\0' ' '; } >"$T/exact"
{ cat "$T/exact"; printf ' '; } >"$T/over"
expect_eq "test data: 7 MiB exactly / one byte more" "$MAX $((MAX + 1))" "$(stat -c %s "$T/exact") $(stat -c %s "$T/over")"
post "$VALIDATE_PATH" "$T/exact"
expect_eq "a 7 MiB review (the limit) is answered" "200 $GOOD_UID" "$HTTP_CODE $(printf '%s' "$BODY" | jq -r .response.uid 2>/dev/null)"
post "$VALIDATE_PATH" "$T/over"
expect_eq "7 MiB + 1 with Content-Length: 413" 413 "$HTTP_CODE"
expect_contains "413 says why" "at most 7 MiB" "$BODY"
# Without Expect: 100-continue the client sends the whole body at once; the server reads and
# drops it before it answers, so no TCP reset destroys the 413.
post "$VALIDATE_PATH" "$T/over" -H 'Expect:'
expect_eq "7 MiB + 1 with Content-Length, no Expect: 100-continue: 413" 413 "$HTTP_CODE"
[ "$HTTP_CODE" = 413 ] || log "  (curl exit $CURL_RC: $CURL_ERR)"
post "$MUTATE_PATH" "$T/over" -H 'Transfer-Encoding: chunked'
expect_eq "7 MiB + 1 chunked: 413" 413 "$HTTP_CODE"
[ "$HTTP_CODE" = 413 ] || log "  (curl exit $CURL_RC: $CURL_ERR)"
post "$VALIDATE_PATH" "$T/over" -H 'Transfer-Encoding: chunked' -H 'Expect:'
expect_eq "7 MiB + 1 chunked, no Expect: 100-continue: 413" 413 "$HTTP_CODE"
[ "$HTTP_CODE" = 413 ] || log "  (curl exit $CURL_RC: $CURL_ERR)"
post "$VALIDATE_PATH" "$T/exact" -H 'Transfer-Encoding: chunked'
expect_eq "a 7 MiB review sent chunked is answered" "200 $GOOD_UID" "$HTTP_CODE $(printf '%s' "$BODY" | jq -r .response.uid 2>/dev/null)"
# A lying Content-Length far above the limit: refused from the headers alone.
HTTP_CODE=$(curl -sS --max-time 10 --cacert "$CA" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -H 'Content-Length: 999999999999' -H 'Expect: 100-continue' --data-binary '{}' "$BASE$VALIDATE_PATH" 2>/dev/null)
expect_eq "Content-Length: 999999999999: 413 before any body" 413 "$HTTP_CODE"
good_request "a good request after the 413s"

# ---- the 413 read by a client that sends the whole body first ---------------------------
# Python's http.client writes the whole body before it reads the answer, and sends no Expect:
# 100-continue. The server reads and drops a refused body (at most 4 MiB past the limit, for at
# most 5 s) before it answers and closes, so the 413 is not lost to a connection reset.
log "413 to a client that writes the whole body before reading"
command -v python3 >/dev/null || { fail "python3 is installed (the http.client cases need it)"; finish; }
cat >"$T/send_first.py" <<'PY'
# send_first.py MODE PORT PATH BODYFILE CAFILE OUTFILE — one POST over TLS; prints "WHAT SECONDS"
# where WHAT is the HTTP status (the answer's body in OUTFILE), "closed" (EOF) or an error name.
#   length   http.client, Content-Length, the whole body written before the answer is read
#   chunked  http.client, Transfer-Encoding: chunked, the same
#   trickle  Content-Length, then 1 KiB every 0.2 s (a slow client) until the server answers or closes
#   stall    Content-Length and 64 KiB of the body, then nothing: waits for the server
import http.client, select, socket, ssl, sys, time
mode, port, path, file, ca, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
ctx = ssl.create_default_context(cafile=ca)
body = open(file, 'rb').read()
t0 = time.monotonic()
def done(what):
    print(f"{what} {time.monotonic() - t0:.1f}")
    sys.exit(0)
try:
    if mode in ('length', 'chunked'):
        conn = http.client.HTTPSConnection('127.0.0.1', port, context=ctx, timeout=30)
        hdrs = {'Content-Type': 'application/json'}
        if mode == 'chunked':
            conn.request('POST', path, body=(body[i:i + 65536] for i in range(0, len(body), 65536)),
                         headers=hdrs, encode_chunked=True)
        else:
            conn.request('POST', path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        open(out, 'wb').write(data)
        done(str(r.status))
    s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', port), timeout=30), server_hostname='127.0.0.1')
    s.sendall(f'POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
              f'Content-Length: {len(body)}\r\n\r\n'.encode() + body[:65536])
    if mode == 'trickle':
        for i in range(65536, len(body), 1024):
            time.sleep(0.2)
            if select.select([s], [], [], 0)[0]:
                break
            s.sendall(body[i:i + 1024])
    got = s.recv(65536)
    done(got.split(b' ')[1].decode() if got.startswith(b'HTTP/1.1 ') else 'closed' if not got else 'garbage')
except OSError as e:  # BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError
    done(type(e).__name__)
PY
# send_first MODE PATH FILE — sets SF_WHAT, SF_SECS (whole seconds) and SF_BODY.
send_first() {
    local out
    rm -f "$T/sf.body"
    out=$(timeout 60 python3 "$T/send_first.py" "$1" "$WEBHOOK_PORT" "$2" "$3" "$CA" "$T/sf.body" 2>&1)
    SF_WHAT=${out%% *} SF_SECS=${out##* }
    SF_SECS=${SF_SECS%%.*}
    [[ "$SF_SECS" =~ ^[0-9]+$ ]] || SF_SECS=999
    SF_BODY=""
    [ ! -f "$T/sf.body" ] || SF_BODY=$(<"$T/sf.body")
}
{ cat "$T/over"; head -c $((3 * 1024 * 1024)) /dev/zero | tr '\0' ' '; } >"$T/over10"
head -c $((16 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$T/over16"
for i in 1 2 3 4 5; do
    send_first length "$VALIDATE_PATH" "$T/over"
    expect_eq "http.client, 7 MiB + 1 with Content-Length (run $i): reads the 413" "413 at most 7 MiB" \
        "$SF_WHAT $(grep -o 'at most 7 MiB' <<<"$SF_BODY")"
done
for i in 1 2 3; do
    send_first length "$MUTATE_PATH" "$T/over10"
    expect_eq "http.client, 10 MiB with Content-Length (run $i): reads the 413" "413 at most 7 MiB" \
        "$SF_WHAT $(grep -o 'at most 7 MiB' <<<"$SF_BODY")"
    send_first chunked "$VALIDATE_PATH" "$T/over10"
    expect_eq "http.client, 10 MiB chunked (run $i): reads the 413" "413 at most 7 MiB" \
        "$SF_WHAT $(grep -o 'at most 7 MiB' <<<"$SF_BODY")"
done
good_request "a good request after the drained 413s"
# Past the drain bound the server closes, at once: the client may see the 413 or a reset.
send_first length "$VALIDATE_PATH" "$T/over16"
expect_eq "http.client, 16 MiB with Content-Length: answered or closed within 5 s, no hang" yes \
    "$([ "$SF_SECS" -lt 5 ] && [ "$SF_WHAT" != TimeoutError ] && echo yes || echo "no: $SF_WHAT after ${SF_SECS}s")"
send_first chunked "$VALIDATE_PATH" "$T/over16"
expect_eq "http.client, 16 MiB chunked: closed within 5 s, no hang" yes \
    "$([ "$SF_SECS" -lt 5 ] && [ "$SF_WHAT" != TimeoutError ] && echo yes || echo "no: $SF_WHAT after ${SF_SECS}s")"
# A slow or a stalled client does not hold the drain past its time bound: closed after about
# 5 s, not after the 60 s idle timeout.
send_first trickle "$VALIDATE_PATH" "$T/over10"
expect_eq "a client trickling a 10 MiB body (1 KiB / 0.2 s): closed within 15 s" yes \
    "$([ "$SF_SECS" -lt 15 ] && [ "$SF_WHAT" != TimeoutError ] && echo yes || echo "no: $SF_WHAT after ${SF_SECS}s")"
send_first stall "$VALIDATE_PATH" "$T/over10"
expect_eq "a client stalled in a 10 MiB body: closed within 15 s" yes \
    "$([ "$SF_SECS" -lt 15 ] && [ "$SF_WHAT" != TimeoutError ] && echo yes || echo "no: $SF_WHAT after ${SF_SECS}s")"
good_request "a good request after the slow and stalled clients"

# ---- deep nesting ------------------------------------------------------------------------
log "deep nesting"
head -c 100000 /dev/zero | tr '\0' '[' >"$T/deep"
expect_text "100000 '[' : 400" "$VALIDATE_PATH" "$T/deep" 400 "nested too deeply"
gungnir_alive "alive after 100000 '['"
{ printf '{"a":'; head -c 100000 /dev/zero | tr '\0' '{' | sed 's/{/{"a":/g'; } >"$T/deepobj"
expect_text "100000 nested objects: 400" "$MUTATE_PATH" "$T/deepobj" 400 "nested too deeply"
# Depth inside a real review: the review itself is 4 levels (root, request, object, spec).
nest() { # DEPTH_OF_WHOLE_DOCUMENT — a review whose spec.pod.affinity nests down to that depth
    local extra=$(($1 - 6)) open close
    open=$(printf '{"n":%.0s' $(seq "$extra"))
    close=$(printf '}%.0s' $(seq "$extra"))
    jq -c '.request.object.spec.pod.affinity = "@@"' "$GOOD" | sed "s/\"@@\"/{\"x\":${open}1${close}}/"
}
nest 64 >"$T/d64"
nest 65 >"$T/d65"
expect_eq "test data: depth 64 and 65" "ok" "$(jq -e . "$T/d64" >/dev/null && jq -e . "$T/d65" >/dev/null && echo ok)"
post "$VALIDATE_PATH" "$T/d64"
expect_eq "a review nested 64 deep is judged" "200 $GOOD_UID" "$HTTP_CODE $(printf '%s' "$BODY" | jq -r .response.uid 2>/dev/null)"
expect_text "a review nested 65 deep: 400" "$VALIDATE_PATH" "$T/d65" 400 "nested too deeply"
# Brackets inside strings do not count.
jq -c --arg s "$(head -c 5000 /dev/zero | tr '\0' '[')" '.request.object.metadata.annotations.brackets = $s' "$GOOD" >"$T/strbr"
post "$VALIDATE_PATH" "$T/strbr"
expect_eq "5000 '[' inside a string: judged (allowed)" "200 true" "$HTTP_CODE $(printf '%s' "$BODY" | jq -r .response.allowed 2>/dev/null)"
gungnir_alive "alive after deep nesting"

# ---- fields of the wrong JSON type: field errors, not crashes -----------------------------
log "wrong JSON types"
TYPES=$(cat <<'EOF'
.spec = "big"	spec: Invalid value: "big": must be of type object
.spec = [1,2]	spec: Invalid value: [1,2]: must be of type object
.metadata = []	metadata: Invalid value: []: must be of type object
.metadata.name = 7	metadata.name: Invalid value: 7: must be of type string
.spec.replicas = "3"	spec.replicas: Invalid value: "3": must be of type integer
.spec.replicas = 3.5	spec.replicas: Invalid value: 3.5: must be of type integer
.spec.replicas = true	spec.replicas: Invalid value: true: must be of type integer
.spec.replicas = {}	spec.replicas: Invalid value: {}: must be of type integer
.spec.image = 8	spec.image: Invalid value: 8: must be of type string
.spec.resources = "lots"	spec.resources: Invalid value: "lots": must be of type object
.spec.resources = {requests:"1"}	spec.resources.requests: Invalid value: "1": must be of type object
.spec.resources = {requests:{cpu:true}}	spec.resources.requests[cpu]: Invalid value: true: must be of type string
.spec.storage = []	spec.storage: Invalid value: []: must be of type object
.spec.storage = {size:[]}	spec.storage.size: Invalid value: []: must be of type string
.spec.auth = {enabled:"yes"}	spec.auth.enabled: Invalid value: "yes": must be of type boolean
.spec.failover = []	spec.failover: Invalid value: []: must be of type object
.spec.failover = {priorities:{}}	spec.failover.priorities: Invalid value: {}: must be of type array
.spec.failover = {priorities:[7]}	spec.failover.priorities[0]: Invalid value: 7: must be of type object
.spec.failover = {priorities:[{podOrdinal:"0",priority:1}]}	spec.failover.priorities[0].podOrdinal: Invalid value: "0": must be of type integer
.spec.config = ["maxclients 10"]	spec.config: Invalid value: ["maxclients 10"]: must be of type object
.spec.config = {"maxclients":10}	spec.config[maxclients]: Invalid value: 10: must be of type string
.spec.pod = {labels:{team:5}}	spec.pod.labels[team]: Invalid value: 5: must be of type string
.spec.pod = {tolerations:{}}	spec.pod.tolerations: Invalid value: {}: must be of type array
.spec.tls = {enabled:1}	spec.tls.enabled: Invalid value: 1: must be of type boolean
EOF
)
while IFS=$'\t' read -r edit want; do
    [ -n "$edit" ] || continue
    jq -c ".request.object = {apiVersion:\"gungnir.dev/v1alpha1\",kind:\"ValkeyCluster\",metadata:{name:\"cache\",namespace:\"prod\"},spec:{replicas:3,image:\"valkey/valkey:8.1\"}} | .request.object |= ($edit)" "$GOOD" >"$T/type.json"
    post "$VALIDATE_PATH" "$T/type.json"
    got=$(printf '%s' "$BODY" | jq -r '"\(.response.allowed) \(.response.status.code) \(.response.status.message)"' 2>/dev/null)
    expect_eq "/validate with $edit: a field error" "200 false 422 ValkeyCluster.gungnir.dev \"cache\" is invalid: $want" "$HTTP_CODE $got"
    post "$MUTATE_PATH" "$T/type.json"
    expect_eq "/mutate with $edit: an answer, not a crash" "200 $GOOD_UID" "$HTTP_CODE $(printf '%s' "$BODY" | jq -r .response.uid 2>/dev/null)"
done <<<"$TYPES"
gungnir_alive "alive after wrong JSON types"

# Numbers at the edges of JSON.
for v in 9223372036854775807 -9223372036854775808 1e400 99999999999999999999999; do
    jq -c '.request.object.spec.replicas = "@@"' "$GOOD" | sed "s/\"@@\"/$v/" >"$T/num.json"
    post "$VALIDATE_PATH" "$T/num.json"
    expect_eq "replicas $v: answered with a refusal or 400, not a crash" "yes" \
        "$( { [ "$HTTP_CODE" = 400 ] || { [ "$HTTP_CODE" = 200 ] && [ "$(printf '%s' "$BODY" | jq -r .response.allowed)" = false ]; }; } && echo yes || echo "no: $HTTP_CODE $BODY")"
done

# ---- keep-alive --------------------------------------------------------------------------
log "keep-alive"
curl -sS -v --max-time 30 --cacert "$CA" -H 'Content-Type: application/json' --data-binary @"$GOOD" \
    -w '%{http_code} %{num_connects}\n' -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
    "$BASE$VALIDATE_PATH" "$BASE$MUTATE_PATH" "$BASE$VALIDATE_PATH" "$BASE$MUTATE_PATH" "$BASE$VALIDATE_PATH" \
    >"$T/ka.out" 2>"$T/ka.err"
expect_eq "five requests on one curl run: all 200, one connection" \
    "$(printf '200 1\n200 0\n200 0\n200 0\n200 0')" "$(cat "$T/ka.out")"
expect_eq "curl re-used the connection 4 times" 4 "$(grep -c 'Re-using existing connection' "$T/ka.err")"
# After an early refusal (404 and 415 answered before the body was read) the next request on
# the same client is still answered correctly: the unread body is never taken for a request.
curl -sS --max-time 30 --cacert "$CA" -H 'Content-Type: application/json' --data-binary @"$GOOD" \
    -w '%{http_code}\n' -o /dev/null -o /dev/null "$BASE/nope" "$BASE$VALIDATE_PATH" \
    --next -sS --max-time 30 --cacert "$CA" -H 'Content-Type: text/plain' --data-binary @"$GOOD" -w '%{http_code}\n' -o /dev/null "$BASE$VALIDATE_PATH" \
    --next -sS --max-time 30 --cacert "$CA" -H 'Content-Type: application/json' --data-binary @"$GOOD" -w '%{http_code}\n' -o "$T/after.json" "$BASE$MUTATE_PATH" \
    >"$T/ka2.out" 2>"$T/ka2.err"
expect_eq "404, 200, 415, 200 in one curl run" "$(printf '404\n200\n415\n200')" "$(cat "$T/ka2.out")"
expect_eq "the answer after a refusal is for its own request" "$GOOD_UID" "$(jq -r .response.uid "$T/after.json" 2>/dev/null)"

# ---- after all of it --------------------------------------------------------------------
log "still serving"
good_request "a good request after all the bad input"
gungnir_alive "gungnir alive after all the bad input"
BAD=$(metric 'gungnir_webhook_requests_total{path="validate",result="bad_request"}')
REFUSED=$(metric 'gungnir_webhook_requests_total{path="other",result="refused"}')
expect_eq "metrics count the 400s on /validate" yes "$([ "${BAD:-0}" -ge 10 ] && echo yes || echo "no: ${BAD:-missing}")"
expect_eq "metrics count the 404s" yes "$([ "${REFUSED:-0}" -ge 5 ] && echo yes || echo "no: ${REFUSED:-missing}")"
expect_eq "/healthz 200" 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$HEALTH_PORT/healthz")"
stop_gungnir
finish
