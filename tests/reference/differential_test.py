#!/usr/bin/env python3
"""Differential test: the real `logtally count` binary against tests/reference/reference.py.

    python3 tests/reference/differential_test.py --logtally build/logtally \\
        [--gen build/datasets/logtally-gen] [--samples DIR] [--quick]
        [--workers N] [--timeout SECONDS] [--only SUBSTR] [--keep-temp] [--no-summary] [-v]

Inputs: every file of the samples directory (default ../shared/samples/real from the repo root,
i.e. /work/shared/samples/real; the .json one is read as a plain line log), the directory itself,
several files in one run, hand-made tricky files written to a temporary directory (CRLF, no
final newline, NUL bytes, invalid UTF-8, a 3 MB single line, an empty file, syntax corner
cases, seeded random mutations of real lines, compressed copies), and with --gen a few
generated logs (`GEN --lines N --seed S -o FILE`).

For each input a matrix of keys and conditions runs in several output variants (all five formats,
--percent, -n); a subset also runs with `-j 1` / `-j 2` and from standard input (`-` and no
PATH, stdin redirected from the file).  Each binary run is one check: stdout must equal the
reference byte for byte and the exit status must match.  A mismatch prints the command and the
start of a unified diff.  After a timeout (--timeout, default 120 s) the input's remaining
runs are reported as failed without being started.  When the binary's stderr summary shows
recognisable numbers (lines, netfilter records, counted, groups, filtered out, other lines not
counted), the first run of each key/condition set also checks them against the reference's
accounting.  Closing line: `N passed, M failed`; exit status 1 on any failure (2 when the
harness itself cannot start).

The reference runs in-process (one tally per input x key/conditions, rendered for each variant);
binary runs go through a thread pool while the reference computes.
"""

from __future__ import annotations

import argparse
import bz2
import concurrent.futures as cf
import difflib
import gzip
import lzma
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
import reference as ref  # noqa: E402

DEFAULT_SAMPLES = REPO.parent / "shared" / "samples" / "real"


# ---------------------------------------------------------------------------------------------
# The matrix
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ArgSet:
    """A key (None = no -k, the default `line`) and its -w conditions."""
    keys: Optional[str]
    where: tuple[str, ...] = ()

    def argv(self) -> list[str]:
        out = [] if self.keys is None else ["-k", self.keys]
        for w in self.where:
            out += ["-w", w]
        return out


ARGSETS = [
    ArgSet("DST,DPT,PROTO"),
    ArgSet("line"),
    ArgSet("SRC,PROTO", ("DPT=53",)),
    ArgSet("PREFIX"),
    ArgSet("TIME,HOST"),
    ArgSet(None),
    ArgSet("$1,$5"),
    ArgSet("DPT", ("PROTO=TCP,UDP", "DPT!=80,443")),
    ArgSet("DPT,PROTO", ("DPT=1000-2000",)),
    ArgSet("DST", ("SRC=192.168.0.0/16",)),
    ArgSet("SRC,DPT", ("DST=2001:db8::/32",)),
    ArgSet("MAC,OUT"),
    ArgSet("LEN,ID,TYPE,CODE,MTU"),
    ArgSet("IN,OUT", ("MAC=",)),
    ArgSet("HOST,PREFIX", ("DPT!=",)),
    ArgSet("$2", ("PROTO!=TCP",)),  # key of words only, condition on a netfilter field
    ArgSet("PROTO,$3", ("$1!=Mar,Apr",)),
    ArgSet("SRC", ("SRC!=10.0.0.0/8,192.168.0.0/16,fe80::/10",)),
    ArgSet("SPT,DPT", ("SPT=0-1023,53", "DST!=224.0.0.0/4,ff00::/8")),
    ArgSet("PHYSIN,PHYSOUT,MARK,SEQ"),
]


