#!/usr/bin/env python3
"""inplace_summary.py RAW_TSV SOURCE_BYTES -- the markdown table of bench/inplace.sh from its raw.tsv:
one row per (target, tool), medians over the repetitions; restic+rm's wall includes its rm step."""
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
src = int(sys.argv[2])
def med(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]
agg = {}
for r in rows:
    if r["phase"] == "backup":
        continue
    a = agg.setdefault((r["phase"], r["cfg"]), [])
    rm = float(r["rm_s"]) if r["rm_s"] != "-" else 0.0
    a.append((float(r["wall_s"]) + rm, float(r["user_s"]) + float(r["sys_s"]), int(r["maxrss_kb"]),
              int(r["fs_written_bytes"]), int(float(r["proc_written_bytes"])), rm, int(r["rsync_diffs"]),
              int(r["file_diffs"])))
print("source: %.2f GiB\n" % (src / 2**30))
print("| target | tool | wall s | CPU s | max RSS MiB | fs written GiB | process written GiB | rm s | rsync diffs (files) | kura/restic wall |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for (phase, cfg), a in agg.items():
    w = med([x[0] for x in a])
    ratio = ""
    if cfg == "kura":
        for other in ("restic", "restic+rm"):
            if (phase, other) in agg:
                ratio += "%s%.2f (%s)" % (", " if ratio else "", w / med([x[0] for x in agg[(phase, other)]]), other)
    print("| %s | %s | %.1f | %.1f | %.0f | %.2f | %.2f | %s | %d (%d) | %s |" % (
        phase, cfg, w, med([x[1] for x in a]), med([x[2] for x in a]) / 1024,
        med([x[3] for x in a]) / 2**30, med([x[4] for x in a]) / 2**30,
        "%.1f" % med([x[5] for x in a]) if cfg == "restic+rm" else "-",
        max(x[6] for x in a), max(x[7] for x in a), ratio))
