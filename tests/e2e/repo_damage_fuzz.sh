#!/usr/bin/env bash
# slow
# repo_damage_fuzz.sh - the repository fuzzer of issue 9: damage random
# files of a repository with several snapshots, many times over, and check
# each time that kura keeps its promise for what was not damaged.
#
# One base repository (five snapshots of small varied trees, 1 MiB packs,
# small chunks: 5 to 8 packs and five index files) and a sibling of
# the same key are built once; each iteration copies the base, applies
# DAMAGES random damages drawn from a seeded PRNG (tests/e2e/
# repo_damage_fuzz.py: truncate, flip a byte or bit, delete, swap two packs,
# junk files of every type named by their own hash, authentic files of the
# sibling, forged index files that authenticate but lie) and asserts:
#   - no command crashes (exit >= 128, a sanitizer report) or hangs;
#   - `kura snapshots`, check and repair exit 0 or 4 (damage), nothing else;
#   - `kura check --read-data` exits non-zero and names a damaged file
#     whenever a file it reads was damaged;
#   - `kura snapshots --json` lists every snapshot whose own file and packs
#     are untouched, and each of them restores identical to its source,
#     after `kura repair index` at most; it lists every damaged or junk
#     snapshot file with "damaged": true (when this kura has that field);
#   - in every third iteration (every one with EXTRA=1), when that held
#     without a repair, `kura repair index` does not make it false;
#   - in every third iteration (every one with EXTRA=1), when no pack was
#     damaged, a new backup (fresh cache, so it deduplicates against what
#     the damaged index says) is saved, listed and restores identical;
#   - in every third iteration (every one with EXTRA=1), when all was well
#     without a repair, `kura prune --grace 0` does not make it false.
# Every failure is reported with its seed and damage list, and the run goes
# on; the script fails at the end if any iteration failed.
#
#   ITER=6       iterations (the long run: bench/repo_damage_fuzz_long.sh)
#   SEED=1       iteration i uses seed SEED+i: SEED=n ITER=1 replays one
#   DAMAGES=1-4  damages per iteration (a number or a range)
#   KINDS=a,b    only these damages (truncate flip delete swap junk
#                sibling_files forged_index); FORGE=a,b only these forgeries
#                ("duplicate", "ids moved", "other packs", "poisoned pack")
#   KEEP_FAILED=DIR  copy the first 20 failing damaged repositories there
#   TIMEOUT=60   seconds any one command may take
. "$(dirname "$0")/lib.sh"

ITER=${ITER:-6}
SEED=${SEED:-1}
DAMAGES=${DAMAGES:-1-4}
TIMEOUT=${TIMEOUT:-60}
HERE=$(cd "$(dirname "$0")" && pwd)

# ---------------------------------------------------------------- the base
# Five snapshots: three generations of tree A (each adds, changes and
# removes files), an unrelated tree B, and A and B together.
SRC=$WORK/src
# (lib.sh's make_tree holds a 5 MiB file: too much to restore five times an
# iteration.)
small_tree() { # DIR SEED KIB: a varied tree with KIB KiB of random data
	local d=$1 s=$2
	mkdir -p "$d/sub/deeper" "$d/empty dir" "$d/docs" "$d/日本語"
	gen_random "$d/data-$s.bin" $(($3 * 1024)) "$s"
	gen_random "$d/sub/small.bin" 3000 "small-$s"
	gen_text "$d/docs/notes.txt" 2000 "notes-$s"
	gen_text "$d/sub/deeper/file.txt" 50 "file-$s"
	: >"$d/empty"
	printf 'spaces\n' >"$d/name with spaces.txt"
	printf 'unicode %s\n' "$s" >"$d/日本語/ファイル.txt"
	printf 'hard link %s\n' "$s" >"$d/hardlink-a"
	ln "$d/hardlink-a" "$d/sub/hardlink-b"
	ln -s sub/deeper/file.txt "$d/link-to-file"
	ln -s /nonexistent/target "$d/dangling-link"
	mkfifo "$d/fifo"
	chmod 750 "$d/sub/deeper"
	chmod 600 "$d/docs/notes.txt"
}
fix_times() { # DIR
	find "$1" ! -type d -exec touch -h -d '2021-03-04 05:06:07.123456789' {} +
	find "$1" -depth -type d -exec touch -d '2021-03-04 05:06:08.987654321' {} +
}
small_tree "$SRC/a1" a1 900
for f in $(seq 1 12); do gen_text "$SRC/a1/docs/doc$f.txt" 30 "doc$f"; done
fix_times "$SRC/a1"
cp -a "$SRC/a1" "$SRC/a2"
gen_random "$SRC/a2/data-a2.bin" $((700 * 1024)) a2
gen_text "$SRC/a2/docs/notes.txt" 2500 notes-a2
rm "$SRC/a2/docs/doc3.txt"
fix_times "$SRC/a2"
cp -a "$SRC/a2" "$SRC/a3"
rm "$SRC/a3/data-a1.bin"
gen_random "$SRC/a3/data-a3.bin" $((600 * 1024)) a3
printf 'changed\n' >>"$SRC/a3/sub/deeper/file.txt"
fix_times "$SRC/a3"
small_tree "$SRC/b" b 800
fix_times "$SRC/b"

