#!/usr/bin/env python3
"""Self-test of tests/reference/reference.py.

1. Hand-written unit checks of the tricky rules of SPEC.md §2-3 and docs/choices.md, each
   expected value worked out by hand from those documents.
2. Cross-checks against independent coreutils pipelines on the real samples
   (`-k line` vs `sort | uniq -c`, `-k '$1'` vs `awk '{print $1}'`, record count vs `grep -c`,
   line count vs `wc -l`), restricted to values that print identically in both.

Usage: python3 tests/reference/reference_selftest.py [--samples DIR]
Prints one line per failure and closes with `N passed, M failed`; exit status 1 on failure.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import reference as ref  # noqa: E402

REFERENCE = HERE / "reference.py"
DEFAULT_SAMPLES = HERE.parents[2] / "shared" / "samples" / "real"  # /work/shared/samples/real

passed = 0
failed = 0


def check(name: str, got, expected) -> None:
    global passed, failed
    if got == expected:
        passed += 1
        return
    failed += 1
    if isinstance(got, Counter) and isinstance(expected, Counter):
        diff = sorted(set(got) ^ set(expected) | {k for k in got if got[k] != expected.get(k)})
        print(f"FAIL {name}: {len(diff)} keys differ, e.g.")
        for k in diff[:5]:
            print(f"  {k[:100]!r}: expected {expected.get(k, 0)}, got {got.get(k, 0)}")
        return
    print(f"FAIL {name}\n  expected: {expected!r:.300}\n  got:      {got!r:.300}")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

def line(text: bytes) -> ref.Line:
    return ref.Line(text)


def get(text: bytes, key: str):
    """Value of `key` on the line, or the string 'OTHER' when a netfilter key meets a
    non-record line."""
    ln = line(text)
    k = ref.parse_key(os.fsencode(key))
    if k.netfilter and not ln.is_record:
        return "OTHER"
    return ln.value(k)


def count(data: bytes, keys: str = "line", where=(), fmt="text", percent=False, top=None):
    """Render `count` over `data` fully in-process; returns (stdout, tally)."""
    t = ref.Tally(ref.parse_keys(keys))
    ref.tally_data(t, data, [ref.parse_condition(w) for w in where])
    return ref.render(t, fmt, percent, top), t


def cli(args: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REFERENCE), "count", *args], input=stdin,
                          capture_output=True, timeout=600)


def counted_lines(data: bytes, where: list[str], keys: str = "line") -> list[bytes]:
    """The distinct line texts that survive `where` (keys=line)."""
    _, t = count(data, keys, where)
    return sorted((g[0] for g in t.groups), key=lambda v: (v is not None, v or b""))


# ---------------------------------------------------------------------------------------------
# 1. unit checks
# ---------------------------------------------------------------------------------------------

def test_lines():
    # choices.md "Lines"
    check("lines: empty input", ref.split_lines(b""), [])
    check("lines: one newline", ref.split_lines(b"\n"), [b""])
    check("lines: no final newline", ref.split_lines(b"a\nb"), [b"a", b"b"])
    check("lines: final newline", ref.split_lines(b"a\nb\n"), [b"a", b"b"])
    check("lines: one trailing CR removed", ref.split_lines(b"a\r\nb\r\r\n\r\nc\rd\r"),
          [b"a", b"b\r", b"", b"c\rd"])
    check("lines: NUL run is one line", ref.split_lines(b"x\n\x00\x00\x00"), [b"x", b"\x00\x00\x00"])


def test_record_detection():
    # SPEC §2 / choices.md "Netfilter records"
    check("glued DROPIN=eth0 OUT=", get(b"Mar  5 14:59:59 gw kernel: DROPIN=eth0 OUT= SRC=1.2.3.4", "IN"), b"eth0")
    check("glued prefix is PREFIX", get(b"Mar  5 14:59:59 gw kernel: DROPIN=eth0 OUT= SRC=1.2.3.4", "PREFIX"), b"DROP")
    check("glued: OUT empty", get(b"Mar  5 14:59:59 gw kernel: DROPIN=eth0 OUT= SRC=1.2.3.4", "OUT"), None)
    check("PHYSIN= alone is no record", get(b"x PHYSIN=eth0 PHYSOUT=eth1 SRC=1.2.3.4", "SRC"), "OTHER")
    check("LOGIN= is no record", get(b"sshd: LOGIN=root from x", "LOGIN"), "OTHER")
    check("_IN= is no record", get(b"a _IN=eth0 SRC=1", "SRC"), "OTHER")
    check("first real IN= wins over PHYSIN", get(b"x IN=br0 OUT=br0 PHYSIN=eth0 PHYSOUT=eth1", "IN"), b"br0")
    check("PHYSIN= is a field", get(b"x IN=br0 OUT=br0 PHYSIN=eth0 PHYSOUT=eth1", "PHYSIN"), b"eth0")
    # rule (c) applies to any letter before IN=, PHYSIN=x OUT= included (literal reading)
    check("PHYSIN=x OUT= starts a record", get(b"k: PHYSIN=eth0 OUT=eth1 X=1", "IN"), b"eth0")
    check("PHYSIN=x OUT= prefix", get(b"k: PHYSIN=eth0 OUT=eth1 X=1", "PREFIX"), b"k: PHYS")
    check("glue needs exactly one space before OUT=", get(b"ZIN=a  OUT=x", "OUT"), "OTHER")
    check("glue with empty interface", get(b"ZIN= OUT=x", "OUT"), b"x")
    check("[X]IN= glued after bracket", get(b"<4>Jan  5 20:17:05 fw kernel: [LAN-A]IN=eth0.90 OUT= SRC=1.1.1.1", "IN"), b"eth0.90")
    check("[X]IN= prefix", get(b"<4>Jan  5 20:17:05 fw kernel: [LAN-A]IN=eth0.90 OUT= SRC=1.1.1.1", "PREFIX"), b"[LAN-A]")
    check("IN= at line start", get(b"IN=eth0 OUT= SRC=1.1.1.1", "SRC"), b"1.1.1.1")
    check("Shorewall glued colon", get(b"Apr 24 12:06:50 localhost kernel: [ 3445.031964] Shorewall:wlan0_mac:DROP:IN=wlan0 OUT= PROTO=2", "PREFIX"),
          b"Shorewall:wlan0_mac:DROP:")
    check("non-ASCII byte before IN=", get(b"\xc3\xa9IN=e SRC=5", "SRC"), b"5")
    check("first of two IN=", get(b"a IN=one OUT= b IN=two", "IN"), b"one")
    check("IN= inside a value after a non-record IN=", get(b"xIN=a yIN=b OUT=c", "IN"), b"b")
    check("record_start offset", ref.record_start(b"ab DROPIN=eth0 OUT="), 7)
    check("megabyte line without spaces", ref.record_start(b"AIN=" * 250000), -1)


def test_fields():
    icmp = (b"IN=eth0 OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=92 PROTO=ICMP TYPE=3 CODE=3 "
            b"[SRC=2.2.2.2 DST=1.1.1.1 LEN=64 PROTO=UDP SPT=53 DPT=33434 [NESTED=1 [X]] LEN=44 ] MTU=1500 TAIL")
    check("icmp error: outer SRC", get(icmp, "SRC"), b"1.1.1.1")
    check("icmp error: outer LEN", get(icmp, "LEN"), b"92")
    check("icmp error: inner DPT is not a field", get(icmp, "DPT"), None)
    check("icmp error: inner SPT is not a field", get(icmp, "SPT"), None)
    check("icmp error: nested inner", get(icmp, "NESTED"), None)
    check("icmp error: fields continue (MTU)", get(icmp, "MTU"), b"1500")
    check("icmp error: PROTO", get(icmp, "PROTO"), b"ICMP")
    inc = b"IN=eth0 OUT= SRC=1.1.1.1 PROTO=UDPLITE INCOMPLETE [65 bytes] MARK=0x1"
    check("INCOMPLETE [65 bytes]: MARK after", get(inc, "MARK"), b"0x1")
    check("INCOMPLETE: PROTO", get(inc, "PROTO"), b"UDPLITE")
    check("unclosed bracket runs to end", get(b"IN=e [SRC=1 DPT=2 ", "DPT"), None)
    check("resume right after ]", get(b"IN=e [x]DPT=5", "DPT"), b"5")
    check("[ inside a token is ordinary", get(b"IN=e A=[x B=1 ]", "A"), b"[x")
    check("[ inside a token: next field", get(b"IN=e A=[x B=1 ]", "B"), b"1")
    check("first LEN is the field", get(b"IN=e PROTO=UDP LEN=40 SPT=1 LEN=20", "LEN"), b"40")
    check("first ID is the field", get(b"IN=e ID=5 PROTO=ICMP TYPE=8 ID= SEQ=", "ID"), b"5")
    check("first occurrence empty = missing", get(b"IN=e ID= ID=7", "ID"), None)
    check("empty key ignored", get(b"IN=e =x A=1", "A"), b"1")
    check("value with =", get(b"IN=e DESCR=a=b", "DESCR"), b"a=b")
    check("runs of spaces", get(b"IN=e    SRC=9   DST=8 ", "DST"), b"8")
    check("tab is not a separator in fields", get(b"IN=e SRC=9\tDST=8", "SRC"), b"9\tDST=8")
    check("flag is not a field", get(b"IN=e DF SYN", "DF"), None)
    check("keys are case-sensitive", get(b"IN=e src=1", "SRC"), None)
    check("empty MAC is missing", get(b"IN=wlo1 OUT= MAC= SRC=fe80::1", "MAC"), None)
    check("CR stripped before fields", count(b"IN=e DPT=53\r\nIN=e DPT=53\n", "DPT")[0], b"      2 53\n")


def test_header():
    def hdr(text):
        ln = line(text)
        return tuple(ln.value(ref.parse_key(k)) for k in (b"TIME", b"HOST", b"PREFIX"))

    check("BSD, uptime, prefix", hdr(b"Mar  5 14:59:59 gw kernel: [158144.383443] DROP IN=eth0 OUT="),
          (b"Mar  5 14:59:59", b"gw", b"DROP"))
    check("BSD 2-digit day", hdr(b"Mar 15 14:59:59 gw kernel: X Y IN=eth0"), (b"Mar 15 14:59:59", b"gw", b"X Y"))
    check("uptime bracket padded", hdr(b"Feb 20 10:47:14 debian kernel: [  341.399450] [netfilter-OUTPUT] IN= OUT=enp0s3"),
          (b"Feb 20 10:47:14", b"debian", b"[netfilter-OUTPUT]"))
    check("RFC3339 fraction offset", hdr(b"2015-03-07T05:09:30.045015+02:00 servername kernel: DROP: IN=eth0 OUT="),
          (b"2015-03-07T05:09:30.045015+02:00", b"servername", b"DROP:"))
    check("<PRI> + RFC3339 Z", hdr(b"<6>2021-03-12T14:10:18Z Hostname kernel: [wan-lan-default-D]IN=eth0 OUT="),
          (b"2021-03-12T14:10:18Z", b"Hostname", b"[wan-lan-default-D]"))
    check("<PRI> + BSD", hdr(b"<161>Oct 10 07:25:12 Hostname kernel: [x]IN=eth0 OUT="),
          (b"Oct 10 07:25:12", b"Hostname", b"[x]"))
    check("RFC3339 without fraction/offset", hdr(b"2021-03-12T14:10:18 h IN=a"), (b"2021-03-12T14:10:18", b"h", None))
    check("host missing before DENY:", hdr(b"Jan  8 03:37:09 DENY: IN=eth0 OUT= MAC="), (b"Jan  8 03:37:09", None, b"DENY:"))
    check("kernel: in host position", hdr(b"Mar  5 14:59:59 kernel: DROP IN=a"), (b"Mar  5 14:59:59", None, b"DROP"))
    check("host word reaching IN=", hdr(b"Jan  8 03:37:09 gwIN=eth0 OUT="), (b"Jan  8 03:37:09", None, b"gw"))
    check("timestamp then IN=", hdr(b"Mar  5 14:59:59 IN=eth0"), (b"Mar  5 14:59:59", None, None))
    check("no timestamp: no HOST", hdr(b"kernel: [1.5] DROP IN=a OUT="), (None, None, b"DROP"))
    check("timestamp not followed by space", hdr(b"2021-03-12T14:10:18Zx host IN=a"), (None, None, b"2021-03-12T14:10:18Zx host"))
    check("bad month", hdr(b"Foo  5 14:59:59 gw DROP IN=a"), (None, None, b"Foo  5 14:59:59 gw DROP"))
    check("uptime not followed by space", hdr(b"Apr 1 00:00:00 h kernel: [ 1.5][X] IN=a"), (b"Apr 1 00:00:00", b"h", b"[ 1.5][X]"))
    check("uptime without kernel:", hdr(b"Apr 11 00:00:00 h [7.5] P IN=a"), (b"Apr 11 00:00:00", b"h", b"P"))
    check("prefix trimmed", hdr(b"Mar  5 14:59:59 gw kernel:   DROP  X   IN=a"), (b"Mar  5 14:59:59", b"gw", b"DROP  X"))
    check("grep filename glued before timestamp",
          hdr(b"scan:Mar 17 13:39:13 linux kernel: [956932.522957] DROP IN=eth0 OUT="),
          (None, None, b"scan:Mar 17 13:39:13 linux kernel: [956932.522957] DROP"))
    check("proxmox layout", hdr(b"0 3 PVEFW-HOST-IN 20/Jun/2022:13:09:14 +0200 policy DROP: IN=vmbr0.94 MAC=x"),
          (None, None, b"0 3 PVEFW-HOST-IN 20/Jun/2022:13:09:14 +0200 policy DROP:"))
    check("unifi repeated host", hdr(b'Jun 13 23:29:15 UDMP UDMP [WAN-D] DESCR="[W]Block All" IN=eth8 OUT='),
          (b"Jun 13 23:29:15", b"UDMP", b'UDMP [WAN-D] DESCR="[W]Block All"'))
    check("IN= first: all missing", hdr(b"IN=a OUT="), (None, None, None))
    check("TIME of other line", get(b"Mar  5 14:59:59 gw kernel: hello", "TIME"), "OTHER")


def test_words():
    check("$N with tabs", [get(b"a\t b  c\t\td", f"${i}") for i in range(1, 6)], [b"a", b"b", b"c", b"d", None])
    check("$1 skips leading blanks", get(b" \t x y", "$1"), b"x")
    check("vertical tab is not a separator", get(b"a\x0bb c", "$1"), b"a\x0bb")
    check("$N on empty line", get(b"", "$1"), None)
    check("line of empty line", get(b"", "line"), None)
    out, t = count(b"\n\na\n", "line")
    check("empty lines group as -", out, b"      2 -\n      1 a\n")


def test_escape():
    e = ref.escape
    check("escape plain", e(b"abc ~"), b"abc ~")
    check("escape backslash", e(b"a\\b"), b"a\\\\b")
    check("escape controls/DEL", e(b"\x00\x1f\t\x7f"), b"\\x00\\x1f\\x09\\x7f")
    check("escape valid UTF-8", e("é€😀".encode()), "é€😀".encode())
    check("escape lone lead byte", e(b"\xc3"), b"\\xc3")
    check("escape lone continuation", e(b"a\x80b"), b"a\\x80b")
    check("escape overlong", e(b"\xc0\x80"), b"\\xc0\\x80")
    check("escape UTF-16 surrogate", e(b"\xed\xa0\x80"), b"\\xed\\xa0\\x80")
    check("escape above U+10FFFF", e(b"\xf4\x90\x80\x80"), b"\\xf4\\x90\\x80\\x80")
    check("escape truncated sequence", e(b"\xe2\x82A\xe2\x82\xac"), "\\xe2\\x82A€".encode())
    check("escape 0xff", e(b"\xff\xfe"), b"\\xff\\xfe")
    check("escape literal \\x41 stays distinct", e(b"\\x41"), b"\\\\x41")
    out, _ = count(b"a\\\x01\xff\n", "line")
    check("text escapes", out, b"      1 a\\\\\\x01\\xff\n")
    out, _ = count(b'IN=e SRC="a\\\x01\n', "SRC", fmt="json")
    check("json escapes D(v) again", out, b'[\n{"SRC":"\\"a\\\\\\\\\\\\x01","count":1}\n]\n')


def test_formats():
    data = b"IN=e SRC=a,b DPT=1\nIN=e SRC=say\"hi\" DPT=2\nIN=e SRC=x\nIN=e SRC=x\n"
    out, _ = count(data, "SRC,DPT", fmt="csv")
    check("csv quoting", out, b'SRC,DPT,count\nx,-,2\n"a,b",1,1\n"say""hi""",2,1\n')
    out, _ = count(data, "SRC,DPT", fmt="tsv", percent=True)
    check("tsv percent", out, b"SRC\tDPT\tcount\tpercent\nx\t-\t2\t50.00\na,b\t1\t1\t25.00\nsay\"hi\"\t2\t1\t25.00\n")
    out, _ = count(data, "SRC,DPT", fmt="text", percent=True)
    check("text percent", out, b'      2  50.00% x -\n      1  25.00% a,b 1\n      1  25.00% say"hi" 2\n')
    out, _ = count(data, "SRC,DPT", fmt="json", percent=True, top=2)
    check("json percent -n 2", out,
          b'[\n{"SRC":"x","DPT":null,"count":2,"percent":50.00},\n{"SRC":"a,b","DPT":"1","count":1,"percent":25.00}\n]\n')
    out, _ = count(data, "SRC", fmt="ndjson")
    check("ndjson", out, b'{"SRC":"x","count":2}\n{"SRC":"a,b","count":1}\n{"SRC":"say\\"hi\\"","count":1}\n')
    out, _ = count(b"", "SRC", fmt="json")
    check("json empty", out, b"[]\n")
    out, _ = count(b"", "SRC", fmt="ndjson")
    check("ndjson empty", out, b"")
    out, _ = count(b"", "SRC", fmt="csv")
    check("csv empty has header", out, b"SRC,count\n")
    out, _ = count(b"", "SRC")
    check("text empty", out, b"")
    # 1/3 = 33.333.., 2/3 = 66.666..; printf rounding of the double
    out, _ = count(b"a\nb\nb\n", "line", percent=True)
    check("percent rounding", out, b"      2  66.67% b\n      1  33.33% a\n")
    out, _ = count(b"x\n" * 12345678 if False else b"x\n", "line", percent=True)
    check("percent 100", out, b"      1 100.00% x\n")


