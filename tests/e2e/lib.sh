# tests/e2e/lib.sh - common setup for the end-to-end scripts.  Source it
# first thing:  . "$(dirname "$0")/lib.sh"
#
# It makes a private work directory ($WORK, removed on exit), a passphrase
# file ($PASSFILE), and exports KURA_REPOSITORY=$WORK/repo,
# KURA_CACHE_DIR=$WORK/cache, KURA_PASSWORD_FILE=$PASSFILE and
# KURA_APPROVER_PASSWORD_FILE=$PASSFILE.
#
# Helpers:
#   fail MSG...             print "FAIL: MSG" and exit 1
#   note MSG...             print a progress line
#   kura ARGS...            run the binary under test (stdin from /dev/null)
#   expect_exit CODE CMD... run CMD; fail unless it exits with CODE.  Its
#                           output is left in $OUT (stdout) and $ERR (stderr)
#   expect_fail CMD...      run CMD; fail unless it exits non-zero and < 128
#   no_crash RC ERRFILE WHAT  fail if RC >= 128 or ERRFILE holds a sanitizer report
#   json_get JSON EXPR      evaluate the python expression EXPR with d = the
#                           parsed JSON and print the result (JSON for
#                           non-strings)
#   ndjson_get TEXT EXPR    the same with d = the list of objects, one a line
#   gen_random FILE BYTES SEED   deterministic incompressible content
#   gen_text FILE LINES SEED     deterministic compressible text
#   make_tree DIR           a varied sample tree (see below)
#   count_files DIR         number of regular files (every name counts)
#   same_tree A B           fail unless B is an identical copy of A,
#                           including A's own metadata
#   same_contents A B       like same_tree but ignores the metadata of the
#                           two top directories themselves
#   partly_restored SRC DEST JSON [below]  a restore that failed some paths
#                           failed only those and restored the rest identical
#                           (see below)
#   du_bytes PATH           apparent size in bytes (du -sb)
#   assert_eq WHAT EXPECTED ACTUAL
#   assert_contains WHAT NEEDLE HAYSTACK
#   assert_not_contains WHAT NEEDLE HAYSTACK
#   need_rgw                the run's shared Ceph RGW (tests/services/rgw),
#                           started if it is not up; exports AWS_* and S3_*
#   s3_bucket NAME          a bucket name unique to this test run, in S3_BUCKET
#   s3curl ARGS... URL      curl signed with the RGW owner's keys (SigV4)
set -euo pipefail
export LC_ALL=C.UTF-8