@dataclass(frozen=True)
class Variant:
    fmt: str = "text"
    percent: bool = False
    top: Optional[int] = None
    explicit_fmt: bool = False  # pass `-f text` instead of relying on the default

    def argv(self) -> list[str]:
        out = []
        if self.fmt != "text" or self.explicit_fmt:
            out += ["-f", self.fmt]
        if self.percent:
            out.append("--percent")
        if self.top is not None:
            out += ["-n", str(self.top)]
        return out


ALL_VARIANTS = [
    Variant("text"), Variant("tsv"), Variant("csv"), Variant("json"), Variant("ndjson"),
    Variant("text", percent=True), Variant("json", percent=True),
    Variant("text", top=5, explicit_fmt=True), Variant("csv", percent=True, top=5),
    Variant("ndjson", percent=True, top=5),
]


def variants_for(argset_index: int, quick: bool) -> list[Variant]:
    if not quick or argset_index < 2:
        return ALL_VARIANTS
    # quick: the default text plus one rotating extra variant per key/condition set
    extras = ALL_VARIANTS[1:]
    return [ALL_VARIANTS[0], extras[argset_index % len(extras)]]


# ---------------------------------------------------------------------------------------------
# Hand-made tricky inputs (bytes only: never decoded)
# ---------------------------------------------------------------------------------------------

