#!/usr/bin/env python3
"""pgsum.py OUTDIR -- turn OUTDIR/raw.tsv (written by postgres.sh) into a markdown table on stdout
and OUTDIR/summary.json. Bytes added = repository growth (du -sb); round 0 is the initial backup,
rounds 1.. the incrementals; 'med' is the median over the incremental rounds; ratios are kura's
median over the peer's median. MB = 10^6 bytes."""
import csv
import json
import statistics
import sys

out = sys.argv[1]
rows = list(csv.DictReader(open(out + "/raw.tsv"), delimiter="\t"))
cfgs = []
for r in rows:
    if r["cfg"] not in cfgs:
        cfgs.append(r["cfg"])
changed = {}
try:
    for r in csv.DictReader(open(out + "/changed.tsv"), delimiter="\t"):
        changed.setdefault(r["phase"], []).append(r)
except FileNotFoundError:
    pass
KINDS = {"pgdata": "data directory (cluster stopped)", "pgdump": "pg_dump output (plain SQL)"}


def sel(kind, cfg, incr):
    return [r for r in rows if r["phase"] == kind and r["cfg"] == cfg and (int(r["round"]) > 0) == incr]


def ratio(a, b):
    return a / b if b else None


summary = {}
for kind, what in KINDS.items():
    ks = {}
    for c in cfgs:
        init, inc = sel(kind, c, False), sel(kind, c, True)
        if not init:
            continue
        ks[c] = {
            "src_bytes": int(init[0]["src_bytes"]),
            "initial_wall_s": float(init[0]["wall_s"]),
            "initial_repo_bytes": int(init[0]["repo_bytes"]),
            "incr_rounds": len(inc),
            "incr_added_bytes": [int(r["repo_delta"]) for r in inc],
            "incr_wall_s": [float(r["wall_s"]) for r in inc],
            "incr_cpu_s": [float(r["user_s"]) + float(r["sys_s"]) for r in inc],
            "incr_maxrss_kb": max([int(r["maxrss_kb"]) for r in inc], default=0),
        }
        for k in ("incr_added_bytes", "incr_wall_s", "incr_cpu_s"):
            ks[c][k + "_med"] = statistics.median(ks[c][k]) if ks[c][k] else None
    if not ks:
        continue
    if "kura" in ks:
        k = ks["kura"]
        for c in ks:
            if c == "kura":
                continue
            k["vs_" + c] = {
                "initial_repo": ratio(k["initial_repo_bytes"], ks[c]["initial_repo_bytes"]),
                "initial_wall": ratio(k["initial_wall_s"], ks[c]["initial_wall_s"]),
                "incr_added": ratio(k["incr_added_bytes_med"] or 0, ks[c]["incr_added_bytes_med"] or 0),
                "incr_wall": ratio(k["incr_wall_s_med"] or 0, ks[c]["incr_wall_s_med"] or 0),
            }
    summary[kind] = ks

    ch = [r for r in changed.get(kind, []) if int(r["round"]) > 0]
    if ch:
        floor = {"changed_bytes": [int(r["changed_bytes"]) for r in ch],
                 "wal_changed_bytes": [int(r.get("wal_changed_bytes") or 0) for r in ch],
                 "changed_zstd3_bytes": [int(r["changed_zstd3_bytes"]) for r in ch]}
        floor["changed_bytes_med"] = statistics.median(floor["changed_bytes"])
        floor["changed_zstd3_bytes_med"] = statistics.median(floor["changed_zstd3_bytes"])
        summary[kind + "_floor"] = floor
        for c in ks:
            ks[c]["incr_added_vs_floor"] = ratio(ks[c]["incr_added_bytes_med"] or 0, floor["changed_zstd3_bytes_med"])
    src = next(iter(ks.values()))["src_bytes"]
    print("### %s, %.1f MB at round 0\n" % (what, src / 1e6))
    print("| config | initial: wall s | repo MB | incrementals: added MB per round | added MB med | wall s med | CPU s med | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for c, v in ks.items():
        print("| %s | %.2f | %.1f | %s | %.2f | %.2f | %.2f | %.0f |" % (
            c, v["initial_wall_s"], v["initial_repo_bytes"] / 1e6,
            " / ".join("%.2f" % (b / 1e6) for b in v["incr_added_bytes"]),
            (v["incr_added_bytes_med"] or 0) / 1e6, v["incr_wall_s_med"] or 0, v["incr_cpu_s_med"] or 0,
            v["incr_maxrss_kb"] / 1024))
    if "kura" in ks and len(ks) > 1:
        print("\n| kura / peer | initial repo | initial wall | incremental bytes added | incremental wall |")
        print("|---|---|---|---|---|")
        for c in ks:
            if c == "kura":
                continue
            v = ks["kura"]["vs_" + c]
            print("| kura / %s | %s | %s | **%s** | %s |" % (
                c, *("%.2f" % x if x is not None else "-" for x in
                     (v["initial_repo"], v["initial_wall"], v["incr_added"], v["incr_wall"]))))
    if ch:
        wal = ""
        if "wal_changed_bytes" in ch[0]:
            wal = " (of which in pg_wal/: %s MB)" % " / ".join("%.2f" % (b / 1e6) for b in floor["wal_changed_bytes"])
        print("\nFloor: %s MB of 8 KiB blocks changed per round%s, %s MB through zstd -3; bytes added / that: %s" % (
            " / ".join("%.2f" % (b / 1e6) for b in floor["changed_bytes"]), wal,
            " / ".join("%.2f" % (b / 1e6) for b in floor["changed_zstd3_bytes"]),
            ", ".join("%s %.2f" % (c, v["incr_added_vs_floor"]) for c, v in ks.items())))
    print()

json.dump(summary, open(out + "/summary.json", "w"), indent=1)
