#!/usr/bin/env bash
# drill_postgres.sh - a database drill against a real PostgreSQL, started
# once by this test on a Unix socket only (no TCP): a pg_dump is streamed
# into `kura backup --stdin` with the backup key, and `kura drill
# --verify-command` loads the restored dump into a fresh database and
# checks the row counts of every table; a corrupted pack makes the same
# drill fail (exit 6) and name the dump.  Skipped when PostgreSQL is not
# installed (scripts/deps.sh installs it).
. "$(dirname "$0")/lib.sh"

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
	echo "SKIP $TEST_NAME: no PostgreSQL server in /usr/lib/postgresql (scripts/deps.sh)"
	exit 0
fi
# The server refuses to run as root: as root, run it as postgres (or nobody).
AS=()
if [ "$(id -u)" -eq 0 ]; then
	pguser=postgres
	id "$pguser" >/dev/null 2>&1 || pguser=nobody
	AS=(setpriv --reuid="$pguser" --regid="$(id -g "$pguser")" --clear-groups --)
	chmod 711 "$WORK"
fi
PG=$WORK/pg
mkdir -p "$PG/sock"
[ ${#AS[@]} -eq 0 ] || chown -R "$pguser:" "$PG"
PORT=$(free_port)
export PGHOST=$PG/sock PGPORT=$PORT PGUSER=kura
pg_log() { tail -n 20 "$PG/server.log" 2>/dev/null; }

note "start PostgreSQL ($PGBIN)"
"${AS[@]}" "$PGBIN/initdb" -D "$PG/data" -U kura -A trust --no-sync -E UTF8 >"$WORK/initdb.log" 2>&1 ||
	fail "initdb: $(tail -n 20 "$WORK/initdb.log")"
"${AS[@]}" "$PGBIN/pg_ctl" -D "$PG/data" -l "$PG/server.log" -w -t 30 \
	-o "-c listen_addresses='' -k $PG/sock -p $PORT -c fsync=off" start >/dev/null ||
	fail "pg_ctl start: $(pg_log)"
pg_stop() { "${AS[@]}" "$PGBIN/pg_ctl" -D "$PG/data" -m immediate stop >/dev/null 2>&1; }
at_exit pg_stop
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

note "an EMR database"
psql -d postgres -c 'CREATE DATABASE emr'
psql -d emr <<'SQL'
CREATE TABLE patients (id int PRIMARY KEY, name text NOT NULL, ward text NOT NULL);
INSERT INTO patients SELECT i, 'patient ' || i, 'ward ' || (i % 12) FROM generate_series(1, 4000) i;
CREATE TABLE visits (id bigserial PRIMARY KEY, patient int REFERENCES patients, note text);
INSERT INTO visits (patient, note)
  SELECT 1 + i % 4000, md5(i::text) || repeat(' observation', 1 + i % 7) FROM generate_series(1, 30000) i;
SQL

note "pg_dump streamed into kura backup --stdin with the backup key"
init_repo
expect_exit 0 kura key backup-key --output "$WORK/backup.key"
"$PGBIN/pg_dump" -d emr --no-owner | setsid -w env -u KURA_PASSWORD_FILE \
	KURA_KEY_FILE="$WORK/backup.key" "$KURA" --json backup --stdin --stdin-filename emr.sql \
	>"$WORK/backup.json" 2>"$WORK/backup.err" || fail "backup --stdin: $(cat "$WORK/backup.err")"
snap=$(json_get "$(cat "$WORK/backup.json")" 'd["snapshot_id"]')

# The verify command: the restored dump into a fresh database, every table counted.
cat >"$WORK/pgverify.sh" <<EOS
#!/bin/sh
set -e
dump=\$(find "\$1" -name emr.sql -type f)
[ -n "\$dump" ] || { echo "pgverify: no emr.sql in \$1" >&2; exit 2; }
db=drill_\$\$
"$PGBIN/psql" -X -q -d postgres -c "CREATE DATABASE \$db"
trap '"$PGBIN/psql" -X -q -d postgres -c "DROP DATABASE \$db"' EXIT
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "\$db" <"\$dump" >/dev/null
p=\$("$PGBIN/psql" -X -At -d "\$db" -c 'SELECT count(*) FROM patients')
v=\$("$PGBIN/psql" -X -At -d "\$db" -c 'SELECT count(*) FROM visits')
j=\$("$PGBIN/psql" -X -At -d "\$db" -c 'SELECT count(*) FROM visits v JOIN patients p ON p.id = v.patient')
echo "pgverify: patients=\$p visits=\$v joined=\$j" >&2
[ "\$p" = 4000 ] && [ "\$v" = 30000 ] && [ "\$j" = 30000 ]
EOS
chmod +x "$WORK/pgverify.sh"

note "the drill restores the dump and the verify command finds every row"
expect_exit 0 kura --json drill --verify-command "$WORK/pgverify.sh"
assert_eq "result" passed "$(json_get "$OUT" 'd["result"]')"
assert_eq "verify status" 0 "$(json_get "$OUT" 'd["verify_status"]')"
assert_contains "row counts checked" "patients=4000 visits=30000 joined=30000" "$ERR"
v=$(json_get "$OUT" 'd["rto_seconds"] > 0')
assert_eq "an RTO figure" true "$v"

note "a verify command that finds the wrong rows fails the drill (7)"
psql -d emr -c 'DELETE FROM visits WHERE id > 29990'
"$PGBIN/pg_dump" -d emr --no-owner | setsid -w env -u KURA_PASSWORD_FILE \
	KURA_KEY_FILE="$WORK/backup.key" "$KURA" backup --stdin --stdin-filename emr.sql \
	>/dev/null 2>"$WORK/backup.err" || fail "second backup: $(cat "$WORK/backup.err")"
expect_exit 7 kura drill --verify-command "$WORK/pgverify.sh"
assert_contains "the counts said" "visits=29990" "$ERR"

note "corrupted packs fail the same drill, which names the dump"
# every pack of the dump's data: trees are in packs of their own, and a pack whose damage stops
# `kura ls` holds trees (that one fails the walk, not the dump's check) and is put back
damaged=0
for p in $(find "$KURA_REPOSITORY/data" -type f); do
	chmod u+w "$p"
	cp "$p" "$WORK/pack.orig"
	printf '\xff\xff\xff\xff' | dd of="$p" bs=1 seek=300 conv=notrunc status=none
	if kura ls "$snap" >/dev/null 2>&1; then damaged=$((damaged + 1)); else cp "$WORK/pack.orig" "$p"; fi
done
[ "$damaged" -gt 0 ] || fail "no pack of the dump's data to damage"
expect_exit 6 kura drill "$snap" --verify-command "$WORK/pgverify.sh"
assert_contains "names the dump" "emr.sql" "$ERR"
assert_contains "names the snapshot" "${snap:0:8}" "$ERR"

echo "PASS drill_postgres"