SYNTAX_LINES = [
    b"Mar  5 14:59:59 gw kernel: [158144.383443] DROPIN=eth0 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 "
    b"SRC=10.0.0.1 DST=192.168.1.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=1234 DPT=80 WINDOW=1 RES=0x00 SYN URGP=0",
    b"Mar 15 14:59:59 gw kernel: [  341.399450] [netfilter-OUTPUT] IN= OUT=enp0s3 SRC=192.168.122.235 DST=192.168.122.1 "
    b"LEN=56 PROTO=UDP SPT=43648 DPT=53 LEN=36 ",
    b"<4>Jan  5 20:17:05 fw kernel: [LAN_LOCAL-default-A]IN=eth0.90 OUT= MAC=90:10:92:6e:ea:a7 SRC=192.168.48.137 "
    b"DST=81.2.69.143 LEN=540 PROTO=UDP SPT=48689 DPT=48689 LEN=520",
    b"<6>2021-03-12T14:10:18Z Hostname kernel: [wan-lan-default-D]IN=eth0 OUT= SRC=67.43.156.15 DST=10.4.0.5 PROTO=TCP SPT=38842 DPT=443",
    b"<161>Oct 10 07:25:12 Hostname kernel: [x]IN=eth0 OUT= SRC=67.43.156.15 DST=10.4.0.5 PROTO=TCP SPT=38842 DPT=8443",
    b"2015-03-07T05:09:30.045015+02:00 servername kernel: DROP: IN=eth0 OUT= MAC=00:00:00:00:00:00:00:00:00:00:00:00:00:00 "
    b"SRC=4.4.4.4 DST=1.2.3.4 PROTO=TCP SPT=58923 DPT=21",
    b"2021-03-12T14:10:18 h IN=a OUT= SRC=4.4.4.4 PROTO=2",
    b"Jan  8 03:37:09 DENY: IN=eth0 OUT= MAC= SRC=1.1.1.1 DST=2.2.2.2 LEN=92 PROTO=ICMP TYPE=3 CODE=3 "
    b"[SRC=2.2.2.2 DST=1.1.1.1 LEN=64 PROTO=UDP SPT=53 DPT=33434 [NESTED=1 [X]] LEN=44 ] MTU=1500",
    b"Mar 15 20:58:59 linux kernel: [810518.886511] DROP IN=eth0 OUT= SRC=192.168.10.55 DST=192.168.10.1 LEN=20 "
    b"PROTO=UDPLITE INCOMPLETE [65 bytes] MARK=0x1",
    b"Mar 15 20:58:59 linux kernel: [810518.886511] DROP IN=eth0 OUT= SRC=192.168.10.55 DST=192.168.10.1 PROTO=ICMP "
    b"TYPE=8 CODE=0 ID=1 SEQ=2 [unclosed SRC=9.9.9.9 DPT=1",
    b"x PHYSIN=eth0 PHYSOUT=eth1 SRC=1.2.3.4 DST=5.6.7.8",
    b"x IN=br0 OUT=br0 PHYSIN=eth0 PHYSOUT=eth1 SRC=1.2.3.4 DST=5.6.7.8 PROTO=TCP DPT=22",
    b"k: [UFW]PHYSIN=eth0 OUT=eth1 SRC=1.2.3.4",
    b"ZIN=a  OUT=x SRC=1.1.1.1",
    b"ZIN= OUT=x SRC=1.1.1.1",
    b"xIN=a yIN=b OUT=c SRC=7.7.7.7",
    b"IN=eth0 OUT= SRC=fe80::1 DST=ff02::1 PROTO=UDP SPT=5353 DPT=5353",
    b"Apr 11 01:56:51 HP kernel: [ 7672.882697] [UFW BLOCK] IN=wlo1 OUT= MAC= SRC=fe80:0000:0000:0000:0000:0000:0000:0001 "
    b"DST=2001:db8::5 LEN=72 TC=0 HOPLIMIT=255 FLOWLBL=0 PROTO=ICMPv6 TYPE=135 CODE=0",
    b"Apr 11 01:56:51 HP kernel: [ 7672.882697] [UFW BLOCK] IN=wlo1 OUT= SRC=2001:0db8:0000:f101:0000:0000:0000:0002 "
    b"DST=2001:db8:0:f101::1 PROTO=TCP SPT=51397 DPT=1433",
    b"Apr 11 01:56:51 HP kernel: [ 7672.882697] [UFW BLOCK] IN=wlo1 OUT= SRC=::ffff:192.168.1.1 DST=2a0a:1580::a PROTO=TCP DPT=1500",
    b"Apr 1 00:00:00 h kernel: [ 1.5][X] IN=a OUT= DPT=- SRC=-",  # literal '-' vs missing tie-break
    b"Apr 1 00:00:00 h kernel: [ 1.5][X] IN=a OUT= SPT=1",
    b"scan:Mar 17 13:39:13 linux kernel: [956932.522957] DROP IN=eth0 OUT= SRC=1.1.1.1 DPT=1433",
    b"0 3 PVEFW-HOST-IN 20/Jun/2022:13:09:14 +0200 policy DROP: IN=vmbr0.94 MAC=24:8a SRC=10.3.94.11 DST=10.3.94.12 "
    b"PROTO=UDP SPT=49152 DPT=3784 LEN=32",
    b'Jun 13 23:29:15 UDMP UDMP [WAN-D] DESCR="[W]Block All" IN=eth8 OUT= SRC=192.168.1.1 DST=192.168.1.25 PROTO=UDP '
    b"SPT=38451 DPT=54329 MARK=1a0000",
    b"Mar  5 14:59:59 kernel: DROP IN=a OUT= SRC=10.1.1.1 ID= ID=7 LEN=40 LEN=20",
    b"Jan  8 03:37:09 gwIN=eth0 OUT= SRC=3.3.3.3",
    b"Mar  5 14:59:59 IN=eth0 OUT= SRC=3.3.3.3",
    b"kernel: [1.5] DROP IN=a OUT= SRC=10.0.0.1 DPT=1000",
    b"2021-03-12T14:10:18Zx host IN=a OUT= DPT=2000",
    b"Mar  5 14:59:59 gw kernel:   DROP  X   IN=a OUT= =x A=[x B=1 ] [y]DPT=1999",
    b"a\t b  c\t\td IN=e SRC=9\tDST=8",
    b"Mar  5 14:59:59 gw kernel: hello world without record",
    b"", b"   ", b"\t", b"-", b"- -", b"Mar", b"Apr - x",
    b"sshd: LOGIN=root from x",
    b"a _IN=eth0 SRC=1",
    b"-IN=eth0 SRC=1 DPT=443",
    b"IN=e DPT=0080 PROTO=TCP",
    b"IN=e DPT=99999999999999999999999 PROTO=UDP",
    b"IN=e DPT=15a PROTO=TCP SPT=00053",
    b"IN=e SRC=010.1.1.1 DST=192.168.1.300 PROTO=TCP",
    b"IN=e SRC=fe80::1%eth0 DST=2001:DB8::1 PROTO=TCP",
]