# Sources of each snapshot, in the order they are taken.
SOURCES=("$SRC/a1" "$SRC/a2" "$SRC/a3" "$SRC/b" "$SRC/a3 $SRC/b")

init_repo --pack-size 1M --chunk-min 4K --chunk-avg 16K --chunk-max 64K
expect_exit 0 kura key backup-key --output "$WORK/backup.key"
BASE=$KURA_REPOSITORY
SIBLING=$WORK/sibling
cp -a "$BASE" "$SIBLING"
SNAPS=()
for s in "${SOURCES[@]}"; do
	# shellcheck disable=SC2086 # two paths in one snapshot
	backup_json $s
	SNAPS+=("$SNAP_ID")
done
printf '%s\n' "${SNAPS[@]}" >"$WORK/snaplist"
KURA_CACHE_DIR=$WORK/cache-sibling expect_exit 0 kura -r "$SIBLING" backup "$SRC/a1"
expect_exit 0 kura check --read-data
note "base: ${#SNAPS[@]} snapshots, $(find "$BASE/data" -type f | wc -l) packs," \
	"$(find "$BASE/index" -type f | wc -l) index files, $(du_bytes "$BASE") bytes"

# Does this kura have `repair index` yet?  (`kura help repair` fails if not.)
HAVE_REPAIR=0
"$KURA" help repair >/dev/null 2>&1 </dev/null && HAVE_REPAIR=1
# Without it the forged files would silently become junk: refuse instead.
python3 -c 'import cryptography' 2>/dev/null ||
	fail "python3's cryptography module is missing (scripts/deps.sh installs python3-cryptography)"

# ---------------------------------------------------------------- one run
# run NAME CMD...: run a kura command on the damaged copy under a timeout;
# RC, OUT (stdout) and ERR (stderr) afterwards.  A crash or hang is a failure.
run() {
	local what=$1; shift
	RC=0
	timeout -k 5 "$TIMEOUT" "$KURA" "$@" >"$IT/out" 2>"$IT/err" </dev/null || RC=$?
	OUT=$(cat "$IT/out") ERR=$(cat "$IT/err")
	if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
		bad "$what: no answer within ${TIMEOUT}s (kura $*)"
	elif [ "$RC" -ge 128 ] || grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer|runtime error:' "$IT/err"; then
		bad "$what: crash (exit $RC) or sanitizer report (kura $*): $(grep -m3 -E 'ERROR|SUMMARY|runtime error' "$IT/err" | tr '\n' ' ')"
	fi
}
bad() { PROBLEMS+=("$*"); }
# exit_0_or_4 WHAT: the last command exited 0 (all well) or 4 (damage found)
exit_0_or_4() { [ "$RC" -eq 0 ] || [ "$RC" -eq 4 ] || bad "$1 exits $RC: $(oneline "$ERR")"; }

