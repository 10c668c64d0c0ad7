#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# End-to-end tests of udplb: real UDP traffic through network namespaces, driven by build/udplb.
#
# Usage: tests/e2e/run.sh [BUILD_DIR]      (default: build/; also E2E_BUILD=DIR)
#
# Environment:
#   E2E_MODES       modes to run (default "xdp xdp-generic tc")
#   E2E_SCENARIOS   scenarios to run (default: all, see SCENARIOS below)
#                   (pins, save and daemon, about the control plane alone, run in one mode: xdp-generic
#                   when it is among E2E_MODES, else the first)
#   E2E_LOCK=FILE   take flock(FILE) for the whole run. Off by default: the caller is expected to
#                   hold /tmp/udplb-kernel.lock (flock /tmp/udplb-kernel.lock make check); taking
#                   it here as well would deadlock against the caller's lock.
#   CI=true         missing privileges, tools or binaries fail the run instead of skipping it
#
# Output: one line per scenario and mode ("PASS xdp/churn: ...", "FAIL ...", "SKIP ..."),
# cmocka-style totals (so scripts/run-tests.sh can count the scenarios) and, last, exactly
#   e2e: N passed, N failed, N skipped
# Exit status 1 if any scenario failed (or, with CI=true, was skipped). Logs of every scenario
# (each udplb command, its stderr and exit status; client summaries) go to BUILD_DIR/tests/e2e/logs/.
#
# Needs root (namespaces, BPF), ip, tc, ethtool, jq, bpftool, and the helpers the Makefile builds
# into BUILD_DIR/tests/e2e/ (udp_echo, udp_client, e2e_clock, xdp_pass.bpf.o, ipip_decap.bpf.o).
set -u

if [ $# -gt 0 ]; then
	export E2E_BUILD=$1
fi
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

read -r -a MODES <<<"${E2E_MODES:-xdp xdp-generic tc}"
SCENARIOS=(basic keep churn drain upgrade kill9 determinism ipip fib cli pins save daemon)
if [ -n "${E2E_SCENARIOS:-}" ]; then
	read -r -a SCENARIOS <<<"$E2E_SCENARIOS"
fi
# Scenarios of the control plane alone run in one mode: xdp-generic when it is among the modes.
SINGLE_MODE_SCENARIOS=" pins save daemon "
ONE_MODE=${MODES[0]}
[[ " ${MODES[*]} " != *" xdp-generic "* ]] || ONE_MODE=xdp-generic
SEED=4242
VIPP=$VIP:$VPORT

passed=0
failed=0
skipped=0
failed_names=()
skipped_names=()

result()
{
	local status=$1 name=$2 detail=$3
	printf '%s %s: %s\n' "$status" "$name" "$detail"
	case $status in
	PASS) passed=$((passed + 1)) ;;
	FAIL)
		failed=$((failed + 1))
		failed_names+=("$name")
		;;
	SKIP)
		skipped=$((skipped + 1))
		skipped_names+=("$name")
		;;
	esac
}

summary()
{
	local n
	printf '[==========] e2e: %d scenario(s) run.\n' $((passed + failed + skipped))
	printf '[  PASSED  ] %d test(s).\n' "$passed"
	if [ "$failed" -gt 0 ]; then
		printf '[  FAILED  ] %d test(s), listed below:\n' "$failed"
		for n in "${failed_names[@]}"; do
			printf '[  FAILED  ] %s\n' "$n"
		done
	fi
	if [ "$skipped" -gt 0 ]; then
		printf '[  SKIPPED ] %d test(s), listed below:\n' "$skipped"
		for n in "${skipped_names[@]}"; do
			printf '[  SKIPPED ] %s\n' "$n"
		done
	fi
	printf 'e2e: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
}

# Skip (or under CI=true fail) every scenario of every mode, then exit.
skip_all()
{
	local why=$1 m s status=SKIP
	[ "${CI:-}" = true ] && status=FAIL
	echo "e2e: $why"
	[ "$status" = FAIL ] && echo "e2e: CI=true: counted as failures (CI must run every test)"
	for m in "${MODES[@]}"; do
		for s in topology "${SCENARIOS[@]}" cleanup; do
			result "$status" "$m/$s" "$why"
		done
	done
	summary
	[ "$failed" -eq 0 ]
	exit
}

# ---------------------------------------------------------------------------------------------
# Helpers of the scenarios

# jqf FILE EXPR: one value of a client summary.
jqf()
{
	jq -r "$2" "$1"
}

# client_ok FILE: the checks every traffic run must pass (no loss, no stray reply); prints why not.
client_ok()
{
	local f=$1 bad
	if ! jq -e . "$f" >/dev/null 2>&1; then
		echo "no client summary in $f"
		return 1
	fi
	bad=$(jq -r '[ (if .sent == 0 then "nothing sent" else empty end),
		(if .lost != 0 then "lost \(.lost)/\(.sent)" else empty end),
		(if .bad_source != 0 then "\(.bad_source) replies not from VIP:PORT" else empty end),
		(if .bad_payload != 0 then "\(.bad_payload) bad replies" else empty end),
		(if .duplicates != 0 then "\(.duplicates) duplicates" else empty end),
		(if .send_errors != 0 then "\(.send_errors) send errors (\(.last_send_error))"
		 else empty end) ] | join(", ")' "$f")
	if [ -n "$bad" ]; then
		echo "$bad"
		return 1
	fi
	return 0
}

client_brief()
{
	jq -r '"sent \(.sent) received \(.received) lost \(.lost) flows_changed \(.flows_changed) " +
		"backends \(.backends | to_entries | map("\(.key)=\(.value)") | join(","))"' "$1"
}

# Backend role of an address.
role_of_ip()
{
	local r
	for r in "${E2E_BACKENDS[@]}"; do
		[ "${IP[$r]}" = "$1" ] && echo "$r" && return 0
	done
	echo "?$1"
}

# config ROLE: VIP plus backends "b1:W b2:W ..." (weight optional), with their MACs.
config()
{
	local lb=$1 fwd=$2 spec
	shift 2
	run_udplb_quiet "$lb" vip add "$DEV" "$VIPP" --fwd "$fwd" || return 1
	for spec in "$@"; do
		local b=${spec%%:*} w=1
		[ "$spec" != "$b" ] && w=${spec#*:}
		run_udplb_quiet "$lb" backend add "$DEV" "$VIPP" "${IP[$b]}" --weight "$w" \
			--mac "${MAC[$b]}" || return 1
	done
}

# Timed udplb command: "timed OP BACKEND ARGS..." runs udplb in lb1 under e2e_clock, appends
# "OP BACKEND START END RC" to $EVENTS and returns udplb's status.
timed()
{
	local op=$1 b=$2 tf=$SCEN_DIR/clock rc s e r
	shift 2
	e2e_log "\$ udplb -n ${NS[lb1]} $* (timed)"
	"$E2E_BIN/e2e_clock" -o "$tf" "$UDPLB" -n "${NS[lb1]}" "$@" >>"$E2E_CMDLOG" 2>&1
	rc=$?
	e2e_log "(exit $rc)"
	read -r s e r < <(tail -n 1 "$tf")
	echo "$op $b $s $e $rc" >>"$EVENTS"
	return "$rc"
}

# misrouted EVENTS LOG: datagrams sent after a "del"/"drain" of backend X returned and before the
# next "add" of X started, that were answered by X. Prints the count.
misrouted()
{
	awk 'FNR == NR {
		if ($1 == "del") { from[$2] = $4 }
		else if ($1 == "add" && ($2 in from)) {
			n[$2]++; lo[$2, n[$2]] = from[$2]; hi[$2, n[$2]] = $3; delete from[$2]
		}
		next
	}
	FNR == 1 { for (b in from) { n[b]++; lo[b, n[b]] = from[b]; hi[b, n[b]] = 1e30 } }
	{
		for (i = 1; i <= n[$4]; i++)
			if ($2 > lo[$4, i] && $2 < hi[$4, i]) { bad++; break }
	}
	END { print bad + 0 }' "$1" "$2"
}

# Backends ("b1,b2") that answered datagrams sent in (FROM, TO) ns, from a client log.
backends_between()
{
	awk -v lo="$2" -v hi="$3" '$2 > lo && $2 < hi { seen[$4] = 1 }
		END { s = ""; for (b in seen) s = s (s == "" ? "" : ",") b; print s }' "$1"
}

# Count of replies from backend B for datagrams sent in (FROM, TO).
count_between()
{
	awk -v b="$2" -v lo="$3" -v hi="$4" '$4 == b && $2 > lo && $2 < hi { n++ } END { print n + 0 }' \
		"$1"
}

# attach_check ROLE: udplb is attached to the LB's eth0 the way $MODE asks; prints what is wrong.
attach_check()
{
	local ns=${NS[$1]} xdp tcp want
	xdp=$(ip -n "$ns" -j -d link show "$DEV" | jq -r '.[0].xdp.mode // 0')
	tcp=$(tc -n "$ns" -j filter show dev "$DEV" ingress |
		jq -r '[.[] | .options.prog.name // empty] | join(",")')
	case $MODE in
	xdp) want="1 " ;;         # XDP_ATTACHED_DRV
	xdp-generic) want="2 " ;; # XDP_ATTACHED_SKB
	tc) want="0 udplb_tc" ;;
	esac
	if [ "$xdp $tcp" != "$want" ]; then
		echo "attached as: xdp mode $xdp (1 native, 2 generic), tc ingress '$tcp'; want '$want'"
		return 1
	fi
}

