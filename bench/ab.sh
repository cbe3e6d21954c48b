#!/usr/bin/env bash
# ab.sh -- one change measured alone: two kura binaries (before A, after B) run the same phase on
# the same repository, alternately, REPS times each; medians of wall, user and sys seconds and of
# peak RSS. For a noisy shared machine: alternating spreads the load over both, and the median
# drops the runs another engineer's build landed on.
#
#   bench/ab.sh A_KURA B_KURA REPO PHASE     # PHASE: check (check --read-data) or restore
#
#   REPS [9]  NICE [0] (e.g. -15 as root: the two runs take the CPU from everything else, a
#   stand-in for a quiet machine)  TARGET [/tmp/bench-ab-restore] (restore: wiped before each run)
#   KURA_PASSWORD_FILE must name the passphrase file; KURA_CACHE_DIR as for any kura run.
# Rows to stdout: "A|B wall user sys rss_kb load1"; then the two medians and B/A.
set -euo pipefail
[ $# -eq 4 ] || { sed -n 2,12p "$0"; exit 2; }
A=$1 B=$2 REPO=$3 PHASE=$4
REPS=${REPS:-9} NICE=${NICE:-0} TARGET=${TARGET:-/tmp/bench-ab-restore}
ROWS=$(mktemp)
trap 'rm -f "$ROWS" "$ROWS.t"' EXIT

# Warm the page cache: every run reads the repository from memory, as the profile's do.
find "$REPO" -type f -exec cat {} + >/dev/null

one() {
  local who=$1 bin=$2 s e
  case $PHASE in
    check) set -- "$bin" -q -r "$REPO" check --read-data --no-record ;;
    restore) rm -rf "$TARGET"; set -- "$bin" -q -r "$REPO" restore latest --target "$TARGET" ;;
    *) echo "ab.sh: unknown phase $PHASE" >&2; exit 2 ;;
  esac
  sync
  s=$(date +%s.%N)
  nice -n "$NICE" /usr/bin/time -f "%U %S %M" -o "$ROWS.t" "$@" >/dev/null
  [ "$PHASE" = restore ] && sync
  e=$(date +%s.%N)
  echo "$who $(echo "$e - $s" | bc) $(cat "$ROWS.t") $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$ROWS"
}

for _ in $(seq "$REPS"); do
  one A "$A"
  one B "$B"
done
[ "$PHASE" = restore ] && rm -rf "$TARGET"
python3 - "$ROWS" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {}
for who in "AB":
    r = [x for x in rows if x[0] == who]
    med[who] = [statistics.median(float(x[i]) for x in r) for i in (1, 2, 3, 4)]
    print("median %s: wall %.2f s  user %.2f  sys %.2f  rss %.0f MiB" %
          (who, med[who][0], med[who][1], med[who][2], med[who][3] / 1024))
print("B/A wall %.2f" % (med["B"][0] / med["A"][0]))
EOF
