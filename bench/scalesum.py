#!/usr/bin/env python3
"""scalesum.py OUTDIR -- markdown tables from OUTDIR/raw.tsv written by scale.sh or manyfiles.sh.

scale.sh rows (phases init, open, incr, restore, check per size): one table per configuration with
seconds, seconds per GiB of source and peak RSS per size, then the ratio to the first configuration,
then how far the curve is from linear (s/GiB and RSS of the largest size over the smallest).
manyfiles.sh rows (phases init, noop, restore, check): one table, files per second and peak RSS.
GiB = 2^30 bytes, MiB = 2^20 bytes; restore seconds are without the sync that follows (shown apart)."""
import csv
import sys

out = sys.argv[1]
rows = list(csv.DictReader(open(out + "/raw.tsv"), delimiter="\t"))
cfgs, sizes = [], []
for r in rows:
    if r["cfg"] not in cfgs:
        cfgs.append(r["cfg"])
    if r["size"] not in sizes:
        sizes.append(r["size"])


def get(phase, cfg, size):
    for r in rows:
        if r["phase"] == phase and r["cfg"] == cfg and r["size"] == size:
            return r
    return None


def wall(r):
    return float(r["wall_s"])


def rss(r):
    return float(r["maxrss_kb"]) / 1024


def gib(r):
    return int(r["src_bytes"]) / 2 ** 30


def cell(r, per_gib=False):
    if r is None:
        return "-"
    s = "%.2f" % wall(r)
    if per_gib:
        s += " (%.2f/GiB)" % (wall(r) / gib(r))
    return s


def cpu(r):
    return float(r["user_s"]) + float(r["sys_s"])


def cpucell(r):
    return "-" if r is None else "%.1f" % cpu(r)


def mib(r):
    return "-" if r is None else "%.0f" % rss(r)


p = print

if any(r["phase"] == "noop" for r in rows):
    # manyfiles.sh
    p("Wall seconds; files/s = files in the tree / wall; RSS = peak resident set size (MiB); "
      "restore without the sync that follows.\n")
    p("| config | files | initial backup s | files/s | RSS | no-change incremental s | files/s | bytes read | RSS "
      "| restore s | files/s | + sync s | RSS | verify | check s | RSS | repo MB |")
    p("|" + "---|" * 17)
    for c in cfgs:
        for z in sizes:
            i, n, rs, ch = (get(ph, c, z) for ph in ("init", "noop", "restore", "check"))
            nf = int((i or n)["files"])
            p("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                c, nf, cell(i), "-" if i is None else "%.0f" % (nf / wall(i)), mib(i),
                cell(n), "-" if n is None else "%.0f" % (nf / wall(n)), "-" if n is None else n["bytes_read"], mib(n),
                cell(rs), "-" if rs is None else "%.0f" % (nf / wall(rs)),
                "-" if rs is None else "%.2f" % float(rs["sync_s"]), mib(rs), "-" if rs is None else rs["verify"],
                cell(ch), mib(ch), "-" if i is None else "%.1f" % (int(i["repo_bytes"]) / 1e6)))
    if len(cfgs) > 1:
        p("\nkura / peer (wall; below 1 = kura faster; RSS ratio in brackets):\n")
        p("| peer | initial backup | no-change incremental | restore | check |")
        p("|---|---|---|---|---|")
        for c in cfgs[1:]:
            cells = []
            for ph in ("init", "noop", "restore", "check"):
                a, b = get(ph, cfgs[0], sizes[0]), get(ph, c, sizes[0])
                cells.append("-" if a is None or b is None else
                             "%.2f (RSS %.2f)" % (wall(a) / wall(b), rss(a) / rss(b)))
            p("| %s | %s |" % (c, " | ".join(cells)))
    sys.exit(0)

p("Wall seconds with wall seconds per GiB of source in brackets; CPU = user+sys seconds (less noisy than "
  "wall on a shared machine); RSS = peak resident set size (MiB); restore without the sync that follows; "
  "one run per cell.\n")
for c in cfgs:
    p("### %s\n" % c)
    p("| size | source GiB | files | initial backup s | CPU | RSS | incremental s | CPU | RSS | restore s | + sync s "
      "| CPU | RSS | verify | check --read-data s | CPU | RSS | open RSS | repo GB |")
    p("|" + "---|" * 19)
    for z in sizes:
        i, o, n, rs, ch = (get(ph, c, z) for ph in ("init", "open", "incr", "restore", "check"))
        if i is None:
            continue
        p("| %s | %.2f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            z, gib(i), i["files"], cell(i, True), cpucell(i), mib(i), cell(n, True), cpucell(n), mib(n),
            cell(rs, True), "-" if rs is None else "%.2f" % float(rs["sync_s"]), cpucell(rs), mib(rs),
            "-" if rs is None else rs["verify"], cell(ch, True), cpucell(ch), mib(ch), mib(o),
            "-" if ch is None else "%.2f" % (int(ch["repo_bytes"]) / 1e9)))
    p("")
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        p("Largest over smallest size (%s / %s; linear time = equal s/GiB, ratio 1.00; flat memory = RSS ratio 1.00):\n"
          % (hi, lo))
        p("| phase | wall s/GiB %s | %s | ratio | CPU s/GiB %s | %s | ratio | RSS MiB %s | %s | ratio |"
          % (lo, hi, lo, hi, lo, hi))
        p("|---|---|---|---|---|---|---|---|---|---|")
        for ph in ("init", "incr", "restore", "check", "open"):
            a, b = get(ph, c, lo), get(ph, c, hi)
            if a is None or b is None:
                continue
            wa, wb, ca, cb = wall(a) / gib(a), wall(b) / gib(b), cpu(a) / gib(a), cpu(b) / gib(b)
            p("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f | %.2f |" % (
                ph, wa, wb, wb / wa, ca, cb, cb / ca if ca else 0, rss(a), rss(b), rss(b) / rss(a)))
        p("")

if len(cfgs) > 1:
    p("### %s / peer, wall (RSS ratio in brackets; below 1 = %s faster or smaller)\n" % (cfgs[0], cfgs[0]))
    for c in cfgs[1:]:
        p("| size | peer | initial backup | incremental | restore | check |")
        p("|---|---|---|---|---|---|")
        for z in sizes:
            cells = []
            for ph in ("init", "incr", "restore", "check"):
                a, b = get(ph, cfgs[0], z), get(ph, c, z)
                cells.append("-" if a is None or b is None else
                             "%.2f (%.2f)" % (wall(a) / wall(b), rss(a) / rss(b)))
            p("| %s | %s | %s |" % (z, c, " | ".join(cells)))
        p("")