# A fresh udplb on lb1 (and nothing on lb2).
fresh_lb()
{
	local r
	for r in lb1 lb2; do
		if [[ " ${E2E_LOADED[*]-} " == *" $r "* ]]; then
			udplb_unload "$r" || return 1
		fi
	done
	udplb_load lb1 "$MODE" --hash-seed "$SEED"
}

# ---------------------------------------------------------------------------------------------
# Scenarios: each sets DETAIL and returns 0 (pass), 1 (fail) or 2 (skip).

# Replies come back from VIP:PORT, and flows spread over the backends per their weights.
scen_basic()
{
	local out=$SCEN_DIR/client.json st why n1 n2 n3 total
	fresh_lb || { DETAIL="load failed"; return 1; }
	config lb1 dsr b1:1 b2:1 b3:2 || { DETAIL="configuration failed"; return 1; }
	st=$(run_udplb -j lb1 status "$DEV") || { DETAIL="status failed"; return 1; }
	if ! jq -e --arg m "$MODE" '.mode == $m and (.vips | length) == 1 and
		(.vips[0].backends | length) == 3 and ([.vips[0].backends[].weight] | sort) == [1, 1, 2]' \
		<<<"$st" >/dev/null; then
		DETAIL="status -j does not show mode $MODE, 1 VIP, 3 backends with weights 1,1,2: $st"
		return 1
	fi
	why=$(attach_check lb1) || { DETAIL="$why"; return 1; }
	client_run "$out" --flows 400 --rate 4000 --duration 1 || { DETAIL="client failed"; return 1; }
	why=$(client_ok "$out") || { DETAIL="$why; $(client_brief "$out")"; return 1; }
	# Flows per backend: expected 100, 100, 200 of 400 (3 sigma is about +-26).
	read -r n1 n2 n3 total < <(jq -r '[.flows[].backend] as $f |
		"\([$f[] | select(. == "b1")] | length) \([$f[] | select(. == "b2")] | length) " +
		"\([$f[] | select(. == "b3")] | length) \($f | length)"' "$out")
	DETAIL="$(client_brief "$out"); flows per backend (weights 1,1,2): b1=$n1 b2=$n2 b3=$n3"
	if [ "$n1" -lt 60 ] || [ "$n1" -gt 140 ] || [ "$n2" -lt 60 ] || [ "$n2" -gt 140 ] ||
		[ "$n3" -lt 140 ] || [ "$n3" -gt 260 ] || [ $((n1 + n2 + n3)) -ne "$total" ]; then
		DETAIL="$DETAIL: not within +-40% of 100,100,200"
		return 1
	fi
	[ "$(jqf "$out" .flows_changed)" = 0 ] || { DETAIL="$DETAIL: flows changed backend"; return 1; }
	run_udplb_quiet -j lb1 stats "$DEV" || { DETAIL="$DETAIL; stats failed"; return 1; }
	return 0
}

# A flow keeps its backend when a backend is added; new flows do use the new one.
scen_keep()
{
	local out=$SCEN_DIR/client.json out2=$SCEN_DIR/client-new.json why b3 b3new
	fresh_lb || { DETAIL="load failed"; return 1; }
	config lb1 dsr b1 b2 || { DETAIL="configuration failed"; return 1; }
	client_start "$out" --flows 64 --rate 3000 --duration 3
	sleep 1.2
	run_udplb_quiet lb1 backend add "$DEV" "$VIPP" "${IP[b3]}" --mac "${MAC[b3]}" ||
		{ DETAIL="backend add failed"; client_wait; return 1; }
	client_wait
	client_run "$out2" --flows 64 --rate 3000 --duration 0.3
	why=$(client_ok "$out") || { DETAIL="$why; $(client_brief "$out")"; return 1; }
	b3=$(jqf "$out" '.backends.b3 // 0')
	b3new=$(jqf "$out2" '.backends.b3 // 0')
	DETAIL="existing flows: $(client_brief "$out"); new flows: $(client_brief "$out2")"
	if [ "$(jqf "$out" .flows_changed)" != 0 ] || [ "$b3" != 0 ]; then
		DETAIL="$DETAIL: existing flows moved ($(jqf "$out" .flows_changed) changed, $b3 to b3)"
		return 1
	fi
	why=$(client_ok "$out2") || { DETAIL="$DETAIL; new flows: $why"; return 1; }
	[ "$b3new" -gt 0 ] || { DETAIL="$DETAIL: no new flow went to the added backend"; return 1; }
	return 0
}

# Under continuous traffic, 100 x (backend del; backend add), rotating over the backends: no
# datagram lost, none sent after a del returned answered by the removed backend.
scen_churn()
{
	local out=$SCEN_DIR/client.json log=$SCEN_DIR/client.log why i b fails=0 mis t0 t1 ms
	EVENTS=$SCEN_DIR/events
	: >"$EVENTS"
	fresh_lb || { DETAIL="load failed"; return 1; }
	config lb1 dsr b1 b2 b3 || { DETAIL="configuration failed"; return 1; }
	client_start "$out" --flows 64 --rate 4000 --duration 60 --log "$log"
	sleep 0.5
	t0=$(now_ns)
	for i in $(seq 0 99); do
		b=${E2E_BACKENDS[i % 3]}
		timed del "$b" backend del "$DEV" "$VIPP" "${IP[$b]}" || fails=$((fails + 1))
		timed add "$b" backend add "$DEV" "$VIPP" "${IP[$b]}" --mac "${MAC[$b]}" ||
			fails=$((fails + 1))
	done
	t1=$(now_ns)
	sleep 0.5
	kill -TERM "$CLIENT_PID" 2>/dev/null
	client_wait
	ms=$(awk '$1 == "del" { s += $4 - $3; n++ } END { printf "%.1f", n ? s / n / 1e6 : 0 }' \
		"$EVENTS")
	mis=$(misrouted "$EVENTS" "$log")
	CHURN_RESULT="$MODE: $(jqf "$out" .sent) sent, $(jqf "$out" .lost) lost, $mis misrouted"
	DETAIL="200 commands in $(((t1 - t0) / 1000000)) ms (del avg $ms ms), $fails failed; "
	DETAIL+="$(client_brief "$out"); misrouted after del: $mis"
	why=$(client_ok "$out") || { DETAIL="$DETAIL; $why"; return 1; }
	[ "$fails" = 0 ] || { DETAIL="$DETAIL; udplb commands failed"; return 1; }
	[ "$mis" = 0 ] || return 1
	return 0
}

# backend drain: existing flows stay on the drained backend, new flows avoid it; then backend
# del moves its flows away without loss, and nothing sent after the del reaches it.
scen_drain()
{
	local out=$SCEN_DIR/client.json log=$SCEN_DIR/client.log out2=$SCEN_DIR/client-new.json
	local why n_b1 d_end del_end after_drain after_del new_b1 st
	EVENTS=$SCEN_DIR/events
	: >"$EVENTS"
	fresh_lb || { DETAIL="load failed"; return 1; }
	config lb1 dsr b1 b2 b3 || { DETAIL="configuration failed"; return 1; }
	client_start "$out" --flows 96 --rate 3000 --duration 4 --log "$log"
	sleep 1
	timed drain b1 backend drain "$DEV" "$VIPP" "${IP[b1]}" ||
		{ DETAIL="backend drain failed"; client_wait; return 1; }
	d_end=$(awk '$1 == "drain" { print $4 }' "$EVENTS")
	client_run "$out2" --flows 96 --rate 3000 --duration 0.3
	st=$(run_udplb -j lb1 status "$DEV")
	sleep 0.5
	timed del b1 backend del "$DEV" "$VIPP" "${IP[b1]}" ||
		{ DETAIL="backend del failed"; client_wait; return 1; }
	del_end=$(awk '$1 == "del" { print $4 }' "$EVENTS")
	client_wait
	n_b1=$(jq '[.flows[] | select(.backend == "b1")] | length' "$out")
	after_drain=$(count_between "$log" b1 "$d_end" "$del_end")
	after_del=$(misrouted "$EVENTS" "$log")
	new_b1=$(jqf "$out2" '.backends.b1 // 0')
	DETAIL="$n_b1 flows on b1; after drain: $after_drain datagrams still to b1, new flows to b1: "
	DETAIL+="$new_b1; after del: $after_del to b1; $(client_brief "$out")"
	why=$(client_ok "$out") || { DETAIL="$DETAIL; $why"; return 1; }
	why=$(client_ok "$out2") || { DETAIL="$DETAIL; new flows: $why"; return 1; }
	if ! jq -e --arg a "${IP[b1]}" '.vips[0].backends[] | select(.backend == $a or .addr == $a) |
		.state == "draining"' <<<"$st" >/dev/null; then
		DETAIL="$DETAIL; status does not show b1 draining"
		return 1
	fi
	[ "$n_b1" -gt 0 ] || { DETAIL="$DETAIL; no flow on b1 to begin with"; return 1; }
	[ "$after_drain" -gt 0 ] || { DETAIL="$DETAIL; existing flows left the drained b1"; return 1; }
	[ "$new_b1" = 0 ] || { DETAIL="$DETAIL; new flows went to the drained b1"; return 1; }
	[ "$after_del" = 0 ] || return 1
	# Flows of b1 changed once (b1 -> other at the del); no other flow changed.
	if ! jq -e '[.flows[] | select(.backend != "b1" and .changes > 0)] | length == 0' "$out" \
		>/dev/null; then
		DETAIL="$DETAIL; flows not on b1 changed backend"
		return 1
	fi
	return 0
}

# load again (upgrade) under traffic: no loss, conntrack kept. Flows are pinned by conntrack
# first (b3 added after they started, so some of their ring slots moved to b3): if the upgrade
# lost the conntrack, those flows would move to b3.
scen_upgrade()
{
	local out=$SCEN_DIR/client.json why st1 st2 p1 p2 g1 g2 rc
	fresh_lb || { DETAIL="load failed"; return 1; }
	config lb1 dsr b1 b2 || { DETAIL="configuration failed"; return 1; }
	client_start "$out" --flows 64 --rate 4000 --duration 4
	sleep 1
	run_udplb_quiet lb1 backend add "$DEV" "$VIPP" "${IP[b3]}" --mac "${MAC[b3]}" ||
		{ DETAIL="backend add failed"; client_wait; return 1; }
	st1=$(run_udplb -j lb1 status "$DEV")
	sleep 1
	udplb_load lb1 "$MODE" --hash-seed "$SEED"
	rc=$?
	st2=$(run_udplb -j lb1 status "$DEV")
	client_wait
	p1=$(jq -r .prog_id <<<"$st1")
	p2=$(jq -r .prog_id <<<"$st2")
	g1=$(jq -r .generation <<<"$st1")
	g2=$(jq -r .generation <<<"$st2")
	UPGRADE_RESULT="$MODE: $(jqf "$out" .sent) sent, $(jqf "$out" .lost) lost, "
	UPGRADE_RESULT+="$(jqf "$out" .flows_changed) flows changed backend"
	DETAIL="load exit $rc, prog_id $p1 -> $p2, generation $g1 -> $g2; $(client_brief "$out")"
	[ "$rc" = 0 ] || { DETAIL="$DETAIL; second load failed"; return 1; }
	why=$(client_ok "$out") || { DETAIL="$DETAIL; $why"; return 1; }
	if [ "$(jqf "$out" .flows_changed)" != 0 ] || [ "$(jqf "$out" '.backends.b3 // 0')" != 0 ]; then
		DETAIL="$DETAIL; flows changed backend: conntrack lost"
		return 1
	fi
	if ! jq -e '(.vips | length) == 1 and (.vips[0].backends | length) == 3' <<<"$st2" \
		>/dev/null; then
		DETAIL="$DETAIL; configuration not kept: $st2"
		return 1
	fi
	return 0
}

# kill -9 of an apply paused just before its flip: traffic continues on the previous
# configuration, and the next apply succeeds.
scen_kill9()
{
	local out=$SCEN_DIR/client.json log=$SCEN_DIR/client.log file=$SCEN_DIR/new.conf
	local why pid rc st a_start a_end early late bad_early bad_late i
	EVENTS=$SCEN_DIR/events
	: >"$EVENTS"
	[ -x "$UDPLB_TEST" ] || { DETAIL="missing $UDPLB_TEST (make builds it)"; return 1; }
	fresh_lb || { DETAIL="load failed"; return 1; }
	config lb1 dsr b1 b2 || { DETAIL="configuration failed"; return 1; }
	cat >"$file" <<-EOF
		# kill9 scenario: only b3
		hash-seed $SEED
		vip $VIPP fwd dsr
		backend ${IP[b3]} mac ${MAC[b3]}
	EOF
	client_start "$out" --flows 64 --rate 3000 --duration 5 --log "$log"
	sleep 0.8
	e2e_log "\$ UDPLB_TEST_PAUSE_BEFORE_FLIP=30 udplb-test -n ${NS[lb1]} apply $DEV -f $file &"
	UDPLB_TEST_PAUSE_BEFORE_FLIP=30 "$UDPLB_TEST" -n "${NS[lb1]}" apply "$DEV" -f "$file" \
		>"$SCEN_DIR/apply.out" 2>&1 &
	pid=$!
	e2e_track_pid "$pid"
	# Until it says it is pausing (or 5 s), plus a little: then it is surely in the pause.
	for i in $(seq 50); do
		grep -q -i paus "$SCEN_DIR/apply.out" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	sleep 0.3
	cat "$SCEN_DIR/apply.out" >>"$E2E_CMDLOG"
	st=$(timeout 10 "$UDPLB" -j -n "${NS[lb1]}" status "$DEV" 2>>"$E2E_CMDLOG")
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid"
		rc=$?
		e2e_untrack_pid "$pid"
		client_wait
		DETAIL="the paused apply exited (status $rc) before kill -9: UDPLB_TEST_PAUSE_BEFORE_FLIP not honoured?"
		return 1
	fi
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	e2e_untrack_pid "$pid"
	e2e_log "(killed apply $pid with SIGKILL)"
	sleep 1
	timed apply - apply "$DEV" -f "$file"
	rc=$?
	client_wait
	read -r a_start a_end < <(awk '$1 == "apply" { print $3, $4 }' "$EVENTS")
	early=$(backends_between "$log" 0 "$a_start")
	late=$(backends_between "$log" "$a_end" 1e30)
	bad_early=$(awk -v t="$a_start" '$2 < t && $4 == "b3" { n++ } END { print n + 0 }' "$log")
	bad_late=$(awk -v t="$a_end" '$2 > t && $4 != "b3" { n++ } END { print n + 0 }' "$log")
	DETAIL="status while paused: $(jq -c '[.vips[0].backends[] | (.backend // .addr)]' <<<"$st" \
		2>/dev/null); apply after kill: exit $rc; before it: $early, after it: $late; "
	DETAIL+="$(client_brief "$out")"
	why=$(client_ok "$out") || { DETAIL="$DETAIL; $why"; return 1; }
	if ! jq -e --arg a "${IP[b1]}" --arg b "${IP[b2]}" \
		'[.vips[0].backends[] | (.backend // .addr)] | sort == ([$a, $b] | sort)' \
		<<<"$st" >/dev/null 2>&1; then
		DETAIL="$DETAIL; status during the paused apply is not the previous configuration"
		return 1
	fi
	[ "$bad_early" = 0 ] || {
		DETAIL="$DETAIL; $bad_early datagrams reached b3 before the second apply"
		return 1
	}
	[ "$rc" = 0 ] || { DETAIL="$DETAIL; apply after the kill failed"; return 1; }
	[ "$bad_late" = 0 ] || {
		DETAIL="$DETAIL; $bad_late datagrams sent after the apply did not go to b3"
		return 1
	}
	return 0
}

# Two LBs with the same configuration (given in different orders) pick the same backend for the
# same flow.
scen_determinism()
{
	local o1=$SCEN_DIR/via-lb1.json o2=$SCEN_DIR/via-lb2.json why diff s1 s2 h1 h2
	# Default hash seeds: two nodes set up alike must agree without extra options.
	fresh_lb || { DETAIL="load failed"; return 1; }
	if ! udplb_unload lb1 || ! udplb_load lb1 "$MODE"; then
		DETAIL="load on lb1 failed"
		return 1
	fi
	udplb_load lb2 "$MODE" || { DETAIL="load on lb2 failed"; return 1; }
	config lb1 dsr b1 b2 b3 || { DETAIL="configuration of lb1 failed"; return 1; }
	config lb2 dsr b3 b1 b2 || { DETAIL="configuration of lb2 failed"; return 1; }
	client_via lb1
	client_run "$o1" --flows 256 --sport-base 41000 --rate 4000 --duration 0.5
	client_via lb2
	client_run "$o2" --flows 256 --sport-base 41000 --rate 4000 --duration 0.5
	client_via lb1
	s2=$(run_udplb -j lb2 stats "$DEV" | jq '.reasons.forwarded // 0')
	s1=$(run_udplb -j lb1 stats "$DEV" | jq '.reasons.forwarded // 0')
	h1=$(run_udplb -j lb1 status "$DEV" | jq .hash_seed)
	h2=$(run_udplb -j lb2 status "$DEV" | jq .hash_seed)
	diff=$(jq -n --slurpfile a "$o1" --slurpfile b "$o2" \
		'[range(0; $a[0].flows | length) | select($a[0].flows[.].backend !=
		  $b[0].flows[.].backend)] | length')
	DETAIL="via lb1: $(client_brief "$o1"); via lb2: $(client_brief "$o2"); forwarded by "
	DETAIL+="lb1 $s1, lb2 $s2; default hash seeds $h1, $h2; flows with different backends: "
	DETAIL+="$diff of 256"
	why=$(client_ok "$o1") || { DETAIL="$DETAIL; via lb1: $why"; return 1; }
	why=$(client_ok "$o2") || { DETAIL="$DETAIL; via lb2: $why"; return 1; }
	if [ "$s1" = 0 ] || [ "$s2" = 0 ]; then
		DETAIL="$DETAIL; an LB forwarded nothing"
		return 1
	fi
	[ "$diff" = 0 ]
}

