#!/usr/bin/env bash
# Copied from ../shared/ceph/rgw-down.sh (2026-12-02); only the default
# directory changed, to rgw-up.sh's.
# rgw-down.sh - stop the daemons started by rgw-up.sh (by the PIDs in their pid
# files only) and remove the scratch dir.  RGW_KEEP=1 keeps $RGW_DIR (logs).
set -uo pipefail
RGW_DIR=${RGW_DIR:-${TMPDIR:-/tmp}/kura-rgw-$(id -u)}
[ -d "$RGW_DIR/run" ] || { echo "[rgw-down] nothing at $RGW_DIR" >&2; exit 0; }

stop_pid() { # stop_pid NAME PIDFILE
  local name=$1 pf=$2 pid i
  [ -f "$pf" ] || return 0
  pid=$(cat "$pf")
  # only signal it if it still is the ceph daemon we started
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$RGW_DIR/ceph.conf"; then
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then echo "[rgw-down] $name ($pid) still alive, SIGKILL" >&2; kill -KILL "$pid" 2>/dev/null; fi
    echo "[rgw-down] stopped $name ($pid)" >&2
  fi
  rm -f "$pf"
}

stop_pid radosgw "$RGW_DIR/run/client.rgw.ci.pid"
for pf in "$RGW_DIR"/run/osd.*.pid; do [ -e "$pf" ] && stop_pid "$(basename "$pf" .pid)" "$pf"; done
stop_pid mgr.x "$RGW_DIR/run/mgr.x.pid"
stop_pid mon.a "$RGW_DIR/run/mon.a.pid"

if [ "${RGW_KEEP:-0}" != 1 ]; then rm -rf "$RGW_DIR"; echo "[rgw-down] removed $RGW_DIR" >&2; fi
