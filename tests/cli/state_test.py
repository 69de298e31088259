#!/usr/bin/env python3
"""count --state through the CLI: a nightly job over a log that grows and is
rotated as logrotate rotates it, and the nightly tallies merged give exactly
one count over everything that was written.

The nights: a line left half-written and finished the next night; growth;
rotation by rename; delaycompress (the rotated file gzipped a night later);
copytruncate; dateext and its compression; a night with nothing new. Then a
run stopped between writing its tally and updating its state (the files a
kill -9 at that point leaves, and a real kill -9 during a run), a log that
shrank, a state kept for another query, and an input that cannot be read.
Prints 'N passed, M failed'.
"""
import argparse
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from checks import check, summary
from tally_format import read_tally


def run(args, **kw):
    p = subprocess.run(args, capture_output=True, timeout=600, **kw)
    return p.returncode, p.stdout, p.stderr


def parts_of(data, n, mid_line_after=(0,)):
    """n consecutive pieces of data, cut at line ends except after the pieces
    listed in mid_line_after (a writer caught mid-line)."""
    cuts = [0]
    for k in range(1, n):
        c = len(data) * k // n
        if k - 1 not in mid_line_after:
            c = data.index(b"\n", c) + 1
        cuts.append(c)
    cuts.append(len(data))
    return [data[cuts[i]:cuts[i + 1]] for i in range(n)]


class Nightly:
    """A log directory, a state and the nightly tallies of one key."""

    def __init__(self, lt, root, key):
        self.lt, self.key = lt, key
        self.logs = os.path.join(root, "logs")
        self.out = os.path.join(root, "tallies")
        self.state = os.path.join(root, "state")
        for d in (self.logs, self.out):
            os.makedirs(d)
        self.night = 0
        self.written = b""

    def path(self, name):
        return os.path.join(self.logs, name)

    def append(self, name, data):
        with open(self.path(name), "ab") as f:
            f.write(data)
        self.written += data

    def count(self, name=None, expect=0):
        self.night += 1
        tally = os.path.join(self.out, name or f"night{self.night:02}.tally")
        rc, out, err = run([self.lt, "count", "-q", "-k", self.key, "--state", self.state, "--save", tally,
                            self.logs])
        check(f"night {self.night} ({self.key}) exit {expect}", rc == expect, err)
        return rc, err, tally

    def check_total(self, what, tmp):
        ref = os.path.join(tmp, "written.log")
        with open(ref, "wb") as f:
            f.write(self.written)
        tallies = sorted(os.path.join(self.out, t) for t in os.listdir(self.out))
        got = run([self.lt, "merge", "-q", *tallies])
        want = run([self.lt, "count", "-q", "-k", self.key, ref])
        check(f"{what}: merged nightly tallies = one count over all written ({self.key})",
              got[0] == 0 and got[1] == want[1] and want[1] != b"", (got[2], len(got[1]), len(want[1])))


def gz(src, dst):
    with open(src, "rb") as f, gzip.open(dst, "wb") as g:
        g.write(f.read())


def nights(lt, gen, tmp, key):
    root = os.path.join(tmp, key.replace(",", "_"))
    os.makedirs(root)
    data = subprocess.run([gen, "--lines", "30000", "--seed", "11"], capture_output=True, check=True).stdout
    part = parts_of(data, 12, mid_line_after=(0, 4))
    n = Nightly(lt, root, key)
    p = n.path
    # 1: a line half written.  2: finished, more lines.
    n.append("fw.log", part[0])
    n.count()
    n.append("fw.log", part[1])
    n.count()
    # 3: more, then rotated by rename; the new log has lines too.
    n.append("fw.log", part[2])
    os.rename(p("fw.log"), p("fw.log.1"))
    n.append("fw.log", part[3])
    n.count()
    # 4: delaycompress: fw.log.1 -> fw.log.2.gz, fw.log -> fw.log.1 (whose
    # last line is half written: the writer is mid-line at rotation).
    n.append("fw.log", part[4])
    gz(p("fw.log.1"), p("fw.log.2.gz"))
    os.remove(p("fw.log.1"))
    os.rename(p("fw.log"), p("fw.log.1"))
    n.count()
    # 5: the half line finished in fw.log.1 (the old writer's last write),
    # a new fw.log, then copytruncate of it.
    n.append("fw.log.1", part[5])
    n.append("fw.log", part[6])
    os.rename(p("fw.log.2.gz"), p("fw.log.3.gz"))
    gz(p("fw.log.1"), p("fw.log.2.gz"))
    os.remove(p("fw.log.1"))
    shutil.copyfile(p("fw.log"), p("fw.log.1"))
    open(p("fw.log"), "wb").close()
    n.append("fw.log", part[7])
    n.count()
    # 6: dateext rotation.  7: the dated file compressed, lines appended.
    n.append("fw.log", part[8])
    os.rename(p("fw.log"), p("fw.log-20240310"))
    n.append("fw.log", part[9])
    n.count()
    gz(p("fw.log-20240310"), p("fw.log-20240310.gz"))
    os.remove(p("fw.log-20240310"))
    n.append("fw.log", part[10])
    n.count()
    # 8: nothing new: an empty tally.
    _, _, t = n.count()
    meta, groups, _ = read_tally(t)
    check(f"a night with nothing new: an empty tally ({key})", groups == {} and meta["totals"]["lines"] == 0,
          meta["totals"])
    n.check_total("eight nights", tmp)
    return n, part