INVALID_UTF8_LINES = [
    b"Mar  5 14:59:59 h\xffst kernel: [1.0] PRE\xc3FIX IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 PROTO=T\xc3\xa9CP DPT=80",
    b"Mar  5 14:59:59 h\xc3\xa9st kernel: caf\xc3\xa9 \xe2\x82\xac IN=eth0 OUT= SRC=1.2.3.4 DPT=\xed\xa0\x80",
    b"\xc0\x80 overlong IN=eth0 OUT= SRC=\xf4\x90\x80\x80 DPT=1",
    b"ctl\x01\x02\x1b[31m IN=eth0 OUT= SRC=a\\b DPT=\x7f",
    b'quote" IN=eth0 OUT= SRC="1.2.3.4" DST=a,b DPT=" PROTO=,',
    b"emoji \xf0\x9f\x98\x80 IN=e OUT= SRC=\xf0\x9f\x98\x80 DST=\xf0\x9f\x98",
    b"\xe2\x82 truncated \xe2\x82\xac",
    b"plain \\x41 literal IN=e OUT= SRC=\\x41",
    b"\x80\x81\x82",
    b"tab\there IN=e OUT= SRC=x\ty",
    b"\xef\xbb\xbfBOM IN=e OUT= SRC=\xc2\x85 DPT=\xc2\xa0",
    b"\xf8\x88\x80\x80\x80 five-byte \xfe\xff",
]

NUL_LINES = [
    b"Mar  5 14:59:59 gw kernel: \x00DROP IN=eth0 OUT= SRC=1.2.3.4 DPT=5\x003",
    b"\x00\x00\x00",
    b"IN=\x00 OUT= SRC=\x00",
    b"x\x00IN=eth0 OUT= SRC=1.1.1.1",
    b"Mar  5 14:59:59 gw kernel: DROP IN=eth0 OUT= SRC=1.2.3.4 DPT=5",
    b"\x00",
]


def tricky_files(tmp: Path, rng: random.Random, samples: list[bytes], quick: bool) -> list[Path]:
    """Write the hand-made inputs; returns their paths."""
    files: dict[str, bytes] = {}
    syntax = [ln for ln in SYNTAX_LINES for _ in range(rng.randint(1, 3))]
    rng.shuffle(syntax)
    files["syntax.log"] = b"\n".join(syntax) + b"\n"
    files["crlf.log"] = (b"".join(ln + b"\r\n" for ln in SYNTAX_LINES[:12])
                         + b"IN=eth0 OUT= SRC=1.1.1.1 DPT=53\r\r\n" + b"IN=eth0 OUT= SRC=1.1.1.1 DPT=53\r\n"
                         + b"a\rb IN=eth0 OUT= SRC=1.1.1.1 DPT=53\r\n" + b"\r\n\r\n" + b"IN=e DPT=53\r")
    files["no-final-newline.log"] = b"\n".join(SYNTAX_LINES[:6] * 2)
    files["nul.log"] = b"\n".join(NUL_LINES * 2) + b"\n" + b"\x00" * 82
    files["invalid-utf8.log"] = b"\n".join(INVALID_UTF8_LINES + INVALID_UTF8_LINES[:5]) + b"\n"
    big_prefix = b"Mar  5 14:59:59 gw kernel: " + b"P" * 3_000_000
    files["long-line.log"] = (big_prefix + b" IN=e OUT= SRC=1.2.3.4 PROTO=TCP " + b"A=1 " * 50_000
                              + b"DPT=9\n")
    files["long-line-nospace.log"] = b"AIN=" * 750_000  # 3 MB, one line, no record, no final newline
    files["empty.log"] = b""
    files["blank-lines.log"] = b"\n\n \n\t\n\n"
    files["mutated.log"] = mutated_log(rng, samples, 4000 if quick else 30000)
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    # compressed copies, detected by content (so no telling extension)
    comp = files["syntax.log"] + files["mutated.log"][:200_000]
    (tmp / "compressed-gzip-multimember.log").write_bytes(gzip.compress(comp[:5000]) + gzip.compress(comp[5000:]))
    (tmp / "compressed-xz.log").write_bytes(lzma.compress(comp))
    (tmp / "compressed-bzip2.log").write_bytes(bz2.compress(comp))
    return sorted(tmp / n for n in list(files) + ["compressed-gzip-multimember.log", "compressed-xz.log",
                                                   "compressed-bzip2.log"])


