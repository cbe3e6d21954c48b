#!/usr/bin/env bash
# repo_damage_fuzz_long.sh - the long run of the repository fuzzer
# (tests/e2e/repo_damage_fuzz.sh, whose bounded run is part of `make check`):
# 1000 iterations from a seed taken from the clock, every failing damaged
# repository kept for a look.  `make repo-fuzz` runs it.
#
#   ITER=1000  SEED=<from the clock>  DAMAGES=1-4
#   KEEP_FAILED=build/repo-damage-fuzz-failed   where failing repositories go
#   KURA=build/kura                      the binary under test
# Each failure prints SEED=n ITER=1, which replays it with
# tests/e2e/repo_damage_fuzz.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export ITER=${ITER:-1000}
export SEED=${SEED:-$(( $(date +%s) % 100000 * 10000 ))}
export KEEP_FAILED=${KEEP_FAILED:-$PWD/build/repo-damage-fuzz-failed}
export KURA=${KURA:-$PWD/build/kura}
echo "repo_damage_fuzz_long: ITER=$ITER SEED=$SEED, failing repositories kept in $KEEP_FAILED"
exec bash tests/e2e/repo_damage_fuzz.sh