# IP-in-IP forwarding: the backends decapsulate; replies still come from VIP:PORT.
scen_ipip()
{
	local out=$SCEN_DIR/client.json why r before=() after n=0 decap=0
	fresh_lb || { DETAIL="load failed"; return 1; }
	config lb1 ipip b1 b2 b3 || { DETAIL="configuration failed"; return 1; }
	for r in "${E2E_BACKENDS[@]}"; do
		before+=("$(ipip_rx_count "$r")")
	done
	client_run "$out" --flows 64 --rate 3000 --duration 1
	for r in "${E2E_BACKENDS[@]}"; do
		after=$(ipip_rx_count "$r")
		decap=$((decap + after - before[n]))
		n=$((n + 1))
	done
	DETAIL="$(client_brief "$out"); decapsulated by the backends ($E2E_IPIP_KIND): $decap"
	why=$(client_ok "$out") || { DETAIL="$DETAIL; $why"; return 1; }
	[ "$decap" -ge "$(jqf "$out" .sent)" ] || {
		DETAIL="$DETAIL; fewer packets decapsulated than sent: not IPIP?"
		return 1
	}
	[ "$(jqf "$out" '.backends | length')" -ge 2 ] || {
		DETAIL="$DETAIL; fewer than 2 backends used"
		return 1
	}
	return 0
}

