#!/usr/bin/env bash
# e2e suite "pod_security": a ValkeyCluster's pods carry the restricted securityContext (non-root
# 999, fsGroup, seccomp RuntimeDefault, no privilege escalation, no capability), and on the host
# every server of them runs as uid 999 and writes its data volume; the password is in no
# process's command line (ps, /proc/*/cmdline), in no line of gungnir's (or the node agent's)
# log and in no Event message, while clients that send it (REDISCLI_AUTH) still write.
# The host checks need the local platform (the node agent's pods are processes here).
set -uo pipefail
export SUITE=pod_security
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
suite_begin
make_ns podsec || { suite_end; exit 1; }
ns=$E2E_NS
name=sec

say "a 3-pod cluster with a data claim and AOF persistence (the servers write /data from the start)"
out=$(apply_vkc "$ns" "$name" 3 "storage:" "  size: 1Gi" "persistence:" "  mode: aof" 2>&1)
assert_contains "kubectl apply accepted" "valkeycluster.gungnir.dev/$name created" "$out"
expect_within "$name settles: Running, 3/3 ready, one primary" 180 vkc_settled "$ns" "$name" 3 ||
    { fail "the cluster never settled: the rest of the suite is skipped"; suite_end; exit 1; }
on_cleanup "kc -n $ns delete vkc $name --wait=false >/dev/null 2>&1"
pods=$(pods_of "$ns" "$name")

# ---- the pod template as the API server stores it
want_pod='{"fsGroup":999,"fsGroupChangePolicy":"OnRootMismatch","runAsGroup":999,"runAsNonRoot":true,"runAsUser":999,"seccompProfile":{"type":"RuntimeDefault"}}'
want_ctr='{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}}'
for p in $pods; do
    pj=$(kc -n "$ns" get pod "$p" -o json 2>/dev/null)
    assert_eq "$p: pod securityContext" "$want_pod" "$(jq -cS '.spec.securityContext' <<<"$pj")"
    assert_eq "$p: container valkey securityContext" "$want_ctr" \
        "$(jq -cS '.spec.containers[] | select(.name == "valkey") | .securityContext' <<<"$pj")"
    assert_eq "$p: the valkey command is sh -c (the password comes from a here-document)" '["sh","-c"]' \
        "$(jq -c '.spec.containers[] | select(.name == "valkey") | .command[0:2]' <<<"$pj")"
    assert_eq "$p: no password value in the pod spec (only Secret references)" "" \
        "$(jq -r '.spec.containers[].env[]? | select(.value != null and (.name | test("PASSWORD|AUTH"))) | .name' <<<"$pj")"
done

