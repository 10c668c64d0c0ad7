# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
#
# Topology helpers of the udplb end-to-end tests (sourced by tests/e2e/run.sh).
#
# One L2 segment: a bridge in a "switch" namespace and one veth from every host namespace to it:
#
#         cl (client)  10.77.0.1      route VIP/32 via the LB in use
#         lb1          10.77.0.2      udplb on eth0
#         lb2          10.77.0.3      udplb on eth0 (determinism: same config, same choices)
#         b1 b2 b3     10.77.0.11-13  VIP on lo (arp_ignore=1, arp_announce=2), rp_filter off,
#                                     udp_echo on VIP_PORT, IPIP decapsulation (tunnel device, or
#                                     a tc BPF program when the kernel has no ipip)
#
# VIP 10.78.0.1:7000 (outside the segment: only the client's route leads to it). Every host's
# eth0 has a fixed MAC 02:ee:00:00:00:<last octet> and TX checksum offload off (a veth sender
# otherwise emits partial checksums that native XDP turns into corrupt packets). In native XDP
# mode the peers of the LBs' veths (their bridge ports) run an XDP_PASS program: a veth delivers
# XDP_TX frames only when its peer runs an XDP program.
#
# Names: every namespace is "ue<PID>-<role>", so concurrent runs do not collide. e2e_cleanup
# (installed on EXIT/INT/TERM by e2e_init) stops every process started here, unloads udplb from
# every LB it was loaded on and deletes every namespace (and with them every veth and the bridge).
#
# udplb itself never runs under `ip netns exec` (which hides /sys/fs/bpf): run_udplb passes -n.