MUTATION_BYTES = [b" ", b"  ", b"\t", b"[", b"]", b"=", b"\r", b"\x00", b"\xff", b"\xc3", b"\xc3\xa9", b'"', b",",
                  b"\\", b"-", b":", b"IN=", b" OUT=", b"[ ", b" ]", b"DPT=", b"<6>", b"kernel: "]


def mutate(rng: random.Random, line: bytes) -> bytes:
    for _ in range(rng.randint(1, 3)):
        pos = rng.randint(0, len(line))
        op = rng.randrange(6)
        if op == 0:  # insert a byte string that matters to the grammar
            line = line[:pos] + rng.choice(MUTATION_BYTES) + line[pos:]
        elif op == 1:  # delete a short span
            line = line[:pos] + line[pos + rng.randint(1, 6):]
        elif op == 2:  # truncate
            line = line[:pos]
        elif op == 3:  # empty a value: drop the bytes after an '=' up to the next space
            eq = line.find(b"=", pos)
            if eq >= 0:
                sp = line.find(b" ", eq)
                line = line[:eq + 1] + (line[sp:] if sp >= 0 else b"")
        elif op == 4:  # duplicate a token
            sp = line.find(b" ", pos)
            nxt = line.find(b" ", sp + 1) if sp >= 0 else -1
            if sp >= 0 and nxt > sp:
                line = line[:nxt] + line[sp:nxt] + line[nxt:]
        else:  # replace a byte with a random one
            if pos < len(line):
                line = line[:pos] + bytes([rng.randrange(256)]) + line[pos + 1:]
    return line


def mutated_log(rng: random.Random, samples: list[bytes], n: int) -> bytes:
    pool = samples + SYNTAX_LINES + INVALID_UTF8_LINES + NUL_LINES
    out = []
    for _ in range(n):
        line = rng.choice(pool)
        if rng.random() < 0.5:
            line = mutate(rng, line)
        out.append(line.replace(b"\n", b" "))
    return b"\n".join(out) + b"\n"


# ---------------------------------------------------------------------------------------------
# Running and comparing
# ---------------------------------------------------------------------------------------------

@dataclass
class Input:
    name: str
    paths: list[str]  # PATH arguments
    single: Optional[str] = None  # set when the input is one file (stdin modes apply)
    big: bool = False  # worth running with -j 1 / -j 2
    expect_status: int = 0


@dataclass
class Run:
    argv: list[str]
    stdin_path: Optional[str] = None
    expect_status: int = 0

    def shell(self) -> str:
        s = " ".join(shlex.quote(a) for a in self.argv)
        return s + (f" < {shlex.quote(self.stdin_path)}" if self.stdin_path else "")


@dataclass
class Stats:
    passed: int = 0
    failed: int = 0
    failures: list = field(default_factory=list)


