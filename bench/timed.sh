# shellcheck shell=bash
# timed.sh -- the one timing of s3.sh, s3-trees.sh, vault_s3.sh and vault-vs-local.sh, and the
# check of their restores (sourced, not run).
# The caller sets BASE (its scratch dir).
#
# timed NAME SETUP CMD...: run CMD after a `sync` (the previous step's dirty pages are not
# charged to it), its output in $BASE/last.out and last.err; a restore is synced before the
# clock stops (its writes are part of it).  Appends "NAME SETUP SECONDS" to $BASE/times;
# exits the script, with the tail of CMD's errors, if CMD fails.
timed() {
  local name=$1 setup=$2 t0
  shift 2
  sync
  t0=$(date +%s.%N)
  "$@" >"$BASE/last.out" 2>"$BASE/last.err" || { echo "$name $setup failed: $(tail -n 5 "$BASE/last.err")" >&2; exit 1; }
  if [ "$name" = restore ]; then sync; fi
  echo "$name $setup $(echo "$(date +%s.%N) - $t0" | bc)" >>"$BASE/times"
}

# verify DIR WHO: DIR (a restore) must equal $BASE/src, else the script exits naming WHO.
verify() { diff -r "$BASE/src" "$1" >/dev/null || { echo "restore of $2 differs" >&2; exit 1; }; }
