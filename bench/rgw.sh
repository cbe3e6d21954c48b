# shellcheck shell=bash
# rgw.sh -- the Ceph RGW that bench/s3.sh and bench/vault_s3.sh run against
# (sourced, not run).  The caller sets ROOT (the checkout) and BASE (its
# scratch dir) and calls rgw_down on exit.
#
# rgw_up: with RGW_DIR set, use the RGW already up there; else start one in
# $BASE/rgw with tests/services/rgw/rgw-up.sh (free loopback ports, log in
# $BASE/rgw-up.log), which rgw_down stops.  Then read its env file:
# S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY S3_REGION (and the AWS_* names).
RGW_STARTED=
rgw_up() {
  if [ -z "${RGW_DIR:-}" ]; then
    RGW_DIR=$BASE/rgw
    RGW_STARTED=1 # before the start: a half-started RGW is stopped too
    RGW_DIR=$RGW_DIR RGW_PORT=0 RGW_MON_PORT=0 RGW_INSTALL=0 bash "$ROOT/tests/services/rgw/rgw-up.sh" >"$BASE/rgw-up.log" 2>&1 ||
      { echo "RGW did not start (see $BASE/rgw-up.log)" >&2; exit 1; }
  fi
  # shellcheck disable=SC1091
  . "$RGW_DIR/env"
}

# s3curl ARGS...: curl signed with the RGW's keys (buckets made, objects looked at)
s3curl() { curl -s --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"; }

# rgw_down: stop the RGW rgw_up started; one the caller gave is left up.
rgw_down() {
  if [ -n "$RGW_STARTED" ]; then RGW_DIR=$RGW_DIR bash "$ROOT/tests/services/rgw/rgw-down.sh" >/dev/null 2>&1 || true; fi
}
