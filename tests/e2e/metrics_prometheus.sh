#!/usr/bin/env bash
# metrics_prometheus.sh - GET /metrics scraped by a real Prometheus (Debian's
# `prometheus`) that the test starts on a free loopback port: it scrapes
# kurad over TLS, trusting the vault's certificate (tls_config ca_file,
# the name checked) with an auditor's bearer token, and its HTTP API
# returns the vault's figures: snapshots and bytes per repository, each
# writer's last backup time, the last drill's result and time, open
# alerts by kind, pending deletions, audit-log entries, request counts
# and latencies by route and status, and 3-2-1-1-0 from a copy's proof
# record (copies holding the newest snapshot, the copy's last sync and
# result, each rule and the verdict).  Also: the text passes
# `promtool check metrics`; /metrics refuses a missing or bad token (401),
# a writer (403) and other methods (405).
. "$(dirname "$0")/lib.sh"

PROMETHEUS=$(command -v prometheus || true)
if [ -z "$PROMETHEUS" ]; then
	echo "SKIP $TEST_NAME: no prometheus (scripts/deps.sh installs it)"
	exit 0
fi

SRC=$WORK/data/src
mkdir -p "$SRC"
gen_text "$SRC/notes.txt" 2000 notes

init_vault "$WORK/vault"
vault_client ward4 writer clinic "$WORK/ward4.cred"
vault_client ward5 writer clinic "$WORK/ward5.cred"
vault_client restore-host reader clinic "$WORK/reader.cred"
vault_client soc auditor "" "$WORK/auditor.cred"
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --min-age 0 --keep-daily 0 --keep-weekly 0 --keep-monthly 0
start_vault
PIN=$(cred_get "$WORK/ward4.cred" pin)
A_TOKEN=$(cred_get "$WORK/auditor.cred" token)
W_TOKEN=$(cred_get "$WORK/ward4.cred" token)
URL=https://$VAULT_ADDR
c() { curl -sS --max-time 20 --noproxy 127.0.0.1 --pinnedpubkey "$PIN" --insecure "$@"; }

note "populate: two writers, a drill, deletion requests (and their burst alert)"
export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic KURA_VAULT_CREDENTIALS=$WORK/ward4.cred
expect_exit 0 kura init --kdf interactive
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key --output "$WORK/backup.key"
export KURA_KEY_FILE=$WORK/backup.key
backup_json "$SRC"
first=$SNAP_ID
gen_text "$SRC/more.txt" 100 more
KURA_VAULT_CREDENTIALS=$WORK/ward5.cred backup_json "$SRC"
unset KURA_KEY_FILE
KURA_VAULT_CREDENTIALS=$WORK/reader.cred expect_exit 0 kura --json drill
# one copy (its proof record): 2 of 3 copies, and no check --read-data yet
KURA_VAULT_CREDENTIALS=$WORK/reader.cred expect_exit 0 kura copy --to "$WORK/usb" \
	--media removable --label usb
for i in $(seq 1 10); do
	c -o /dev/null -H "Authorization: Bearer $W_TOKEN" \
		--data '{"snapshots": ["'"$first"'"], "prune": false}' "$URL/v1/repos/clinic/deletions"
done

note "who may read /metrics"
assert_eq "no token" 401 "$(c -o /dev/null -w '%{http_code}' "$URL/metrics")"
assert_eq "a bad token" 401 "$(c -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${A_TOKEN}x" "$URL/metrics")"
assert_eq "a writer" 403 "$(c -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $W_TOKEN" "$URL/metrics")"
assert_eq "POST" 405 "$(c -o /dev/null -w '%{http_code}' -X POST --data x -H "Authorization: Bearer $A_TOKEN" "$URL/metrics")"
code=$(c -o "$WORK/metrics.txt" -D "$WORK/headers" -w '%{http_code}' -H "Authorization: Bearer $A_TOKEN" "$URL/metrics")
assert_eq "an auditor" 200 "$code"
assert_contains "exposition content type" "text/plain; version=0.0.4" "$(cat "$WORK/headers")"
if command -v promtool >/dev/null; then
	promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1 ||
		fail "promtool check metrics: $(cat "$WORK/promtool.out")"
fi

note "a Prometheus on loopback scrapes kurad over TLS with the token"
printf '%s' "$A_TOKEN" >"$WORK/token"
chmod 600 "$WORK/token"
PROM_ADDR=127.0.0.1:$(free_port)
cat >"$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: kura
    scheme: https
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials_file: $WORK/token
    tls_config:
      ca_file: $VAULT_DIR/tls/cert.pem
    static_configs:
      - targets: ['$VAULT_ADDR']
YML
"$PROMETHEUS" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
	--web.listen-address="$PROM_ADDR" --log.level=warn >"$WORK/prometheus.log" 2>&1 </dev/null &
PROM_PID=$!
at_exit "kill $PROM_PID 2>/dev/null; wait $PROM_PID 2>/dev/null"