pw=$(vpassword "$ns" "$name")
assert_nonempty "the password of Secret $name-auth (kubectl, base64-decoded)" "$([ -n "$pw" ] && echo "${#pw} characters")"

if [ "$E2E_PLATFORM" != local ]; then
    say "platform $E2E_PLATFORM: the host checks (processes, logs) are skipped"
else
    # ---- every process of the cluster's pods, from their network namespaces
    pod_dir() { echo "$STATE_DIR/nodeagent/pods/${ns}_$1"; }
    all_pids=""
    for p in $pods; do
        netns=$(cat "$(pod_dir "$p")/netns" 2>/dev/null)
        pp=$(ip netns pids "$netns" 2>/dev/null | xargs)
        assert_nonempty "$p: processes in its netns $netns" "$pp"
        all_pids="$all_pids $pp"
        spid=$(cat "$(pod_dir "$p")/pid" 2>/dev/null)
        assert_eq "$p: its server (pid $spid) runs as uid 999" 999 "$(ps -o uid= -p "$spid" | tr -d ' ')"
        st=/proc/$spid/status
        assert_eq "$p: its server's real/effective/saved/fs gid" "999 999 999 999" \
            "$(awk '$1 == "Gid:" {print $2, $3, $4, $5}' "$st" 2>/dev/null)"
        assert_eq "$p: its server has no effective capability" 0000000000000000 "$(awk '$1 == "CapEff:" {print $2}' "$st")"
        assert_eq "$p: its server has no_new_privs (allowPrivilegeEscalation: false)" 1 "$(awk '$1 == "NoNewPrivs:" {print $2}' "$st")"
    done
    all_pids=$(xargs <<<"$all_pids" | tr ' ' ',')
    procs=$(ps -o uid=,args= -p "$all_pids" 2>/dev/null)
    say "the cluster's processes (ps -o uid,args):"
    sed 's/^/       | /' <<<"$procs"
    servers=$(grep -cE 'valkey-server|redis-server' <<<"$procs")
    assert_eq "ps shows 3 servers in the cluster's pods" 3 "$servers"
    assert_eq "no process of the cluster's pods runs as a uid other than 999 (ps -eo pid,uid,args)" "" \
        "$(ps -eo pid=,uid=,args= | awk -v set=",$all_pids," 'index(set, "," $1 ",") && $2 != 999')"

    # ---- the data volume: AOF files written by uid 999 through fsGroup
    for p in $pods; do
        claim=$(ls -d "$STATE_DIR/nodeagent/pvc/${ns}_data-$p"_* 2>/dev/null | head -n 1)
        assert_eq "$p: its data folder is group 999, setgid, group-writable (fsGroup)" "999 2775" \
            "$(stat -c '%g %a' "$claim" 2>/dev/null)"
        assert_eq "$p: appendonlydir in /data is owned by 999:999" 999:999 \
            "$(stat -c '%u:%g' "$claim/appendonlydir" 2>/dev/null)"
    done

    # ---- the password is nowhere a process, a log line or an Event shows it
    pwfile=$(mktemp /tmp/e2e-pw.XXXXXX) # grep -f: the password is not in grep's own command line
    on_cleanup "rm -f $pwfile"
    printf '%s\n' "$pw" >"$pwfile"
    hits=$(grep -l -a -F -f "$pwfile" /proc/[0-9]*/cmdline 2>/dev/null)
    assert_eq "no /proc/*/cmdline on the host holds the password" "" "$hits"
    assert_eq "ps -eo args shows the password nowhere" 0 "$(ps -eo args | grep -c -F -f "$pwfile")"
    assert_eq "gungnir's log ($STATE_DIR/logs/gungnir.log) has no line with the password" 0 \
        "$(grep -c -a -F -f "$pwfile" "$STATE_DIR/logs/gungnir.log")"
    assert_eq "the node agent's log has no line with the password" 0 \
        "$(grep -c -a -F -f "$pwfile" "$STATE_DIR/logs/nodeagent.log")"
    logs_with_pw=$(for p in $pods; do grep -l -a -F -f "$pwfile" "$(pod_dir "$p")"/container*.log 2>/dev/null; done)
    assert_eq "no container log of the pods holds the password" "" "$logs_with_pw"
    events=$(kc get events -A -o json 2>/dev/null)
    assert_ne "the Events can be read" "" "$(jq -r '.items | length' <<<"$events" 2>/dev/null)"
    assert_eq "no Event message holds the password" 0 "$(jq -r '.items[].message // empty' <<<"$events" | grep -c -F -f "$pwfile")"
fi

# ---- clients that send the password still work
prim=$(kj "$ns" "vkc/$name" '{.status.primary}')
stamp="sec-$(date +%s%N)"
assert_eq "SET on the primary $prim with REDISCLI_AUTH" OK "$(vcli "$ns" "$name" "$prim" SET e2e:sec "$stamp")"
assert_eq "WAIT 2 (both replicas acknowledged)" 2 "$(vcli "$ns" "$name" "$prim" WAIT 2 5000)"
for p in $(pods_with_role "$ns" "$name" replica); do
    check "replica $p reads the write" read_on "$ns" "$name" "$p" e2e:sec "$stamp"
done
if [ "$E2E_CLI_MODE" = direct ]; then
    out=$(timeout 10 redis-cli -h "$(pod_ip "$ns" "$prim")" PING 2>&1)
    assert_contains "without the password the primary refuses (NOAUTH)" NOAUTH "$out"
fi

say "cleanup: deleting the ValkeyCluster"
kc -n "$ns" delete vkc "$name" --wait=true --timeout=60s >/dev/null
pods_gone() { local left; left=$(pods_of "$ns" "$name"); echo "pods left: $left"; [ -z "$left" ]; }
expect_within "the cluster's pods are gone" 90 pods_gone
suite_end
