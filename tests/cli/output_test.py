#!/usr/bin/env python3
"""The -o target as a user relies on it: an output that is one of the inputs
(directly, through a symbolic or hard link, or as standard input) is refused
and the log left untouched; a run killed at any moment, by any signal,
leaves no temporary file beside the target and the old target whole; a
replaced file keeps its mode, owner and group; a CSV cell that a spreadsheet
would run as a formula is written as text. Prints 'N passed, M failed'.
"""
import argparse
import hashlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

from checks import check, summary


def run(args, stdin=None):
    p = subprocess.run(args, stdin=stdin, capture_output=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def output_is_input(lt, tmp):
    log = os.path.join(tmp, "fw.log")
    with open(log, "w") as f:
        for i in range(200):
            f.write(f"Mar  9 10:00:{i % 60:02d} gw kernel: IN=eth0 OUT= SRC=10.0.0.{i % 7} "
                    f"DST=10.0.0.1 PROTO=TCP SPT=1 DPT={i % 5}\n")
    before = digest(log)
    sym = os.path.join(tmp, "sym.log")
    hard = os.path.join(tmp, "hard.log")
    os.symlink(log, sym)
    os.link(log, hard)
    cases = [
        ("directly", ["count", "-k", "DPT", "-o", log, log], None),
        ("through a symbolic link", ["count", "-k", "DPT", "-o", sym, log], None),
        ("through a hard link", ["count", "-k", "DPT", "-o", hard, log], None),
        ("the input named through a link", ["count", "-k", "DPT", "-o", log, sym], None),
        ("as standard input", ["count", "-k", "DPT", "-o", log, "-"], log),
        ("as standard input, no PATH", ["count", "-k", "DPT", "-o", log], log),
        ("in a directory PATH", ["count", "-k", "DPT", "-o", log, tmp], None),
        ("services", ["services", "-o", log, log], None),
        ("rules", ["rules", "-k", "SRC", "--to", "nftables", "-o", log, log], None),
    ]
    for what, args, stdin_path in cases:
        stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
        rc, out, err = run([lt] + args, stdin=stdin)
        if stdin_path:
            stdin.close()
        check(f"-o onto the input {what}: exit 2", rc == 2, (rc, err))
        check(f"-o onto the input {what}: says why", b"the output file is an input" in err, err)
        check(f"-o onto the input {what}: the log is untouched", digest(log) == before, what)
    # The rules' revert file beside an input is refused too.
    rev_log = os.path.join(tmp, "x.nft.revert")
    os.link(log, rev_log)
    rc, out, err = run([lt, "rules", "-k", "SRC", "--to", "nftables", "-o",
                        os.path.join(tmp, "x.nft"), rev_log])
    check("rules: a revert path that is the input: exit 2", rc == 2, (rc, err))
    check("rules: the log behind the revert path is untouched", digest(log) == before, "")
    # A device stays writable even when it is also read.
    rc, out, err = run([lt, "count", "-k", "DPT", "-o", "/dev/null", "/dev/null"])
    check("-o /dev/null with /dev/null read: allowed", rc == 0, (rc, err))


def kills(lt, gen, tmp, per_signal):
    log = os.path.join(tmp, "big.log")
    subprocess.run([gen, "--lines", "150000", "--dst-count", "150000", "--seed", "3", "-o", log],
                   check=True)
    target = os.path.join(tmp, "out", "table.txt")
    os.makedirs(os.path.dirname(target))
    rc, full, err = run([lt, "count", "-k", "line", log])
    check("the full answer is made", rc == 0, err)
    t0 = time.monotonic()
    run([lt, "count", "-k", "line", "-o", target, log])
    took = time.monotonic() - t0
    rng = random.Random(7)
    sigs = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGALRM,
            signal.SIGKILL]
    old = b"the previous result\n"
    for sig in sigs:
        leftovers = bad = 0
        for _ in range(per_signal):
            with open(target, "wb") as f:
                f.write(old)
            p = subprocess.Popen([lt, "count", "-k", "line", "-o", target, log],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0, took * 1.1))
            p.send_signal(sig)
            p.wait()
            names = os.listdir(os.path.dirname(target))
            leftovers += len([n for n in names if n != "table.txt"])
            for n in names:
                if n != "table.txt":
                    os.unlink(os.path.join(os.path.dirname(target), n))
            with open(target, "rb") as f:
                now = f.read()
            bad += now not in (old, full)
        check(f"{sig.name}: no file left beside the target ({per_signal} kills)", leftovers == 0,
              leftovers)
        check(f"{sig.name}: the target is the old file or the whole new one", bad == 0, bad)


def keeps_owner(lt, tmp):
    log = os.path.join(tmp, "small.log")
    with open(log, "w") as f:
        f.write("IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 PROTO=UDP SPT=1 DPT=53\n")
    target = os.path.join(tmp, "owned.txt")
    with open(target, "w") as f:
        f.write("old\n")
    os.chmod(target, 0o640)
    if os.geteuid() == 0:
        os.chown(target, 1234, 5678)
    rc, out, err = run([lt, "count", "-k", "DPT", "-o", target, log])
    st = os.stat(target)
    check("a replaced target keeps its mode", rc == 0 and (st.st_mode & 0o7777) == 0o640,
          oct(st.st_mode))
    if os.geteuid() == 0:
        check("a replaced target keeps its owner and group",
              (st.st_uid, st.st_gid) == (1234, 5678), (st.st_uid, st.st_gid))
    with open(target) as f:
        check("and holds the new result", f.read().split() == ["1", "53"], "")


def csv_cells(lt, tmp):
    log = os.path.join(tmp, "prefixes.log")
    prefixes = ["=HYPERLINK(\"http://x\")", "+cmd", "@SUM(A1)", "-2+3", "-x", "-", "-5", "-0.25",
                "ACCEPT"]
    full = "2001:0db8:0000:0000:0000:0000:0000:0001"  # as the kernel's LOG target writes it
    with open(log, "w") as f:
        for p in prefixes:
            f.write(f"Mar  9 10:00:00 gw kernel: {p} IN=eth0 OUT= SRC={full} DST=10.0.0.1 PROTO=TCP\n")
    rc, out, err = run([lt, "count", "-k", "PREFIX,SRC", "-f", "csv", log])
    import csv, io
    cells = {row[0]: row[1] for row in csv.reader(io.StringIO(out.decode()))}
    for p in ["=HYPERLINK(\"http://x\")", "+cmd", "@SUM(A1)", "-2+3", "-x"]:
        check(f"csv: a formula cell {p!r} is written as text", ("'" + p) in cells, sorted(cells))
    for p in ["-", "-5", "-0.25", "ACCEPT"]:
        check(f"csv: {p!r} is written as it is", p in cells, sorted(cells))
    check("csv: an address stays as it is", all(v in (full, "SRC") for v in cells.values()),
          cells)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logtally", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--kills", type=int, default=20, help="kills per signal")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        output_is_input(args.logtally, tmp)
        kills(args.logtally, args.gen, tmp, args.kills)
        keeps_owner(args.logtally, tmp)
        csv_cells(args.logtally, tmp)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
