#!/usr/bin/env bash
# make-repo-v1.sh - how tests/vectors/repo-v1 was made (kura 0.1.0, format 1).
# The repository is committed and never regenerated: every future kura must
# still read it (tests/e2e/vectors.sh).  Kept for the record only.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
KURA=${KURA:-$HERE/../../build/kura}
SRC=/tmp/kura-vector-src
rm -rf "$SRC" "$HERE/repo-v1" "$HERE/repo-v1.backup-key"
mkdir -p "$SRC/docs/empty" "$SRC/bin"
python3 - "$SRC" <<'PY'
import random, sys
root = sys.argv[1]
r = random.Random(20261125)
open(f"{root}/docs/report.txt", "w").write("".join(f"line {i}: patient record {r.randint(0, 10**9)}\n" for i in range(20000)))
open(f"{root}/docs/scan.bin", "wb").write(bytes(r.getrandbits(8) for _ in range(300000)))
open(f"{root}/bin/tool", "w").write("#!/bin/sh\necho kura vector\n")
open(f"{root}/docs/empty.txt", "w").close()
PY
chmod 755 "$SRC/bin/tool"; chmod 640 "$SRC/docs/report.txt"
ln -s ../docs/report.txt "$SRC/bin/report-link"
ln "$SRC/docs/scan.bin" "$SRC/docs/scan-hardlink.bin"
find "$SRC" -exec touch -h -d '2026-01-02 03:04:05.123456789 UTC' {} +
printf 'kura golden vector passphrase one\n' >"$HERE/repo-v1.passphrase"
export KURA_PASSWORD_FILE=$HERE/repo-v1.passphrase KURA_CACHE_DIR=/tmp/kura-vector-cache
"$KURA" -r "$HERE/repo-v1" init --kdf interactive --chunk-min 16K --chunk-avg 64K --chunk-max 256K --pack-size 1M
"$KURA" -r "$HERE/repo-v1" key backup-key --output "$HERE/repo-v1.backup-key"
(cd "$SRC" && "$KURA" -r "$HERE/repo-v1" backup --host vector --tag golden .)
(cd "$SRC" && find . -type f -exec sha256sum {} + | sort -k2) >"$HERE/repo-v1.sha256"
"$KURA" -r "$HERE/repo-v1" ls latest | sed "s|$SRC||" >"$HERE/repo-v1.ls"
rm -rf "$HERE/repo-v1/tmp" /tmp/kura-vector-cache
