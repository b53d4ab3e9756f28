# webhook_admission.sh — the admission webhook end to end over real TLS, as the API server
# would call it: defaulting (JSON Patch) on /mutate, every validation rule of
# docs api.md on /validate with the exact Kubernetes field-error message, UPDATE transition
# rules (403), DELETE, the scale subresource, dryRun, warnings, uids, and the ops endpoints
# (/metrics counters that moved, the certificate expiry gauge, /healthz, /readyz).
#
#   bash tests/integration/webhook_admission.sh <path-to-gungnir> <repo-root>
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init "$@"

CERTS=$T/certs
make_certs "$CERTS"
CA=$CERTS/ca.crt
# The usual soft limit of 1024 open files: gungnir raises it to the hard limit at start (the
# monitor and the prober hold a connection per primary and per pod).
ulimit -Sn 1024 2>/dev/null || true
start_gungnir "$CERTS" || finish
read -r NOFILE_SOFT NOFILE_HARD < <(awk '/^Max open files/ {print $4, $5}' "/proc/$GUNGNIR_PID/limits")
expect_eq "gungnir raised its soft open-files limit to the hard one ($NOFILE_HARD)" "$NOFILE_HARD" "$NOFILE_SOFT"

# ---- ops endpoints once serving ---------------------------------------------------------
expect_eq "/healthz answers 200" 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$HEALTH_PORT/healthz")"
expect_eq "/readyz answers 200 once the webhook serves" 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$HEALTH_PORT/readyz")"

M_BEFORE_MP=$(metric 'gungnir_webhook_requests_total{path="mutate",result="patched"}')
M_BEFORE_MA=$(metric 'gungnir_webhook_requests_total{path="mutate",result="allowed"}')
M_BEFORE_VA=$(metric 'gungnir_webhook_requests_total{path="validate",result="allowed"}')
M_BEFORE_VD=$(metric 'gungnir_webhook_requests_total{path="validate",result="denied"}')
expect_eq "requests_total{mutate,patched} is exported and starts at 0" 0 "$M_BEFORE_MP"
expect_eq "requests_total{validate,denied} is exported and starts at 0" 0 "$M_BEFORE_VD"
SENT_MP=0 SENT_MA=0 SENT_VA=0 SENT_VD=0

# ---- helpers ----------------------------------------------------------------------------
# jq starts slowly on a busy machine, so requests are built in one jq run, sent over one curl
# run (one kept-alive TLS connection) and their answers summarised in one jq run:
#   queue OP OBJECT [OLD] [JQ_FILTER]   adds an AdmissionReview (fresh uid) to the batch
#   send_queue PATH                     builds, sends and summarises the batch
#   answer N DESC                       checks the Nth answer's transport and loads its summary:
#     R (the .response, compact JSON), A_ALLOWED, A_STATUS ("code reason status"), A_MSG,
#     A_DETAILS ("kind group name ncauses firstfield"), A_PATCH (base64 or none),
#     A_PATCHTYPE, A_WARN (warnings joined by " | "), A_LIST (the causes in the Kubernetes
#     "[field: message, ...]" form)
#   admit PATH OP OBJECT [OLD] [JQ_FILTER]   one request: queue + send_queue + answer 1

Q_ARGS=()
QN=0
queue() {
    local uid
    printf -v uid '%04x%04x-%04x-4%03x-a%03x-%04x%04x%04x' $RANDOM $RANDOM $RANDOM $((RANDOM % 4096)) \
        $((RANDOM % 4096)) $RANDOM $RANDOM $RANDOM
    printf '%s\n' "$(jq -c -n --arg op "$1" --arg uid "$uid" --argjson obj "$2" --argjson old "${3:-null}" \
        '{op: $op, uid: $uid, obj: $obj, old: $old}')" >>"$T/queue.jsonl"
    Q_ARGS+=("${4:-.}")
    QN=$((QN + 1))
}
# (queue's jq only packs the arguments; the AdmissionReview is built in send_queue.)

