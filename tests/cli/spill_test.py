#!/usr/bin/env python3
"""Counting beyond the memory budget, through the CLI, on a log whose
every line is unique (logtally-gen): the spilled answer against coreutils
(`LC_ALL=C sort | uniq -c`) and against the in-memory answer, with budgets so
small that spilled partitions are split again and the final merge needs a pass
of its own; and the peak RSS above the process's own floor within 1.2x the
budget (skipped under the sanitizers, whose shadow memory is not ours).
Prints 'N passed, M failed'.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

from checks import check, summary


def run(args, stdin=None, env=None):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(args, stdin=stdin, capture_output=True, timeout=600, env=e)
    return p.returncode, p.stdout, p.stderr


# Runs argv[1:] and prints its peak RSS (KiB) and exit code. The measuring
# process must be small: Linux carries a process's peak RSS across exec, so
# a child forked from this test (hundreds of MiB) would report the test's.
RSS_WRAPPER = ("import os, sys\n"
               "pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)\n"
               "_, st, ru = os.wait4(pid, 0)\n"
               "print(ru.ru_maxrss, os.waitstatus_to_exitcode(st))\n")


def peak_rss(args, tmp, stdin=None):
    """Runs args (which must send their rows elsewhere: -o); returns (exit code, stderr, peak RSS in bytes) of that
    process alone."""
    err_path = os.path.join(tmp, "rss.err")
    with open(err_path, "wb") as err:
        p = subprocess.run([sys.executable, "-c", RSS_WRAPPER] + args, stdin=stdin, stdout=subprocess.PIPE,
                           stderr=err, timeout=600, check=True)
    kib, rc = (int(x) for x in p.stdout.splitlines()[-1].split())
    with open(err_path, "rb") as f:
        return rc, f.read(), kib * 1024


def uniq_rows(out):
    """'   12 key' rows -> list of (count, key) in output order."""
    rows = []
    for line in out.splitlines():
        m = re.match(rb"^\s*(\d+) (.*)$", line)
        rows.append((int(m.group(1)), m.group(2)) if m else (None, line))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logtally", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--no-rss", action="store_true", help="skip the peak-RSS checks (sanitizer builds)")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="logtally_spill_")
    try:
        body(a.logtally, a.gen, tmp, not a.no_rss)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


def body(lt, gen, tmp, rss):
    log = os.path.join(tmp, "unique.log")
    n = 300000
    subprocess.run([gen, "--lines", str(n), "--dst-count", str(n), "--seed", "11", "-o", log], check=True)
    spill_dir = os.path.join(tmp, "spill")
    os.mkdir(spill_dir)

    # The independent answer: coreutils.
    ref = subprocess.run(f"LC_ALL=C sort '{log}' | uniq -c", shell=True, capture_output=True, check=True).stdout
    want = sorted(uniq_rows(ref))
    check("the log has unique lines, as generated", len(want) == n and all(c == 1 for c, _ in want), len(want))

    rc, mem, err = run([lt, "count", "-q", "-k", "line", log])
    got = uniq_rows(mem)
    check("in memory = sort | uniq -c", rc == 0 and sorted(got) == want, err)
    check("in memory: count descending, then the line's bytes ascending",
          got == sorted(got, key=lambda r: (-r[0], r[1])), "")

    # Spilled: the same bytes as in memory, whichever path.
    env = {"LOGTALLY_TRACE": "1"}
    for budget, extra, stdin in (("2M", [], None), ("2M", ["-j", "1"], None), ("2M", ["-"], log),
                                 ("8M", [], None), ("2M", ["-n", "25"], None), ("2M", ["-f", "tsv"], None)):
        name = f"--memory {budget} {' '.join(extra)}".strip()
        _, want_out, _ = run([lt, "count", "-q", "-k", "line"] + [x for x in extra if x != "-"] + [log])
        args = [lt, "count", "-k", "line", "--memory", budget, "--temp-dir", spill_dir] + extra
        if stdin is None:
            args.append(log)
        with open(stdin or os.devnull, "rb") as f:
            rc, out, err = run(args, stdin=f, env=env)
        check(f"spilled = in memory: {name}", rc == 0 and out == want_out, err)
        check(f"spill reported: {name}", b"over the memory budget: spilled" in err, err)
        if budget == "2M" and "-n" not in extra:
            # 300,000 lines of 260 bytes in 64 hash partitions, each too big for
            # 1 MiB: split again, and more sorted runs than 1 MiB of 16 KiB
            # read buffers can merge at once.
            check(f"a merge pass before the last: {name}", b"a merge pass" in err, err)
        check(f"no temporary files left: {name}", os.listdir(spill_dir) == [], os.listdir(spill_dir))

    if not rss:
        print("note: --no-rss: the peak-RSS checks are skipped")
        return
    # Peak RSS: the process's floor (the same command on a few lines, nothing
    # spilled) plus at most 1.2x the budget, from a file and from a pipe.
    small = os.path.join(tmp, "small.log")
    with open(log, "rb") as f, open(small, "wb") as out:
        out.write(b"".join(f.readline() for _ in range(1000)))
    for budget in (8, 32):
        _, _, floor = peak_rss([lt, "count", "-q", "-k", "line", "--memory", f"{budget}M", "-o", os.devnull, small], tmp)
        for how in ("file", "pipe"):
            args = [lt, "count", "-k", "line", "--memory", f"{budget}M", "--temp-dir", spill_dir, "-o", os.devnull]
            if how == "file":
                rc, err, peak = peak_rss(args + [log], tmp)
            else:
                with open(log, "rb") as f:  # a pipe: cat's output
                    cat = subprocess.Popen(["cat"], stdin=f, stdout=subprocess.PIPE)
                    rc, err, peak = peak_rss(args + ["-"], tmp, stdin=cat.stdout)
                    cat.stdout.close()
                    cat.wait()
            check(f"--memory {budget}M from a {how}: spilled", rc == 0 and b"spilled" in err, err)
            check(f"--memory {budget}M from a {how}: peak RSS {peak >> 20} MiB - floor {floor >> 20} MiB "
                  f"within 1.2x the budget", peak - floor <= 1.2 * (budget << 20), (peak, floor))


if __name__ == "__main__":
    sys.exit(main())