# Backends without --mac: the data plane resolves them with bpf_fib_lookup (neighbours known).
scen_fib()
{
	local out=$SCEN_DIR/client.json why r
	fresh_lb || { DETAIL="load failed"; return 1; }
	run_udplb_quiet lb1 vip add "$DEV" "$VIPP" || { DETAIL="vip add failed"; return 1; }
	for r in "${E2E_BACKENDS[@]}"; do
		nsx lb1 ping -c 1 -W 2 -q "${IP[$r]}" >/dev/null
		run_udplb_quiet lb1 backend add "$DEV" "$VIPP" "${IP[$r]}" ||
			{ DETAIL="backend add failed"; return 1; }
	done
	client_run "$out" --flows 64 --rate 3000 --duration 1
	DETAIL="$(client_brief "$out")"
	why=$(client_ok "$out") || { DETAIL="$DETAIL; $why"; return 1; }
	return 0
}

# expect_rc WANT CMD...: run a udplb command (run_udplb_quiet arguments), check its exit status.
expect_rc()
{
	local want=$1 rc
	shift
	run_udplb_quiet "$@"
	rc=$?
	[ "$rc" = "$want" ] && return 0
	CLI_BAD+="'udplb $*' exited $rc, not $want; "
	return 1
}

# Strict values, refused before anything is changed (no kernel state for a refused load).
cli_parsing()
{
	local file=$SCEN_DIR/bad.conf err
	expect_rc 2 lb1 vip add "$DEV" "$VIP:053"
	expect_rc 2 lb1 vip add "$DEV" "$VIPP" --ring-size 0
	expect_rc 2 lb1 vip add "$DEV" "127.0.0.1:$VPORT"
	expect_rc 2 lb1 backend add "$DEV" "$VIPP" "${IP[b1]}" --mac ff:ff:ff:ff:ff:ff
	expect_rc 2 lb1 backend add "$DEV" "$VIPP" "${IP[b1]}" --mac -1:-1:-1:-1:-1:-1
	expect_rc 2 lb1 backend add "$DEV" "$VIPP" "${IP[b1]}" --weight 0x10
	expect_rc 2 lb1 pool set "$DEV" 200 " -1"
	expect_rc 2 lb2 load "$DEV" --mode "$MODE" --hash-seed 0x10
	if [ -e "/sys/fs/bpf/udplb/ns$(stat -L -c %i "/run/netns/${NS[lb2]}")/$DEV" ]; then
		CLI_BAD+="load with a bad --hash-seed left pins behind; "
	fi
	printf 'vip %s fwd\n' "$VIPP" >"$file"
	expect_rc 1 lb1 apply "$DEV" -f "$file"
	err=$("$UDPLB" -n "${NS[lb1]}" apply "$DEV" -f "$file" 2>&1)
	[[ "$err" == *"$file:1:"*"missing value for fwd"* ]] ||
		CLI_BAD+="apply 'vip A:P fwd' says '$err'; "
	printf 'hash-seed abc\n' >"$file"
	err=$("$UDPLB" -n "${NS[lb1]}" apply "$DEV" -f "$file" 2>&1)
	[[ "$err" == *"$file:1: hash-seed: 'abc'"* ]] || CLI_BAD+="apply 'hash-seed abc' says '$err'; "
}

# -j: every error is one JSON object on stdout, exit codes unchanged. Per-object help.
cli_json_help()
{
	local out rc o
	out=$("$UDPLB" -j -n "${NS[lb1]}" vip add "$DEV" bogus 2>/dev/null)
	rc=$?
	[ "$rc" = 2 ] && jq -e '.error | test("bogus")' <<<"$out" >/dev/null 2>&1 ||
		CLI_BAD+="-j usage error: rc $rc, stdout '$out'; "
	out=$("$UDPLB" -j -n "${NS[lb2]}" status "$DEV" 2>/dev/null)
	rc=$?
	[ "$rc" = 1 ] && jq -e '.error | length > 0' <<<"$out" >/dev/null 2>&1 ||
		CLI_BAD+="-j runtime error: rc $rc, stdout '$out'; "
	for o in "-j frobnicate" "--bogus -j" "-j vip"; do
		# shellcheck disable=SC2086 # two words on purpose
		out=$("$UDPLB" $o 2>/dev/null)
		rc=$?
		[ "$rc" = 2 ] && jq -e .error <<<"$out" >/dev/null 2>&1 ||
			CLI_BAD+="'udplb $o': rc $rc, stdout '$out'; "
	done
	for o in vip backend pool; do
		out=$("$UDPLB" "$o" --help 2>&1) && [[ "$out" == *"udplb [-j] [-n NETNS] $o add"* ||
			"$out" == *"$o get"* ]] || CLI_BAD+="'udplb $o --help' failed: '$out'; "
		"$UDPLB" "$o" help >/dev/null 2>&1 || CLI_BAD+="'udplb $o help' failed; "
	done
}

# vip set changes fwd, hash and flags in one flip; status shows them; backends stay.
cli_vip_set()
{
	local st g1 g2 file=$SCEN_DIR/dry.conf
	run_udplb_quiet lb1 vip add "$DEV" "$VIPP" || { CLI_BAD+="vip add (vip set) failed; "; return; }
	run_udplb_quiet lb1 backend add "$DEV" "$VIPP" "${IP[b1]}" --mac "${MAC[b1]}"
	g1=$(run_udplb -j lb1 status "$DEV" | jq .generation)
	expect_rc 0 lb1 vip set "$DEV" "$VIPP" --hash src-ip --flags drop-frags,drop-invalid
	st=$(run_udplb -j lb1 status "$DEV")
	g2=$(jq .generation <<<"$st")
	jq -e '.vips[0] | .hash == "src-ip" and .flags == "drop-frags,drop-invalid" and
		.fwd == "dsr" and (.backends | length) == 1' <<<"$st" >/dev/null 2>&1 ||
		CLI_BAD+="vip set: status $(jq -c '.vips[0]' <<<"$st"); "
	[ "$g2" = $((g1 + 1)) ] || CLI_BAD+="vip set: generation $g1 -> $g2, not one flip; "
	expect_rc 2 lb1 vip set "$DEV" "$VIPP"
	expect_rc 1 lb1 vip set "$DEV" "10.99.0.1:$VPORT" --fwd ipip
	printf 'vip %s fwd ipip flags none\nbackend %s mac %s\n' "$VIPP" "${IP[b1]}" "${MAC[b1]}" >"$file"
	st=$(run_udplb -j lb1 apply "$DEV" -f "$file" --dry-run)
	jq -e '.[0] | .op == "change" and .object == "vip" and .before.fwd == "dsr" and
		.after.fwd == "ipip" and .before.flags == "drop-frags,drop-invalid" and
		.after.flags == "none"' <<<"$st" >/dev/null 2>&1 ||
		CLI_BAD+="apply --dry-run -j: '$(jq -c . <<<"$st" 2>/dev/null || echo "$st")'; "
	expect_rc 0 lb1 vip del "$DEV" "$VIPP"
}