REVIEW_JQ='def review: {apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
  request: {uid: .uid,
            kind: {group: "gungnir.dev", version: "v1alpha1", kind: "ValkeyCluster"},
            resource: {group: "gungnir.dev", version: "v1alpha1", resource: "valkeyclusters"},
            requestKind: {group: "gungnir.dev", version: "v1alpha1", kind: "ValkeyCluster"},
            requestResource: {group: "gungnir.dev", version: "v1alpha1", resource: "valkeyclusters"},
            name: ((.obj // .old).metadata.name // ""), namespace: "prod", operation: .op,
            userInfo: {username: "admin", groups: ["system:authenticated"]},
            object: .obj, oldObject: .old, dryRun: false,
            options: {apiVersion: "meta.k8s.io/v1",
                      kind: (if .op == "CREATE" then "CreateOptions" elif .op == "UPDATE" then "UpdateOptions"
                             else "DeleteOptions" end)}}};'

SUMMARY_JQ='def s: if type == "string" then gsub("\n"; "\\n") else tostring end;
  ($req[0]) as $rq
  | [ (if .apiVersion == "admission.k8s.io/v1" and .kind == "AdmissionReview" and .response.uid == $rq.request.uid
       then "ok" else "bad: apiVersion=\(.apiVersion) kind=\(.kind) uid=\(.response.uid) (request uid \($rq.request.uid))" end),
      (if .response.allowed == true then (if .response.patch then "p" else "a" end) else "d" end),
      (.response.allowed | s),
      "\(.response.status.code) \(.response.status.reason) \(.response.status.status)",
      (.response.status.message // "" | s),
      "\(.response.status.details.kind) \(.response.status.details.group) \(.response.status.details.name) \(.response.status.details.causes | length) \(.response.status.details.causes[0].field)",
      (.response.patch // "none"),
      (.response.patchType // "none"),
      ((.response.warnings // []) | join(" | ") | s),
      ("ValkeyCluster.gungnir.dev \"\(.response.status.details.name)\" is " + (if .response.status.code == 403 then "forbidden" else "invalid" end) + ": "
        + (if (.response.status.details.causes | length) > 1 then "[" else "" end)
        + ([.response.status.details.causes[]? | "\(.field): \(.message)"] | join(", "))
        + (if (.response.status.details.causes | length) > 1 then "]" else "" end) | s),
      (.response | tojson) ] | join("\u001f")'

send_queue() {
    QPATH=$1
    local prog="$REVIEW_JQ" i
    for ((i = 0; i < QN; i++)); do
        [ "$i" -eq 0 ] || prog+=","
        prog+=" (.[$i] | review | (${Q_ARGS[$i]}) | tojson)"
    done
    local lines=()
    mapfile -t lines < <(jq -r -s "$prog" "$T/queue.jsonl")
    QUEUE=()
    for ((i = 0; i < QN; i++)); do
        printf '%s' "${lines[$i]:-}" >"$T/q.$i.json"
        QUEUE+=("$T/q.$i.json")
    done
    post_batch "$QPATH" "${QUEUE[@]}"
    local pids=()
    for ((i = 0; i < QN; i++)); do # in parallel; each jq reads one small file and ends
        jq -r --slurpfile req "$T/q.$i.json" "$SUMMARY_JQ" "$T/q.$i.json.resp" >"$T/q.$i.json.sum" 2>/dev/null &
        pids+=($!)
    done
    for i in "${pids[@]}"; do
        wait "$i"
    done
}

answer() {
    local f=${QUEUE[$(($1 - 1))]} what=$2 envelope class sum
    load_answer "$f"
    R='{}' A_ALLOWED="" A_STATUS="" A_MSG="" A_DETAILS="" A_PATCH="" A_PATCHTYPE="" A_WARN="" A_LIST=""
    if [ "$HTTP_CODE" != 200 ]; then
        fail "$what: HTTP 200" "expected: 200" "got: $HTTP_CODE (curl $CURL_RC: $CURL_ERR) body: $BODY"
        return 1
    fi
    sum=$(<"$f.sum")
    IFS=$'\x1f' read -r envelope class A_ALLOWED A_STATUS A_MSG A_DETAILS A_PATCH A_PATCHTYPE A_WARN A_LIST R <<<"$sum"
    if [ "$envelope" != ok ] || [[ "$(header content-type)" != application/json* ]]; then
        fail "$what: an AdmissionReview v1 answer with the request uid" \
            "expected: admission.k8s.io/v1 AdmissionReview, the request uid, application/json" \
            "got: ${envelope:-not JSON} ($(header content-type)) body: $BODY"
        R=${R:-'{}'}
    fi
    case "$QPATH:$class" in
    "$MUTATE_PATH:p") SENT_MP=$((SENT_MP + 1)) ;;
    "$MUTATE_PATH:a") SENT_MA=$((SENT_MA + 1)) ;;
    "$VALIDATE_PATH:a") SENT_VA=$((SENT_VA + 1)) ;;
    "$VALIDATE_PATH:d") SENT_VD=$((SENT_VD + 1)) ;;
    esac
    return 0
}

clear_queue() { rm -f "$T"/q.* "$T/queue.jsonl"; QUEUE=() Q_ARGS=() QN=0; }

admit() {
    clear_queue
    queue "$2" "$3" "${4:-null}" "${5:-.}"
    send_queue "$1"
    answer 1 "$2 on $1 ($(printf '%.120s' "$3"))"
}

r() { printf '%s' "$R" | jq -r "$1"; }
ncauses() { local d; read -r -a d <<<"$A_DETAILS"; echo "${d[3]:-}"; }

# mutate_ok DESC OBJECT EXPECTED_SPEC — the object needs defaults: allowed, JSONPatch, the
# patch applied gives EXPECTED_SPEC exactly, and the defaulted object is then left alone
# by /mutate and allowed by /validate. Sets PATCHED.
mutate_ok() {
    local desc=$1 obj=$2 want=$3
    admit "$MUTATE_PATH" CREATE "$obj" || return
    expect_eq "$desc: allowed, patchType JSONPatch" "true JSONPatch" "$A_ALLOWED $A_PATCHTYPE"
    local patch
    patch=$(printf '%s' "$A_PATCH" | base64 -d 2>/dev/null | jq -c 'if type == "array" then . else error("not an array") end' 2>/dev/null)
    expect_eq "$desc: the base64 patch decodes to a JSON array" yes "$([ -n "$patch" ] && echo yes || echo "no: $A_PATCH")"
    PATCHED=$(printf '%s' "$obj" | jq -c --argjson patch "${patch:-[]}" "$APPLY_PATCH_JQ" 2>"$T/jq.err")
    if [ -z "$PATCHED" ]; then
        fail "$desc: the patch applies (RFC 6902)" "expected: a patched object" "got: $(<"$T/jq.err") patch: $patch"
        return
    fi
    local got
    got=$(printf '%s' "$PATCHED" | jq -cS '.spec, .metadata')
    expect_eq "$desc: the patched spec holds the api.md defaults, metadata untouched" \
        "$(printf '%s' "$want" | jq -cS .)"$'\n'"$(printf '%s' "$obj" | jq -cS .metadata)" "$got"
    clear_queue
    queue CREATE "$PATCHED"
    send_queue "$MUTATE_PATH"
    answer 1 "$desc: the defaulted object again" || return
    expect_eq "$desc: the defaulted object again: allowed, no patch (idempotent)" "true none none" "$A_ALLOWED $A_PATCH $A_PATCHTYPE"
    clear_queue
    queue CREATE "$PATCHED"
    send_queue "$VALIDATE_PATH"
    answer 1 "$desc: the defaulted object on /validate" || return
    expect_eq "$desc: the defaulted object passes /validate" "true" "$A_ALLOWED"
}

NAME=cache
PREFIX_INVALID="ValkeyCluster.gungnir.dev \"$NAME\" is invalid: "
PREFIX_FORBIDDEN="ValkeyCluster.gungnir.dev \"$NAME\" is forbidden: "

# denied DESC CODE REASON MESSAGE [FIELD] — the loaded answer is a refusal with this status.
denied() {
    local desc=$1 code=$2 reason=$3 msg=$4 field=${5:-}
    expect_eq "$desc: allowed" false "$A_ALLOWED"
    expect_eq "$desc: status code/reason/status" "$code $reason Failure" "$A_STATUS"
    expect_eq "$desc: message" "$msg" "$A_MSG"
    if [ -n "$field" ]; then
        expect_eq "$desc: details (kind, group, name, causes, cause field)" "ValkeyCluster gungnir.dev $NAME 1 $field" "$A_DETAILS"
    fi
    expect_eq "$desc: no patch on a refusal" none "$A_PATCH"
}

VALID='{"apiVersion":"gungnir.dev/v1alpha1","kind":"ValkeyCluster","metadata":{"name":"cache","namespace":"prod"},"spec":{"replicas":3,"image":"valkey/valkey:8.1"}}'
obj() { printf '%s' "$VALID" | jq -c "$1"; }

# ---- defaulting on /mutate --------------------------------------------------------------
log "defaulting"
FULL_DEFAULTS='{"replicas":3,"image":"valkey/valkey:8.1","imagePullPolicy":"IfNotPresent","qosClass":"BestEffort",
  "persistence":{"mode":"none"},"auth":{"enabled":true},"tls":{"enabled":false},
  "failover":{"enabled":true,"probeIntervalMilliseconds":1000,"failureThreshold":3,"replicaPriority":100,"priorities":[],"maxLagBytes":0},
  "config":{},"antiAffinity":"preferred","service":{"type":"ClusterIP"},"podDisruptionBudget":{"enabled":true},"metrics":{"enabled":false}}'
mutate_ok "empty spec" '{"apiVersion":"gungnir.dev/v1alpha1","kind":"ValkeyCluster","metadata":{"name":"cache","namespace":"prod"},"spec":{}}' "$FULL_DEFAULTS"
mutate_ok "no spec at all" '{"apiVersion":"gungnir.dev/v1alpha1","kind":"ValkeyCluster","metadata":{"name":"cache","namespace":"prod"}}' "$FULL_DEFAULTS"

# The bench object: storage → persistence rdb; memory limit 2Gi → maxmemory 80% (bytes);
# requests below limits → Burstable; the user's fields (config, pod, storage) kept as they are.
BENCH_OBJ=$(jq -c .request.object "$ROOT/bench/admission-create.json")
mutate_ok "storage and resources (bench/admission-create.json)" "$BENCH_OBJ" "$(printf '%s' "$BENCH_OBJ" | jq -c '.spec + {
  imagePullPolicy:"IfNotPresent", qosClass:"Burstable", maxmemory:"1717986918", persistence:{mode:"rdb"},
  auth:{enabled:true}, tls:{enabled:false},
  failover:{enabled:true,probeIntervalMilliseconds:1000,failureThreshold:3,replicaPriority:100,priorities:[],maxLagBytes:0},
  antiAffinity:"preferred", service:{type:"ClusterIP"}, podDisruptionBudget:{enabled:true}, metrics:{enabled:false}}')"