def test_ordering():
    # count descending, then text-format key bytes ascending (byte order, so 'B' < 'a' < 'é')
    out, _ = count(b"a\nB\n\xc3\xa9\nz\nz\n", "line")
    check("order: count desc then bytes", out, b"      2 z\n      1 B\n      1 a\n      1 \xc3\xa9\n")
    # a missing value and a literal '-' print alike: missing first
    data = b"IN=e DPT=-\nIN=e SPT=1\n"
    out, _ = count(data, "DPT")
    check("tie-break missing before literal - (text)", out, b"      1 -\n      1 -\n")
    out, _ = count(data, "DPT", fmt="json")
    check("tie-break missing before literal - (json)", out, b'[\n{"DPT":null,"count":1},\n{"DPT":"-","count":1}\n]\n')
    out, _ = count(b"IN=e DPT=- SPT=1\nIN=e SPT=-\n", "DPT,SPT", fmt="ndjson")
    check("tie-break field by field", out, b'{"DPT":null,"SPT":"-","count":1}\n{"DPT":"-","SPT":"1","count":1}\n')
    out, _ = count(b"IN=e DPT=-\nIN=e SPT=1\n", "DPT", fmt="json", top=1)
    check("-n 1 keeps the missing group", out, b'[\n{"DPT":null,"count":1}\n]\n')
    # ties break on the escaped text: '\x01' escapes to '\\x01' which sorts after '\\' ... 'A'
    out, _ = count(b"\x01\nA\n", "line")
    check("order uses escaped bytes", out, b"      1 A\n      1 \\x01\n")