# short ID: "#k 1a2b3c4d" for the k-th snapshot taken
short() { local k; for k in "${!SNAPS[@]}"; do [ "${SNAPS[$k]}" = "$1" ] && { echo "#$((k + 1)) ${1:0:8}"; return; }; done; echo "${1:0:8}"; }
# oneline TEXT: the first lines of an error message on one line
oneline() { head -n 3 <<<"$1" | sed "s|$IT/restore-[a-z0-9]*||g; s|$WORK/|\$WORK/|g" | tr '\n' ' ' | cut -c 1-400; }

# readable_and_restorable: every untouched snapshot is listed and restores
# identical.  Returns 1 and appends to MISSES what did not.
readable_and_restorable() {
	local id k srcs s t listed missing=() pairs=() out
	MISSES=()
	run "snapshots" --json snapshots
	listed=$(grep -oE '"id": *"[0-9a-f]{64}"' <<<"$OUT" | grep -oE '[0-9a-f]{64}' || true)
	for id in "${UNTOUCHED[@]+"${UNTOUCHED[@]}"}"; do
		grep -qx "$id" <<<"$listed" || missing+=("$(short "$id")")
	done
	[ ${#missing[@]} -eq 0 ] ||
		MISSES+=("snapshots --json (exit $RC) does not list untouched ${missing[*]}: $(oneline "$ERR")")
	# damaged snapshot files are listed as such, never hidden (once kura
	# has the "damaged" field: before, it lists nothing when one is damaged)
	if [ ${#BADSNAPS[@]} -gt 0 ] && [ "$RC" -eq 0 ] && grep -q '"damaged"' <<<"$OUT"; then
		out=$(python3 -c '
import json, sys
d = {s["id"]: s for s in json.loads(sys.argv[1])}
print(" ".join(n[:8] for n in sys.argv[2:] if not d.get(n, {}).get("damaged")))' "$OUT" "${BADSNAPS[@]}")
		[ -z "$out" ] || bad "snapshots --json does not list the damaged snapshot file(s) $out as damaged"
	fi
	for k in "${!SNAPS[@]}"; do
		id=${SNAPS[$k]}
		[[ " ${UNTOUCHED[*]+"${UNTOUCHED[*]}"} " == *" $id "* ]] || continue
		t=$IT/restore-$k
		chmod -R u+rwx "$t" 2>/dev/null || true
		rm -rf "$t"
		run "restore $(short "$id")" restore "$id" --target "$t"
		if [ "$RC" -ne 0 ]; then
			MISSES+=("restore of untouched $(short "$id") exits $RC: $(oneline "$ERR")")
			continue
		fi
		read -ra srcs <<<"${SOURCES[$k]}"
		for s in "${srcs[@]}"; do pairs+=("$s" "$t$s"); done
	done
	if [ ${#pairs[@]} -gt 0 ] && ! out=$(python3 "$HERE/repo_damage_fuzz.py" compare "${pairs[@]}"); then
		MISSES+=("a restored untouched snapshot differs from its source: $(oneline "$out")")
	fi
	[ ${#MISSES[@]} -eq 0 ]
}

# new_backup: back up tree A3 again into the damaged copy, with an empty
# cache so every chunk is looked up in the (damaged) index; the snapshot
# must be saved, listed and restore identical.
new_backup() {
	local id t=$IT/restore-new
	run "backup" --json backup "$SRC/a3"
	extra_backups=$((extra_backups + 1))
	if [ "$RC" -ne 0 ]; then
		bad "backup into the repository (packs intact) exits $RC: $(oneline "$ERR")"
		return
	fi
	id=$(grep -oE '"snapshot_id": *"[0-9a-f]{64}"' <<<"$OUT" | grep -oE '[0-9a-f]{64}' || true)
	run "snapshots after backup" --json snapshots
	grep -q "\"$id\"" <<<"$OUT" || bad "the new snapshot ${id:0:8} is not listed (exit $RC): $(oneline "$ERR")"
	run "restore new" restore "$id" --target "$t"
	if [ "$RC" -ne 0 ]; then
		bad "restore of the new snapshot ${id:0:8} exits $RC: $(oneline "$ERR")"
	elif ! out=$(python3 "$HERE/repo_damage_fuzz.py" compare "$SRC/a3" "$t$SRC/a3"); then
		bad "the new snapshot ${id:0:8} restores different from $SRC/a3: $(oneline "$out")"
	fi
}

if [[ $DAMAGES == *-* ]]; then DMIN=${DAMAGES%-*} DMAX=${DAMAGES#*-}; else DMIN=$DAMAGES DMAX=$DAMAGES; fi
failed_iters=0 repaired=0 clean=0 extra_repairs=0 extra_backups=0 extra_prunes=0 untouched_total=0 restored_total=0
t0=$SECONDS
for ((i = 0; i < ITER; i++)); do
	seed=$((SEED + i))
	IT=$WORK/it
	rm -rf "$IT"; mkdir -p "$IT"
	R=$IT/repo
	cp -a "$BASE" "$R"
	export KURA_REPOSITORY=$R KURA_CACHE_DIR=$IT/cache
	n=$((DMIN + seed % (DMAX - DMIN + 1)))
	python3 "$HERE/repo_damage_fuzz.py" "$R" "$SIBLING" "$WORK/backup.key" "$WORK/snaplist" \
		"$seed" "$n" >"$WORK/plan" || fail "repo_damage_fuzz.py failed (seed $seed)"
	mapfile -t DAMAGE_LIST < <(sed -n 's/^DAMAGE //p' "$WORK/plan")
	mapfile -t UNTOUCHED < <(sed -n 's/^UNTOUCHED //p' "$WORK/plan")
	mapfile -t NAMES < <(sed -n 's/^NAME //p' "$WORK/plan")
	mapfile -t BADSNAPS < <(sed -n 's/^BADSNAP //p' "$WORK/plan")
	must_check=$(sed -n 's/^CHECK //p' "$WORK/plan")
	intact=$(sed -n 's/^INTACT //p' "$WORK/plan")
	PROBLEMS=()
	untouched_total=$((untouched_total + ${#UNTOUCHED[@]}))

	run "snapshots" snapshots
	exit_0_or_4 "snapshots"
	run "check" check --read-data
	exit_0_or_4 "check --read-data"
	if [ "$must_check" = 1 ]; then
		if [ "$RC" -eq 0 ]; then
			bad "check --read-data exits 0 after the damage"
		elif [ ${#NAMES[@]} -gt 0 ]; then
			named=0
			for nm in "${NAMES[@]}"; do
				grep -qF "${nm:0:8}" <<<"$OUT$ERR" && { named=1; break; }
			done
			[ $named = 1 ] || bad "check (exit $RC) names none of the damaged files: $(oneline "$ERR$OUT")"
		fi
	fi

	if readable_and_restorable; then
		restored_total=$((restored_total + ${#UNTOUCHED[@]}))
		if [ $HAVE_REPAIR = 1 ] && { [ "${EXTRA:-0}" = 1 ] || [ $((seed % 3)) = 0 ]; }; then
			run "repair index" repair index
			exit_0_or_4 "repair index"
			extra_repairs=$((extra_repairs + 1))
			readable_and_restorable ||
				bad "all was well, but after repair index (exit $RC): $(printf '%s | ' "${MISSES[@]}")"
		fi
		if [ "${EXTRA:-0}" = 1 ] || [ $((seed % 3)) = 2 ]; then
			# prune removes only packs no snapshot lists, nothing while a
			# snapshot cannot be read: what was restorable stays so
			run "prune" --json prune --grace 0
			extra_prunes=$((extra_prunes + 1))
			readable_and_restorable ||
				bad "all was well, but after prune (exit $RC, $(oneline "$OUT")): $(printf '%s | ' "${MISSES[@]}")"
		fi
	elif [ $HAVE_REPAIR = 1 ]; then
		first=("${MISSES[@]}")
		run "repair index" repair index
		exit_0_or_4 "repair index"
		if readable_and_restorable; then
			repaired=$((repaired + 1))
			restored_total=$((restored_total + ${#UNTOUCHED[@]}))
		else
			bad "before repair index: $(printf '%s | ' "${first[@]}")"
			bad "after repair index (exit $RC): $(printf '%s | ' "${MISSES[@]}")"
		fi
	else
		for m in "${MISSES[@]}"; do bad "$m (this kura has no repair index)"; done
	fi

	if [ "$intact" = 1 ] && { [ "${EXTRA:-0}" = 1 ] || [ $((seed % 3)) = 1 ]; }; then
		new_backup
	fi

	[ $(((i + 1) % 50)) -ne 0 ] ||
		note "$((i + 1)) iterations, $failed_iters failed, $((SECONDS - t0)) s"
	if [ ${#PROBLEMS[@]} -eq 0 ]; then
		clean=$((clean + 1))
		continue
	fi
	failed_iters=$((failed_iters + 1))
	# tallies for the summary: the kinds of damage of failing iterations,
	# and the kinds of problem they showed
	printf '%s\n' "${DAMAGE_LIST[@]}" | sed -E 's/(truncated|flipped|forged index).*/\1/;
		s/[0-9a-f]{64}//g; s/\(pack of snapshots [^)]*\)/(pack)/g; s/\(snapshot #[0-9]+\)/(snapshot)/;
		s/ \([0-9]+ bytes\)//; s/[0-9]+/N/g; s/ +/ /g' >>"$WORK/fail-damages"
	printf '%s\n' "${PROBLEMS[@]}" | sed -E 's/:.*//; s/#[0-9]+ [0-9a-f]{8}//g; s/ +/ /g' >>"$WORK/fail-problems"
	{
		echo "FAILED iteration $i: SEED=$seed ITER=1 DAMAGES=$n replays it"
		printf '  damage: %s\n' "${DAMAGE_LIST[@]}"
		u=(); for id in "${UNTOUCHED[@]+"${UNTOUCHED[@]}"}"; do u+=("$(short "$id")"); done
		echo "  untouched snapshots: ${u[*]+"${u[*]}"} (of ${#SNAPS[@]})"
		printf '  problem: %s\n' "${PROBLEMS[@]}"
	} >&2
	if [ -n "${KEEP_FAILED:-}" ] && [ "$failed_iters" -le 20 ]; then
		# the same seed on the same base gives the same bytes: keep the
		# damaged repository as it was before repair, prune or backup
		mkdir -p "$KEEP_FAILED"
		rm -rf "$KEEP_FAILED/repo-seed$seed"
		cp -a "$BASE" "$KEEP_FAILED/repo-seed$seed"
		python3 "$HERE/repo_damage_fuzz.py" "$KEEP_FAILED/repo-seed$seed" "$SIBLING" \
			"$WORK/backup.key" "$WORK/snaplist" "$seed" "$n" >/dev/null
		echo "  (damaged repository kept in $KEEP_FAILED/repo-seed$seed, passphrase: $PASSPHRASE)" >&2
	fi
done

export KURA_REPOSITORY=$BASE
echo "repo_damage_fuzz: $ITER iterations (seeds $SEED..$((SEED + ITER - 1)), $DAMAGES damages each)" \
	"in $((SECONDS - t0)) s: $clean clean, $failed_iters failed; $restored_total of" \
	"$untouched_total untouched snapshots restored identical; $repaired iterations needed repair index;" \
	"$extra_repairs extra repairs, $extra_prunes prunes, $extra_backups new backups"
if [ "$failed_iters" -gt 0 ]; then
	echo "damages in failing iterations (count, kind):"
	sort "$WORK/fail-damages" | uniq -c | sort -rn | sed 's/^/  /'
	echo "problems (count, kind):"
	sort "$WORK/fail-problems" | uniq -c | sort -rn | sed 's/^/  /'
fi
[ "$failed_iters" -eq 0 ] || fail "$failed_iters of $ITER iterations failed (see above)"
echo "PASS repo_damage_fuzz"