# Guaranteed: a lone request is copied to the limit, a lone limit to the request.
mutate_ok "qosClass Guaranteed with a lone cpu request and a lone memory limit" \
    "$(obj '.spec += {qosClass:"Guaranteed", resources:{requests:{cpu:"1"},limits:{memory:"1Gi"}}}')" \
    '{"replicas":3,"image":"valkey/valkey:8.1","imagePullPolicy":"IfNotPresent","qosClass":"Guaranteed",
      "resources":{"requests":{"cpu":"1","memory":"1Gi"},"limits":{"cpu":"1","memory":"1Gi"}},"maxmemory":"858993459",
      "persistence":{"mode":"none"},"auth":{"enabled":true},"tls":{"enabled":false},
      "failover":{"enabled":true,"probeIntervalMilliseconds":1000,"failureThreshold":3,"replicaPriority":100,"priorities":[],"maxLagBytes":0},
      "config":{},"antiAffinity":"preferred","service":{"type":"ClusterIP"},"podDisruptionBudget":{"enabled":true},"metrics":{"enabled":false}}'

# User values win; tls.issuerRef gets kind Issuer and group cert-manager.io.
mutate_ok "user values kept; tls.issuerRef defaults" \
    "$(obj '.spec += {replicas:5, imagePullPolicy:"Always", antiAffinity:"required", auth:{enabled:false},
             tls:{enabled:true, issuerRef:{name:"ca-issuer"}}, failover:{replicaPriority:50, priorities:[{podOrdinal:0,priority:10}]},
             service:{type:"LoadBalancer"}, metrics:{enabled:true}, storage:{size:"1Gi"}, persistence:{mode:"aof"}}')" \
    '{"replicas":5,"image":"valkey/valkey:8.1","imagePullPolicy":"Always","qosClass":"BestEffort","antiAffinity":"required",
      "auth":{"enabled":false},"tls":{"enabled":true,"issuerRef":{"name":"ca-issuer","kind":"Issuer","group":"cert-manager.io"}},
      "failover":{"enabled":true,"probeIntervalMilliseconds":1000,"failureThreshold":3,"replicaPriority":50,"priorities":[{"podOrdinal":0,"priority":10}],"maxLagBytes":0},
      "storage":{"size":"1Gi"},"persistence":{"mode":"aof"},"config":{},"service":{"type":"LoadBalancer"},
      "podDisruptionBudget":{"enabled":true},"metrics":{"enabled":true}}'