def crashes(lt, tmp, n, part):
    # Stopped after the tally was written, before the state: the pending
    # state is finished by the next run (nothing counted twice).
    before = open(os.path.join(n.state, "state"), "rb").read()
    n.append("fw.log", part[11][:len(part[11]) // 2].rsplit(b"\n", 1)[0] + b"\n")
    n.count()
    after = open(os.path.join(n.state, "state"), "rb").read()
    open(os.path.join(n.state, "state.pending"), "wb").write(after)
    open(os.path.join(n.state, "state"), "wb").write(before)
    rest = part[11][len(n.written) - len(b"".join(part[:11])):]
    n.append("fw.log", rest[:len(rest) // 2].rsplit(b"\n", 1)[0] + b"\n")
    rc, err, _ = n.count()
    check("killed after the tally: the next run finishes its commit", b"now committed" in err, err)
    check("... and leaves no pending state", not os.path.exists(os.path.join(n.state, "state.pending")))
    n.check_total("killed after its tally", tmp)
    # Stopped before the tally was written: undone, counted again.
    before = open(os.path.join(n.state, "state"), "rb").read()
    rest = part[11][len(n.written) - len(b"".join(part[:11])):]
    n.append("fw.log", rest)
    _, _, t = n.count()
    after = open(os.path.join(n.state, "state"), "rb").read()
    os.remove(t)
    open(os.path.join(n.state, "state.pending"), "wb").write(after)
    open(os.path.join(n.state, "state"), "wb").write(before)
    rc, err, _ = n.count()
    check("killed before its tally: the next run counts that night again", b"counted again" in err, err)
    n.check_total("killed before its tally", tmp)


def real_kill(lt, gen, tmp):
    root = os.path.join(tmp, "kill")
    os.makedirs(root)
    big = os.path.join(root, "big.log")
    with open(big, "wb") as f:
        subprocess.run([gen, "--lines", "2000000", "--seed", "3"], stdout=f, check=True)
    state, tally = os.path.join(root, "state"), os.path.join(root, "t.tally")
    args = [lt, "count", "-q", "-k", "SRC,SPT,DST,DPT", "--memory", "8M", "--state", state, "--save", tally, big]
    killed = False
    for delay in (0.5, 0.2, 0.05):
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()
            killed = True
            break
        p.wait()
        shutil.rmtree(state, ignore_errors=True)
        if os.path.exists(tally):
            os.remove(tally)
    check("kill -9 during a run: nothing written", not killed or (not os.path.exists(tally) and not os.path.exists(
        os.path.join(state, "state"))), os.listdir(root))
    rc, _, err = run(args)
    check("kill -9 during a run: the next run counts it all", rc == 0, err)
    got = run([lt, "merge", "-q", tally])[1]
    want = run([lt, "count", "-q", "-k", "SRC,SPT,DST,DPT", big])[1]
    check("... exactly once", got == want and got != b"")
    rc, _, err = run(args)
    check("... and the run after it finds nothing new", rc == 0 and read_tally(tally)[0]["totals"]["lines"] == 0,
          err)


def changes(lt, gen, tmp):
    root = os.path.join(tmp, "changes")
    os.makedirs(root)
    log, state = os.path.join(root, "app.log"), os.path.join(root, "state")
    data = subprocess.run([gen, "--lines", "4000", "--seed", "5"], capture_output=True, check=True).stdout
    open(log, "wb").write(data)
    k = ["-k", "DST"]
    rc, _, _ = run([lt, "count", "-q", *k, "--state", state, log])
    open(log, "wb").write(data[:data.index(b"\n", len(data) // 2) + 1])
    rc, out, err = run([lt, "count", "-q", *k, "--state", state, log])
    want = run([lt, "count", "-q", *k, log])[1]
    check("a log that shrank: a warning, counted from the start",
          rc == 0 and b"warning" in err and b"counted from the start" in err and out == want, err)
    changed = bytearray(data)
    changed[len(data) // 2] ^= 0x01
    open(log, "wb").write(bytes(changed))
    run([lt, "count", "-q", *k, "--state", state, log])
    changed[100] ^= 0x01  # within the part counted, after the first line
    open(log, "wb").write(bytes(changed) + b"one more line\n")
    rc, out, err = run([lt, "count", "-q", "-k", "line", "--state", state, log])
    check("a state follows one query", rc == 2 and b"another directory" in err, err)
    rc, out, err = run([lt, "count", "-q", *k, "--state", state, log])
    check("a log whose counted part changed: a warning, counted from the start",
          rc == 0 and b"changed since the last run" in err, err)
    # An input that cannot be read: nothing written, the state unchanged.
    bad = os.path.join(root, "bad.log.gz")
    open(bad, "wb").write(gzip.compress(data)[:-40])
    st = open(os.path.join(state, "state"), "rb").read()
    out_file = os.path.join(root, "t.tally")
    rc, _, err = run([lt, "count", "-q", *k, "--state", state, "--save", out_file, log, bad])
    check("an unreadable input: exit 2, nothing written, state unchanged",
          rc == 2 and not os.path.exists(out_file) and open(os.path.join(state, "state"), "rb").read() == st, err)
    rc, _, err = run([lt, "count", "-q", *k, "--state", state, "-"], input=b"x\n")
    check("standard input cannot be remembered", rc == 2 and b"standard input" in err, err)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logtally", required=True)
    ap.add_argument("--gen", required=True)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="state_test_")
    try:
        for key in ["line", "DST,DPT,PROTO"]:
            n, part = nights(a.logtally, a.gen, tmp, key)
            if key == "line":
                crashes(a.logtally, tmp, n, part)
        changes(a.logtally, a.gen, tmp)
        real_kill(a.logtally, a.gen, tmp)
    finally:
        shutil.rmtree(tmp)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