def test_conditions():
    recs = b"".join(b"IN=e PROTO=%s DPT=%s\n" % (p, d) for p, d in
                    [(b"TCP", b"80"), (b"TCP", b"8080"), (b"UDP", b"53"), (b"UDP", b"5353"),
                     (b"TCP", b"443"), (b"ICMP", b""), (b"TCP", b"01500"), (b"TCP", b"15a")])
    recs += b"IN=e PROTO=ICMP\nnot a record DPT=53\n"

    def dpts(*where):
        return counted_lines(recs, list(where), "DPT")

    check("= exact (53 not 5353)", dpts("DPT=53"), [b"53"])
    check("= any of", dpts("DPT=80,443"), [b"443", b"80"])
    check("!= none of (missing kept)", dpts("DPT!=80,443,53"),
          [None, b"01500", b"15a", b"5353", b"8080"])
    check("range inclusive, digits only", dpts("DPT=443-1500"), [b"01500", b"443"])
    check("range edges", dpts("DPT=53-80"), [b"53", b"80"])
    check("empty range", dpts("DPT=2000-1000"), [])
    check("KEY= matches missing/empty", dpts("DPT="), [None])
    check("KEY!= matches present", dpts("DPT!="), [b"01500", b"15a", b"443", b"53", b"5353", b"80", b"8080"])
    check("two conditions all hold", dpts("PROTO=TCP,UDP", "DPT!=80,443"), [b"01500", b"15a", b"53", b"5353", b"8080"])
    check("= on missing is false", dpts("MARK=1"), [])
    check("!= on missing is true", len(dpts("MARK!=1")), 8)

    addrs = [b"192.168.3.4", b"192.169.0.1", b"::ffff:192.168.1.1", b"192.168.01.1", b"10.200.0.1",
             b"2001:0db8:0000:f101:0000:0000:0000:0001", b"2001:db8::", b"2001:db9::1", b"2a0a:1580::a",
             b"fe80::1%eth0", b"2001:db8::1/64", b"a/b"]
    data = b"".join(b"IN=e SRC=" + a + b"\n" for a in addrs) + b"IN=e DST=1\n"

    def srcs(*where):
        return counted_lines(data, list(where), "SRC")

    check("IPv4 CIDR", srcs("SRC=192.168.0.0/16"), [b"192.168.3.4"])
    check("IPv4 CIDR with host bits", srcs("SRC=10.1.2.3/8"), [b"10.200.0.1"])
    check("IPv4 /0 is all IPv4", srcs("SRC=0.0.0.0/0"), [b"10.200.0.1", b"192.168.3.4", b"192.169.0.1"])
    check("IPv6 CIDR full and compressed values", srcs("SRC=2001:db8::/32"),
          [b"2001:0db8:0000:f101:0000:0000:0000:0001", b"2001:db8::"])
    check("compressed :: in the block", srcs("SRC=2a0a:1580::/32"), [b"2a0a:1580::a"])
    check("IPv6 /128", srcs("SRC=2001:db8:0:f101::1/128"), [b"2001:0db8:0000:f101:0000:0000:0000:0001"])
    check("::/0 is all IPv6", srcs("SRC=::/0"),
          [b"2001:0db8:0000:f101:0000:0000:0000:0001", b"2001:db8::", b"2001:db9::1", b"2a0a:1580::a",
           b"::ffff:192.168.1.1"])
    check("CIDR != (missing kept)", len(srcs("SRC!=192.168.0.0/16,2001:db8::/32")), len(addrs) - 3 + 1)
    check("CIDR /64; a value with / is no address", srcs("SRC=2001:db8::1/64"), [b"2001:db8::"])
    check("ADDR not an address: exact string with /", srcs("SRC=a/b"), [b"a/b"])

    # netfilter conditions on other lines: false for = and != alike (key line: filtered)
    mixed = b"IN=e DPT=80\nIN=e DPT=22\nhello world\n"
    out, t = count(mixed, "line", ["DPT!=80"])
    check("!= on other line is false", out, b"      1 IN=e DPT=22\n")
    check("accounting key=line", (t.lines, t.records, t.counted, t.filtered, t.other), (3, 2, 1, 2, 0))
    out, t = count(mixed, "$1", ["$2=world"])
    check("$N condition on other line", (out, t.other, t.filtered), (b"      1 hello\n", 0, 2))
    out, t = count(mixed, "DPT", ["$1=hello"])
    check("netfilter key: other line is other", (out, t.counted, t.filtered, t.other), (b"", 0, 2, 1))
    out, t = count(mixed, "TIME")
    check("TIME key counts records only", (out, t.other), (b"      2 -\n", 1))
    check("accounting identity", t.lines, t.counted + t.filtered + t.other)