def execute(run: Run, timeout: float, gave_up: threading.Event) -> tuple[Optional[int], bytes, bytes, float]:
    """Run the binary once.  After a timeout on an input, its remaining runs are not started
    (each is reported as failed) so that one pathological input cannot stall the whole test."""
    t0 = time.monotonic()
    if gave_up.is_set():
        return None, b"", b"not run: an earlier run on this input timed out", 0.0
    stdin = open(run.stdin_path, "rb") if run.stdin_path else subprocess.DEVNULL
    try:
        p = subprocess.run(run.argv, stdin=stdin, capture_output=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr, time.monotonic() - t0
    except subprocess.TimeoutExpired as e:
        gave_up.set()
        return None, e.stdout or b"", b"timeout after %ds" % timeout, time.monotonic() - t0
    except OSError as e:
        return None, b"", str(e).encode(), time.monotonic() - t0
    finally:
        if run.stdin_path:
            stdin.close()


def short_diff(expected: bytes, got: bytes, max_lines: int = 20) -> list[str]:
    """The first ~max_lines lines of a unified diff (reference -> logtally).  Lines are cut to
    300 characters; outputs of more than 50k lines are diffed in a window from the first
    differing line (the window's end may then show a spurious hunk)."""
    a, b = expected.split(b"\n"), got.split(b"\n")
    lo, note = 0, []
    if len(a) + len(b) > 100_000:
        i = 0
        while i < min(len(a), len(b)) and a[i] == b[i]:
            i += 1
        lo = max(0, i - 3)
        a, b = a[lo:i + 200], b[lo:i + 200]
        note = [f"(windowed diff from output line {lo + 1})"]

    def show(lines):
        return [ln.decode("utf-8", "backslashreplace")[:300] for ln in lines]
    diff = difflib.unified_diff(show(a), show(b), "reference", "logtally", lineterm="", n=2)
    return note + list(diff)[:max_lines]


def report(stats: Stats, run: Run, expected: bytes, result, verbose: bool) -> None:
    status, out, err, secs = result
    problems = []
    if status != run.expect_status:
        problems.append(f"exit status {status} (expected {run.expect_status})")
    if out != expected:
        problems.append(f"stdout differs ({len(out)} bytes, expected {len(expected)})")
    if not problems:
        stats.passed += 1
        if verbose:
            print(f"  ok {secs:6.2f}s  {run.shell()}")
        return
    stats.failed += 1
    stats.failures.append(run.shell())
    print(f"FAIL: {run.shell()}\n  " + "; ".join(problems))
    if status != run.expect_status and err and not err.startswith(b"not run:"):
        for ln in err.decode("utf-8", "backslashreplace").splitlines()[:5]:
            print(f"  stderr: {ln[:300]}")
    if out != expected:
        for ln in short_diff(expected, out):
            print(f"  {ln}")


_N = rb"(?<![\w=.])([0-9][0-9,]*)"  # a number, not the tail of `key=N` or of a decimal
SUMMARY_PATTERNS = {  # what the reference knows -> how the binary's summary line might say it
    "lines": (re.compile(_N + rb" lines\b"), re.compile(rb"\blines=([0-9]+)")),
    "records": (re.compile(_N + rb" netfilter records\b"), re.compile(rb"\brecords=([0-9]+)")),
    "counted": (re.compile(_N + rb" counted\b"), re.compile(rb"\bcounted=([0-9]+)")),
    "filtered": (re.compile(_N + rb" filtered out\b"), re.compile(rb"\bfiltered=([0-9]+)")),
    "other": (re.compile(_N + rb" other lines not counted\b"), re.compile(rb"\bother=([0-9]+)")),
    "groups": (re.compile(_N + rb" groups\b"), re.compile(rb"\bgroups=([0-9]+)")),
}


def summary_check(stats: Stats, run: Run, result, tally: ref.Tally) -> None:
    """Opportunistic: SPEC §4 fixes what the stderr summary reports, not its wording.  The
    numbers that can be recognised are compared with the reference's accounting
    (lines = counted + filtered out + other lines not counted); nothing recognised, no check."""
    status, _, err, _ = result
    if status is None:
        return
    want = {"lines": tally.lines, "records": tally.records, "counted": tally.counted,
            "filtered": tally.filtered, "other": tally.other, "groups": len(tally.groups)}
    got = {}
    for name, patterns in SUMMARY_PATTERNS.items():
        m = patterns[0].search(err) or patterns[1].search(err)
        if m:
            got[name] = int(m.group(1).replace(b",", b""))
    if not got:
        return
    bad = {k: (v, want[k]) for k, v in got.items() if v != want[k]}
    if not bad:
        stats.passed += 1
        return
    stats.failed += 1
    stats.failures.append("summary: " + run.shell())
    print(f"FAIL (stderr summary): {run.shell()}\n  " +
          ", ".join(f"{k}: got {g}, reference {w}" for k, (g, w) in bad.items()))
    print(f"  stderr: {err.decode('utf-8', 'backslashreplace').strip()[:300]}")


def check_input(pool: cf.Executor, binary: str, inp: Input, argsets: list[ArgSet], quick: bool,
                timeout: float, stats: Stats, verbose: bool, check_summary: bool) -> None:
    base = [binary, "count"]
    gave_up = threading.Event()
    for ai, aset in enumerate(argsets):
        # Plan the binary runs first so they execute while the reference computes.
        planned: list[tuple[Run, Variant]] = []
        for v in variants_for(ai, quick):
            planned.append((Run(base + aset.argv() + v.argv() + inp.paths, expect_status=inp.expect_status), v))
        text = Variant("text")
        if inp.big and ai in ((0, 1) if quick else (0, 1, 3, 7, 16)):
            for j in ("1", "2"):
                planned.append((Run(base + ["-j", j] + aset.argv() + inp.paths), text))
            if not quick:
                planned.append((Run(base + ["-j", "2"] + aset.argv() + ["-f", "json", "--percent"] + inp.paths),
                                Variant("json", percent=True)))
        if inp.single and ai in ((0,) if quick else (0, 1, 3, 4)):
            planned.append((Run(base + aset.argv() + ["-"], stdin_path=inp.single), text))
            planned.append((Run(base + aset.argv(), stdin_path=inp.single), text))
        futures = [pool.submit(execute, run, timeout, gave_up) for run, _ in planned]
        # The reference: one tally, rendered per variant.
        tally = ref.tally_paths(inp.paths, ref.parse_keys(aset.keys or "line"),
                                [ref.parse_condition(w) for w in aset.where])
        # Render each variant when first needed and drop it after its last use (outputs of
        # -k line on a 200k-line log are tens of megabytes each).
        uses = Counter(v for _, v in planned)
        expected: dict[Variant, bytes] = {}
        for k, ((run, v), fut) in enumerate(zip(planned, futures)):
            if v not in expected:
                expected[v] = ref.render(tally, v.fmt, v.percent, v.top)
            report(stats, run, expected[v], fut.result(), verbose)
            if k == 0 and check_summary:
                summary_check(stats, run, fut.result(), tally)
            futures[k] = None  # release the binary's output
            uses[v] -= 1
            if not uses[v]:
                del expected[v]


def generated_inputs(gen: str, tmp: Path, quick: bool, timeout: float, stats: Stats) -> list[Input]:
    plan = [(1, 20_000)] if quick else [(1, 20_000), (2, 100_000), (3, 200_000)]
    out = []
    for seed, lines in plan:
        path = tmp / f"gen-seed{seed}-{lines}.log"
        cmd = [gen, "--lines", str(lines), "--seed", str(seed), "-o", str(path)]
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=timeout)
            ok = p.returncode == 0 and path.is_file()
            msg = p.stderr.decode("utf-8", "backslashreplace")[:500]
        except (OSError, subprocess.TimeoutExpired) as e:
            ok, msg = False, str(e)
        if not ok:
            stats.failed += 1
            stats.failures.append(shlex.join(cmd))
            print(f"FAIL: generator: {shlex.join(cmd)}\n  {msg}")
            continue
        out.append(Input(path.name, [str(path)], single=str(path), big=True))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--logtally", required=True, help="the logtally binary under test")
    ap.add_argument("--gen", help="log generator: GEN --lines N --seed S -o FILE")
    ap.add_argument("--samples", default=str(DEFAULT_SAMPLES), help="directory of real sample logs")
    ap.add_argument("--quick", action="store_true", help="fewer variants, smaller generated inputs")
    ap.add_argument("--workers", type=int, default=max(4, min(8, os.cpu_count() or 4)),
                    help="binary runs in parallel")
    ap.add_argument("--timeout", type=float, default=120,
                    help="seconds per binary run (after a timeout the input's other runs are skipped)")
    ap.add_argument("--only", help="only inputs whose name contains this")
    ap.add_argument("--seed", type=int, default=20240601, help="seed of the mutated input")
    ap.add_argument("--keep-temp", action="store_true", help="keep the temporary inputs")
    ap.add_argument("--no-summary", action="store_true",
                    help="skip the opportunistic check of the numbers in the binary's stderr summary")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every check")
    args = ap.parse_args()

    binary = shutil.which(args.logtally) if os.sep not in args.logtally else os.path.abspath(args.logtally)
    if not binary or not os.path.isfile(binary) or not os.access(binary, os.X_OK):
        print(f"differential_test: {args.logtally} is not an executable file")
        print("0 passed, 1 failed")
        return 2
    samples_dir = Path(args.samples)
    sample_files = sorted(p for p in samples_dir.iterdir() if p.is_file() and not p.name.startswith(".")) \
        if samples_dir.is_dir() else []
    stats = Stats()
    if not sample_files:
        print(f"FAIL: no sample files in {samples_dir}")
        stats.failed += 1

    t0 = time.monotonic()
    # On SIGTERM, unwind through `finally` so the temporary inputs are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="logtally-diff-"))
    try:
        rng = random.Random(args.seed)
        sample_lines = [ln for p in sample_files for ln in ref.split_lines(p.read_bytes())]
        inputs = [Input(p.name, [str(p)], single=str(p)) for p in sample_files]
        if sample_files:
            inputs.append(Input("samples-directory", [str(samples_dir)], big=True))
            trio = [str(sample_files[0]), str(sample_files[len(sample_files) // 2]), str(sample_files[0])]
            inputs.append(Input("several-files(same one twice)", trio))
            inputs.append(Input("unreadable-file-among-others", [str(tmp / "does-not-exist.log"), str(sample_files[0])],
                                expect_status=2))
        for p in tricky_files(tmp, rng, sample_lines, args.quick):
            inputs.append(Input(p.name, [str(p)], single=str(p), big=p.name in ("mutated.log", "long-line.log")))
        if args.gen:
            inputs += generated_inputs(args.gen, tmp, args.quick, args.timeout, stats)
        if args.only:
            inputs = [i for i in inputs if args.only in i.name]

        with cf.ThreadPoolExecutor(max_workers=args.workers) as pool:
            for inp in inputs:
                before = (stats.passed, stats.failed)
                t1 = time.monotonic()
                argsets = ARGSETS if inp.expect_status == 0 else ARGSETS[:2]
                check_input(pool, binary, inp, argsets, args.quick, args.timeout, stats, args.verbose,
                            not args.no_summary)
                print(f"[{'ok' if stats.failed == before[1] else 'FAILED'}] {inp.name}: "
                      f"{stats.passed - before[0]} passed, {stats.failed - before[1]} failed "
                      f"({time.monotonic() - t1:.1f}s)", flush=True)
    finally:
        if args.keep_temp:
            print(f"temporary inputs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    if stats.failures:
        print(f"\n{len(stats.failures)} failing command(s), first ones:")
        for cmd in stats.failures[:10]:
            print(f"  {cmd}")
        if not args.keep_temp:
            print("(inputs under /tmp/logtally-diff-* are deleted: rerun with --keep-temp --only NAME to keep them)")
    print(f"total time {time.monotonic() - t0:.0f}s")
    print(f"{stats.passed} passed, {stats.failed} failed")
    return 1 if stats.failed else 0


if __name__ == "__main__":
    sys.exit(main())