# q PROMQL: the query's result vector as JSON, from Prometheus' HTTP API
q() {
	curl -sS --max-time 10 --noproxy 127.0.0.1 -G "http://$PROM_ADDR/api/v1/query" \
		--data-urlencode "query=$1" 2>/dev/null || true
}
for i in $(seq 1 120); do
	kill -0 "$PROM_PID" 2>/dev/null || fail "prometheus exited: $(tail -n 20 "$WORK/prometheus.log")"
	up=$(q 'up{job="kura"}')
	case $up in *'"value":'*'"1"]'*) break ;; esac
	[ "$i" -lt 120 ] || fail "no successful scrape within 30 s: $up; $(tail -n 5 "$WORK/prometheus.log")"
	sleep 0.25
done
# the metrics of one scrape: the one that made up=1 may predate the alert's write
sleep 1.2

note "Prometheus' answers are the vault's figures"
"$KURAD" status "$VAULT_DIR" --json >"$WORK/status.json"
for m in kura_snapshots kura_repository_stored_bytes kura_last_backup_timestamp_seconds \
	kura_last_drill_success kura_last_drill_timestamp_seconds kura_alerts_open \
	kura_deletions_pending kura_audit_log_entries kura_http_requests_total \
	'kura_http_request_duration_seconds_count{route="metrics"}' kura_audit_log_verified \
	kura_copies_holding_newest kura_copy_last_sync_timestamp_seconds kura_copy_last_success \
	kura_321_rule_ok kura_321_ok; do
	q "$m" >"$WORK/q.$(tr -c 'a-z0-9_' _ <<<"$m")"
done
# Prometheus holds a keep-alive connection, which kurad would wait out when stopping.
kill "$PROM_PID"
wait "$PROM_PID" 2>/dev/null || true
python3 - "$WORK" <<'PY' || fail "Prometheus' figures (above)"
import glob, json, os, sys, time
from datetime import datetime
work = sys.argv[1]
S = json.load(open(os.path.join(work, "status.json")))
res = {}
for f in glob.glob(os.path.join(work, "q.*")):
    d = json.load(open(f))
    assert d["status"] == "success", d
    res[os.path.basename(f)[2:]] = [(r["metric"], float(r["value"][1])) for r in d["data"]["result"]]
bad = []
def check(what, ok):
    if not ok:
        bad.append(what)
def one(name, **labels):
    key = [k for k in res if k.startswith(name)][0]
    hits = [v for m, v in res[key] if all(m.get(k) == v2 for k, v2 in labels.items())]
    check("%s%s: one series, got %s" % (name, labels, res[key]), len(hits) == 1)
    return hits[0] if hits else None
def ts(s):
    return datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=__import__("datetime").timezone.utc).timestamp()
clinic = [r for r in S["repositories"] if r["name"] == "clinic"][0]
check("snapshots", one("kura_snapshots", repo="clinic", job="kura") == clinic["snapshots"])
check("stored bytes", one("kura_repository_stored_bytes", repo="clinic") == clinic["bytes"])
for c in S["clients"]:
    if c["role"] == "writer":
        v = one("kura_last_backup_timestamp_seconds", repo="clinic", client=c["name"])
        check("last backup of %s: %s vs %s" % (c["name"], v, c["last_backup"]),
              v is not None and abs(v - ts(c["last_backup"])) < 1.01)
check("drill passed", one("kura_last_drill_success", repo="clinic") == 1)
v = one("kura_last_drill_timestamp_seconds", repo="clinic")
check("drill time", v is not None and abs(v - ts(clinic["last_drill"]["received"])) < 1.01)
check("the deletion-burst alert", one("kura_alerts_open", repo="clinic", kind="deletion-burst") == 1)
pending = len([d for d in S["deletions"] if d["state"] == "pending"])
check("pending deletions %d" % pending, pending == 10 and one("kura_deletions_pending", repo="clinic") == pending)
check("audit entries", (one("kura_audit_log_entries") or 0) > 30)
check("audit log verified", one("kura_audit_log_verified") == 1)
check("metrics requests counted", (one("kura_http_requests_total", route="metrics", code="200") or 0) >= 1)
check("deletion requests counted", one("kura_http_requests_total", route="deletions", code="202") == 10)
check("401s counted", (one("kura_http_requests_total", route="metrics", code="401") or 0) >= 1)
check("latency histogram", (one("kura_http_request_duration_seconds_count", route="metrics") or 0) >= 1)
C = clinic["copies"]
check("copies holding the newest: the vault and usb", one("kura_copies_holding_newest", repo="clinic") == 2)
usb = [x for x in C["stores"] if x["label"] == "usb"][0]
v = one("kura_copy_last_sync_timestamp_seconds", repo="clinic", copy="usb", media="removable", site="onsite")
check("usb synced %s vs %s" % (v, usb["last_sync"]), v is not None and abs(v - ts(usb["last_sync"])) < 1.01)
check("usb copy passed", one("kura_copy_last_success", repo="clinic", copy="usb") == 1)
for r in C["rules"]:
    check("rule %s: %s" % (r["key"], r["reason"]),
          one("kura_321_rule_ok", repo="clinic", rule=r["key"]) == (1 if r["ok"] else 0))
want = {"copies": 0, "media": 1, "offsite": 0, "offline": 1, "errors": 0}
check("the rules as expected: %s" % [(r["key"], r["ok"]) for r in C["rules"]],
      {r["key"]: int(r["ok"]) for r in C["rules"]} == want)
check("3-2-1-1-0 does not hold", one("kura_321_ok", repo="clinic") == 0 and C["verdict"] == "fails")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
stop_vault
echo "PASS metrics_prometheus"