# backend set takes any number of backends (it stopped at 62).
cli_many_backends()
{
	local file=$SCEN_DIR/many.conf vip=10.99.0.2:$VPORT i addrs=() n
	printf 'vip %s ring-size 251\n' "$vip" >"$file"
	for i in $(seq 1 100); do
		addrs+=("10.98.$((i / 200)).$((i % 200 + 1))")
		printf 'backend %s mac 02:00:00:00:%02x:%02x\n' "${addrs[-1]}" $((i / 256)) $((i % 256)) >>"$file"
	done
	expect_rc 0 lb1 apply "$DEV" -f "$file"
	expect_rc 0 lb1 backend set "$DEV" "$vip" "${addrs[@]}"
	expect_rc 0 lb1 backend set "$DEV" "$vip" "${addrs[@]:0:70}"
	n=$(run_udplb -j lb1 status "$DEV" | jq '[.vips[] | select(.port == '"$VPORT"') | .backends | length] | add')
	[ "$n" = 70 ] || CLI_BAD+="backend set of 70 of 100: status shows $n backends; "
	expect_rc 0 lb1 vip del "$DEV" "$vip"
}

# apply --dry-run sends nothing: a backend without a MAC is not resolved (that sends a datagram
# and waits up to 1.5 s), so no neighbour entry appears for it.
cli_dry_run_quiet()
{
	local file=$SCEN_DIR/quiet.conf addr=10.77.0.99 t0 t1 n
	printf 'vip %s\nbackend %s\n' "$VIPP" "$addr" >"$file"
	t0=$(date +%s%N)
	expect_rc 0 lb1 apply "$DEV" -f "$file" --dry-run
	t1=$(date +%s%N)
	n=$(ip -n "${NS[lb1]}" neigh show to "$addr" | wc -l)
	[ "$n" = 0 ] || CLI_BAD+="apply --dry-run created a neighbour entry for $addr; "
	[ $(((t1 - t0) / 1000000)) -lt 1000 ] ||
		CLI_BAD+="apply --dry-run took $(((t1 - t0) / 1000000)) ms (resolving a MAC?); "
}

# stats --watch ends at once on SIGINT, however long its interval.
cli_watch_sigint()
{
	local pid t0 t1 i
	"$UDPLB" -n "${NS[lb1]}" stats "$DEV" --watch 30 >/dev/null 2>>"$E2E_CMDLOG" &
	pid=$!
	sleep 0.3
	t0=$(date +%s%N)
	kill -INT "$pid"
	for i in $(seq 1 40); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	t1=$(date +%s%N)
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		CLI_BAD+="stats --watch 30 still running 2 s after SIGINT; "
	fi
	wait "$pid" 2>/dev/null
	e2e_log "stats --watch exited $(((t1 - t0) / 1000000)) ms after SIGINT"
}

# The production CLI has no test hooks: UDPLB_TEST_PAUSE_BEFORE_FLIP (honoured by the test build,
# build/tests/udplb-test, see kill9) must not pause a writer of build/udplb.
cli_no_test_hooks()
{
	local err t0 t1 rc
	t0=$(date +%s%N)
	err=$(UDPLB_TEST_PAUSE_BEFORE_FLIP=30 timeout 20 "$UDPLB" -n "${NS[lb1]}" vip add "$DEV" \
		"$VIPP" 2>&1)
	rc=$?
	t1=$(date +%s%N)
	e2e_log "UDPLB_TEST_PAUSE_BEFORE_FLIP=30 udplb vip add: exit $rc after $(((t1 - t0) / 1000000)) ms: $err"
	[ "$rc" = 0 ] && [ $(((t1 - t0) / 1000000)) -lt 5000 ] && [[ "$err" != *[Pp]aus* ]] ||
		CLI_BAD+="build/udplb honours UDPLB_TEST_PAUSE_BEFORE_FLIP (exit $rc, '$err'); "
	expect_rc 0 lb1 vip del "$DEV" "$VIPP"
}

# The rest of the command line: exit codes, backend set, apply --dry-run, the pool and its kill
# switch as seen by the data plane, and udplb under `ip netns exec` (which hides the host bpffs).
scen_cli()
{
	local out=$SCEN_DIR/client.json file=$SCEN_DIR/dry.conf why r g1 g2 st v ks rc xdp tcp silent
	CLI_BAD=
	fresh_lb || { DETAIL="load failed"; return 1; }
	run_udplb_quiet lb1 vip add "$DEV" "$VIPP" || { DETAIL="vip add failed"; return 1; }
	expect_rc 2 lb1 backend add "$DEV" "$VIPP" not-an-address
	expect_rc 1 lb1 vip add "$DEV" "$VIPP"
	expect_rc 1 lb1 backend del "$DEV" "$VIPP" 10.77.0.99
	expect_rc 2 lb1 frobnicate "$DEV"
	expect_rc 1 lb2 status "$DEV"
	for r in b1 b2; do
		nsx lb1 ping -c 1 -W 2 -q "${IP[$r]}" >/dev/null
	done
	expect_rc 0 lb1 backend set "$DEV" "$VIPP" "${IP[b1]}" "${IP[b2]}"
	st=$(run_udplb -j lb1 status "$DEV")
	if ! jq -e --arg a "${IP[b1]}" --arg b "${IP[b2]}" \
		'[.vips[0].backends[] | (.backend // .addr)] | sort == ([$a, $b] | sort)' \
		<<<"$st" >/dev/null 2>&1; then
		CLI_BAD+="backend set: status shows $(jq -c .vips <<<"$st"); "
	fi
	g1=$(jq .generation <<<"$st")
	printf 'vip %s\nbackend %s mac %s\n' "$VIPP" "${IP[b3]}" "${MAC[b3]}" >"$file"
	expect_rc 0 lb1 apply "$DEV" -f "$file" --dry-run
	g2=$(run_udplb -j lb1 status "$DEV" | jq .generation)
	[ "$g1" = "$g2" ] || CLI_BAD+="apply --dry-run changed the generation $g1 -> $g2; "
	# A dry run sends nothing: a backend without a MAC on an unknown neighbour is not probed
	# (a datagram would leave an INCOMPLETE/FAILED neighbour entry behind).
	silent=${IP[b1]%.*}.213
	printf 'vip %s\nbackend %s\n' "$VIPP" "$silent" >"$file"
	expect_rc 0 lb1 apply "$DEV" -f "$file" --dry-run
	[ -z "$(ip -n "${NS[lb1]}" neigh show "$silent")" ] ||
		CLI_BAD+="apply --dry-run probed $silent: $(ip -n "${NS[lb1]}" neigh show "$silent"); "
	client_run "$out" --flows 32 --rate 2000 --duration 0.5
	why=$(client_ok "$out") || CLI_BAD+="traffic after backend set: $why; "
	[ "$(jqf "$out" '.backends.b3 // 0')" = 0 ] || CLI_BAD+="traffic reached b3 after set b1 b2; "

	expect_rc 0 lb1 pool set "$DEV" 200 7
	v=$(run_udplb -j lb1 pool get "$DEV" 200 | jq .value)
	[ "$v" = 7 ] || CLI_BAD+="pool get 200 after set 7: '$v'; "
	expect_rc 0 lb1 pool set "$DEV" 0 1
	client_run "$out" --flows 8 --rate 1000 --duration 0.3 --drain 200
	ks=$(run_udplb -j lb1 stats "$DEV" | jq '.reasons.kill_switch // 0')
	[ "$(jqf "$out" .received)" = 0 ] && [ "$ks" -gt 0 ] ||
		CLI_BAD+="kill switch on: $(jqf "$out" .received) replies, kill_switch count $ks; "
	expect_rc 0 lb1 pool set "$DEV" 0 0
	client_run "$out" --flows 8 --rate 1000 --duration 0.3
	why=$(client_ok "$out") || CLI_BAD+="kill switch off again: $why; "

	expect_rc 0 lb1 vip del "$DEV" "$VIPP"
	v=$(run_udplb -j lb1 status "$DEV" | jq '.vips | length')
	[ "$v" = 0 ] || CLI_BAD+="vip del: status still lists $v VIP(s); "
	# load -j (over the running instance) prints JSON.
	v=$(run_udplb -j lb1 load "$DEV" --mode "$MODE" | jq -r .mode 2>/dev/null)
	[ "$v" = "$MODE" ] || CLI_BAD+="'udplb -j load' did not print JSON with mode $MODE ('$v'); "

	# Under ip netns exec: refuse, or work with pins the next command can see. Never an
	# attached program whose pins vanished with ip's private mount namespace.
	e2e_log "\$ ip netns exec ${NS[lb2]} udplb load $DEV --mode $MODE"
	ip netns exec "${NS[lb2]}" "$UDPLB" load "$DEV" --mode "$MODE" >>"$E2E_CMDLOG" 2>&1
	rc=$?
	e2e_log "(exit $rc)"
	if [ "$rc" = 0 ]; then
		E2E_LOADED+=(lb2)
		if ! run_udplb_quiet lb2 status "$DEV"; then
			CLI_BAD+="'ip netns exec NS udplb load' exited 0, but its pins vanished with ip's private mount namespace: 'udplb -n NS status' finds none, so the attached program cannot be configured (only unloaded); "
		fi
	fi
	xdp=$(ip -n "${NS[lb2]}" -j -d link show "$DEV" | jq -r '.[0].xdp.mode // 0')
	tcp=$(tc -n "${NS[lb2]}" -j filter show dev "$DEV" ingress | jq -r 'map(.options.prog.name // empty) | join(",")')
	if ! run_udplb_quiet lb2 unload "$DEV"; then
		# Detach what the lost instance left, so the next scenarios start clean.
		ip -n "${NS[lb2]}" link set dev "$DEV" xdp off 2>/dev/null
		tc -n "${NS[lb2]}" qdisc del dev "$DEV" clsact 2>/dev/null
		if [ "$rc" != 0 ] && { [ "$xdp" != 0 ] || [ -n "$tcp" ]; }; then
			CLI_BAD+="'ip netns exec NS udplb load' failed but left a program attached; "
		fi
	fi
	E2E_LOADED=(lb1)

	cli_parsing
	cli_json_help
	cli_vip_set
	cli_many_backends
	cli_watch_sigint
	cli_dry_run_quiet
	cli_no_test_hooks

	DETAIL="exit codes, backend set, apply --dry-run, pool, kill switch, ip netns exec, strict values, JSON errors, help, vip set, 100-backend set, stats --watch, no test hooks"
	[ -z "$CLI_BAD" ] && return 0
	DETAIL="$CLI_BAD"
	return 1
}

