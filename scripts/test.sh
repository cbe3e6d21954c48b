#!/usr/bin/env bash
# scripts/test.sh - the README's test command: install dependencies, build,
# run the whole suite, then run it again under ASan+UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
make -j"$(nproc)" tests
make check
make -j"$(nproc)" SANITIZE=address,undefined tests
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 make SANITIZE=address,undefined QUICK=1 check
