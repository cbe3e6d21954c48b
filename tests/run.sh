#!/usr/bin/env bash
# tests/run.sh - run every test: unit tests, fuzz corpus replay, end-to-end
# scripts.  Prints one line per test and the summary "N passed, N failed".
#   BUILD=build  which build directory holds the binaries
#   QUICK=1      skip tests marked slow (a line "# slow" in the script)
#   ONLY=regex   run only the tests whose name matches
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export KURA=$PWD/$BUILD/kura
export KURA_TEST_ROOT=$PWD
LOGDIR=$PWD/$BUILD/test-logs
rm -rf "$LOGDIR"; mkdir -p "$LOGDIR"
passed=0 failed=0 skipped=0 failures=()
# One Ceph RGW per run for tests/e2e/s3_*.sh: the first test that needs it
# starts it (need_rgw in tests/e2e/lib.sh); it is stopped when the run ends.
export KURA_RGW_DIR=$PWD/$BUILD/rgw
rgw_stop() { [ -d "$KURA_RGW_DIR/run" ] && RGW_DIR=$KURA_RGW_DIR bash tests/services/rgw/rgw-down.sh >/dev/null 2>&1; true; }
rgw_stop
trap rgw_stop EXIT

run_one() { # name command...
	local name=$1; shift
	if [ -n "${ONLY:-}" ] && ! [[ $name =~ $ONLY ]]; then return; fi
	local t0=$SECONDS
	if "$@" >"$LOGDIR/${name//\//_}.log" 2>&1; then
		passed=$((passed + 1)); echo "PASS $name ($((SECONDS - t0))s)"
	else
		failed=$((failed + 1)); failures+=("$name"); echo "FAIL $name ($((SECONDS - t0))s)"
		tail -n 40 "$LOGDIR/${name//\//_}.log" | sed 's/^/    /'
	fi
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
for t in tests/e2e/*.sh; do
	[ "$(basename "$t")" = lib.sh ] && continue
	[ -f "$t" ] || continue
	if [ "${QUICK:-}" = 1 ] && grep -q '^# slow' "$t"; then skipped=$((skipped + 1)); continue; fi
	run_one "e2e/$(basename "$t" .sh)" bash "$t"
done

[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