# status -j without what differs between instances of one configuration (ids, times, program).
status_tables()
{
	run_udplb -j lb1 status "$DEV" |
		jq -S 'del(.prog_id, .last_commit, .generation, .ipip_src) |
			.vips |= map(del(.id) | .backends |= map(del(.id)))'
}

# udplb save prints what apply reads: applying it changes nothing (no flip), and on a fresh
# instance it reproduces the same tables.
scen_save()
{
	local file=$SCEN_DIR/saved.conf again=$SCEN_DIR/saved2.conf out=$SCEN_DIR/client.json
	local g1 g2 s1 s2 why bad=
	fresh_lb || { DETAIL="load failed"; return 1; }
	run_udplb_quiet lb1 vip add "$DEV" "$VIPP" --flags drop-frags &&
		run_udplb_quiet lb1 backend add "$DEV" "$VIPP" "${IP[b1]}" --mac "${MAC[b1]}" --weight 3 &&
		run_udplb_quiet lb1 backend add "$DEV" "$VIPP" "${IP[b2]}" --mac "${MAC[b2]}" &&
		run_udplb_quiet lb1 backend add "$DEV" "$VIPP" "${IP[b3]}" --mac "${MAC[b3]}" &&
		run_udplb_quiet lb1 backend drain "$DEV" "$VIPP" "${IP[b3]}" &&
		run_udplb_quiet lb1 vip add "$DEV" "10.99.0.3:$VPORT" --fwd ipip --hash src-ip \
			--ring-size 251 --flags drop-invalid &&
		run_udplb_quiet lb1 backend add "$DEV" "10.99.0.3:$VPORT" "${IP[b2]}" ||
		{ DETAIL="configuration failed"; return 1; }
	run_udplb lb1 save "$DEV" >"$file" || { DETAIL="save failed"; return 1; }
	s1=$(status_tables)
	g1=$(run_udplb -j lb1 status "$DEV" | jq .generation)
	run_udplb_quiet lb1 apply "$DEV" -f "$file" || bad+="apply of the saved file failed; "
	g2=$(run_udplb -j lb1 status "$DEV" | jq .generation)
	[ "$g1" = "$g2" ] || bad+="apply of the saved file flipped ($g1 -> $g2); "
	run_udplb lb1 save "$DEV" >"$again"
	cmp -s "$file" "$again" || bad+="save after apply differs: $(diff "$file" "$again" | tr '\n' ' '); "

	# A fresh instance with another seed: the file brings the seed and the same tables.
	udplb_unload lb1 && udplb_load lb1 "$MODE" --hash-seed 1 || { DETAIL="reload failed"; return 1; }
	run_udplb_quiet lb1 apply "$DEV" -f "$file" || bad+="apply on a fresh instance failed; "
	s2=$(status_tables)
	[ "$s1" = "$s2" ] || bad+="fresh instance differs: $(diff <(echo "$s1") <(echo "$s2") | tr '\n' ' '); "
	client_run "$out" --flows 32 --rate 2000 --duration 0.5
	why=$(client_ok "$out") || bad+="traffic after apply on a fresh instance: $why; "

	DETAIL="save | apply: no flip on the same instance, same tables on a fresh one"
	[ -z "$bad" ] && return 0
	DETAIL=$bad
	return 1
}

# Hostile pins (issue 9): an unprivileged user creates pin directories before root does, a foreign
# map is pinned in place of udplb's, a pin is given away. Every command refuses with a message
# naming the path or the map (exit 1, never a crash), and nothing is attached or pinned inside a
# refused directory.
pins_expect_refusal()
{
	local what=$1 want=$2 out rc
	shift 2
	out=$(run_udplb lb1 "$@" 2>&1 >/dev/null)
	rc=$?
	tail -n 20 "$E2E_CMDLOG" | grep -q -- "$want" && [ "$rc" = 1 ] && return 0
	PINS_BAD+="$what: 'udplb $*' exited $rc without naming '$want'; "
	return 1
}

scen_pins()
{
	local own=/sys/fs/bpf/e2e-pins-$$ dir evil xdp
	PINS_BAD=
	fresh_lb || { DETAIL="load failed"; return 1; }
	dir=/sys/fs/bpf/udplb/ns$(stat -L -c %i "/run/netns/${NS[lb1]}")/$DEV
	udplb_unload lb1 || { DETAIL="unload failed"; return 1; }

	# A directory nobody but its creator may trust, above and at the pin directory.
	setpriv --reuid 65534 --regid 65534 --clear-groups mkdir "$own" "$own-dev" ||
		{ DETAIL="cannot create directories as nobody"; return 1; }
	pins_expect_refusal "foreign parent" "$own is owned by uid 65534" \
		load "$DEV" --mode "$MODE" --pin-dir "$own/inst"
	pins_expect_refusal "foreign DEV directory" "$own-dev is owned by uid 65534" \
		load "$DEV" --mode "$MODE" --pin-dir "$own-dev"
	[ -z "$(find "$own" "$own-dev" -mindepth 1)" ] || PINS_BAD+="something was pinned in a refused directory; "
	xdp=$(ip -n "${NS[lb1]}" -j -d link show "$DEV" | jq -r '.[0].xdp.mode // 0')
	[ "$xdp" = 0 ] || PINS_BAD+="a refused load left a program attached; "
	rmdir "$own" "$own-dev"

	# A foreign map in place of udplb's pool: refused by every command that opens the instance.
	udplb_load lb1 "$MODE" --hash-seed "$SEED" || { DETAIL="load failed"; return 1; }
	run_udplb_quiet lb1 vip add "$DEV" "$VIPP" || { DETAIL="vip add failed"; return 1; }
	evil=$dir/pool
	rm -f "$evil"
	bpftool map create "$evil" type array key 4 value 256 entries 1 name e2e_evil ||
		{ DETAIL="bpftool map create failed"; return 1; }
	pins_expect_refusal "foreign pool" "pool is not udplb's: value size is 256, expected 8" \
		pool get "$DEV" 0
	pins_expect_refusal "foreign pool (stats)" "value size is 256" stats "$DEV"
	pins_expect_refusal "foreign pool (load)" "value size is 256" load "$DEV" --mode "$MODE"
	# A pin given away to another user.
	rm -f "$evil"
	udplb_unload lb1 || { DETAIL="unload over a foreign pin failed"; return 1; }
	udplb_load lb1 "$MODE" --hash-seed "$SEED" || { DETAIL="load failed"; return 1; }
	chown 65534 "$dir/reasons"
	pins_expect_refusal "foreign-owned pin" "reasons is owned by uid 65534" status "$DEV"
	chown 0 "$dir/reasons"
	run_udplb_quiet lb1 status "$DEV" || PINS_BAD+="status fails once the pin is ours again; "

	DETAIL="foreign directories, a foreign map, a foreign-owned pin: refused and named"
	[ -z "$PINS_BAD" ] && return 0
	DETAIL="$PINS_BAD"
	return 1
}

# ---------------------------------------------------------------------------------------------
# udplbd (issue 10): the daemon health-checks the backends (udp_echo, a matching `check udp`)
# and keeps the ring in line with their health.
: "${UDPLBD:=$E2E_BUILD/udplbd}"
D_INTERVAL=200
D_TIMEOUT=100
D_FALL=3
D_RISE=2
D_TICK=100

# daemon_conf FILE [WEIGHT of b2]: the daemon's file for lb1.
daemon_conf()
{
	local b
	{
		echo "device $DEV mode $MODE"
		echo "hash-seed $SEED"
		echo "vip $VIPP fwd dsr"
		# "hi" -> "bN hi": the reply starts with 'b', any digit, ' ', 'h'
		echo "  check udp send 6869 expect 62XX2068 interval ${D_INTERVAL}ms" \
			"timeout ${D_TIMEOUT}ms rise $D_RISE fall $D_FALL"
		for b in "${E2E_BACKENDS[@]}"; do
			echo "  backend ${IP[$b]} weight $([ "$b" = b2 ] && echo "${2:-1}" || echo 1)" \
				"mac ${MAC[$b]}"
		done
	} >"$1"
}

