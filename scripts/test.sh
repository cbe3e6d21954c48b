#!/usr/bin/env bash
# scripts/test.sh - the README's test command: install dependencies, build,
# run the whole suite, then again under ASan+UBSan, then the quick suite
# under TSan (the backup and restore pipelines are multi-threaded).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
make -j"$jobs" tests
make check
make -j"$jobs" SANITIZE=address,undefined tests
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 make SANITIZE=address,undefined check
make -j"$jobs" SANITIZE=thread tests
TSAN_OPTIONS=halt_on_error=1 make SANITIZE=thread QUICK=1 check
