"""Time one row: page cache warmed, one warm-up run, then --runs runs under /usr/bin/time."""

import os
import signal
import subprocess

TIME_BIN = "/usr/bin/time"


def warm(path):
    """Read the input (a path, or a list of paths) once, so that it is in the page cache."""
    paths = [path] if isinstance(path, str) else list(path)
    subprocess.run(["bash", "-c", 'cat "$@" > /dev/null', "warm"] + paths, check=False)


class TimedOut(Exception):
    pass


def _once(row, outdir, timeout):
    """One run; returns (wall seconds, peak RSS KB) or raises RuntimeError."""
    out = os.path.join(outdir, row.slug + ".out")
    err = os.path.join(outdir, row.slug + ".err")
    tfile = os.path.join(outdir, row.slug + ".time")
    script = ("set -o pipefail; " if row.pipefail else "") + row.cmd
    args = [TIME_BIN, "-f", "%e %M", "-o", tfile, "bash", "-c", script]
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen(args, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise TimedOut(timeout)
    row.out = out
    if rc != 0:
        with open(err, "rb") as f:
            tail = f.read()[-400:].decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError("exit status %d: %s" % (rc, tail[-1] if tail else "(no stderr)"))
    with open(tfile) as f:
        last = f.read().strip().splitlines()[-1].split()
    return float(last[0]), int(last[1])


QUICK_S = 3.0
QUICK_RUNS = 9


def run_row(row, runs, outdir, timeout, slow_after):
    """Fills row.times / row.rss_kb / row.error. A warm-up slower than slow_after seconds is
    taken as the only run (such a tool is not waited for again)."""
    def timed():
        """One timed run; False when it failed or timed out (noted on the row)."""
        warm(row.input)
        try:
            wall, rss = _once(row, outdir, timeout)
        except TimedOut:
            row.timed_out = timeout
            return False
        except RuntimeError as e:
            row.error = str(e)
            return False
        row.times.append(wall)
        row.rss_kb.append(rss)
        return True

    if not timed():
        return
    if row.times[-1] > slow_after:
        row.note = (row.note + "; " if row.note else "") + \
            "1 run (the warm-up took > %d s)" % slow_after
        return
    # The warm-up is not counted. A command of under QUICK_S seconds gets at least QUICK_RUNS
    # runs: on a noisy 2-core VM one disturbed run moves such a short time by a third, and
    # three runs leave the median at the mercy of two of them; the extra runs cost seconds.
    if row.times[-1] < QUICK_S:
        runs = max(runs, QUICK_RUNS)
    row.times, row.rss_kb = [], []
    for _ in range(runs):
        if not timed():
            return


def median(xs):
    s = sorted(xs)
    n = len(s)
    if not n:
        return None
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