# dryRun: the same answer.
DRY_OBJ='{"apiVersion":"gungnir.dev/v1alpha1","kind":"ValkeyCluster","metadata":{"name":"cache","namespace":"prod"},"spec":{"replicas":2}}'
admit "$MUTATE_PATH" CREATE "$DRY_OBJ" null '.request.uid = "dry-run-uid-1"'
WET=$R
admit "$MUTATE_PATH" CREATE "$DRY_OBJ" null '.request.uid = "dry-run-uid-1" | .request.dryRun = true'
expect_eq "dryRun on /mutate: the same answer (patch included)" "$WET" "$R"
admit "$VALIDATE_PATH" CREATE "$(obj '.spec.replicas = 0')" null '.request.uid = "dry-run-uid-2"'
WET=$R
admit "$VALIDATE_PATH" CREATE "$(obj '.spec.replicas = 0')" null '.request.uid = "dry-run-uid-2" | .request.dryRun = true'
expect_eq "dryRun on /validate: the same refusal" "$WET" "$R"

# ---- validation rules on /validate (CREATE) ---------------------------------------------
log "validation rules"
# Each line: jq edit of a valid object <TAB> the exact field error.
RULES=$(cat <<'EOF'
.spec.replicas = 0	spec.replicas: Invalid value: 0: must be between 1 and 100
.spec.replicas = 101	spec.replicas: Invalid value: 101: must be between 1 and 100
.spec.image = ""	spec.image: Required value
.spec.image = "valkey/valkey:8.1 --loglevel"	spec.image: Invalid value: "valkey/valkey:8.1 --loglevel": must not contain spaces or control characters
.spec.imagePullPolicy = "Sometimes"	spec.imagePullPolicy: Unsupported value: "Sometimes": supported values: "IfNotPresent", "Always", "Never"
.spec.resources = {requests:{cpu:"abc"}}	spec.resources.requests[cpu]: Invalid value: "abc": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'
.spec.resources = {limits:{memory:"-1Gi"}}	spec.resources.limits[memory]: Invalid value: "-1Gi": must be greater than or equal to 0
.spec.resources = {requests:{memory:"2Gi"},limits:{memory:"1Gi"}}	spec.resources.requests[memory]: Invalid value: "2Gi": must be less than or equal to memory limit of 1Gi
.spec.resources = {requests:{cpu:"1"},limits:{cpu:"1"}} | .spec.qosClass = "Guaranteed"	spec.qosClass: Invalid value: "Guaranteed": needs cpu and memory requests and limits, each request equal to its limit
.spec.resources = {limits:{memory:"1Gi"}} | .spec.qosClass = "BestEffort"	spec.qosClass: Invalid value: "BestEffort": must have no cpu or memory requests or limits
.spec.qosClass = "Burstable"	spec.qosClass: Invalid value: "Burstable": needs at least one cpu or memory request or limit
.spec.qosClass = "Platinum"	spec.qosClass: Unsupported value: "Platinum": supported values: "BestEffort", "Burstable", "Guaranteed"
.spec.storage = {size:"0"}	spec.storage.size: Invalid value: "0": must be greater than 0
.spec.storage = {size:"1Gi", storageClassName:""}	spec.storage.storageClassName: Invalid value: "": must not be empty when set
.spec.persistence = {mode:"rdb"}	spec.persistence.mode: Invalid value: "rdb": needs spec.storage.size: RDB files must live on a persistent volume
.spec.persistence = {mode:"aof"}	spec.persistence.mode: Invalid value: "aof": needs spec.storage.size: AOF files must live on a persistent volume
.spec.persistence = {mode:"snapshot"}	spec.persistence.mode: Unsupported value: "snapshot": supported values: "none", "rdb", "aof"
.spec.resources = {requests:{memory:"1Gi"},limits:{memory:"1Gi"}} | .spec.maxmemory = "2Gi"	spec.maxmemory: Invalid value: "2Gi": must be less than or equal to the memory limit (1073741824 bytes)
.spec.auth = {secretName:"My_Secret"}	spec.auth.secretName: Invalid value: "My_Secret": a DNS-1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character
.spec.tls = {enabled:true}	spec.tls.secretName: Required value: spec.tls.enabled needs exactly one of spec.tls.secretName and spec.tls.issuerRef
.spec.tls = {enabled:true, secretName:"cache-tls", issuerRef:{name:"ca-issuer"}}	spec.tls.issuerRef: Forbidden: may not be set together with spec.tls.secretName: exactly one of them must be set
.spec.tls = {enabled:true, issuerRef:{name:"ca-issuer", kind:"Vault"}}	spec.tls.issuerRef.kind: Unsupported value: "Vault": supported values: "Issuer", "ClusterIssuer"
.spec.failover = {probeIntervalMilliseconds:50}	spec.failover.probeIntervalMilliseconds: Invalid value: 50: must be between 100 and 60000
.spec.failover = {probeIntervalMilliseconds:60001}	spec.failover.probeIntervalMilliseconds: Invalid value: 60001: must be between 100 and 60000
.spec.failover = {failureThreshold:0}	spec.failover.failureThreshold: Invalid value: 0: must be between 1 and 100
.spec.failover = {replicaPriority:1001}	spec.failover.replicaPriority: Invalid value: 1001: must be between 0 and 1000
.spec.failover = {maxLagBytes:-1}	spec.failover.maxLagBytes: Invalid value: -1: must be greater than or equal to 0
.spec.failover = {priorities:[{podOrdinal:0,priority:10},{podOrdinal:0,priority:20}]}	spec.failover.priorities[1].podOrdinal: Duplicate value: 0
.spec.failover = {priorities:[{podOrdinal:100,priority:10}]}	spec.failover.priorities[0].podOrdinal: Invalid value: 100: must be less than 100 (the most pods a cluster can have)
.spec.failover = {priorities:[{podOrdinal:1,priority:1001}]}	spec.failover.priorities[0].priority: Invalid value: 1001: must be between 0 and 1000
.spec.failover = {replicaPriority:0, priorities:[{podOrdinal:0,priority:100}]}	spec.failover.priorities: Invalid value: "1 of 3 pods": with failover enabled at least two pods need a priority above 0 (see spec.failover.replicaPriority)
.spec.config = {"Max_Clients":"10"}	spec.config[Max_Clients]: Invalid value: "Max_Clients": keys must match [a-z0-9-]+ (at most 128 characters)
.spec.config = {"port":"6380"}	spec.config[port]: Forbidden: set by the operator
.spec.config = {"replicaof":"10.0.0.1 6379"}	spec.config[replicaof]: Forbidden: set by the operator
.spec.config = {"tls-port":"6380"}	spec.config[tls-port]: Forbidden: set by the operator; use spec.tls
.spec.config = {"requirepass":"hunter2"}	spec.config[requirepass]: Forbidden: set by the operator; use spec.auth
.spec.config = {"save":"900 1"}	spec.config[save]: Forbidden: set by the operator; use spec.persistence.mode
.spec.config = {"cluster-enabled":"yes"}	spec.config[cluster-enabled]: Forbidden: set by the operator
.spec.config = {"maxmemory":"1gb"}	spec.config[maxmemory]: Forbidden: set by the operator; use spec.maxmemory
.spec.config = {"rename-command":"FLUSHALL \"\""}	spec.config[rename-command]: Forbidden: set by the operator
.spec.config = {"timeout":"300\nrequirepass x"}	spec.config[timeout]: Invalid value: "300\nrequirepass x": must not contain a newline or NUL
.spec.antiAffinity = "always"	spec.antiAffinity: Unsupported value: "always": supported values: "preferred", "none", "required"
.spec.service = {type:"ExternalName"}	spec.service.type: Unsupported value: "ExternalName": supported values: "ClusterIP", "NodePort", "LoadBalancer"
.spec.pod = {labels:{"gungnir.dev/role":"primary"}}	spec.pod.labels[gungnir.dev/role]: Forbidden: set by the operator
EOF
)
clear_queue
EDITS=() WANTS=()
while IFS=$'\t' read -r edit want; do
    [ -n "$edit" ] || continue
    EDITS+=("$edit")
    WANTS+=("$want")
    queue CREATE "$VALID" null ".request.object |= ($edit)"
