#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Usage: scripts/run-tests.sh BUILD_DIR BIN...   (what make check-one runs)
#
# Runs each test binary in order, streaming its output, and adds up the results:
# - a cmocka binary (its output has cmocka's "[==========]" lines) contributes the counts of its
#   "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s), listed below:" /
#   "[  SKIPPED ] N test(s), listed below:" summaries; a failed group setup or teardown counts as
#   one failure; a nonzero exit with no failure reported (crash, sanitizer report at exit) counts
#   as one more;
# - any other binary (an example) counts as 1 passed if it exits 0, else 1 failed.
# Ends with the line "check: N passed, N failed, N skipped". Exits 1 if anything failed, and
# under CI=true also if anything was skipped: CI must run every test.
#
# Prints how long each binary took, after it and again in a table at the end.
# Each binary's output is also kept in BUILD_DIR/test-logs/. TEST_TIMEOUT (seconds, default 1200,
# 0 = none) bounds each binary.
set -u

if [ "$#" -lt 1 ]; then
	echo "usage: $0 BUILD_DIR BIN..." >&2
	exit 2
fi
build=$1
shift
timeout_s=${TEST_TIMEOUT:-1200}
logdir=$build/test-logs
mkdir -p "$logdir" || exit 2

# cmocka's own format, whatever the caller's environment says.
export CMOCKA_MESSAGE_OUTPUT=STDOUT
unset CMOCKA_XML_FILE

passed=0
failed=0
skipped=0
failed_bins=()
durations=()

# Run "$@" with stdout and stderr on a pseudo-terminal when script(1) can make one: the binary
# then line-buffers its stdout, so its lines stay in order with stderr and survive a crash.
use_pty=false
if SHELL=$BASH script -q -e -c true /dev/null </dev/null >/dev/null 2>&1; then
	use_pty=true
fi

run_captured()
{
	local log=$1 cmd
	shift
	if [ "$timeout_s" != 0 ]; then
		set -- timeout -k 10 "$timeout_s" "$@"
	fi
	if $use_pty; then
		cmd="stty -onlcr 2>/dev/null; exec $(printf '%q ' "$@")"
		SHELL=$BASH script -q -e -c "$cmd" /dev/null </dev/null | tee "$log"
	else
		"$@" </dev/null 2>&1 | tee "$log"
	fi
	return "${PIPESTATUS[0]}"
}

for bin in "$@"; do
	name=${bin#"$build"/}
	log=$logdir/$(printf '%s' "$name" | tr '/' '_').log
	printf '\n=== %s\n' "$name"
	if [ ! -x "$bin" ]; then
		echo "run-tests: $bin: not an executable"
		failed=$((failed + 1))
		failed_bins+=("$name (missing)")
		continue
	fi

	t0=$(date +%s.%N)
	run_captured "$log" "$bin"
	rc=$?
	t1=$(date +%s.%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	durations+=("$(printf '%7ss  %s' "$secs" "$name")")
	printf 'run-tests: %s took %s s\n' "$name" "$secs"
	# A pseudo-terminal may still add carriage returns when stty was not available.
	out=$(tr -d '\r' <"$log")

	if grep -q '^\[==========\] ' <<<"$out"; then
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]\+\) test(s)\.$/\1/p' <<<"$out" |
			awk '{ s += $1 } END { print s + 0 }')
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]\+\) test(s), listed below:$/\1/p' <<<"$out" |
			awk '{ s += $1 } END { print s + 0 }')
		s=$(sed -n 's/^\[  SKIPPED \] \([0-9]\+\) test(s), listed below:$/\1/p' <<<"$out" |
			awk '{ s += $1 } END { print s + 0 }')
		f=$((f + $(grep -c '^\[  FAILED  \] GROUP \(SETUP\|TEARDOWN\)$' <<<"$out")))
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			echo "run-tests: $name exited with status $rc but reported no failed test: counted as 1 failed"
			f=1
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		skipped=$((skipped + s))
		[ "$f" -eq 0 ] || failed_bins+=("$name ($f failed, exit status $rc)")
		[ "$s" -eq 0 ] || echo "run-tests: $name skipped $s test(s)"
	elif [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failed_bins+=("$name (exit status $rc)")
	fi
	[ "$rc" -ne 124 ] || echo "run-tests: $name timed out after ${timeout_s}s"
done

echo
echo "run-tests: duration of each test binary:"
printf '%s\n' "${durations[@]+"${durations[@]}"}"
for b in "${failed_bins[@]+"${failed_bins[@]}"}"; do
	echo "run-tests: FAILED $b"
done
status=0
[ "$failed" -eq 0 ] || status=1
if [ "${CI:-}" = true ] && [ "$skipped" -gt 0 ]; then
	echo "run-tests: CI=true and $skipped test(s) skipped: CI must run every test (missing privileges or tools?)"
	status=1
fi
echo "check: $passed passed, $failed failed, $skipped skipped"
exit "$status"
