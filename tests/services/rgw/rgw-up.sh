#!/usr/bin/env bash
# Copied from ../shared/ceph/rgw-up.sh (the project's shared Ceph notes,
# 2026-12-02) for kura's test suite; changes: a private default directory,
# free loopback ports chosen here (RGW_PORT=0 / RGW_MON_PORT=0, the
# default) so that parallel suites do not collide, memstore by default
# (no 10 GiB file), and AWS_ENDPOINT_URL/AWS_REGION in the env file.
#
# rgw-up.sh - bring up a throw-away single-node Ceph cluster (1 mon, 1 osd,
# optional mgr) plus radosgw (S3, with Object Lock support) bound to
# 127.0.0.1 only, from Debian bookworm packages (ceph 16.2.x "pacific").
# No systemd, no docker, no root-owned system paths: everything lives in $RGW_DIR.
#
# Usage:  bash rgw-up.sh            # prints endpoint + keys, writes $RGW_DIR/env
#         . "$RGW_DIR/env"          # exports S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY S3_REGION
#         bash rgw-down.sh          # stops the daemons (by PID) and removes $RGW_DIR
#
# Knobs (environment):
#   RGW_DIR        scratch dir                       (default /tmp/rgw-ci)
#   RGW_PORT       S3 HTTP port on 127.0.0.1         (default 7480)
#   RGW_MON_PORT   mon msgr2 port (v1 = +3489)        (default 3300 -> v1 6789)
#   RGW_STORE      bluestore (file-backed) | memstore (default bluestore)
#   RGW_OSD_SIZE   bluestore file / memstore size, bytes (default 10 GiB sparse / 2 GiB RAM)
#   RGW_WITH_MGR   1 = also start ceph-mgr (not needed by RGW; costs ~RSS+pkgs) (default 0)
#   RGW_INSTALL    1 = apt-get install the packages first (default 1; skipped if present)
#   RGW_ACCESS_KEY / RGW_SECRET_KEY   S3 credentials (default fixed test keys)
#   RGW_TIMEOUT    seconds to wait for each step     (default 120)
set -euo pipefail

RGW_DIR=${RGW_DIR:-${TMPDIR:-/tmp}/kura-rgw-$(id -u)}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RGW_PORT=${RGW_PORT:-0}
RGW_MON_PORT=${RGW_MON_PORT:-0}
[ "$RGW_PORT" = 0 ] && RGW_PORT=$(free_port)
[ "$RGW_MON_PORT" = 0 ] && RGW_MON_PORT=$(free_port)
RGW_MON_PORT_V1=${RGW_MON_PORT_V1:-$(free_port)}
RGW_STORE=${RGW_STORE:-memstore}
RGW_WITH_MGR=${RGW_WITH_MGR:-0}
RGW_INSTALL=${RGW_INSTALL:-1}
RGW_ACCESS_KEY=${RGW_ACCESS_KEY:-CITESTACCESSKEY00001}
RGW_SECRET_KEY=${RGW_SECRET_KEY:-citestsecretkey0000000000000000000000001}
RGW_TIMEOUT=${RGW_TIMEOUT:-120}
if [ "$RGW_STORE" = memstore ]; then RGW_OSD_SIZE=${RGW_OSD_SIZE:-4294967296}; else RGW_OSD_SIZE=${RGW_OSD_SIZE:-10737418240}; fi

