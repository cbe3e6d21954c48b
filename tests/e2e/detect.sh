#!/usr/bin/env bash
# detect.sh - ransomware detection in `kura backup` (docs/DETECTION.md), on
# a few MB of bench/mkdata.py's hospital tree:
#   the first backup is judged without history (partial, exit 0); a normal
#   day of work (--mutate) is clean; mkdata's ransomware (everything
#   encrypted, renamed to .locked, a note in every directory) is suspect:
#   exit 5, a message naming signals and files, --json detection, the
#   plaintext summary, `kura snapshots` marks it; --no-detect judges
#   nothing; from the same clean point, partial encryption (every other
#   4 KiB block of the large text and database files, headers intact) is
#   flagged as such; a damaged history is ignored (partial, not an error).
. "$(dirname "$0")/lib.sh"

ROOT=${KURA_TEST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$WORK/data
python3 "$ROOT/bench/mkdata.py" --size 3M --seed 7 "$DATA" >/dev/null
init_repo

verdict() { json_get "$OUT" 'd["detection"]["verdict"]'; }

note "first backup: no history, so the verdict is partial and the exit status 0"
expect_exit 0 kura --json backup "$DATA"
assert_eq "first verdict" partial "$(verdict)"
assert_eq "first history" false "$(json_get "$OUT" 'd["detection"]["history"]')"

note "a normal day of work is clean"
python3 "$ROOT/bench/mkdata.py" --mutate 5 --day 1 --seed 7 "$DATA" >/dev/null
expect_exit 0 kura --json backup "$DATA"
assert_eq "normal day verdict" clean "$(verdict)"
assert_eq "normal day score" 0 "$(json_get "$OUT" 'd["detection"]["score"]')"
expect_exit 0 kura backup "$DATA"
assert_contains "human output" "detection: clean" "$OUT"

# the clean point, to attack twice from it
cp -a "$DATA" "$WORK/data.clean"
cp -a "$KURA_CACHE_DIR" "$WORK/cache.clean"

note "mkdata --ransomware: exit 5, suspect, the strongest signals and example files named"
python3 "$ROOT/bench/mkdata.py" --ransomware --seed 7 "$DATA" >/dev/null
expect_exit 5 kura --json backup "$DATA"
assert_eq "ransomware verdict" suspect "$(verdict)"
renamed=$(json_get "$OUT" 'd["detection"]["counts"]["renamed-to-noise"]')
files=$(find "$DATA" -name '*.locked' | wc -l)
assert_eq "every .locked file is a rename to noise" "$files" "$renamed"
notes=$(json_get "$OUT" 'd["detection"]["counts"]["ransom-note"]')
[ "$notes" -ge 10 ] || fail "ransom notes found: $notes"
assert_eq "a .locked file among the examples" true \
	"$(json_get "$OUT" 'any(f["path"].endswith(".locked") for f in d["detection"]["files"])')"
sid=$(json_get "$OUT" 'd["snapshot_id"]')
snap=$KURA_REPOSITORY/snapshots/$sid
[ -f "$snap" ] || snap=$(find "$KURA_REPOSITORY/snapshots" -name "$sid*" | sed -n 1p)
[ -f "$snap" ] || fail "the suspect snapshot was not saved"
note "the plaintext header carries the verdict and counts, never a file name"
assert_eq "header version" 02 "$(od -An -tx1 -j8 -N1 "$snap" | tr -d ' ')"
# grep reads all of it (no -q): with pipefail, grep leaving early could fail head with SIGPIPE
head -c 4200 "$snap" | grep -c '"verdict":"suspect"' >/dev/null || fail "no plaintext verdict in the header"
if grep -q 'README_RESTORE\|\.locked' "$snap"; then fail "a file name is readable in the snapshot file"; fi

note "the human message"
cp -a "$WORK/cache.clean/." "$KURA_CACHE_DIR/"
expect_exit 5 kura backup "$DATA"
assert_contains "alarm" "shows signs of ransomware" "$ERR"
assert_contains "strongest signal" "renamed-to-noise" "$ERR"
assert_contains "example file" "e.g. $DATA/" "$ERR"

note "kura snapshots marks the suspect snapshots"
expect_exit 0 kura snapshots
assert_contains "mark" "SUSPECT" "$OUT"
assert_contains "count" "2 SUSPECT" "$OUT"
expect_exit 0 kura --json snapshots
assert_eq "suspect in --json" 2 "$(json_get "$OUT" 'sum(1 for s in d if s["detection"] == "suspect")')"
assert_eq "clean in --json" 2 "$(json_get "$OUT" 'sum(1 for s in d if s["detection"] == "clean")')"

note "--no-detect judges nothing"
cp -a "$WORK/cache.clean/." "$KURA_CACHE_DIR/"
expect_exit 0 kura --json backup --no-detect "$DATA"
assert_eq "no detection" null "$(json_get "$OUT" 'd["detection"]')"

note "partial encryption from the same clean point: every other 4 KiB block, headers intact"
rm -rf "$DATA" "$KURA_CACHE_DIR"
cp -a "$WORK/data.clean" "$DATA"
cp -a "$WORK/cache.clean" "$KURA_CACHE_DIR"
python3 - "$DATA" <<'PY'
import os, random, sys
r = random.Random(5)
n = 0
for d, _, fs in sorted(os.walk(sys.argv[1])):
    for f in sorted(fs):
        p = os.path.join(d, f)
        if not p.split("/data/", 1)[1].startswith(("documents/", "databases/")):
            continue
        size = os.path.getsize(p)
        if size < 64 * 1024:
            continue
        with open(p, "r+b") as fh:
            for off in range(16 * 1024, size - 4096, 8 * 1024):
                fh.seek(off)
                fh.write(r.randbytes(4096))
        n += 1
print(n)
PY
expect_exit 5 kura --json backup "$DATA"
assert_eq "partial verdict" suspect "$(verdict)"
partial=$(json_get "$OUT" 'd["detection"]["counts"]["partial-encryption"]')
[ "$partial" -ge 5 ] || fail "partially encrypted files found: $partial"
assert_eq "no rename" 0 "$(json_get "$OUT" 'd["detection"]["counts"]["renamed-to-noise"]')"

note "a damaged history is ignored: judged without it"
for f in "$KURA_CACHE_DIR"/*/detect-*; do printf 'junk' >"$f"; done
expect_exit 0 kura --json backup "$DATA"
assert_eq "after damage" partial "$(verdict)"
