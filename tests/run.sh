#!/usr/bin/env bash
# tests/run.sh - run every test: unit tests, fuzz corpus replay, end-to-end
# scripts.  Prints one line per test and the summary "N passed, N failed".
#   BUILD=build  which build directory holds the binaries
#   QUICK=1      skip tests marked slow (a line "# slow" in the script)
#   ONLY=regex   run only the tests whose name matches
#   JOBS=N       tests run at once (default: CPUs + 1; most end-to-end
#                tests wait on sockets, disks and child processes, so one
#                more than the CPUs keeps them busy).  Each test has its own
#                scratch directory and free loopback ports, so they do not
#                meet.  JOBS=1 runs them one after the other.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-$(($(nproc) + 1))}
export KURA=$PWD/$BUILD/kura
export KURA_TEST_ROOT=$PWD
LOGDIR=$PWD/$BUILD/test-logs
rm -rf "$LOGDIR"; mkdir -p "$LOGDIR"
passed=0 failed=0 skipped=0 failures=()
declare -A running=() started=()

# finish_one PID: report a test that ended
finish_one() {
	local pid=$1 name=${running[$1]} log rc
	log=$LOGDIR/${name//\//_}.log
	rc=$(cat "$log.rc" 2>/dev/null || echo 255)
	rm -f "$log.rc"
	unset "running[$pid]"
	if [ "$rc" = 0 ]; then
		passed=$((passed + 1)); echo "PASS $name ($((SECONDS - started[$pid])) s)"
	else
		failed=$((failed + 1)); failures+=("$name")
		echo "FAIL $name ($((SECONDS - started[$pid])) s, exit $rc)"
		tail -n 40 "$log" | sed 's/^/    /'
	fi
}

# wait_slot N: wait until fewer than N tests run
wait_slot() {
	local pid
	while [ ${#running[@]} -ge "$1" ]; do
		wait -n -p pid "${!running[@]}"
		finish_one "$pid"
	done
}

# One Ceph RGW per run for tests/e2e/s3_*.sh: the first test that needs it
# starts it (need_rgw in tests/e2e/lib.sh); it is stopped when the run ends.
export KURA_RGW_DIR=$PWD/$BUILD/rgw
rgw_stop() { [ -d "$KURA_RGW_DIR/run" ] && RGW_DIR=$KURA_RGW_DIR bash tests/services/rgw/rgw-down.sh >/dev/null 2>&1; true; }
rgw_stop
trap rgw_stop EXIT

run_one() { # name command...
	local name=$1; shift
	if [ -n "${ONLY:-}" ] && ! [[ $name =~ $ONLY ]]; then return; fi
	wait_slot "$JOBS"
	local log=$LOGDIR/${name//\//_}.log
	( "$@" >"$log" 2>&1; echo $? >"$log.rc" ) &
	running[$!]=$name started[$!]=$SECONDS
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"
done
for t in "$BUILD"/tests/replay_*; do
	[ -x "$t" ] || continue
	target=${t##*/replay_}
	corpus=tests/fuzz/corpus/$target
	if [ -d "$corpus" ] && [ -n "$(ls -A "$corpus")" ]; then
		run_one "fuzz-replay/$target" bash -c 'find "$1" -type f -print0 | xargs -0 "$2"' _ "$corpus" "$t"
	fi
done
# End-to-end scripts, the long ones (marked "# slow") first so that they do
# not end the run alone.
e2e=() slow=()
for t in tests/e2e/*.sh; do
	[ "$(basename "$t")" = lib.sh ] && continue
	[ -f "$t" ] || continue
	if grep -q '^# slow' "$t"; then
		if [ "${QUICK:-}" = 1 ]; then skipped=$((skipped + 1)); continue; fi
		slow+=("$t")
	else
		e2e+=("$t")
	fi
done
for t in "${slow[@]}" "${e2e[@]}"; do
	run_one "e2e/$(basename "$t" .sh)" bash "$t"
done
wait_slot 1

[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