def test_cli(tmp: Path):
    data = b"Mar  5 14:59:59 gw kernel: DROP IN=e OUT= SRC=1.1.1.1 DPT=53\nother\n"
    f = tmp / "a.log"
    f.write_bytes(data)
    r = cli(["-k", "SRC,DPT", str(f)])
    check("cli: stdout", r.stdout, b"      1 1.1.1.1 53\n")
    check("cli: stderr summary", r.stderr.decode().strip(),
          "reference: lines=2 records=1 other=1 counted=1 filtered=0 groups=1")
    check("cli: exit 0", r.returncode, 0)
    check("cli: stdin -", cli(["-k", "SRC", "-"], data).stdout, b"      1 1.1.1.1\n")
    check("cli: stdin no path", cli(["--by=SRC"], data).stdout, b"      1 1.1.1.1\n")
    check("cli: default key line", cli([str(f)]).stdout, b"      1 Mar  5 14:59:59 gw kernel: DROP IN=e OUT= SRC=1.1.1.1 DPT=53\n      1 other\n")
    check("cli: options after path", cli([str(f), "-k", "DPT", "-f", "csv"]).stdout, b"DPT,count\n53,1\n")
    # a directory is its regular files not starting with '.', non-recursive
    d = tmp / "dir"
    (d / "sub").mkdir(parents=True)
    (d / "one.log").write_bytes(b"x\n")
    (d / "two.log").write_bytes(b"x\ny")
    (d / ".hidden").write_bytes(b"hidden\n")
    (d / "sub" / "deep.log").write_bytes(b"deep\n")
    check("cli: directory", cli([str(d)]).stdout, b"      2 x\n      1 y\n")
    # gzip multi-member, detected by content not name
    (tmp / "z.txt").write_bytes(gzip.compress(b"x\n") + gzip.compress(b"x\ny\n"))
    check("cli: gzip multi-member", cli([str(tmp / "z.txt")]).stdout, b"      2 x\n      1 y\n")
    # an unreadable input: error, others still counted, exit 2
    r = cli([str(tmp / "missing.log"), str(f)])
    check("cli: missing file exit 2", r.returncode, 2)
    check("cli: missing file others counted", len(r.stdout.splitlines()), 2)
    check("cli: missing file named", str(tmp / "missing.log") in r.stderr.decode(), True)
    for bad in (["-k", "$0"], ["-k", ""], ["-w", "DPT"], ["-w", "SRC=10.0.0.0/33"], ["-n", "0"], ["-f", "xml"],
                ["-k", "service"], ["-k", "SRC/24"], ["--bogus"]):
        r = cli(bad + [str(f)])
        check(f"cli: usage error {bad}", (r.returncode, r.stdout), (2, b""))


