#!/usr/bin/env python3
"""round2sum.py OUTDIR SIZE... -- the one summary of round2.sh: for every peers size (OUTDIR/peers-SIZE/
raw.tsv from run-peers.sh) kura / faster peer on every phase (medians over the repetitions), the
PostgreSQL incrementals (OUTDIR/pg/summary.json from postgres.sh: kura / each peer) and the index's
bytes per chunk (OUTDIR/index_cost.txt). Markdown on stdout, the same figures in OUTDIR/summary.json.
'Faster' or 'smaller' peer is the best of restic and the borg configurations on that figure."""
import csv
import json
import os
import re
import statistics
import sys

out, sizes = sys.argv[1], sys.argv[2:]
summary = {"peers": {}, "postgres": None, "index": None}


def peers(size):
    path = "%s/peers-%s/raw.tsv" % (out, size)
    if not os.path.exists(path):
        return None
    rows = list(csv.DictReader(open(path), delimiter="\t"))

    def med(phase, cfg, fn):
        v = [fn(r) for r in rows if r["phase"] == phase and r["cfg"] == cfg]
        return statistics.median(v) if v else None

    cfgs = sorted({r["cfg"] for r in rows})
    figs = {  # name: (phase, value of a row); smaller is better for all
        "initial backup wall s": ("init", lambda r: float(r["wall_s"])),
        "incremental backup wall s": ("incr", lambda r: float(r["wall_s"])),
        "incremental bytes added": ("incr", lambda r: int(r["repo_delta"])),
        "restore + sync wall s": ("restore", lambda r: float(r["wall_s"]) + float(r["sync_s"])),
        "check --read-data wall s": ("check", lambda r: float(r["wall_s"])),
        "backup peak RSS KiB": ("init", lambda r: int(r["maxrss_kb"])),
        "repository after initial bytes": ("init", lambda r: int(r["repo_bytes"])),
    }
    res = {}
    for name, (phase, fn) in figs.items():
        vals = {c: med(phase, c, fn) for c in cfgs}
        peer = {c: v for c, v in vals.items() if c != "kura" and v is not None}
        if vals.get("kura") is None or not peer:
            continue
        best = min(peer, key=peer.get)
        res[name] = {"kura": vals["kura"], "best_peer": best, "peer": peer[best],
                     "ratio": vals["kura"] / peer[best] if peer[best] else None, "all": vals}
    res["verify"] = sorted({r["verify"] for r in rows if r["phase"] == "restore"})
    return res


for s in sizes:
    p = peers(s)
    if p is None:
        continue
    summary["peers"][s] = p
    print("### Peers, %s (kura / faster or smaller peer)\n" % s)
    print("| figure | kura | best peer | its figure | kura / peer |")
    print("|---|---|---|---|---|")
    for name, v in p.items():
        if name == "verify":
            continue
        fmt = "%.2f" if name.endswith(" s") else "%d"
        print("| %s | %s | %s | %s | **%.2f** |" % (name, fmt % v["kura"], v["best_peer"], fmt % v["peer"], v["ratio"]))
    print("\nrestores verified: %s\n" % ", ".join(p["verify"]))

pg = "%s/pg/summary.json" % out
if os.path.exists(pg):
    d = json.load(open(pg))
    summary["postgres"] = d
    print("### PostgreSQL incrementals (median over the rounds; bytes added = repository growth, du -sb)\n")
    print("| source | kura MB added | kura wall s | kura / peer: bytes added | kura / peer: wall |")
    print("|---|---|---|---|---|")
    for kind, ks in d.items():
        k = ks.get("kura")
        if not k:
            continue
        vs = [(c[3:], v) for c, v in k.items() if c.startswith("vs_")]
        print("| %s | %.2f | %.2f | %s | %s |" % (
            kind, k["incr_added_bytes_med"] / 1e6, k["incr_wall_s_med"],
            ", ".join("%s **%.2f**" % (c, v["incr_added"]) for c, v in vs),
            ", ".join("%s %.2f" % (c, v["incr_wall"]) for c, v in vs)))
    fl = d.get("pgdata_floor")
    if fl and "kura" in d.get("pgdata", {}):
        r = d["pgdata"]["restic"]["incr_added_bytes_med"] if "restic" in d["pgdata"] else None
        print("\nFloor of the data-directory incrementals (changed 8 KiB blocks through zstd -3, median): "
              "%.2f MB; kura adds %.2f× that%s" % (
                  fl["changed_zstd3_bytes_med"] / 1e6, d["pgdata"]["kura"]["incr_added_vs_floor"],
                  "; the floor is %.2f of restic's bytes added" % (fl["changed_zstd3_bytes_med"] / r) if r else ""))
    print()

ic = "%s/index_cost.txt" % out
if os.path.exists(ic):
    t = open(ic).read()

    def num(label):
        m = re.search(r"^%s\s+([0-9.]+)" % re.escape(label), t, re.M)
        return float(m.group(1)) if m else None

    rss = re.search(r"^peak RSS\s+([0-9.]+) MiB\s+\(([0-9.]+) bytes per entry\)", t, re.M)
    summary["index"] = {"entries": num("entries"), "bytes_per_entry": num("bytes per entry"),
                        "worst_bytes_per_entry": num("worst bytes/entry"),
                        "peak_rss_mib": float(rss.group(1)) if rss else None,
                        "rss_bytes_per_entry": float(rss.group(2)) if rss else None}
    i = summary["index"]
    print("### Index memory at %d chunks\n" % (i["entries"] or 0))
    print("%.2f bytes allocated per chunk (worst %.2f while growing; budget 48), peak RSS %.1f MiB "
          "(%.2f bytes per chunk)\n" % (i["bytes_per_entry"] or 0, i["worst_bytes_per_entry"] or 0,
                                        i["peak_rss_mib"] or 0, i["rss_bytes_per_entry"] or 0))

json.dump(summary, open(out + "/summary.json", "w"), indent=1)