# udplbd in lb1's network namespace (nsenter: only the netns, /sys/fs/bpf stays visible).
daemon_start()
{
	echo "--- udplbd started" >>"$SCEN_DIR/udplbd.log"
	nsenter --no-fork --net="/run/netns/${NS[lb1]}" "$UDPLBD" -f "$DCONF" 2>>"$SCEN_DIR/udplbd.log" &
	DAEMON_PID=$!
	e2e_track_pid "$DAEMON_PID"
}

d_generation()
{
	run_udplb -j lb1 status "$DEV" 2>/dev/null | jq -r '.generation // "none"'
}

# d_present ROLE: the backend is in the VIP's configuration.
d_present()
{
	run_udplb -j lb1 status "$DEV" 2>/dev/null |
		jq -e --arg a "${IP[$1]}" 'any(.vips[0].backends[]?; .addr == $a)' >/dev/null
}

d_generation_not()
{
	[ "$(d_generation)" != "$1" ]
}

d_all_present()
{
	d_present b1 && d_present b2 && d_present b3
}

d_absent()
{
	! d_present "$1"
}

# wait_until MS CMD...: poll CMD every 20 ms for up to MS ms; WAITED_NS: when it held.
wait_until()
{
	local end=$(($(now_ns) + $1 * 1000000))
	shift
	while [ "$(now_ns)" -lt "$end" ]; do
		if "$@"; then
			WAITED_NS=$(now_ns)
			return 0
		fi
		sleep 0.02
	done
	return 1
}

# The udp_echo process of a backend role.
echo_pid()
{
	local p
	for p in "${E2E_PIDS[@]}"; do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = udp_echo ] || continue
		[ "$(ip netns identify "$p" 2>/dev/null)" = "${NS[$1]}" ] && echo "$p" && return 0
	done
	return 1
}

# A backend's echo server stops under traffic and comes back; the daemon follows within its bounds.
daemon_outage()
{
	local out=$SCEN_DIR/client.json log=$SCEN_DIR/client.log pid t_stop t_gone t_start t_back
	local first lost_others bound why
	client_start "$out" --flows 64 --rate 2000 --duration 3.5 --log "$log"
	sleep 0.7
	pid=$(echo_pid b1) || { D_BAD+="no udp_echo of b1; "; client_wait; return 1; }
	t_stop=$(now_ns)
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null
	e2e_untrack_pid "$pid"
	wait_until 3000 d_absent b1 || D_BAD+="b1 was not removed within 3 s; "
	t_gone=$WAITED_NS
	sleep 0.4
	t_start=$(now_ns)
	echo_start b1
	wait_until 3000 d_present b1 || D_BAD+="b1 did not return within 3 s; "
	t_back=$WAITED_NS
	client_wait
	# When the data plane took b1 out: the first datagram of one of b1's flows sent after the
	# stop that another backend answered.
	first=$(awk -v t="$t_stop" 'FNR == NR { b1[$1] = 1; next }
		($3 in b1) && $4 != "b1" && $2 > t && (m == "" || $2 < m) { m = $2 }
		END { print m }' <(jq -r '.flows[] | select(.backend == "b1") | .flow' "$out") "$log")
	lost_others=$(jq '[.flows[] | select(.backend != "b1" and .sent != .received)] | length' "$out")
	bound=$((D_FALL * D_INTERVAL + D_TIMEOUT + D_TICK))
	D_DETECT_MS=$(((${first:-$t_gone} - t_stop) / 1000000))
	D_RETURN_MS=$(((t_back - t_start) / 1000000))
	DETAIL+="b1 stopped: out of the ring after $D_DETECT_MS ms (data plane; status saw it after "
	DETAIL+="$(((t_gone - t_stop) / 1000000)) ms; bound fall x interval + timeout + tick = $bound ms), "
	DETAIL+="back $D_RETURN_MS ms after its restart (rise $D_RISE x ${D_INTERVAL}ms); "
	DETAIL+="traffic: $(client_brief "$out"); "
	[ -n "$first" ] || D_BAD+="no flow of b1 moved to another backend; "
	# The bound, plus 100 ms for scheduling on a loaded shared machine.
	[ "$D_DETECT_MS" -le $((bound + 100)) ] || D_BAD+="detection $D_DETECT_MS ms > $bound ms; "
	[ "$lost_others" = 0 ] || D_BAD+="$lost_others flows of other backends lost datagrams; "
	why=$(jq -r '[(if .bad_source != 0 then "bad source" else empty end),
		(if .duplicates != 0 then "duplicates" else empty end),
		(if .send_errors != 0 then "send errors" else empty end)] | join(", ")' "$out")
	[ -z "$why" ] || D_BAD+="$why; "
}

# SIGHUP: an invalid file changes nothing, a valid changed one makes one flip.
daemon_reload()
{
	local g1 g2
	g1=$(d_generation)
	echo "  backend 10.77.0.99 bogus" >>"$DCONF"
	kill -HUP "$DAEMON_PID"
	sleep 0.5
	g2=$(d_generation)
	[ "$g1" = "$g2" ] || D_BAD+="invalid file: generation $g1 -> $g2; "
	kill -0 "$DAEMON_PID" 2>/dev/null || D_BAD+="invalid file: udplbd exited; "
	grep -q "udplbd.conf:[0-9]*: unknown backend option 'bogus'" "$SCEN_DIR/udplbd.log" ||
		D_BAD+="invalid file: no FILE:LINE error logged; "
	daemon_conf "$DCONF" 2
	kill -HUP "$DAEMON_PID"
	wait_until 2000 d_generation_not "$g1" || D_BAD+="valid file: no flip; "
	sleep 0.4
	g2=$(d_generation)
	[ "$g2" = $((g1 + 1)) ] || D_BAD+="valid file: generation $g1 -> $g2 (want one flip); "
	DETAIL+="SIGHUP: invalid file kept generation $g1, valid one flipped once; "
}

# SIGKILL, then the same file again: no flip, no health change.
daemon_restart()
{
	local g1 g2 from
	g1=$(d_generation)
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	e2e_untrack_pid "$DAEMON_PID"
	from=$(($(wc -l <"$SCEN_DIR/udplbd.log") + 1))
	daemon_start
	sleep 1.2
	g2=$(d_generation)
	[ "$g1" = "$g2" ] || D_BAD+="restart after SIGKILL: generation $g1 -> $g2; "
	if tail -n +"$from" "$SCEN_DIR/udplbd.log" | grep -q " is \(up\|down\) "; then
		D_BAD+="restart after SIGKILL: health changed: $(tail -n +"$from" "$SCEN_DIR/udplbd.log" |
			grep " is \(up\|down\) " | head -n 2 | tr '\n' ' '); "
	fi
	DETAIL+="SIGKILL + restart: generation $g1 -> $g2; "
}

# status and health show what the daemon keeps in its health map.
daemon_health_shown()
{
	local n t
	n=$(run_udplb -j lb1 status "$DEV" | jq '[.vips[0].backends[] | select(.health == "up")] | length')
	[ "$n" = 3 ] || D_BAD+="status -j: $n backends with health up, want 3; "
	run_udplb lb1 status "$DEV" | grep -q "health up health_last pass" ||
		D_BAD+="status (text) shows no health; "
	t=$(run_udplb -j lb1 health "$DEV" |
		jq -r --arg a "${IP[b1]}" '.[] | select(.backend == $a) | .health_transitions')
	[ "${t:-0}" -ge 2 ] || D_BAD+="udplb health: b1 has ${t:-no} transitions, want >= 2; "
	DETAIL+="health of b1 after the outage: $(run_udplb lb1 health "$DEV" | grep "${IP[b1]}" |
		sed 's/  */ /g'); "
}

# --unload-on-exit: SIGTERM detaches udplb and removes its pins.
daemon_unload_on_exit()
{
	local rc r keep=()
	echo "--- udplbd --unload-on-exit started" >>"$SCEN_DIR/udplbd.log"
	nsenter --no-fork --net="/run/netns/${NS[lb1]}" "$UDPLBD" --unload-on-exit -f "$DCONF" \
		2>>"$SCEN_DIR/udplbd.log" &
	DAEMON_PID=$!
	e2e_track_pid "$DAEMON_PID"
	wait_until 3000 d_all_present || D_BAD+="--unload-on-exit: the backends never came up; "
	kill -TERM "$DAEMON_PID"
	wait "$DAEMON_PID"
	rc=$?
	e2e_untrack_pid "$DAEMON_PID"
	[ "$rc" = 0 ] || D_BAD+="--unload-on-exit: SIGTERM: exit $rc; "
	if attach_check lb1 >/dev/null || run_udplb_quiet lb1 status "$DEV" 2>/dev/null; then
		D_BAD+="--unload-on-exit: udplb still loaded after SIGTERM; "
		return
	fi
	for r in "${E2E_LOADED[@]}"; do
		[ "$r" = lb1 ] || keep+=("$r")
	done
	E2E_LOADED=("${keep[@]+"${keep[@]}"}")
	DETAIL+="--unload-on-exit: unloaded at SIGTERM; "
}