_lib_root=${KURA_TEST_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KURA=${KURA:-$_lib_root/build/kura}
case $KURA in /*) ;; *) KURA=$PWD/$KURA ;; esac
[ -x "$KURA" ] || { echo "FAIL: kura binary not found at $KURA (set KURA=...)" >&2; exit 1; }
export KURA

TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kura-e2e-$TEST_NAME.XXXXXX")
_cleanup_hooks=()
at_exit() { _cleanup_hooks+=("$*"); }
_lib_cleanup() {
	local rc=$? h
	for h in "${_cleanup_hooks[@]+"${_cleanup_hooks[@]}"}"; do eval "$h" || true; done
	if [ "$rc" -ne 0 ] && [ "${KEEP_WORK:-0}" = 1 ]; then
		echo "(work directory kept: $WORK)" >&2
	else
		# restored trees may hold immutable-looking modes; make sure rm works
		chmod -R u+rwx "$WORK" 2>/dev/null || true
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap _lib_cleanup EXIT

PASSPHRASE="correct horse battery staple kura test"
PASSFILE=$WORK/passphrase
printf '%s\n' "$PASSPHRASE" >"$PASSFILE"
chmod 600 "$PASSFILE"
export KURA_REPOSITORY=$WORK/repo
export KURA_CACHE_DIR=$WORK/cache
export KURA_PASSWORD_FILE=$PASSFILE
# approver keys (kurad approver add, kurad approve, kura approve) are sealed under it too
export KURA_APPROVER_PASSWORD_FILE=$PASSFILE
unset KURA_KEY_FILE KURA_PASSWORD || true

OUT= ERR=

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

note() { echo "== $*"; }

kura() { "$KURA" "$@" </dev/null; }

_show_output() {
	echo "--- command: $1" >&2
	echo "--- stdout (last 30 lines):" >&2
	printf '%s\n' "$OUT" | tail -n 30 >&2
	echo "--- stderr (last 30 lines):" >&2
	printf '%s\n' "$ERR" | tail -n 30 >&2
}

# expect_exit CODE CMD...: OUT/ERR hold the output afterwards.
expect_exit() {
	local want=$1; shift
	local rc=0 of ef
	of=$WORK/.out.$$ ef=$WORK/.err.$$
	"$@" >"$of" 2>"$ef" || rc=$?
	OUT=$(cat "$of") ERR=$(cat "$ef")
	rm -f "$of" "$ef"
	if [ "$rc" -ne "$want" ]; then
		_show_output "$*"
		fail "expected exit status $want from: $*; got $rc"
	fi
	if [ "$rc" -ge 128 ] || grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer|runtime error:' <<<"$ERR"; then
		_show_output "$*"
		fail "crash or sanitizer report from: $*"
	fi
	return 0
}

# expect_fail CMD...: any exit status 1..127 (a clean refusal, not a crash).
expect_fail() {
	local rc=0 of ef
	of=$WORK/.out.$$ ef=$WORK/.err.$$
	"$@" >"$of" 2>"$ef" || rc=$?
	OUT=$(cat "$of") ERR=$(cat "$ef")
	rm -f "$of" "$ef"
	if [ "$rc" -eq 0 ]; then
		_show_output "$*"
		fail "expected a failure from: $*; it exited 0"
	fi
	if [ "$rc" -ge 128 ] || grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer|runtime error:' <<<"$ERR"; then
		_show_output "$*"
		fail "crash (exit $rc) or sanitizer report from: $*"
	fi
	LAST_RC=$rc
	return 0
}

# no_crash RC ERRFILE WHAT: fail on a signal exit or a sanitizer report
# (ASan exits 1 by default, so a report can hide behind an expected failure)
no_crash() {
	if [ "$1" -ge 128 ] || grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer|runtime error:' "$2" 2>/dev/null; then
		tail -n 40 "$2" >&2 2>/dev/null || true
		fail "$3: crash (exit $1) or sanitizer report"
	fi
}

json_get() {
	python3 -c '
import json, sys
try:
    text = sys.stdin.read()
    d = json.loads(text)
except Exception as e:
    sys.stderr.write("FAIL: not valid JSON (%s): %r\n" % (e, text[:2000]))
    sys.exit(1)
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))
' "$2" <<<"$1" || fail "json_get '$2' failed"
}

ndjson_get() {
	python3 -c '
import json, sys
d = []
for n, line in enumerate(sys.stdin.read().splitlines(), 1):
    if not line.strip():
        continue
    try:
        d.append(json.loads(line))
    except Exception as e:
        sys.stderr.write("FAIL: line %d is not valid JSON (%s): %r\n" % (n, e, line[:500]))
        sys.exit(1)
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))
' "$2" <<<"$1" || fail "ndjson_get '$2' failed"
}

assert_eq() {
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

assert_contains() {
	grep -qF -- "$2" <<<"$3" || fail "$1: expected to find '$2' in:
$3"
}

assert_not_contains() {
	! grep -qF -- "$2" <<<"$3" || fail "$1: did not expect '$2' in:
$3"
}

# pg_relation FILE: a fake PostgreSQL relation segment (put it at base/DBOID/RELFILENODE), 2 MiB of
# 8 KiB pages holding rows of text and numbers: compressible, like a table.
pg_relation() {
	python3 - "$1" <<'EOF'
import random, sys
r = random.Random(5)
pages = []
for p in range(256):
    rows = b"".join(b"%08d|%s|%d\n" % (p * 100 + i, bytes(r.choice(b"abcdefghij") for _ in range(30)), r.randrange(10**6))
                    for i in range(140))
    pages.append((rows + bytes(8192))[:8192])
open(sys.argv[1], "wb").write(b"".join(pages))
EOF
}

# pg_update_rows FILE SEED N: one row of pg_relation's rewritten in place in each of N random pages
pg_update_rows() {
	python3 - "$@" <<'EOF'
import random, sys
path, seed, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
with open(path, "r+b") as f:
    for p in r.sample(range(256), n):
        f.seek(p * 8192 + 41 * r.randrange(100))
        f.write(b"%08d|UPDATED %012d|" % (p, r.randrange(10**12)))
EOF
}

gen_random() { # FILE BYTES SEED
	python3 - "$1" "$2" "$3" <<'EOF'
import random, sys
path, n, seed = sys.argv[1], int(sys.argv[2]), sys.argv[3]
r = random.Random(seed)
with open(path, "wb") as f:
    while n > 0:
        k = min(n, 1 << 20)
        f.write(r.randbytes(k))
        n -= k
EOF
}

gen_text() { # FILE LINES SEED
	python3 - "$1" "$2" "$3" <<'EOF'
import random, sys
path, n, seed = sys.argv[1], int(sys.argv[2]), sys.argv[3]
r = random.Random(seed)
words = ("patient record ward admission discharge dose nurse chart "
         "radiology image archive pharmacy schedule allergy").split()
with open(path, "w") as f:
    for i in range(n):
        f.write("%06d %s\n" % (i, " ".join(r.choice(words) for _ in range(10))))
EOF
}

# make_tree DIR: nested directories, an empty file, a 5 MiB random file,
# compressible text, symlinks, a hard-link pair, names with spaces, unicode
# and a leading dash, an empty directory, various modes, fixed mtimes.
make_tree() {
	local d=$1
	mkdir -p "$d/sub/deeper/deepest" "$d/empty dir" "$d/docs" "$d/日本語"
	gen_random "$d/big.bin" $((5 * 1024 * 1024)) big
	gen_text "$d/docs/notes.txt" 20000 notes
	gen_text "$d/sub/deeper/file.txt" 50 file
	gen_text "$d/sub/deeper/deepest/leaf.txt" 10 leaf
	gen_random "$d/sub/small.bin" 3000 small
	: >"$d/empty"
	printf 'spaces\n' >"$d/name with spaces.txt"
	printf 'unicode\n' >"$d/日本語/ファイル.txt"
	printf 'cafe\n' >"$d/café.txt"
	printf 'dash\n' >"$d/-leading-dash"
	printf 'hard link content\n' >"$d/hardlink-a"
	ln "$d/hardlink-a" "$d/sub/hardlink-b"
	ln -s sub/deeper/file.txt "$d/link-to-file"
	ln -s ../docs "$d/sub/link-to-dir"
	ln -s /nonexistent/target "$d/dangling-link"
	printf '#!/bin/sh\necho hi\n' >"$d/sub/script.sh"
	chmod 755 "$d/sub/script.sh"
	chmod 600 "$d/docs/notes.txt"
	chmod 750 "$d/sub/deeper"
	local f
	for f in $(seq -w 1 20); do printf 'file %s\n' "$f" >"$d/docs/doc$f.txt"; done
	# fixed, past mtimes with nanoseconds (directories last)
	find "$d" ! -type d -exec touch -h -d '2021-03-04 05:06:07.123456789' {} +
	find "$d" -depth -type d -exec touch -d '2021-03-04 05:06:08.987654321' {} +
}

count_files() { find "$1" -type f | wc -l; }

du_bytes() { du -sb "$1" | cut -f1; }

_rsync_cmp() { # A B
	rsync -aHAXn --checksum --itemize-changes --numeric-ids --delete "$1/" "$2/"
}

# _listing DIR: every entry with type, mode, owner, nanosecond mtime, size
# (not for directories) and link target; rsync does not compare nanoseconds.
_listing() {
	(cd "$1" && find . -printf '%y %m %U %G %T@ %s %l\t%p\n' | awk -F'\t' '
		{ n = split($1, a, " "); if (a[1] == "d") a[6] = "-"
		  printf "%s %s %s %s %s %s %s\t%s\n", a[1], a[2], a[3], a[4], a[5], a[6], a[7], $2 }' | LC_ALL=C sort)
}

_compare_trees() { # A B IGNORE_ROOT
	local a=$1 b=$2 out la lb
	[ -d "$b" ] || fail "$b does not exist (expected a copy of $a)"
	out=$(_rsync_cmp "$a" "$b" 2>&1) || fail "rsync compare of $a and $b failed: $out"
	[ "$3" = 1 ] && out=$(grep -v -E '^\.d[^ ]* \./$' <<<"$out" || true)
	[ -z "$out" ] || fail "restored tree $b differs from $a (rsync -i):
$out"
	la=$(_listing "$a") lb=$(_listing "$b")
	if [ "$3" = 1 ]; then
		la=$(grep -v -P '\t\.$' <<<"$la" || true)
		lb=$(grep -v -P '\t\.$' <<<"$lb" || true)
	fi
	[ "$la" = "$lb" ] || fail "restored tree $b differs from $a (type mode uid gid mtime size target):
$(diff <(echo "$la") <(echo "$lb") | sed -n 1,40p)"
	out=$(diff -r --no-dereference "$a" "$b" 2>&1 |
		grep -v -E '^File .* is a (fifo|character special file|block special file|socket) while file .* is a (fifo|character special file|block special file|socket)$' || true)
	[ -z "$out" ] || fail "diff -r $a $b:
$out"
}

same_tree() { _compare_trees "$1" "$2" 0; }     # A B
same_contents() { _compare_trees "$1" "$2" 1; } # A B (ignores A's and B's own metadata)

# partly_restored SRC DEST JSON [below]: a restore of SRC into DEST that failed some paths, its
# `--json` report in JSON: every failed path has a reason, none is left under its name, every
# other regular file of SRC is restored byte-identical and files_restored counts exactly those.
# With `below`, a file below a failed directory (its tree was lost) counts as failed too.
# Sets FAILED (the failed paths), NRESTORED and NALL (SRC's regular files).
partly_restored() {
	local src=$1 dest=$2 json=$3 below=${4:-} f p lost
	mapfile -t FAILED < <(json_get "$json" '"\n".join(sorted(e["path"] for e in d["failed"]))')
	assert_eq "every failed path has a reason" true "$(json_get "$json" 'all(e["error"] for e in d["failed"])')"
	NRESTORED=0 NALL=0
	while IFS= read -r f; do
		NALL=$((NALL + 1))
		lost=
		for p in "${FAILED[@]}"; do
			case "$dest$src/$f" in "$p") lost=1 ;; "$p"/*) [ -z "$below" ] || lost=1 ;; esac
		done
		if [ -n "$lost" ]; then
			[ ! -e "$dest$src/$f" ] || fail "$f failed but is left under its name"
			continue
		fi
		cmp -s "$src/$f" "$dest$src/$f" || fail "$f is not listed as failed but is not restored identical"
		NRESTORED=$((NRESTORED + 1))
	done < <(cd "$src" && find . -type f | sed 's|^\./||' | sort)
	assert_eq "files_restored (those not failed)" "$NRESTORED" "$(json_get "$json" 'd["files_restored"]')"
}

# init_repo [ARGS...]: kura init --kdf interactive ARGS
init_repo() {
	expect_exit 0 kura init --kdf interactive "$@"
	[ -f "$(ls -d "$KURA_REPOSITORY"/config/* 2>/dev/null | sed -n 1p)" ] ||
		fail "init succeeded but $KURA_REPOSITORY/config/ holds no config file"
}

# backup_json ARGS...: kura --json backup ARGS; prints the snapshot id.
# The whole JSON object is left in $OUT.
backup_json() {
	expect_exit 0 kura --json backup "$@"
	local id
	id=$(json_get "$OUT" 'd["snapshot_id"]')
	[[ $id =~ ^[0-9a-f]{64}$ ]] || fail "backup --json: snapshot_id is not 64 hex digits: '$id'"
	SNAP_ID=$id
}

# Vault helpers (tests/e2e/vault_*.sh), for a kurad next to $KURA:
#   init_vault DIR [ARG...] kurad init DIR (and ARGs) for a free loopback port; sets
#                           KURAD VAULT_DIR VAULT_ADDR.  Skips the test (exit
#                           0, a SKIP line) only when kurad is missing or says
#                           it is not built yet
#   start_vault [ARG...]    serve it in the background (stopped on exit),
#                           with more `kurad serve` options if given; sets
#                           VAULT_PID.  kurad reads its clients when it
#                           starts: add them before
#   stop_vault              stop it (SIGTERM) and wait for it to exit; fail
#                           on a crash or an error exit
#   vault_client NAME ROLE REPO FILE   kurad client add (REPO "" for none)
#   cred_get FILE KEY       a member of a credential file
#   vault_repo_init         through the served vault, as $WORK/writer.cred: kura init
#                           of repository clinic, then (as $WORK/reader.cred) its backup
#                           key in $WORK/backup.key and its key in $WORK/restore.key;
#                           leaves KURA_REPOSITORY, KURA_VAULT_CREDENTIALS (the writer)
#                           and KURA_KEY_FILE (the backup key) exported for a backup
KURAD=${KURAD:-$(dirname "$KURA")/kurad}
VAULT_PID=

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

init_vault() { # DIR [ARG...]: more `kurad init` options if given (--store ...)
	local dir=$1 port rc=0
	shift
	if [ ! -x "$KURAD" ]; then
		echo "SKIP $TEST_NAME: no kurad binary at $KURAD"
		exit 0
	fi
	port=$(free_port)
	VAULT_DIR=$dir VAULT_ADDR=127.0.0.1:$port
	"$KURAD" init "$dir" --listen "$VAULT_ADDR" "$@" >"$WORK/kurad-init.out" 2>"$WORK/kurad-init.err" || rc=$?
	if [ "$rc" -ne 0 ] && grep -q 'not built yet' "$WORK/kurad-init.err"; then
		echo "SKIP $TEST_NAME: kurad is not built yet"
		exit 0
	fi
	no_crash "$rc" "$WORK/kurad-init.err" "kurad init"
	[ "$rc" -eq 0 ] || fail "kurad init $dir --listen $VAULT_ADDR failed ($rc): $(cat "$WORK/kurad-init.err")"
	# stored files are made immutable where the file system allows it
	at_exit "chattr -R -i '$dir' 2>/dev/null"
}

start_vault() {
	local rc=0 i
	"$KURAD" serve "$VAULT_DIR" --listen "$VAULT_ADDR" "$@" >"$WORK/kurad.out" 2>"$WORK/kurad.err" </dev/null &
	VAULT_PID=$!
	at_exit stop_vault quiet
	for i in $(seq 1 100); do
		if ! kill -0 "$VAULT_PID" 2>/dev/null; then
			wait "$VAULT_PID" || rc=$?
			VAULT_PID=
			fail "kurad serve exited ($rc) before listening: $(tail -n 20 "$WORK/kurad.err")"
		fi
		(exec 3<>"/dev/tcp/${VAULT_ADDR%:*}/${VAULT_ADDR##*:}") 2>/dev/null && return 0
		sleep 0.1
	done
	fail "kurad serve did not listen on $VAULT_ADDR within 10 s"
}

stop_vault() { # [quiet]: from the exit hook, never fail there
	local rc=0
	[ -n "$VAULT_PID" ] || return 0
	kill -TERM "$VAULT_PID" 2>/dev/null || true
	wait "$VAULT_PID" || rc=$?
	VAULT_PID=
	[ "${1:-}" = quiet ] && return 0
	no_crash "$rc" "$WORK/kurad.err" "kurad serve"
	# SIGTERM is the normal way to stop it
	[ "$rc" -eq 0 ] || [ "$rc" -eq 143 ] || fail "kurad serve exited with $rc: $(tail -n 20 "$WORK/kurad.err")"
}

vault_client() { # NAME ROLE REPO FILE
	local repo=()
	[ -n "$3" ] && repo=(--repo "$3")
	expect_exit 0 "$KURAD" client add "$VAULT_DIR" "$1" --role "$2" "${repo[@]}" --output "$4"
	[ "$(stat -c %a "$4")" = 600 ] || fail "credential $4 has mode $(stat -c %a "$4"), want 600"
}

vault_repo_init() {
	export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic
	export KURA_VAULT_CREDENTIALS=$WORK/writer.cred
	expect_exit 0 kura init --kdf interactive
	expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key --output "$WORK/backup.key"
	expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key export --output "$WORK/restore.key"
	export KURA_KEY_FILE=$WORK/backup.key
}

cred_get() { # FILE KEY
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" ||
		fail "credential $1 has no \"$2\""
}

# S3 helpers (tests/e2e/s3_*.sh).  The run's RGW lives in $KURA_RGW_DIR
# (tests/run.sh sets it and stops the RGW at the end); a test run on its own
# starts one in ${TMPDIR:-/tmp}/kura-rgw-UID and leaves it up for the next
# (stop it with tests/services/rgw/rgw-down.sh).  A lock keeps two tests
# from starting it at once.
need_rgw() {
	local dir=${KURA_RGW_DIR:-${TMPDIR:-/tmp}/kura-rgw-$(id -u)} rc=0
	if ! command -v radosgw >/dev/null 2>&1; then
		echo "SKIP $TEST_NAME: no radosgw (scripts/deps.sh installs it)"
		exit 0
	fi
	mkdir -p "$(dirname "$dir")"
	(
		flock -w 300 9 || exit 1
		if [ -f "$dir/env" ] && (. "$dir/env" && curl -s -o /dev/null --max-time 5 "$S3_ENDPOINT/"); then
			exit 0
		fi
		[ -e "$dir" ] && RGW_DIR=$dir bash "$_lib_root/tests/services/rgw/rgw-down.sh" >/dev/null 2>&1 9>&-
		# the daemons must not inherit the lock (fd 9), or they hold it forever
		RGW_DIR=$dir RGW_INSTALL=0 bash "$_lib_root/tests/services/rgw/rgw-up.sh" 9>&-
	) 9>"$dir.lock" >"$WORK/rgw-up.log" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || fail "could not start the Ceph RGW in $dir: $(tail -n 20 "$WORK/rgw-up.log")"
	# shellcheck disable=SC1091
	. "$dir/env"
	unset AWS_SESSION_TOKEN KURA_S3_ADDRESSING KURA_S3_LOCK_DAYS || true
}

s3_bucket() { # NAME
	S3_BUCKET=$(printf 'kura-%s-%s-%s' "$1" "$$" "$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')" |
		tr 'A-Z_' 'a-z-' | cut -c1-63)
}

s3curl() {
	curl -s --aws-sigv4 "aws:amz:${S3_REGION:-us-east-1}:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
		-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}

# s3_retain_until BUCKET/KEY: the object's Object Lock RetainUntilDate, as epoch seconds
s3_retain_until() {
	s3curl "$S3_ENDPOINT/$1?retention=" | sed -n 's:.*<RetainUntilDate>\([^<.Z]*\).*:\1:p' |
		xargs -I{} date -u -d {} +%s
}

# Prune-overlap helpers (prune_overlap.sh on disk, s3_prune_overlap.sh on
# RGW): a backup --stdin of $WORK/data.bin paused after its first MiB while
# a prune runs.  The caller says how its store is read by defining
#   snapshot_bytes ID FILE  copy stored snapshot ID into FILE
#   pack_stored NAME        true when pack NAME is stored
#   npacks                  how many packs are stored
# and may define overlap_backup_holds (true once the paused backup holds the
# repository's lock; waited for) and set CHECK_ARGS (for kura check).
#   packs_of ID...          the snapshots' plaintext pack lists (FORMAT.md, "Snapshot files")
#   all_stored ID           fail unless every pack the snapshot lists is stored
#   start_paused NAME       start the paused backup (BPID)
#   finish_paused           write the rest, close the FIFO, wait; BRC is its exit status
#   overlap_waiting_prune ID  (a2): forget ID, then prune --wait 1m beside a paused
#                           backup: it waits, removes nothing, then keeps what the
#                           backup saved (restored byte for byte)
packs_of() {
	local i
	for i in "$@"; do snapshot_bytes "$i" "$WORK/snap.$i"; done
	python3 - "$WORK" "$@" <<'PY'
import struct, sys
work, ids = sys.argv[1], sys.argv[2:]
out = set()
for i in ids:
    b = open("%s/snap.%s" % (work, i), "rb").read()
    (n,) = struct.unpack_from("<I", b, 20)
    out.update(b[24 + 32 * k:56 + 32 * k].hex() for k in range(n))
print("\n".join(sorted(out)))
PY
}

all_stored() {
	local p
	while read -r p; do
		pack_stored "$p" || fail "pack $p of snapshot $1 was removed"
	done < <(packs_of "$1")
}

start_paused() {
	FIFO=$WORK/fifo
	rm -f "$FIFO" && mkfifo "$FIFO"
	"$KURA" --json backup --stdin --stdin-filename "$1" <"$FIFO" >"$WORK/b.out" 2>"$WORK/b.err" &
	BPID=$!
	at_exit '[ -n "$BPID" ] && kill "$BPID"'
	exec 3>"$FIFO"
	# the backup has read it when head returns: a FIFO holds 64 KiB
	head -c $((1024 * 1024)) "$WORK/data.bin" >&3
	declare -F overlap_backup_holds >/dev/null || return 0
	for _ in $(seq 1 200); do
		overlap_backup_holds && return 0
		sleep 0.05
	done
	fail "the paused backup did not take the repository's lock"
}

finish_paused() {
	tail -c +$((1024 * 1024 + 1)) "$WORK/data.bin" >&3 || true
	exec 3>&-
	BRC=0
	wait "$BPID" || BRC=$?
	BPID=
	no_crash "$BRC" "$WORK/b.err" "the paused backup"
}

overlap_waiting_prune() { # ID: sets THIRD_SNAP, the paused backup's snapshot
	local nbefore prc=0 pid
	expect_exit 0 kura forget "$1"
	start_paused third.bin
	nbefore=$(npacks)
	"$KURA" --json prune --grace 0 --wait 1m </dev/null >"$WORK/p.out" 2>"$WORK/p.err" 3>&- &
	pid=$!
	at_exit "kill $pid 2>/dev/null"
	# the prune says it waits before it waits: a handshake on its stderr, not a sleep
	for _ in $(seq 1 600); do
		grep -q "waiting up to" "$WORK/p.err" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	assert_contains "prune says who it waits for" "a backup holds the repository" "$(cat "$WORK/p.err")"
	assert_contains "prune says how long it waits" "waiting up to 1m" "$(cat "$WORK/p.err")"
	assert_eq "nothing removed while it waits" "$nbefore" "$(npacks)"
	finish_paused
	[ "$BRC" -eq 0 ] || fail "the backup beside the waiting prune failed ($BRC): $(cat "$WORK/b.err")"
	THIRD_SNAP=$(json_get "$(cat "$WORK/b.out")" 'd["snapshot_id"]')
	wait "$pid" || prc=$?
	no_crash "$prc" "$WORK/p.err" "the waiting prune"
	[ "$prc" -eq 0 ] || fail "the waiting prune exited $prc: $(cat "$WORK/p.err")"
	all_stored "$THIRD_SNAP"
	expect_exit 0 kura check --read-data ${CHECK_ARGS:-}
	expect_exit 0 kura restore "$THIRD_SNAP" --target "$WORK/r3"
	cmp "$WORK/data.bin" "$WORK/r3/third.bin" || fail "restore of snapshot 3 differs"
}

# Doctor helpers (kurad_doctor.sh, vault_s3_doctor.sh):
#   doctor_hardened_root DIR  a fake host in DIR for `kurad doctor`: hardened SSH
#                           (sshd_config.d/10-kura.conf mends the main file), a
#                           synchronised clock, the real /proc; sets R and
#                           exports KURAD_DOCTOR_ROOT
#   doctor_host             the vault at $VAULT_DIR ready for a passing doctor:
#                           approvers alice and bob (keys in $WORK/approvers, not
#                           in the vault directory) and doctor_hardened_root $WORK/root
#   doctor_ok               `kurad doctor --json` passes (exit 0, "ok": true); its JSON in J
#   doctor_key_mode REL     $VAULT_DIR/REL readable by others fails key-modes (exit 3,
#                           "ok": false) naming it, the text says the fix, and
#                           chmod 600 makes the doctor pass again
#   doctor_status JSON NAME / doctor_reason JSON NAME   one check of `kurad doctor --json`
doctor_hardened_root() {
	R=$1
	mkdir -p "$R/etc/ssh/sshd_config.d" "$R/run/systemd/timesync"
	printf 'Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\n' >"$R/etc/ssh/sshd_config"
	printf 'PasswordAuthentication no\nPermitRootLogin no\n' >"$R/etc/ssh/sshd_config.d/10-kura.conf"
	: >"$R/run/systemd/timesync/synchronized"
	ln -s /proc "$R/proc"
	export KURAD_DOCTOR_ROOT=$R
}
doctor_host() {
	local a
	mkdir -p "$WORK/approvers"
	for a in alice bob; do
		expect_exit 0 "$KURAD" approver add "$VAULT_DIR" "$a" --output "$WORK/approvers/$a.key" --kdf interactive
	done
	doctor_hardened_root "$WORK/root"
}
doctor_ok() {
	expect_exit 0 "$KURAD" doctor "$VAULT_DIR" --json
	J=$OUT
	assert_eq "ok" true "$(json_get "$J" 'd["ok"]')"
}
doctor_key_mode() {
	chmod 644 "$VAULT_DIR/$1"
	expect_exit 3 "$KURAD" doctor "$VAULT_DIR" --json
	assert_eq "key-modes" fail "$(doctor_status "$OUT" key-modes)"
	assert_contains "names the file" "$1 (mode 0644)" "$(doctor_reason "$OUT" key-modes)"
	assert_eq "ok" false "$(json_get "$OUT" 'd["ok"]')"
	expect_exit 3 "$KURAD" doctor "$VAULT_DIR"
	assert_contains "text: the fix" "fix: chmod 600" "$OUT"
	chmod 600 "$VAULT_DIR/$1"
	doctor_ok
}
doctor_status() { json_get "$1" "[c['status'] for c in d['checks'] if c['name'] == '$2'][0]"; }
doctor_reason() { json_get "$1" "[c['reason'] for c in d['checks'] if c['name'] == '$2'][0]"; }

# vault_two_snapshots SRC INIT_ARG...: the vault of the S3 deletion tests
# (vault_s3_delete.sh, vault_s3_sweep.sh): init_vault $WORK/vault INIT_ARG...,
# repository clinic (writer ward4-backup $WORK/writer.cred, reader
# restore-host $WORK/reader.cred), approver alice ($WORK/alice.key; quorum
# 1, delay 1 s, nothing kept by age or count), serving; kura init and two
# backups of SRC (made here), the first with SRC/old.bin, then removed:
# OLD_SNAP and NEW_SNAP.  KURA_REPOSITORY, KURA_VAULT_CREDENTIALS (the
# writer) and KURA_KEY_FILE (the backup key) stay exported.
vault_two_snapshots() {
	local src=$1
	shift
	mkdir -p "$src/docs"
	gen_text "$src/docs/keep.txt" 20000 keep
	gen_random "$src/old.bin" $((6 * 1024 * 1024)) old # ~6 chunks: packs of its own, whatever the order
	init_vault "$WORK/vault" "$@"
	vault_client ward4-backup writer clinic "$WORK/writer.cred"
	vault_client restore-host reader clinic "$WORK/reader.cred"
	expect_exit 0 "$KURAD" approver add "$VAULT_DIR" alice --output "$WORK/alice.key"
	expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --quorum 1 --delay 1s --min-age 0 \
		--keep-daily 0 --keep-weekly 0 --keep-monthly 0
	start_vault
	export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic
	export KURA_VAULT_CREDENTIALS=$WORK/writer.cred
	expect_exit 0 kura init --kdf interactive --pack-size 1M
	expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key --output "$WORK/backup.key"
	export KURA_KEY_FILE=$WORK/backup.key
	backup_json --no-detect "$src"
	OLD_SNAP=$SNAP_ID
	rm "$src/old.bin"
	backup_json --no-detect "$src"
	NEW_SNAP=$SNAP_ID
}

# start_fault_proxy MODE: tests/tools/s3_fault_proxy.py in front of the run's RGW on a free port
# (PPORT), its mode read from $WORK/mode, its requests logged to $WORK/proxy.log; stopped at exit.
start_fault_proxy() {
	PPORT=$(free_port)
	printf '%s\n' "$1" >"$WORK/mode"
	: >"$WORK/proxy.log"
	python3 "$_lib_root/tests/tools/s3_fault_proxy.py" "$PPORT" "$RGW_PORT" "$WORK/mode" \
		"$WORK/proxy.log" 2>"$WORK/proxy.err" &
	PROXY_PID=$!
	at_exit "kill $PROXY_PID 2>/dev/null; wait $PROXY_PID 2>/dev/null"
	for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PPORT") 2>/dev/null && break; sleep 0.1; done
}

# stored_by_backup: back up $SRC (no detection) and say the bytes it added to the repository, in $ADDED
stored_by_backup() {
	local before after
	before=$(du_bytes "$KURA_REPOSITORY")
	backup_json --no-detect "$SRC"
	after=$(du_bytes "$KURA_REPOSITORY")
	ADDED=$((after - before))
	note "added $ADDED bytes"
}