t0=$(date +%s.%N)
log() { printf '[rgw-up %6.1fs] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{print a-b}')" "$*" >&2; }
die() {
  log "ERROR: $*"
  for f in "$RGW_DIR"/log/*.log; do [ -f "$f" ] && { echo "--- tail $f" >&2; tail -n 15 "$f" | cut -c1-300 >&2; }; done
  # stop whatever we started (by pid file), keep the dir for post-mortem
  RGW_DIR=$RGW_DIR RGW_KEEP=1 bash "$(dirname "${BASH_SOURCE[0]}")/rgw-down.sh" || true
  exit 1
}
wait_for() { # wait_for DESCRIPTION COMMAND...
  local what=$1; shift; local i=0
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1)); [ "$i" -gt $((RGW_TIMEOUT * 4)) ] && die "timed out waiting for $what"
    sleep 0.25
  done
}

# ---------------------------------------------------------------- packages
pkgs="ceph-mon ceph-osd radosgw ceph-common uuid-runtime curl"
[ "$RGW_WITH_MGR" = 1 ] && pkgs="$pkgs ceph-mgr"
if [ "$RGW_INSTALL" = 1 ]; then
  missing=""
  for p in $pkgs; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    echo "[rgw-up] apt-get install$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends $missing >/dev/null
  fi
fi
t0=$(date +%s.%N)

[ -e "$RGW_DIR" ] && { echo "[rgw-up] $RGW_DIR exists; run rgw-down.sh first" >&2; exit 1; }
for port in "$RGW_PORT" "$RGW_MON_PORT" "$RGW_MON_PORT_V1"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "[rgw-up] 127.0.0.1:$port is already in use (set RGW_PORT / RGW_MON_PORT)" >&2; exit 1
  fi
done
mkdir -p "$RGW_DIR"/{run,log,mon,osd,mgr,rgw,crash,tmp}
RGW_DIR=$(cd "$RGW_DIR" && pwd)
CONF=$RGW_DIR/ceph.conf
FSID=$(uuidgen)

# ---------------------------------------------------------------- config
cat > "$CONF" <<EOF
[global]
fsid = $FSID
mon_host = [v2:127.0.0.1:$RGW_MON_PORT,v1:127.0.0.1:$RGW_MON_PORT_V1]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv6 = false
ms_bind_ipv4 = true
# loopback-only throw-away cluster: no cephx (S3 auth in RGW is unaffected)
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
run_dir = $RGW_DIR/run
admin_socket = $RGW_DIR/run/\$name.asok
pid_file = $RGW_DIR/run/\$name.pid
log_file = $RGW_DIR/log/\$name.log
mon_cluster_log_file = $RGW_DIR/log/cluster.log
crash_dir = $RGW_DIR/crash
keyring = $RGW_DIR/keyring
mon_data = $RGW_DIR/mon/\$name
osd_data = $RGW_DIR/osd/\$name
mgr_data = $RGW_DIR/mgr/\$name
rgw_data = $RGW_DIR/rgw/\$name
# one OSD, replication 1, few PGs, no autoscaler (no mgr needed)
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
mon_warn_on_insecure_global_id_reclaim_allowed = false
mon_max_pg_per_osd = 1000
# CI disks can be nearly full: do not let the mon shut itself down
mon_data_avail_warn = 1
mon_data_avail_crit = 0
mon_osd_full_ratio = 0.99
mon_osd_nearfull_ratio = 0.98
mon_osd_backfillfull_ratio = 0.985
osd_failsafe_full_ratio = 0.995
debug_ms = 0/0
# commit map changes faster (RGW creates ~6 pools at first start, each a map change)
paxos_propose_interval = 0.1

[mon]
mon_cluster_log_to_file = true

[osd]
osd_objectstore = $RGW_STORE
bluestore_block_create = true
bluestore_block_size = $RGW_OSD_SIZE
bluestore_fsck_on_mkfs = false
bluestore_fsck_on_mount = false
memstore_device_bytes = $RGW_OSD_SIZE
osd_memory_target = 1073741824
osd_op_num_shards = 2
osd_op_num_threads_per_shard = 2

[client]
log_file = $RGW_DIR/log/\$name.log

[client.rgw.ci]
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT
# radosgw's built-in defaults are ms_mon_client_mode=secure + cephx, which
# cannot work with auth=none (fails with "get_initial_auth_request returned -13")
ms_mon_client_mode = crc
rgw_thread_pool_size = 64
rgw_enable_usage_log = false
EOF
export CEPH_CONF=$CONF
export TMPDIR=$RGW_DIR/tmp

# ---------------------------------------------------------------- mon
log "mon: mkfs"
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$RGW_MON_PORT,v1:127.0.0.1:$RGW_MON_PORT_V1]" "$RGW_DIR/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$RGW_DIR/monmap" >"$RGW_DIR/log/mkfs-mon.out" 2>&1 || die "ceph-mon --mkfs failed: $(cat "$RGW_DIR/log/mkfs-mon.out")"
ceph-mon -c "$CONF" -i a || die "ceph-mon failed to start"
wait_for "mon quorum" timeout 5 ceph -c "$CONF" mon stat
log "mon: up (pid $(cat "$RGW_DIR/run/mon.a.pid"))"

# ---------------------------------------------------------------- mgr (optional)
if [ "$RGW_WITH_MGR" = 1 ]; then
  mkdir -p "$RGW_DIR/mgr/mgr.x"
  ceph-mgr -c "$CONF" -i x || die "ceph-mgr failed to start"
  log "mgr: started"
fi

# ---------------------------------------------------------------- osd
OSD_UUID=$(uuidgen)
OSD_ID=$(ceph -c "$CONF" osd new "$OSD_UUID") || die "ceph osd new failed"
mkdir -p "$RGW_DIR/osd/osd.$OSD_ID"
log "osd.$OSD_ID: mkfs ($RGW_STORE, $RGW_OSD_SIZE bytes)"
ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >"$RGW_DIR/log/mkfs-osd.out" 2>&1 || die "ceph-osd --mkfs failed: $(tail -5 "$RGW_DIR/log/mkfs-osd.out")"
ceph-osd -c "$CONF" -i "$OSD_ID" 2>>"$RGW_DIR/log/osd-start.err" || die "ceph-osd failed to start"
osd_up() { ceph -c "$CONF" osd dump 2>/dev/null | grep -q "^osd.$OSD_ID up"; }
wait_for "osd.$OSD_ID up" osd_up
log "osd.$OSD_ID: up (pid $(cat "$RGW_DIR/run/osd.$OSD_ID.pid"))"

# ---------------------------------------------------------------- rgw
log "rgw: creating S3 user (also creates the RGW pools)"
radosgw-admin -c "$CONF" user create --uid=ci --display-name="CI user" \
  --access-key="$RGW_ACCESS_KEY" --secret-key="$RGW_SECRET_KEY" >"$RGW_DIR/user.json" 2>"$RGW_DIR/log/radosgw-admin.err" \
  || die "radosgw-admin user create failed: $(tail -5 "$RGW_DIR/log/radosgw-admin.err")"
mkdir -p "$RGW_DIR/rgw/client.rgw.ci"
radosgw -c "$CONF" -n client.rgw.ci || die "radosgw failed to start"
rgw_http() { curl -sf -o /dev/null "http://127.0.0.1:$RGW_PORT/"; }
wait_for "radosgw on 127.0.0.1:$RGW_PORT" rgw_http
log "rgw: up (pid $(cat "$RGW_DIR/run/client.rgw.ci.pid")) at http://127.0.0.1:$RGW_PORT"

cat > "$RGW_DIR/env" <<EOF
export CEPH_CONF=$CONF
export S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
export S3_REGION=us-east-1
export S3_ACCESS_KEY=$RGW_ACCESS_KEY
export S3_SECRET_KEY=$RGW_SECRET_KEY
export AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
export AWS_DEFAULT_REGION=us-east-1
export AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$RGW_PORT
export RGW_PORT=$RGW_PORT
EOF
log "ready"
echo "S3_ENDPOINT=http://127.0.0.1:$RGW_PORT"
echo "S3_ACCESS_KEY=$RGW_ACCESS_KEY"
echo "S3_SECRET_KEY=$RGW_SECRET_KEY"
echo "S3_REGION=us-east-1"
echo "ENV_FILE=$RGW_DIR/env"
