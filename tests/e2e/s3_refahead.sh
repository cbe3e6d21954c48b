#!/usr/bin/env bash
# s3_refahead.sh - on S3 a restore reads the references of chunks stored
# against another blob (a database file's changed pieces, stored against
# their last version) ahead, in merged ranged GETs: restoring the second
# snapshot of a PostgreSQL relation segment with ~50 changed pieces sends
# about as many GETs of packs as restoring the first (no references), not
# one more a changed piece; both restore byte for byte, also through a
# proxy that injects 503s, dropped connections and cut answers.
. "$(dirname "$0")/lib.sh"
need_rgw
s3_bucket refahead
B=$S3_BUCKET
start_fault_proxy pass
export KURA_REPOSITORY=s3:$S3_ENDPOINT/$B/r
PROXIED=s3:http://127.0.0.1:$PPORT/$B/r

SRC=$WORK/src
REL=$SRC/base/16384/16385
mkdir -p "$(dirname "$REL")"
pg_relation "$REL"

# data_bytes: the bytes of the repository's packs in the bucket
data_bytes() {
	s3curl "$S3_ENDPOINT/$B?list-type=2&prefix=r%2Fdata%2F" |
		python3 -c 'import re, sys; print(sum(int(s) for s in re.findall(r"<Size>(\d+)</Size>", sys.stdin.read())))'
}

# restore_gets SNAP COPY: restore SNAP through the proxy, byte for byte as COPY; its pack GETs in GETS
restore_gets() {
	rm -rf "$WORK/out"
	: >"$WORK/proxy.log"
	expect_exit 0 kura -r "$PROXIED" restore "$1" --target "$WORK/out"
	cmp -s "$2" "$WORK/out$REL" || fail "snapshot $1 does not restore byte for byte"
	GETS=$(grep -c ' GET /[^ ]*/r/data/' "$WORK/proxy.log" || true)
}

expect_exit 0 kura init --kdf interactive --lock-days 1
backup_json --no-detect "$SRC"
snap1=$SNAP_ID
cp "$REL" "$WORK/v1"
before=$(data_bytes)

note "one row rewritten in 60 pages: their pieces stored against their last version"
pg_update_rows "$REL" 1 60
sleep 1.1 # a new mtime, so the file cache reads it again
backup_json --no-detect "$SRC"
snap2=$SNAP_ID
cp "$REL" "$WORK/v2"
changed=$(python3 - "$WORK/v1" "$WORK/v2" <<'PY'
import sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
print(sum(a[i:i + 16384] != b[i:i + 16384] for i in range(0, len(a), 16384)))
PY
)
added=$(($(data_bytes) - before))
echo "$changed pieces of 16 KiB changed; the backup added $added bytes of packs"
# each stored alone would take ~5 KiB compressed: these are stored against their old versions
[ "$changed" -ge 40 ] || fail "only $changed pieces changed"
[ "$added" -lt $((changed * 1024)) ] || fail "the changed pieces were not stored against their last version ($added bytes added)"

note "restores read the references ahead: a few GETs, not one a changed piece"
restore_gets "$snap1" "$WORK/v1"
gets1=$GETS
restore_gets "$snap2" "$WORK/v2"
gets2=$GETS
echo "pack GETs: $gets1 restoring the first snapshot, $gets2 the second ($changed references)"
[ "$gets2" -le $((gets1 + 8)) ] || fail "restoring $changed chunks stored against others sent $gets2 pack GETs (the first snapshot: $gets1)"

note "through injected faults: byte for byte"
printf 'faults\n' >"$WORK/mode"
restore_gets "$snap2" "$WORK/v2"
injected=$(grep -c -E '^[0-9]+ (503|drop|cut) ' "$WORK/proxy.log" || true)
[ "$injected" -ge 1 ] || fail "no faults were injected"
echo "($injected faults injected)"