done <<<"$RULES"
send_queue "$VALIDATE_PATH"
for ((i = 0; i < ${#EDITS[@]}; i++)); do
    answer $((i + 1)) "rule (${EDITS[$i]})" || continue
    denied "rule (${EDITS[$i]})" 422 Invalid "$PREFIX_INVALID${WANTS[$i]}" "${WANTS[$i]%%: *}"
done
clear_queue

# Names: DNS-1035 label of at most 52 characters.
admit "$VALIDATE_PATH" CREATE "$(obj '.metadata.name = "Cache"')"
expect_eq "name Cache: 422 with the DNS-1035 message" \
    "422 ValkeyCluster.gungnir.dev \"Cache\" is invalid: metadata.name: Invalid value: \"Cache\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')" \
    "${A_STATUS%% *} $A_MSG"
LONG=$(printf 'a%.0s' $(seq 53))
admit "$VALIDATE_PATH" CREATE "$(obj ".metadata.name = \"$LONG\"")"
expect_eq "name of 53 characters: 422 Too long" \
    "422 ValkeyCluster.gungnir.dev \"$LONG\" is invalid: metadata.name: Too long: must have at most 52 bytes (so <name>-<ordinal> pod names and StatefulSet labels fit in 63)" \
    "${A_STATUS%% *} $A_MSG"
admit "$VALIDATE_PATH" CREATE "$(obj ".metadata.name = \"${LONG:1}\"")"
expect_eq "name of 52 characters: allowed" true "$A_ALLOWED"

# Boundaries that must pass.
clear_queue
EDITS=()
for edit in '.spec.replicas = 1' '.spec.replicas = 100' '.spec.failover = {probeIntervalMilliseconds:100, failureThreshold:100, replicaPriority:1000, maxLagBytes:0}' \
    '.spec.storage = {size:"1Gi"} | .spec.persistence = {mode:"aof"}' '.spec.resources = {requests:{cpu:"500m",memory:"1Gi"},limits:{cpu:"500m",memory:"1Gi"}} | .spec.qosClass = "Guaranteed" | .spec.maxmemory = "1Gi"' \
    '.spec.config = {"maxmemory-policy":"allkeys-lru","timeout":"300"}' '.spec.tls = {enabled:true, secretName:"cache-tls"}'; do
    EDITS+=("$edit")
    queue CREATE "$VALID" null ".request.object |= ($edit)"
done
send_queue "$VALIDATE_PATH"
for ((i = 0; i < ${#QUEUE[@]}; i++)); do
    answer $((i + 1)) "valid (${EDITS[$i]})" || continue
    expect_eq "valid (${EDITS[$i]}): allowed" "true" "$A_ALLOWED"
done
clear_queue

# Several wrong fields: all errors in one message, one cause each.
admit "$VALIDATE_PATH" CREATE "$(obj '.spec.replicas = 0 | .spec.imagePullPolicy = "Sometimes" | .spec.failover = {failureThreshold:0} | .spec.config = {"port":"1"} | .spec.service = {type:"ExternalName"}')"
MSG=$A_MSG
expect_eq "several errors: 422 Invalid" "false 422 Invalid 5" "$A_ALLOWED ${A_STATUS% *} $(ncauses)"
for want in 'spec.replicas: Invalid value: 0: must be between 1 and 100' \
    'spec.imagePullPolicy: Unsupported value: "Sometimes": supported values: "IfNotPresent", "Always", "Never"' \
    'spec.failover.failureThreshold: Invalid value: 0: must be between 1 and 100' \
    'spec.config[port]: Forbidden: set by the operator' \
    'spec.service.type: Unsupported value: "ExternalName": supported values: "ClusterIP", "NodePort", "LoadBalancer"'; do
    expect_contains "several errors: the message lists \"${want%%: *}\"" "$want" "$MSG"
done
expect_eq "several errors: the message is the Kubernetes list form of the causes" \
    "$A_LIST" "$MSG"

# ---- warnings ---------------------------------------------------------------------------
log "warnings"
clear_queue
WDESC=() WWANT=()
warned() { # DESC EDIT EXPECTED_WARNING — queued; checked below
    WDESC+=("$1")
    WWANT+=("$3")
    queue CREATE "$VALID" null ".request.object |= ($2)"
}
warned "image tag latest" '.spec.image = "valkey/valkey:latest"' \
    'spec.image: "valkey/valkey:latest" uses the tag "latest"; pin a version so every pod runs the same server'
warned "image without a tag" '.spec.image = "valkey/valkey"' \
    'spec.image: "valkey/valkey" has no tag, which means "latest"; pin a version so every pod runs the same server'
warned "image without a tag behind a registry port" '.spec.image = "registry.local:5000/valkey/valkey"' \
    'spec.image: "registry.local:5000/valkey/valkey" has no tag, which means "latest"; pin a version so every pod runs the same server'
warned "image pinned by digest" '.spec.image = "valkey/valkey@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"' ''
warned "pinned image" '.spec.image = "registry.local:5000/valkey/valkey:8.1.1"' ''
warned "one replica" '.spec.replicas = 1' \
    'spec.replicas: 1 pod has no replica to promote; failover cannot happen until spec.replicas is at least 2'
warned "unknown spec field" '.spec.sentinel = true' 'spec.sentinel: unknown field, ignored'
# /validate defaults first: a spec without image is judged with the pinned default, no warning.
warned "no image (defaulted to the pinned one)" 'del(.spec.image)' ''
send_queue "$VALIDATE_PATH"
for ((i = 0; i < ${#QUEUE[@]}; i++)); do
    answer $((i + 1)) "${WDESC[$i]}" || continue
    expect_eq "${WDESC[$i]}: allowed" true "$A_ALLOWED"
    expect_eq "${WDESC[$i]}: warnings" "${WWANT[$i]}" "$A_WARN"
done
clear_queue

# ---- UPDATE: transition rules (403) -----------------------------------------------------
log "UPDATE transition rules"
OLD=$(obj '.spec.storage = {size:"20Gi", storageClassName:"fast-ssd"} | .spec.persistence = {mode:"rdb"}')
upd() { admit "$VALIDATE_PATH" UPDATE "$(printf '%s' "$OLD" | jq -c "$1")" "$(printf '%s' "$OLD" | jq -c "${2:-.}")"; }

upd '.spec.storage.size = "10Gi"'
denied "storage shrink" 403 Forbidden "${PREFIX_FORBIDDEN}spec.storage.size: Forbidden: may not shrink (from 20Gi to 10Gi)" spec.storage.size
upd '.spec.storage.storageClassName = "standard"'
denied "storageClassName change" 403 Forbidden "${PREFIX_FORBIDDEN}spec.storage.storageClassName: Forbidden: field is immutable (it is fast-ssd)" spec.storage.storageClassName
upd '.spec.persistence.mode = "aof"'
denied "persistence.mode change with storage" 403 Forbidden "${PREFIX_FORBIDDEN}spec.persistence.mode: Forbidden: field is immutable with storage (it is rdb)" spec.persistence.mode
upd '.spec.replicas = 5' '.status = {failover:{inProgress:true, epoch:7}}'
denied "replicas change during a failover" 403 Forbidden "${PREFIX_FORBIDDEN}spec.replicas: Forbidden: may not change while a failover is in progress (epoch 7); retry after the failover" spec.replicas
admit "$VALIDATE_PATH" UPDATE "$(obj '.spec.storage = {size:"10Gi"}')" "$VALID"
denied "storage added to a cluster without" 403 Forbidden "${PREFIX_FORBIDDEN}spec.storage.size: Forbidden: may not be added to an existing cluster (its pods run on emptyDir)" spec.storage.size
upd '.spec.storage.size = "10Gi" | .spec.replicas = 0'
expect_eq "a transition error with an invalid field: 422 Invalid, both errors" "false 422 Invalid 2" \
    "$A_ALLOWED ${A_STATUS% *} $(ncauses)"

upd '.spec.storage.size = "30Gi"'
expect_eq "storage growth: allowed" true "$A_ALLOWED"
upd '.spec.replicas = 7'
expect_eq "replicas change without a failover: allowed" true "$A_ALLOWED"
upd '.spec.image = "valkey/valkey:8.1.2"' '.status = {failover:{inProgress:true, epoch:7}}'
expect_eq "other changes during a failover: allowed" true "$A_ALLOWED"
upd '.spec.storage.size = "10Gi" | .metadata.deletionTimestamp = "2026-11-24T10:00:00Z"'
expect_eq "UPDATE of an object being deleted (finalizer removal): allowed" true "$A_ALLOWED"

# ---- DELETE -----------------------------------------------------------------------------
log "DELETE"
admit "$VALIDATE_PATH" DELETE null "$OLD"
expect_eq "DELETE on /validate: allowed" true "$A_ALLOWED"
admit "$VALIDATE_PATH" DELETE null "$(obj '.spec.replicas = 0')" '.request.object = null'
expect_eq "DELETE of an invalid object: allowed" true "$A_ALLOWED"
admit "$MUTATE_PATH" DELETE null "$OLD"
expect_eq "DELETE on /mutate: allowed without a patch" "true none" "$A_ALLOWED $A_PATCH"

# ---- scale subresource (autoscaling/v1 Scale) -------------------------------------------
log "scale subresource"
scale() { # REPLICAS [PATH]
    local s old
    s=$(jq -c -n --argjson n "$1" '{apiVersion:"autoscaling/v1",kind:"Scale",metadata:{name:"cache",namespace:"prod"},spec:{replicas:$n},status:{replicas:3,selector:"app.kubernetes.io/instance=cache"}}')
    old=$(printf '%s' "$s" | jq -c '.spec.replicas = 3')
    admit "${2:-$VALIDATE_PATH}" UPDATE "$s" "$old" '.request.kind = {group:"autoscaling",version:"v1",kind:"Scale"} | .request.requestKind = .request.kind | .request.subResource = "scale" | .request.requestSubResource = "scale"'
}
for n in 1 5 100; do
    scale "$n"
    expect_eq "scale to $n: allowed" true "$A_ALLOWED"
done
scale 0
denied "scale to 0" 422 Invalid "${PREFIX_INVALID}spec.replicas: Invalid value: 0: must be between 1 and 100" spec.replicas
scale 101
denied "scale to 101" 422 Invalid "${PREFIX_INVALID}spec.replicas: Invalid value: 101: must be between 1 and 100" spec.replicas
scale 5 "$MUTATE_PATH"
expect_eq "scale on /mutate: allowed without a patch" "true none" "$A_ALLOWED $A_PATCH"

# ---- metrics ----------------------------------------------------------------------------
log "metrics"
moved() { # DESC SERIES BEFORE SENT
    local now
    now=$(metric "$2")
    expect_eq "$1 moved by the requests sent ($4)" "$(($3 + $4))" "${now:-missing}"
}
moved "requests_total{mutate,patched}" 'gungnir_webhook_requests_total{path="mutate",result="patched"}' "$M_BEFORE_MP" "$SENT_MP"
moved "requests_total{mutate,allowed}" 'gungnir_webhook_requests_total{path="mutate",result="allowed"}' "$M_BEFORE_MA" "$SENT_MA"
moved "requests_total{validate,allowed}" 'gungnir_webhook_requests_total{path="validate",result="allowed"}' "$M_BEFORE_VA" "$SENT_VA"
moved "requests_total{validate,denied}" 'gungnir_webhook_requests_total{path="validate",result="denied"}' "$M_BEFORE_VD" "$SENT_VD"
expect_eq "some requests of each kind were counted" 1 "$((SENT_MP > 0 && SENT_MA > 0 && SENT_VA > 0 && SENT_VD > 0))"
EXPIRY=$(metric gungnir_webhook_cert_expiry_timestamp_seconds)
expect_eq "cert expiry gauge = notAfter of tls.crt" "$(not_after_epoch "$CERTS/tls.crt")" "$(printf '%.0f' "${EXPIRY:-0}")"
LAT=$(metric 'gungnir_webhook_request_duration_seconds_count{path="validate"}')
expect_eq "request duration histogram counts the /validate answers" "$((SENT_VA + SENT_VD))" "${LAT:-missing}"
expect_eq "/healthz still 200" 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$HEALTH_PORT/healthz")"
expect_eq "/readyz still 200" 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$HEALTH_PORT/readyz")"

gungnir_alive "gungnir alive after all requests"
stop_gungnir
finish
