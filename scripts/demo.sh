#!/usr/bin/env bash
# scripts/demo.sh - the README's "main job": install what is needed, build,
# then back up a sample tree into a local repository, restore it elsewhere,
# prove the restore identical, and verify every byte in the repository.
#
#   KEEP=1 scripts/demo.sh   keep the demo directory (repository, passphrase,
#                            sample and restored trees) afterwards
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

step() { printf '\n==> %s\n' "$*"; }
die() { echo "demo: FAILED: $*" >&2; exit 1; }

step "installing build dependencies (scripts/deps.sh)"
scripts/deps.sh

step "building (make -j$(nproc))"
make -j"$(nproc)"
KURA=$ROOT/build/kura
[ -x "$KURA" ] || die "the build did not produce $KURA"
"$KURA" version

DEMO=$(mktemp -d "${TMPDIR:-/tmp}/kura-demo.XXXXXX")
finish() {
	local rc=$?
	if [ $rc -eq 0 ] && [ "${KEEP:-0}" != 1 ]; then
		rm -rf "$DEMO"
		echo "(removed the demo directory $DEMO; run with KEEP=1 to keep it)"
	else
		echo "(the demo directory is kept: $DEMO)"
	fi
}
trap finish EXIT
SRC=$DEMO/sample
REPO=$DEMO/repository
RESTORED=$DEMO/restored

step "creating a sample tree in $SRC"
mkdir -p "$SRC/documentation" "$SRC/records" "$SRC/images" "$SRC/config"
# real documents nobody here wrote: /usr/share/doc, up to about 50 MB
budget=$((50 * 1024 * 1024)) used=0
if [ -d /usr/share/doc ]; then
	for d in /usr/share/doc/*; do
		[ -d "$d" ] || continue
		size=$(du -sb "$d" 2>/dev/null | cut -f1)
		[ $((used + size)) -le $budget ] || continue
		cp -a "$d" "$SRC/documentation/" 2>/dev/null || true
		used=$((used + size))
	done
fi
# generated files: compressible records, incompressible "images", small configs
python3 - "$SRC" <<'EOF'
import os, random, sys
root = sys.argv[1]
r = random.Random(7)
words = "patient ward admission discharge dose nurse chart allergy radiology".split()
for i in range(200):
    with open(os.path.join(root, "records", "record-%04d.txt" % i), "w") as f:
        for k in range(r.randint(20, 400)):
            f.write("%d;%s\n" % (k, ",".join(r.choice(words) for _ in range(6))))
for i in range(12):
    # a DICOM file: 128-byte preamble, "DICM", then (compressed) pixel data
    with open(os.path.join(root, "images", "scan-%02d.dcm" % i), "wb") as f:
        f.write(b"\0" * 128 + b"DICM" + os.urandom(r.randint(256, 2048) * 1024))
for i in range(40):
    with open(os.path.join(root, "config", "service-%02d.conf" % i), "w") as f:
        f.write("# generated\nport = %d\nenabled = %s\n" % (8000 + i, r.choice(["yes", "no"])))
EOF
: >"$SRC/config/empty.conf"
ln -s service-00.conf "$SRC/config/current.conf"
ln "$SRC/records/record-0000.txt" "$SRC/records/record-0000.hardlink"
nfiles=$(find "$SRC" -type f | wc -l)
nbytes=$(find "$SRC" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
echo "sample tree: $nfiles files, $nbytes bytes ($(du -sh "$SRC" | cut -f1)), including $((used / 1024 / 1024)) MB of /usr/share/doc"

step "creating a passphrase"
PASSFILE=$DEMO/passphrase
# six random word-like groups: about 180 bits, easy to type, no complexity rules
head -c 45 /dev/urandom | base64 | tr -d '/+=' | head -c 48 | sed -E 's/(.{8})/\1-/g; s/-$//' >"$PASSFILE"
echo >>"$PASSFILE"
chmod 600 "$PASSFILE"
echo "passphrase written to $PASSFILE (mode 600); kura reads it through KURA_PASSWORD_FILE"
export KURA_PASSWORD_FILE=$PASSFILE
export KURA_REPOSITORY=$REPO
export KURA_CACHE_DIR=$DEMO/cache

step "kura init (default key derivation: Argon2id, moderate profile)"
"$KURA" init
echo "repository created at $REPO"

step "kura backup $SRC"
"$KURA" backup "$SRC"

step "kura snapshots"
"$KURA" snapshots

step "kura restore latest --target $RESTORED"
"$KURA" restore latest --target "$RESTORED"

step "verifying the restore against the source (rsync -aHAXn --checksum)"
diffs=$(rsync -aHAXn --checksum --itemize-changes --numeric-ids --delete "$SRC/" "$RESTORED$SRC/") ||
	die "rsync could not compare $SRC and $RESTORED$SRC"
if [ -n "$diffs" ]; then
	echo "$diffs" | sed -n 1,50p
	die "the restored tree differs from the source (differences above)"
fi
rfiles=$(find "$RESTORED$SRC" -type f | wc -l)
rbytes=$(find "$RESTORED$SRC" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
[ "$rfiles" -eq "$nfiles" ] || die "restored $rfiles files, expected $nfiles"
echo "verified: restore is identical to the source ($nfiles files, $nbytes bytes)"

step "kura check --read-data (decrypts and verifies every blob in the repository)"
"$KURA" check --read-data

step "done"
echo "backed up, restored and verified $nfiles files ($rbytes bytes); the repository is intact."