E2E_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_REPO=$(cd "$E2E_SRC/../.." && pwd)
: "${E2E_BUILD:=$E2E_REPO/build}"
case $E2E_BUILD in /*) ;; *) E2E_BUILD=$E2E_REPO/$E2E_BUILD ;; esac
: "${UDPLB:=$E2E_BUILD/udplb}"
# The test build of the CLI (-DUDPLB_TESTING: test hooks such as UDPLB_TEST_PAUSE_BEFORE_FLIP)
: "${UDPLB_TEST:=$E2E_BUILD/tests/udplb-test}"
E2E_BIN=$E2E_BUILD/tests/e2e
E2E_ID=ue$$
: "${E2E_LOGDIR:=$E2E_BIN/logs}"
E2E_CMDLOG=/dev/null # every udplb command and its output; run.sh points it at the scenario log

E2E_NET=10.77.0
VIP=10.78.0.1
VPORT=7000
DEV=eth0
E2E_ROLES=(cl lb1 lb2 b1 b2 b3)
E2E_BACKENDS=(b1 b2 b3)

declare -A NS=() IP=() MAC=()
E2E_NETNS=()   # namespaces created, in order
E2E_PIDS=()    # background processes started
E2E_LOADED=()  # LB roles udplb was loaded on
E2E_IPIP_KIND= # "device" or "bpf", set by topo_create
E2E_CLEANED=0

e2e_log()
{
	printf '%s\n' "$*" >>"$E2E_CMDLOG"
}

# Address of a role.
role_ip()
{
	case $1 in
	cl) echo "$E2E_NET.1" ;;
	lb1) echo "$E2E_NET.2" ;;
	lb2) echo "$E2E_NET.3" ;;
	b1) echo "$E2E_NET.11" ;;
	b2) echo "$E2E_NET.12" ;;
	b3) echo "$E2E_NET.13" ;;
	*) return 1 ;;
	esac
}

# Run a command inside a role's namespace. Only for tools that do not need /sys/fs/bpf.
nsx()
{
	local role=$1
	shift
	ip netns exec "${NS[$role]}" "$@"
}

# run_udplb [-j] ROLE ARGS...: build/udplb -n <netns of ROLE> ARGS; stdout to the caller; the
# command line, its stderr and exit status to the scenario log.
run_udplb()
{
	local json=() role rc
	if [ "${1:-}" = -j ]; then
		json=(-j)
		shift
	fi
	role=$1
	shift
	e2e_log "\$ udplb ${json[*]+${json[*]} }-n ${NS[$role]} $*"
	"$UDPLB" "${json[@]+"${json[@]}"}" -n "${NS[$role]}" "$@" 2>>"$E2E_CMDLOG"
	rc=$?
	e2e_log "(exit $rc)"
	return "$rc"
}

# run_udplb_quiet: the same, stdout also to the log only.
run_udplb_quiet()
{
	run_udplb "$@" >>"$E2E_CMDLOG"
}

# udplb_load ROLE MODE [ARGS...]: load and remember, so cleanup unloads it.
udplb_load()
{
	local role=$1 mode=$2
	shift 2
	local r
	for r in "${E2E_LOADED[@]+"${E2E_LOADED[@]}"}"; do
		[ "$r" = "$role" ] && break
	done
	[ "${r:-}" = "$role" ] || E2E_LOADED+=("$role")
	run_udplb_quiet "$role" load "$DEV" --mode "$mode" "$@"
}

udplb_unload()
{
	local role=$1 r keep=()
	for r in "${E2E_LOADED[@]+"${E2E_LOADED[@]}"}"; do
		[ "$r" = "$role" ] || keep+=("$r")
	done
	E2E_LOADED=("${keep[@]+"${keep[@]}"}")
	run_udplb_quiet "$role" unload "$DEV"
}

# Background process bookkeeping.
e2e_track_pid()
{
	E2E_PIDS+=("$1")
}

e2e_untrack_pid()
{
	local p keep=()
	for p in "${E2E_PIDS[@]+"${E2E_PIDS[@]}"}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	E2E_PIDS=("${keep[@]+"${keep[@]}"}")
}

# Stop one of our processes: TERM, up to 2 s, then KILL.
e2e_stop_pid()
{
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || {
		wait "$pid" 2>/dev/null
		e2e_untrack_pid "$pid"
		return 0
	}
	for _ in $(seq 20); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	e2e_untrack_pid "$pid"
}

e2e_add_netns()
{
	local role=$1 name="$E2E_ID-$1"
	ip netns add "$name" || return 1
	E2E_NETNS+=("$name")
	NS[$role]=$name
	ip -n "$name" link set lo up
}

# Everything this run made, gone. Safe to call more than once and from a trap.
e2e_cleanup()
{
	local p ns role pids
	[ "$E2E_CLEANED" = 1 ] && return 0
	E2E_CLEANED=1
	for p in "${E2E_PIDS[@]+"${E2E_PIDS[@]}"}"; do
		kill -TERM "$p" 2>/dev/null
	done
	sleep 0.2
	for p in "${E2E_PIDS[@]+"${E2E_PIDS[@]}"}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	E2E_PIDS=()
	for role in "${E2E_LOADED[@]+"${E2E_LOADED[@]}"}"; do
		[ -x "$UDPLB" ] && timeout 20 "$UDPLB" -n "${NS[$role]}" unload "$DEV" \
			>>"$E2E_CMDLOG" 2>&1
	done
	E2E_LOADED=()
	# Pins a failed unload left behind (udplb pins under /sys/fs/bpf/udplb/ns<netns inode>/).
	for role in lb1 lb2; do
		[ -n "${NS[$role]:-}" ] || continue
		ns=$(stat -L -c %i "/run/netns/${NS[$role]}" 2>/dev/null) || continue
		[ -d "/sys/fs/bpf/udplb/ns$ns" ] && rm -rf "/sys/fs/bpf/udplb/ns$ns"
	done
	for ns in "${E2E_NETNS[@]+"${E2E_NETNS[@]}"}"; do
		# Any process still in one of our namespaces was started by this run.
		pids=$(ip netns pids "$ns" 2>/dev/null)
		for p in $pids; do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	E2E_NETNS=()
	NS=()
	return 0
}

# Cleanup now (between modes); the EXIT trap stays armed for what comes next.
e2e_teardown()
{
	e2e_cleanup
	E2E_CLEANED=0
}

e2e_init()
{
	mkdir -p "$E2E_LOGDIR" || return 1
	trap e2e_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap '' PIPE
}

# The ipip flavour the kernel offers: "device" (ipip tunnel device) or "bpf" (tc decapsulation).
e2e_ipip_kind()
{
	local ns=$E2E_ID-probe kind=bpf
	ip netns add "$ns" || return 1
	if ip -n "$ns" link add ipip0 type ipip local 10.77.0.99 2>/dev/null; then
		kind=device
	fi
	ip netns del "$ns"
	echo "$kind"
}

# topo_create MODE: the whole segment; MODE (xdp, xdp-generic, tc) decides the peers' XDP program.
topo_create()
{
	local mode=$1 role n hex sw
	for role in sw "${E2E_ROLES[@]}"; do
		e2e_add_netns "$role" || return 1
	done
	sw=${NS[sw]}
	ip -n "$sw" link add br0 type bridge stp_state 0 forward_delay 0 || return 1
	ip -n "$sw" link set br0 up || return 1
	ip netns exec "$sw" sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null

	for role in "${E2E_ROLES[@]}"; do
		IP[$role]=$(role_ip "$role")
		n=${IP[$role]##*.}
		printf -v hex '%02x' "$n"
		MAC[$role]=02:ee:00:00:00:$hex
		ip -n "$sw" link add "p-$role" type veth peer name "$DEV" netns "${NS[$role]}" ||
			return 1
		ip -n "$sw" link set "p-$role" master br0 up || return 1
		ip -n "${NS[$role]}" link set "$DEV" address "${MAC[$role]}" || return 1
		ip -n "${NS[$role]}" addr add "${IP[$role]}/24" dev "$DEV" || return 1
		ip -n "${NS[$role]}" link set "$DEV" up || return 1
		nsx "$role" ethtool -K "$DEV" tx off >/dev/null 2>&1 || return 1
	done

	if [ "$mode" = xdp ]; then
		for role in lb1 lb2; do
			ip -n "$sw" link set dev "p-$role" xdpdrv obj "$E2E_BIN/xdp_pass.bpf.o" \
				sec xdp || return 1
		done
	fi

	ip -n "${NS[cl]}" route add "$VIP/32" via "${IP[lb1]}" || return 1

	E2E_IPIP_KIND=$(e2e_ipip_kind) || return 1
	for role in "${E2E_BACKENDS[@]}"; do
		backend_setup "$role" || return 1
	done
	# Resolve neighbours now: the first datagrams of a test should not wait for ARP.
	for role in lb1 lb2 "${E2E_BACKENDS[@]}"; do
		nsx cl ping -c 1 -W 2 -q "${IP[$role]}" >/dev/null || {
			echo "topo: client cannot reach $role (${IP[$role]})" >&2
			return 1
		}
	done
	return 0
}

backend_setup()
{
	local role=$1 ns=${NS[$1]} k
	ip -n "$ns" addr add "$VIP/32" dev lo || return 1
	for k in all "$DEV"; do
		nsx "$role" sysctl -qw "net.ipv4.conf.$k.arp_ignore=1" "net.ipv4.conf.$k.arp_announce=2" \
			"net.ipv4.conf.$k.rp_filter=0" || return 1
	done
	nsx "$role" sysctl -qw net.ipv4.conf.default.rp_filter=0 || return 1
	if [ "$E2E_IPIP_KIND" = device ]; then
		ip -n "$ns" link add ipip0 type ipip local "${IP[$role]}" || return 1
		ip -n "$ns" link set ipip0 up || return 1
		nsx "$role" sysctl -qw net.ipv4.conf.ipip0.rp_filter=0 || return 1
	else
		tc -n "$ns" qdisc add dev "$DEV" clsact || return 1
		tc -n "$ns" filter add dev "$DEV" ingress bpf direct-action \
			obj "$E2E_BIN/ipip_decap.bpf.o" sec tc || return 1
	fi
}

# echo_start ROLE: udp_echo named after the role on VPORT in the role's namespace.
echo_start()
{
	local role=$1
	# Not through nsx (a function): $! must be udp_echo itself, not a subshell.
	ip netns exec "${NS[$role]}" "$E2E_BIN/udp_echo" "$role" "$VPORT" \
		2>>"$E2E_LOGDIR/echo-$role.log" &
	e2e_track_pid $!
}

echo_start_all()
{
	local role
	for role in "${E2E_BACKENDS[@]}"; do
		echo_start "$role"
	done
	sleep 0.2
}

# client_run OUT ARGS...: udp_client in the client namespace against VIP:VPORT, JSON to OUT.
client_run()
{
	local out=$1
	shift
	nsx cl "$E2E_BIN/udp_client" "$VIP:$VPORT" "$@" >"$out" 2>>"$E2E_CMDLOG"
}

# client_start OUT ARGS...: the same in the background; CLIENT_PID is set.
client_start()
{
	local out=$1
	shift
	ip netns exec "${NS[cl]}" "$E2E_BIN/udp_client" "$VIP:$VPORT" "$@" >"$out" \
		2>>"$E2E_CMDLOG" &
	CLIENT_PID=$!
	e2e_track_pid "$CLIENT_PID"
}

client_wait()
{
	wait "$CLIENT_PID"
	local rc=$?
	e2e_untrack_pid "$CLIENT_PID"
	return "$rc"
}

# Point the client's VIP route at an LB.
client_via()
{
	ip -n "${NS[cl]}" route replace "$VIP/32" via "${IP[$1]}"
}

now_ns()
{
	"$E2E_BIN/e2e_clock"
}

# What is left behind by this run (namespaces with our prefix): nothing, normally.
e2e_leftovers()
{
	ip netns list 2>/dev/null | awk -v p="$E2E_ID-" 'index($1, p) == 1 { print $1 }'
}

# ipip_rx_count ROLE: IPIP packets the backend has decapsulated so far.
ipip_rx_count()
{
	local ns=${NS[$1]} prog map
	if [ "$E2E_IPIP_KIND" = device ]; then
		ip -n "$ns" -s -j link show ipip0 | jq '.[0].stats64.rx.packets'
		return
	fi
	prog=$(tc -n "$ns" -j filter show dev "$DEV" ingress |
		jq '[.[] | .options.prog.id // empty][0]') || return 1
	map=$(bpftool -j prog show id "$prog" | jq '.map_ids[0]') || return 1
	bpftool -j map lookup id "$map" key 0 0 0 0 | jq '.formatted.value // .value' |
		tr -d '"[] \n' | awk '{ printf "%d\n", $0 }'
}