def test_large_line():
    big = b"Mar  5 14:59:59 gw kernel: " + b"P" * 3_000_000 + b" IN=e OUT= SRC=1 " + b"A=1 " * 100_000 + b"DPT=9"
    out, t = count(big + b"\n", "SRC,DPT")
    check("3 MB line", out, b"      1 1 9\n")
    out, _ = count(big, "PREFIX", fmt="tsv")
    check("3 MB prefix", len(out), len(b"PREFIX\tcount\n") + 3_000_000 + 3)


# ---------------------------------------------------------------------------------------------
# 2. cross-checks with coreutils on the real samples
# ---------------------------------------------------------------------------------------------

PLAIN = re.compile(rb"[\x20-\x5b\x5d-\x7e]+")  # values that D() leaves unchanged


def sh(cmd: str, path: Path) -> bytes:
    r = subprocess.run(["sh", "-c", cmd, "sh", str(path)], capture_output=True,
                       env={**os.environ, "LC_ALL": "C"})
    if r.returncode or r.stderr:
        raise RuntimeError(f"pipeline failed: {cmd}: {r.stderr.decode(errors='replace')}")
    return r.stdout


def parse_counts(out: bytes) -> Counter:
    """`%7d %s` rows (uniq -c and logtally text agree on that layout) to {key: count}, keeping
    only plain keys (no escaping differences) other than '-' (missing vs literal merge)."""
    c: Counter = Counter()
    for row in out.split(b"\n"):
        m = re.fullmatch(rb" *([0-9]+) (.*)", row)
        if m and PLAIN.fullmatch(m.group(2)) and m.group(2) != b"-":
            c[m.group(2)] += int(m.group(1))
    return c


