#!/usr/bin/env python3
"""The administrator's workflow through the CLI: services, derived
keys, time windows and firewall rules, checked against independent answers.

Independent answers come from tests/reference/reference.py (per-port counts,
TIME values), folded here in plain Python: the category table, the calendar
(datetime) and the time windows are recomputed from SPEC, not from the engine.
Prints 'N passed, M failed'.
"""
import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile

from checks import check, summary


def run(args, **kw):
    p = subprocess.run(args, capture_output=True, timeout=600, **kw)
    return p.returncode, p.stdout, p.stderr


def rows(out):
    """Text rows -> list of (count, [values])."""
    res = []
    for line in out.decode().splitlines():
        m = re.match(r"^\s*(\d+) (.*)$", line)
        res.append((int(m.group(1)), m.group(2).split(" ")))
    return res


BUILTIN = [("dns", {53}), ("ntp", {123}), ("http", {80}), ("https", {443}), ("ssh", {22}),
           ("smtp", {25, 465, 587}), ("imap", {143, 993})]


def category(dpt, proto, table=BUILTIN):
    if dpt == "-":
        return "-" if proto == "-" else proto.lower()
    if not re.fullmatch(r"\d{1,5}", dpt) or int(dpt) > 65535:
        return "other"
    for name, ports, *rest in table:
        want_proto = rest[0] if rest else None
        if int(dpt) in ports and (want_proto is None or proto.lower() == want_proto):
            return name
    return "other"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logtally", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--samples", required=True)
    a = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    ref = [sys.executable, os.path.join(here, "..", "reference", "reference.py")]
    lt = a.logtally
    tmp = tempfile.mkdtemp(prefix="logtally_wf_")
    try:
        gen = os.path.join(tmp, "gen.log")
        subprocess.run([a.gen, "--lines", "60000", "--seed", "5", "-o", gen], check=True)
        samples = sorted(os.path.join(a.samples, f) for f in os.listdir(a.samples) if f.endswith(".log"))
        inputs = [gen] + samples
        body(lt, ref, inputs, gen, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


def body(lt, ref, inputs, gen, tmp):
    # services = per-port counts folded into categories (reference counts).
    for path in inputs:
        name = os.path.basename(path)
        rc, out, err = run([lt, "services", "-q", path])
        check(f"services runs: {name}", rc == 0, err)
        got = {r[1][-1]: r[0] for r in rows(out)}
        total = got.pop("total", None)
        rc, rout, _ = run(ref + ["count", "-k", "DPT,PROTO", path])
        want = {}
        for c, (dpt, proto) in rows(rout):
            k = category(dpt, proto)
            want[k] = want.get(k, 0) + c
        got_nonzero = {k: v for k, v in got.items() if v}
        check(f"services = reference per-port counts: {name}", got_nonzero == want, (got_nonzero, want))
        check(f"services sum to the total: {name}", sum(got.values()) == total, (got, total))
        for cat in ("dns", "ntp", "http", "https", "ssh", "smtp", "imap", "other"):
            check(f"services lists {cat}: {name}", cat in got, got)

    # The classic pipeline's traps: DPT=5353/8080 are not dns/http; an ICMP
    # error quoting DPT=53 is icmp, not dns.
    trap = os.path.join(tmp, "trap.log")
    with open(trap, "w") as f:
        f.write("IN=eth1 OUT=eth0 SRC=10.0.0.1 DST=1.1.1.1 PROTO=UDP SPT=5 DPT=5353\n")
        f.write("IN=eth1 OUT=eth0 SRC=10.0.0.1 DST=1.1.1.1 PROTO=TCP SPT=5 DPT=8080\n")
        f.write("IN=eth1 OUT=eth0 SRC=9.9.9.9 DST=10.0.0.1 PROTO=ICMP TYPE=3 CODE=3 "
                "[SRC=10.0.0.1 DST=9.9.9.9 PROTO=UDP SPT=5 DPT=53 LEN=9 ]\n")
        f.write("IN=eth1 OUT=eth0 SRC=10.0.0.1 DST=8.8.8.8 PROTO=UDP SPT=5 DPT=53\n")
    rc, out, err = run([lt, "services", "-q", "-f", "csv", trap])
    got = dict(line.split(",")[:2] for line in out.decode().splitlines()[1:])
    check("traps: dns 1, other 2, icmp 1", got.get("dns") == "1" and got.get("other") == "2"
          and got.get("icmp") == "1" and got.get("http") == "0", got)
    grep_dns = subprocess.run(f"grep -c 'DPT=53' '{trap}'", shell=True, capture_output=True).stdout
    check("the grep chain overcounts dns here", int(grep_dns) == 3, grep_dns)

    # A custom table, and service as a key and a condition.
    table = os.path.join(tmp, "services.txt")
    with open(table, "w") as f:
        f.write("# my table\nweb 80,443,8000-8100/tcp\nmail 25,465,587\nweb 443/udp  # quic\n")
    custom = [("web", {80, 443} | set(range(8000, 8101)), "tcp"), ("mail", {25, 465, 587}),
              ("web", {443}, "udp")]
    rc, out, err = run([lt, "services", "-q", "--services", table, gen])
    got = {r[1][-1]: r[0] for r in rows(out)}
    got.pop("total")
    rc, rout, _ = run(ref + ["count", "-k", "DPT,PROTO", gen])
    want = {}
    for c, (dpt, proto) in rows(rout):
        k = category(dpt, proto, custom)
        want[k] = want.get(k, 0) + c
    check("custom --services table", {k: v for k, v in got.items() if v} == want, (got, want))
    rc, out, err = run([lt, "count", "-q", "-k", "DST,DPT,PROTO", "-w", "service=other", gen])
    rc2, rout, _ = run(ref + ["count", "-k", "DST,DPT,PROTO", gen])
    want = sorted((c, v) for c, v in rows(rout) if category(v[1], v[2]) == "other")
    check("the leftovers: -w service=other", sorted(rows(out)) == want, "")
    bad = os.path.join(tmp, "bad.txt")
    with open(bad, "w") as f:
        f.write("dns 53\n\nweb 80,99999\n")
    rc, out, err = run([lt, "services", "-q", "--services", bad, gen])
    check("bad table line: exit 2 naming FILE:LINE", rc == 2 and b"bad.txt:3" in err, err)

    # DPT.name comes from the built-in table, not the host.
    rc, out, err = run([lt, "count", "-q", "-k", "DPT,PROTO,DPT.name", "-w", "DPT=22,53,443", gen])
    names = {(v[0], v[1]): v[2] for _, v in rows(out)}
    check("DPT.name", names.get(("443", "TCP")) == "https" and names.get(("53", "UDP")) == "domain"
          and names.get(("22", "TCP")) == "ssh", names)

    # day / hour against Python's calendar, on every timestamp style.
    for path in inputs:
        name = os.path.basename(path)
        rc, rout, _ = run(ref + ["count", "-k", "TIME", path])
        want_day, want_hour = {}, {}
        for c, v in rows(rout):
            t = " ".join(v)
            d = parse_time(t, 2024)
            kd = d.strftime("%Y-%m-%d") if d else "-"
            kh = d.strftime("%Y-%m-%dT%H") if d else "-"
            want_day[kd] = want_day.get(kd, 0) + c
            want_hour[kh] = want_hour.get(kh, 0) + c
        rc, out, err = run([lt, "count", "-q", "-k", "day", "--year", "2024", path])
        got = {v[0]: c for c, v in rows(out)}
        check(f"day = reference: {name}", got == want_day, (got, want_day))
        rc, out, err = run([lt, "count", "-q", "-k", "hour", "--year", "2024", path])
        got = {v[0]: c for c, v in rows(out)}
        check(f"hour = reference: {name}", got == want_hour, "")

    # --since / --until cutting through a file.
    rc, rout, _ = run(ref + ["count", "-k", "TIME", gen])
    times = [(c, parse_time(" ".join(v), 2024)) for c, v in rows(rout)]
    stamps = sorted(t for _, t in times if t)
    lo, hi = stamps[len(stamps) // 4], stamps[3 * len(stamps) // 4]
    since = lo.strftime("%Y-%m-%d %H:%M")
    until = hi.strftime("%Y-%m-%d %H:%M")
    lo_min = lo.replace(second=0, microsecond=0)
    hi_end = hi.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    want = sum(c for c, t in times if t and lo_min <= t < hi_end)
    rc, out, err = run([lt, "count", "-k", "PROTO", "--year", "2024", "--since", since, "--until", until, gen])
    got = sum(c for c, _ in rows(out))
    check("time window = reference", rc == 0 and got == want, (got, want, since, until))
    m = re.search(rb"([\d,]+) counted in .*?([\d,]+) filtered out", err)
    check("window accounting", m is not None, err)
    rc, out, err = run([lt, "count", "-k", "PROTO", "--since", "yesterday", gen])
    check("bad --since is a usage error", rc == 2 and b"--since" in err, err)

    # Year roll-over: a December-January file modified in January.
    roll = os.path.join(tmp, "roll.log")
    with open(roll, "w") as f:
        f.write("Dec 31 23:59:58 gw kernel: X IN=a OUT= SRC=1.1.1.1\n")
        f.write("Jan  1 00:00:01 gw kernel: X IN=a OUT= SRC=1.1.1.1\n")
    mtime = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.timezone.utc).timestamp()
    os.utime(roll, (mtime, mtime))
    rc, out, err = run([lt, "count", "-q", "-k", "day", roll])
    check("year roll-over from mtime", sorted(v[0] for _, v in rows(out)) == ["2024-12-31", "2025-01-01"], out)

    # Address prefixes as keys and conditions.
    rc, out, err = run([lt, "count", "-q", "-k", "SRC/24", gen])
    rc2, rout, _ = run(ref + ["count", "-k", "SRC", gen])
    import ipaddress
    want = {}
    for c, v in rows(rout):
        try:
            ip = ipaddress.ip_address(v[0])
        except ValueError:
            k = "-"
        else:
            k = str(ipaddress.ip_network(f"{ip}/24", strict=False)) if ip.version == 4 else \
                str(ipaddress.ip_network(f"{ip}/24", strict=False))
        want[k] = want.get(k, 0) + c
    check("SRC/24 = reference", {v[0]: c for c, v in rows(out)} == want, "")

    # rules: hostile values are refused, never emitted; good ones parse.
    hostile = os.path.join(tmp, "hostile.log")
    evil = ['1.2.3.4;reboot', '$(reboot)', '`id`', "1.2.3.4'", '"1.2.3.4"', '999.1.1.1', '1.2.3.4\\n',
            'a' * 300, '010.1.1.1', '1.2.3.4|sh',
            # forged networks: a logged address is one address, never a prefix
            '0.0.0.0/1', '128.0.0.0/1', '::/1', '1.2.3.4/8', 'fe80::1%eth0']
    with open(hostile, "w") as f:
        for e in evil:
            f.write(f"IN=eth0 OUT= SRC={e} DST=10.0.0.1 PROTO=TCP SPT=1 DPT=22\n")
        f.write("IN=eth0 OUT= SRC=5.6.7.8 DST=10.0.0.1 PROTO=TCP SPT=1 DPT=99999\n")
        f.write("IN=eth0 OUT= SRC=5.6.7.9 DST=10.0.0.1 PROTO=T;CP SPT=1 DPT=22\n")
        f.write("IN=eth0 OUT= SRC=5.6.7.10 DST=10.0.0.1 PROTO=TCP SPT=1 DPT=22\n")
        f.write("IN=eth0 OUT= SRC=2001:db8::1 DST=10.0.0.1 PROTO=TCP SPT=1 DPT=22\n")
    for target, ext in (("iptables", "sh"), ("nftables", "nft")):
        outp = os.path.join(tmp, f"rules.{ext}")
        rc, out, err = run([lt, "rules", "-k", "SRC,DPT,PROTO", "--to", target, "-o", outp, hostile])
        text = open(outp).read() if os.path.exists(outp) else ""
        rev = open(outp + ".revert").read() if os.path.exists(outp + ".revert") else ""
        check(f"rules {target}: exit 0 with refusals listed", rc == 0 and err.count(b"refused") >= len(evil), err)
        for e in evil + ["99999", "T;CP"]:
            check(f"rules {target}: {e[:20]!r} never emitted", e not in text and e not in rev, e)
        for net in ("0.0.0.0/1", "128.0.0.0/1", "::/1", "1.0.0.0/8", "/1 "):
            check(f"rules {target}: no rule for the network {net!r}", net not in text, text)
        check(f"rules {target}: forged networks refused with the reason",
              err.count(b"is a network, not one address") == 4, err)
        check(f"rules {target}: the good row is there", "5.6.7.10" in text, text)
        if target == "iptables":
            check("rules iptables: revert deletes the good row", "-D INPUT -s 5.6.7.10/32" in rev, rev)
        else:
            check("rules nftables: revert deletes the table", "delete table inet logtally" in rev, rev)
        tool = {"iptables": "iptables-restore", "nftables": "nft"}[target]
        if shutil.which(tool) and shutil.which("unshare"):
            if target == "iptables":
                body_text = text.split("<<'LOGTALLY_RULES'\n", 1)[1].split("LOGTALLY_RULES", 1)[0]
                p = subprocess.run(["unshare", "--net", tool, "--test"], input=body_text.encode(),
                                   capture_output=True)
            else:
                p = subprocess.run(["unshare", "--net", tool, "-c", "-f", outp], capture_output=True)
            if p.returncode != 0 and (b"Permission denied" in p.stderr or b"not permitted" in p.stderr
                                      or b"Could not" in p.stderr):
                print(f"note: {tool} cannot run here ({p.stderr[:100]!r}); syntax check skipped")
            else:
                check(f"rules {target}: {tool} accepts them", p.returncode == 0, p.stderr)


def parse_time(t, year):
    """TIME text -> datetime in the log's own clock (naive), or None."""
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?", t)
    if m:
        try:
            return dt.datetime(*map(int, m.groups()[:6]))
        except ValueError:
            return None
    m = re.fullmatch(r"([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)", t)
    if m:
        months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
        if m.group(1) not in months:
            return None
        try:
            return dt.datetime(year, months.index(m.group(1)) + 1, int(m.group(2)),
                               int(m.group(3)), int(m.group(4)), int(m.group(5)))
        except ValueError:
            return None
    return None


if __name__ == "__main__":
    sys.exit(main())
