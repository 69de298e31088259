#!/usr/bin/env python3
"""Tallies through the CLI: count --save, merge, diff, as a user runs them.

A week of generated logs, one tally a day: merging the seven prints, byte for
byte, what one count over the seven files prints, for several keys, in every
format, with -n and --percent, and within a small --memory. Damaged and
truncated tallies are refused naming the file and the block; tallies of
different queries are refused naming the difference; diff shows a destination
that disappeared as gone. A reader written from docs/tally-format.md alone
(tally_format.py) reads what count --save wrote. Prints 'N passed, M failed'.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from checks import check, summary
from tally_format import decode_key, read_tally

FORMATS = ["text", "tsv", "csv", "json", "ndjson"]


def run(args, **kw):
    p = subprocess.run(args, capture_output=True, timeout=600, **kw)
    return p.returncode, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logtally", required=True)
    ap.add_argument("--gen", required=True)
    a = ap.parse_args()
    lt = a.logtally
    tmp = tempfile.mkdtemp(prefix="tally_test_")
    try:
        days = []
        for n in range(1, 8):
            path = os.path.join(tmp, f"day{n}.log")
            with open(path, "wb") as f:
                subprocess.run([a.gen, "--lines", "20000", "--seed", str(n)], stdout=f, check=True)
            days.append(path)
        week(lt, tmp, days)
        saving(lt, tmp, days)
        damage(lt, tmp, days)
        queries(lt, tmp, days)
        narrowing(lt, tmp, days)
        diff(lt, tmp, days)
        format_reader(lt, tmp, days)
    finally:
        shutil.rmtree(tmp)
    return summary()


def save_days(lt, tmp, days, key, extra=(), tag=None):
    tallies = []
    for d in days:
        t = os.path.join(tmp, f"{os.path.basename(d)}.{tag or key.replace(',', '_')}.tally")
        rc, out, err = run([lt, "count", "-q", "-k", key, *extra, "--save", t, d])
        check(f"count --save {key} {d}", rc == 0 and out == b"", err)
        tallies.append(t)
    return tallies


def week(lt, tmp, days):
    for key in ["DST,DPT,PROTO", "SRC", "line", "service", "day"]:
        tallies = save_days(lt, tmp, days, key)
        for fmt in FORMATS:
            for opts in ([], ["-n", "10"], ["--percent"], ["-n", "5", "--percent"]):
                want = run([lt, "count", "-q", "-k", key, "-f", fmt, *opts, *days])
                got = run([lt, "merge", "-q", "-f", fmt, *opts, *tallies])
                check(f"merge = count: -k {key} -f {fmt} {opts}", got[0] == 0 and got[1] == want[1],
                      got[2])
        # The merge within 1 MiB: several passes over the runs, spilled groups.
        want = run([lt, "count", "-q", "-k", key, *days])
        for mem in ["1M", "2M"]:
            got = run([lt, "merge", "-q", "--memory", mem, "-j", "2", *tallies])
            check(f"merge --memory {mem} = count: -k {key}", got[0] == 0 and got[1] == want[1], got[2])
        # -o writes the same bytes.
        out = os.path.join(tmp, "merged.txt")
        rc, _, err = run([lt, "merge", "-q", "-o", out, *tallies])
        check(f"merge -o: -k {key}", rc == 0 and open(out, "rb").read() == want[1], err)


def saving(lt, tmp, days):
    key = "DST,DPT,PROTO"
    t1 = os.path.join(tmp, "s1.tally")
    rc, out, err = run([lt, "count", "-k", key, "--save", t1, days[0]])
    check("count --save alone prints no table", rc == 0 and out == b"" and b"lines" in err, out[:200])
    rc, out, _ = run([lt, "count", "-q", "-k", key, "-n", "3", "--save", t1, days[0]])
    check("count --save -n prints the table", rc == 0 and len(out.splitlines()) == 3, out)
    rc, _, err = run([lt, "count", "-q", "-k", key, "-o", t1, "--save", t1, days[0]])
    check("--save and -o the same file: usage error", rc == 2 and b"same file" in err, err)
    # merge --save, then a merge of merged tallies: still one count's answer.
    tallies = save_days(lt, tmp, days, key)
    a, b = os.path.join(tmp, "a.tally"), os.path.join(tmp, "b.tally")
    rc, out, err = run([lt, "merge", "-q", "--save", a, *tallies[:3]])
    check("merge --save alone prints no table", rc == 0 and out == b"", err)
    rc, _, err = run([lt, "merge", "-q", "--save", b, *tallies[3:]])
    want = run([lt, "count", "-q", "-k", key, *days])[1]
    got = run([lt, "merge", "-q", a, b])
    check("merge of merged tallies = count", got[0] == 0 and got[1] == want, got[2])
    meta, _, _ = read_tally(a)
    check("a merged tally lists its inputs and tallies",
          meta["tallies"] == 3 and [i["path"] for i in meta["inputs"]] == days[:3], meta["inputs"])
    # The summary line of a merge adds up the counts.
    rc, _, err = run([lt, "merge", *tallies])
    check("merge summary", rc == 0 and b"7 tallies: 140,000 lines" in err, err)


def flip(src, dst, offset):
    b = bytearray(open(src, "rb").read())
    b[offset] ^= 0x20
    open(dst, "wb").write(bytes(b))


def damage(lt, tmp, days):
    tallies = save_days(lt, tmp, days[:3], "DST,DPT,PROTO")
    _, _, blocks = read_tally(tallies[1])
    bad = os.path.join(tmp, "bad.tally")
    k = len(blocks) // 2
    flip(tallies[1], bad, blocks[k]["offset"] + 24 + blocks[k]["payload"] // 2)
    rc, out, err = run([lt, "merge", tallies[0], bad, tallies[2]])
    check("a flipped byte in a data block: exit 2, nothing printed", rc == 2 and out == b"", (rc, out[:100]))
    check("... naming the file and the block", bad.encode() in err and f"block {k} of".encode() in err, err)
    out_file = os.path.join(tmp, "never.txt")
    rc, _, _ = run([lt, "merge", "-o", out_file, tallies[0], bad])
    check("... and -o is not written", rc == 2 and not os.path.exists(out_file))
    flip(tallies[1], bad, blocks[k]["offset"] + 12)  # the block header's raw size
    rc, _, err = run([lt, "merge", tallies[0], bad])
    check("a flipped byte in a block header", rc == 2 and f"block {k} of".encode() in err, err)
    whole = open(tallies[1], "rb").read()
    cut = os.path.join(tmp, "cut.tally")
    open(cut, "wb").write(whole[:blocks[k]["offset"] + 30])
    rc, out, err = run([lt, "merge", tallies[0], cut])
    check("a truncated tally: exit 2 naming the file and the block",
          rc == 2 and out == b"" and cut.encode() in err and f"block {k} ".encode() in err, err)
    open(cut, "wb").write(whole[:-1])
    rc, _, err = run([lt, "merge", tallies[0], cut])
    check("a tally missing its last byte", rc == 2 and b"truncated" in err, err)
    flip(tallies[1], bad, len(whole) - 100)
    rc, _, err = run([lt, "merge", tallies[0], bad])
    check("a flipped byte in the index", rc == 2 and bad.encode() in err, err)
    rc, _, err = run([lt, "merge", tallies[0], days[0]])
    check("a log is not a tally", rc == 2 and b"not a tally" in err, err)
    rc, _, err = run([lt, "diff", tallies[0], bad])
    check("diff refuses a damaged tally too", rc == 2 and bad.encode() in err, err)


def queries(lt, tmp, days):
    d = days[:1]
    base = save_days(lt, tmp, d, "DST,DPT,PROTO", tag="q0")[0]
    cases = [
        ("SRC", [], b"keys differ"),
        ("DST,DPT,PROTO", ["-w", "PROTO=UDP"], b"conditions (-w) differ"),
    ]
    for key, extra, msg in cases:
        other = save_days(lt, tmp, d, key, extra, tag="q1")[0]
        rc, out, err = run([lt, "merge", base, other])
        check(f"different queries refused: {key} {extra}", rc == 2 and out == b"" and msg in err, err)
    day = save_days(lt, tmp, d, "day", tag="q2")[0]
    utc = save_days(lt, tmp, d, "day", ["--utc"], tag="q3")[0]
    rc, _, err = run([lt, "merge", day, utc])
    check("--utc differs for a time key", rc == 2 and b"'utc'" in err, err)
    year = save_days(lt, tmp, d, "day", ["--year", "2020"], tag="q4")[0]
    rc, _, err = run([lt, "merge", day, year])
    check("--year differs for a time key", rc == 2 and b"'year'" in err, err)
    # The same conditions in another order are the same query.
    a = save_days(lt, tmp, d, "DST", ["-w", "PROTO=UDP", "-w", "DPT=53"], tag="q5")[0]
    b = save_days(lt, tmp, d, "DST", ["-w", "DPT=53", "-w", "PROTO=UDP"], tag="q6")[0]
    rc, _, err = run([lt, "merge", "-q", a, b])
    check("conditions in another order: one query", rc == 0, err)


def narrowing(lt, tmp, days):
    tallies = save_days(lt, tmp, days, "DST,DPT,PROTO")
    for key, where in [("DST", ["-w", "DPT=53"]), ("DPT,PROTO", []), ("PROTO", ["-w", "DST=8.8.8.0/24"]),
                       ("DST,DPT,PROTO", ["-w", "DPT!=53,443"])]:
        for fmt in ["text", "json"]:
            want = run([lt, "count", "-q", "-k", key, *where, "-f", fmt, "--percent", *days])[1]
            got = run([lt, "merge", "-q", "-k", key, *where, "-f", fmt, "--percent", *tallies])
            check(f"merge -k {key} {where} -f {fmt} = count", got[0] == 0 and got[1] == want, got[2])
    # Saved, the narrower sum is a tally of the narrower query.
    n = os.path.join(tmp, "narrow.tally")
    rc, _, err = run([lt, "merge", "-q", "-k", "DST", "-w", "DPT=53", "--save", n, *tallies])
    fresh = save_days(lt, tmp, days[:1], "DST", ["-w", "DPT=53"], tag="fresh")[0]
    got = run([lt, "merge", "-q", n, fresh])
    want = run([lt, "count", "-q", "-k", "DST", "-w", "DPT=53", days[0], *days])[1]
    check("a narrowed tally merges with a count of that query", got[0] == 0 and got[1] == want, got[2])
    hours = save_days(lt, tmp, days[:2], "hour,PROTO")
    want = run([lt, "count", "-q", "-k", "day,PROTO", *days[:2]])[1]
    got = run([lt, "merge", "-q", "-k", "day,PROTO", *hours])
    check("merge -k day from hour = count -k day", got[0] == 0 and got[1] == want, got[2])
    rc, _, err = run([lt, "merge", "-k", "SRC", *tallies])
    check("a column the tallies lack is refused with the reason",
          rc == 2 and b"not a column of their key" in err, err)
    rc, _, err = run([lt, "merge", "-w", "SPT=1-1023", *tallies])
    check("a condition on a column they lack is refused", rc == 2 and b"must test one of those" in err, err)
    rc, _, err = run([lt, "merge", "-k", "line", *tallies])
    check("a key that counts every line is refused", rc == 2, err)


def diff(lt, tmp, days):
    # Day two without the first day's busiest destination.
    first = run([lt, "count", "-q", "-k", "DST", "-n", "1", days[0]])[1].split()[1].decode()
    day2 = os.path.join(tmp, "day2-without.log")
    with open(days[1], "rb") as f, open(day2, "wb") as g:
        for line in f:
            if f" DST={first} ".encode() not in line:
                g.write(line)
    old = save_days(lt, tmp, days[:1], "DST", tag="old")[0]
    new = save_days(lt, tmp, [day2], "DST", tag="new")[0]
    rc, out, err = run([lt, "diff", old, new])
    rows = out.decode().splitlines()
    check("diff: the destination gone is first, as gone",
          rc == 0 and rows and rows[0].split()[3:] == ["gone", first] and rows[0].split()[1] == "0",
          rows[:3])
    check("diff summary", b"gone" in err and b"unchanged" in err, err)
    rc, out, _ = run([lt, "diff", "-q", "-f", "json", old, new])
    js = json.loads(out)
    check("diff json: old, new, change, status",
          js[0]["DST"] == first and js[0]["new"] == 0 and js[0]["change"] == -js[0]["old"]
          and js[0]["status"] == "gone", js[:2])
    # Sorted by absolute change, then key.
    changes = [abs(r["change"]) for r in js]
    check("diff order: absolute change descending", changes == sorted(changes, reverse=True))
    # Every change adds up: old + change = new, row by row, and against counts.
    old_counts = {r["DST"]: r["count"] for r in json.loads(run([lt, "count", "-q", "-k", "DST", "-f", "json",
                                                                days[0]])[1])}
    new_counts = {r["DST"]: r["count"] for r in json.loads(run([lt, "count", "-q", "-k", "DST", "-f", "json",
                                                                day2])[1])}
    want = {k for k in set(old_counts) | set(new_counts) if old_counts.get(k, 0) != new_counts.get(k, 0)}
    check("diff lists exactly the groups that changed",
          {r["DST"] for r in js} == want and all(
              r["old"] == old_counts.get(r["DST"], 0) and r["new"] == new_counts.get(r["DST"], 0) for r in js))
    for fmt in FORMATS:
        rc, out, err = run([lt, "diff", "-q", "-n", "3", "-f", fmt, old, new])
        check(f"diff -f {fmt}", rc == 0 and out and first.encode() in out, err)
    rc, out, err = run([lt, "diff", "-q", "-n", "2", "--memory", "1M", "-f", "csv", old, new])
    check("diff csv header and -n", out.decode().splitlines()[0] == "DST,old,new,change,status"
          and len(out.splitlines()) == 3, out)
    other = save_days(lt, tmp, days[:1], "SRC", tag="other")[0]
    rc, _, err = run([lt, "diff", old, other])
    check("diff of different queries refused", rc == 2 and b"keys differ" in err, err)


def format_reader(lt, tmp, days):
    t = save_days(lt, tmp, days[:2], "DST,DPT,PROTO", tag="reader")
    merged = os.path.join(tmp, "reader.tally")
    run([lt, "merge", "-q", "--save", merged, *t])
    meta, groups, blocks = read_tally(merged)
    rows = json.loads(run([lt, "count", "-q", "-k", "DST,DPT,PROTO", "-f", "json", *days[:2]])[1])
    want = {}
    for r in rows:
        want[tuple(r[c] for c in ("DST", "DPT", "PROTO"))] = r["count"]
    got = {}
    for key, count in groups.items():
        got[tuple(None if v is None else v.decode() for v in decode_key(key, 3))] = count
    check("the documented format, read by another program, gives count's groups", got == want,
          (len(got), len(want)))
    check("metadata totals", meta["totals"]["counted"] == sum(want.values())
          and meta["totals"]["groups"] == len(want) and meta["query"]["key"] == ["DST", "DPT", "PROTO"],
          meta["totals"])
    check("blocks in partition order", [b["partition"] for b in blocks] == sorted(b["partition"] for b in blocks))
    size = os.path.getsize(days[0])
    first = json.loads(json.dumps(read_tally(t[0])[0]["inputs"][0]))
    check("an input's size, how far it was read, and its fingerprints",
          first["size"] == size and first["read"] == size and first["decoded"] == size
          and len(first["head"]) == 16 and first["head_bytes"] == 4096 and first["error"] == "", first)


if __name__ == "__main__":
    sys.exit(main())