scen_daemon()
{
	local r rc g0 out=$SCEN_DIR/after.json why
	D_BAD=
	DCONF=$SCEN_DIR/udplbd.conf
	[ -x "$UDPLBD" ] || { DETAIL="missing $UDPLBD"; return 1; }
	for r in lb1 lb2; do
		if [[ " ${E2E_LOADED[*]-} " == *" $r "* ]]; then
			udplb_unload "$r" || { DETAIL="unload failed"; return 1; }
		fi
	done
	# --check: an invalid file exits 2 naming FILE:LINE, a valid one 0.
	printf 'device %s\nvip %s\n  backend %s weight 0\n' "$DEV" "$VIPP" "${IP[b1]}" >"$DCONF"
	"$UDPLBD" -f "$DCONF" --check 2>"$SCEN_DIR/check.err"
	rc=$?
	[ "$rc" = 2 ] && grep -q "^<3>$DCONF:3: " "$SCEN_DIR/check.err" ||
		D_BAD+="--check of an invalid file: exit $rc, $(cat "$SCEN_DIR/check.err"); "
	daemon_conf "$DCONF"
	"$UDPLBD" -f "$DCONF" --check 2>>"$E2E_CMDLOG" || { DETAIL="--check refused the file"; return 1; }
	E2E_LOADED+=(lb1)
	daemon_start
	wait_until 5000 d_all_present || { DETAIL="the backends never came up"; return 1; }
	g0=$(d_generation)

	# The operator's commands go through the file while the daemon runs.
	run_udplb_quiet lb1 backend del "$DEV" "$VIPP" "${IP[b3]}"
	rc=$?
	[ "$rc" = 1 ] && tail -n 3 "$E2E_CMDLOG" | grep -q "udplbd (pid $DAEMON_PID) manages" ||
		D_BAD+="operator backend del: exit $rc without naming the daemon; "

	daemon_outage
	daemon_reload
	daemon_restart
	daemon_health_shown

	# SIGTERM: exit 0, the data plane keeps forwarding.
	kill -TERM "$DAEMON_PID"
	wait "$DAEMON_PID"
	rc=$?
	e2e_untrack_pid "$DAEMON_PID"
	[ "$rc" = 0 ] || D_BAD+="SIGTERM: exit $rc; "
	why=$(attach_check lb1) || D_BAD+="after SIGTERM: $why; "
	client_run "$out" --flows 32 --rate 2000 --duration 0.3
	why=$(client_ok "$out") || D_BAD+="traffic after SIGTERM: $why; "
	run_udplb_quiet lb1 backend del "$DEV" "$VIPP" "${IP[b3]}" ||
		D_BAD+="operator command refused after the daemon stopped; "
	daemon_unload_on_exit
	DETAIL+="start generation $g0"
	[ -z "$D_BAD" ] && return 0
	DETAIL="$D_BAD $DETAIL"
	return 1
}

# Plain kernel forwarding (no udplb): client -> b1 directly, and an IPIP packet decapsulated by
# a backend. Proves the topology and the tools before udplb is blamed for anything.
topology_selftest()
{
	local out=$SCEN_DIR/client.json why
	client_via b1
	client_run "$out" --flows 16 --rate 2000 --duration 0.5
	client_via lb1
	DETAIL="direct to b1: $(client_brief "$out")"
	why=$(client_ok "$out") || { DETAIL="$DETAIL; $why"; return 1; }
	[ "$(jqf "$out" '.backends.b1 // 0')" = "$(jqf "$out" .sent)" ] ||
		{ DETAIL="$DETAIL; replies not all from b1"; return 1; }
	return 0
}

run_scenario()
{
	local name=$1 fn=$2 rc t0 t1
	SCEN_DIR=$E2E_LOGDIR/$MODE-$name
	rm -rf "$SCEN_DIR"
	mkdir -p "$SCEN_DIR"
	E2E_CMDLOG=$SCEN_DIR/log
	: >"$E2E_CMDLOG"
	DETAIL=
	t0=$(date +%s%N)
	"$fn"
	rc=$?
	t1=$(date +%s%N)
	DETAIL="$DETAIL ($(((t1 - t0) / 1000000)) ms)"
	case $rc in
	0) result PASS "$MODE/$name" "$DETAIL" ;;
	2) result SKIP "$MODE/$name" "$DETAIL" ;;
	*)
		result FAIL "$MODE/$name" "$DETAIL"
		echo "    --- last lines of $E2E_CMDLOG"
		tail -n 15 "$E2E_CMDLOG" | sed 's/^/    | /'
		;;
	esac
}

# ---------------------------------------------------------------------------------------------
# Main

echo "e2e: udplb end-to-end tests (modes: ${MODES[*]}; scenarios: ${SCENARIOS[*]})"
if [ "$(id -u)" != 0 ]; then
	skip_all "not root: network namespaces and BPF need root (sudo make check)"
fi
for tool in ip tc ethtool jq bpftool awk; do
	command -v "$tool" >/dev/null 2>&1 || skip_all "missing tool: $tool"
done
for f in udp_echo udp_client e2e_clock; do
	[ -x "$E2E_BIN/$f" ] || skip_all "missing $E2E_BIN/$f (make builds it)"
done
for f in xdp_pass.bpf.o ipip_decap.bpf.o; do
	[ -f "$E2E_BIN/$f" ] || skip_all "missing $E2E_BIN/$f (make builds it)"
done
[ -x "$UDPLB" ] || skip_all "missing $UDPLB (make builds it)"
if ! mount | grep -q ' /sys/fs/bpf type bpf '; then
	mount -t bpf bpf /sys/fs/bpf || skip_all "bpffs is not mounted at /sys/fs/bpf and cannot be"
fi
if [ -n "${E2E_LOCK:-}" ]; then
	if ! exec 9>"$E2E_LOCK" || ! flock 9; then
		skip_all "cannot lock $E2E_LOCK"
	fi
fi

e2e_init || skip_all "cannot create $E2E_LOGDIR"
rm -rf "${E2E_LOGDIR:?}"/*
CHURN_RESULTS=()
UPGRADE_RESULTS=()
start=$(date +%s)

for MODE in "${MODES[@]}"; do
	E2E_CMDLOG=$E2E_LOGDIR/$MODE-topology.log
	: >"$E2E_CMDLOG"
	if ! topo_create "$MODE" >>"$E2E_CMDLOG" 2>&1; then
		for s in "${SCENARIOS[@]}"; do
			result FAIL "$MODE/$s" "topology setup failed (see $E2E_CMDLOG)"
		done
		e2e_teardown
		continue
	fi
	echo_start_all
	run_scenario topology topology_selftest
	for s in "${SCENARIOS[@]}"; do
		if ! declare -F "scen_$s" >/dev/null; then
			result FAIL "$MODE/$s" "no such scenario"
			continue
		fi
		if [[ $SINGLE_MODE_SCENARIOS == *" $s "* ]] && [ "$MODE" != "$ONE_MODE" ]; then
			continue
		fi
		CHURN_RESULT=
		UPGRADE_RESULT=
		run_scenario "$s" "scen_$s"
		[ -z "$CHURN_RESULT" ] || CHURN_RESULTS+=("$CHURN_RESULT")
		[ -z "$UPGRADE_RESULT" ] || UPGRADE_RESULTS+=("$UPGRADE_RESULT")
	done

	# Teardown, then nothing of this mode may be left: pins, namespaces.
	E2E_CMDLOG=$E2E_LOGDIR/$MODE-cleanup.log
	: >"$E2E_CMDLOG"
	pin_dirs=()
	for r in lb1 lb2; do
		pin_dirs+=("/sys/fs/bpf/udplb/ns$(stat -L -c %i "/run/netns/${NS[$r]}")")
	done
	for r in "${E2E_LOADED[@]+"${E2E_LOADED[@]}"}"; do
		udplb_unload "$r" || echo "unload on $r failed" >>"$E2E_CMDLOG"
	done
	left=()
	for d in "${pin_dirs[@]}"; do
		if [ -e "$d" ]; then
			left+=("$d")
			rm -rf "$d"
		fi
	done
	e2e_teardown
	ns_left=$(e2e_leftovers)
	if [ ${#left[@]} -eq 0 ] && [ -z "$ns_left" ]; then
		result PASS "$MODE/cleanup" "unload removed every pin; namespaces deleted"
	else
		result FAIL "$MODE/cleanup" "left behind: ${left[*]-} $ns_left"
	fi
done

echo
for r in "${CHURN_RESULTS[@]+"${CHURN_RESULTS[@]}"}"; do
	echo "e2e: churn (100 x backend del/add at 4000 datagrams/s) $r"
done
for r in "${UPGRADE_RESULTS[@]+"${UPGRADE_RESULTS[@]}"}"; do
	echo "e2e: upgrade (load again at 4000 datagrams/s) $r"
done
echo "e2e: $(($(date +%s) - start)) s; logs in $E2E_LOGDIR"
summary
[ "$failed" -eq 0 ]