def cross_check(samples: Path):
    files = sorted(p for p in samples.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        check(f"samples present in {samples}", False, True)
        return
    strip_cr = "sed 's/\\r$//' \"$1\""  # one trailing CR is not part of the line
    for p in files:
        r = cli(["-k", "line", str(p)])
        m = re.search(r"lines=(\d+) records=(\d+)", r.stderr.decode())
        data = p.read_bytes()
        wc = int(sh('wc -l < "$1"', p)) + (1 if data and not data.endswith(b"\n") else 0)
        check(f"{p.name}: lines vs wc -l", int(m.group(1)) if m else None, wc)
        grep = sh("grep -a -c -E '(^|[^A-Za-z0-9_])IN=|IN=[^ ]* OUT=' \"$1\" || true", p)
        check(f"{p.name}: records vs grep -c", int(m.group(2)) if m else None, int(grep or b"0"))
        uniq = sh(strip_cr + " | sort | uniq -c", p)
        check(f"{p.name}: -k line vs sort|uniq -c", parse_counts(r.stdout), parse_counts(uniq))
        r1 = cli(["-k", "$1", str(p)])
        awk = sh(strip_cr + " | awk '{print $1}' | sort | uniq -c", p)
        check(f"{p.name}: -k $1 vs awk", parse_counts(r1.stdout), parse_counts(awk))
        r3 = cli(["-k", "$3,$2", str(p)])
        awk = sh(strip_cr + " | awk '{a = $3; b = $2; if (a == \"\") a = \"-\"; if (b == \"\") b = \"-\"; print a \" \" b}' | sort | uniq -c", p)
        check(f"{p.name}: -k $3,$2 vs awk", parse_counts(r3.stdout), parse_counts(awk))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    args = ap.parse_args()
    test_lines()
    test_record_detection()
    test_fields()
    test_header()
    test_words()
    test_escape()
    test_formats()
    test_ordering()
    test_conditions()
    test_large_line()
    with tempfile.TemporaryDirectory(prefix="logtally-ref-selftest-") as tmp:
        test_cli(Path(tmp))
    cross_check(args.samples)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
