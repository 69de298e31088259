#!/usr/bin/env python3
"""Command-line tests of logtally, run as a user would run it.

Covers exit codes, usage errors, error messages naming files, atomic -o, the
run summary, and the promise that every input path (mapped file, stdin, pipe,
directory, compressed archive, any chunk size, any thread count, any SIMD
kernel) gives the same answer. Independent answers come from coreutils
(sort | uniq -c) where one exists. Prints 'N passed, M failed'.
"""
import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

from checks import check, summary


def run(args, stdin=None, env=None, input_bytes=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run(args, stdin=stdin, input=input_bytes, capture_output=True, env=e, timeout=300)
    return p.returncode, p.stdout, p.stderr


def normalise_uniq(out):
    """'   12 key' rows -> sorted list of (count, key) as bytes."""
    rows = []
    for line in out.splitlines():
        m = re.match(rb"^\s*(\d+) (.*)$", line)
        rows.append((int(m.group(1)), m.group(2)))
    return sorted(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logtally", required=True)
    ap.add_argument("--samples", required=True)
    a = ap.parse_args()
    lt = a.logtally
    samples = sorted(os.path.join(a.samples, f) for f in os.listdir(a.samples) if f.endswith(".log"))
    tmp = tempfile.mkdtemp(prefix="logtally_cli_")
    try:
        body(lt, samples, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


def body(lt, samples, tmp):
    big = os.path.join(tmp, "all.log")
    with open(big, "wb") as out:
        for s in samples:
            with open(s, "rb") as f:
                data = f.read()
            out.write(data)
            if data and not data.endswith(b"\n"):
                out.write(b"\n")

    # --help, --version
    rc, out, err = run([lt, "--help"])
    check("help exits 0", rc == 0, err)
    rc, out, err = run([lt, "count", "--help"])
    check("count --help has examples", rc == 0 and b"Examples:" in out and b"logtally count -k" in out, out)
    rc, out, err = run([lt, "--version"])
    check("version names kernel", rc == 0 and b"SIMD kernel:" in out, out + err)

    # Usage errors: exit 2, one line, pointer to --help.
    for args in (["count", "--bogus"], ["count", "-k", "DST,,DPT"], ["count", "-k", "nope"],
                 ["count", "-f", "xml"], ["count", "-w", "DPT"], ["count", "-n", "0"], [],
                 ["frobnicate"], ["count", "-j", "0"]):
        rc, out, err = run([lt] + args + [big])
        lines = err.decode(errors="replace").strip().splitlines()
        check(f"usage error {args}", rc == 2 and len(lines) == 1 and "--help" in lines[0] and out == b"",
              f"rc={rc} err={err!r}")
    # A bad -n says what is wanted, in words.
    for n, want in (("0", "--top: must be at least 1"), ("x1", "--top: expects a whole number"),
                    ("18446744073709551616", "--top: '18446744073709551616' is too large")):
        rc, out, err = run([lt, "count", "-k", "DPT", "-n", n, big])
        check(f"-n {n} message", rc == 2 and want.encode() in err and len(err) < 200, err)

    # The main job and its summary.
    rc, out, err = run([lt, "count", "-k", "DST,DPT,PROTO", big])
    check("count runs", rc == 0 and out, err)
    base = out
    m = re.search(rb"([\d,]+) lines \(([\d,]+) netfilter records, ([\d,]+) other lines\): ([\d,]+) counted in ([\d,]+) groups, ([\d,]+) filtered out(?:, ([\d,]+) other lines not counted)?", err)
    check("summary line", m is not None, err)
    if m:
        n = [int((g or b"0").replace(b",", b"")) for g in m.groups()]
        lines, records, other, counted, groups, filtered, uncounted = n
        check("accounting: lines = counted + filtered + other not counted",
              lines == counted + filtered + uncounted, n)
        check("accounting: records + other = lines", records + other == lines, n)
        rows = normalise_uniq(out)
        check("accounting: sum of groups = counted", sum(c for c, _ in rows) == counted, n)
        check("groups in summary", len(rows) == groups, n)
        wc = subprocess.run(["wc", "-l"], stdin=open(big, "rb"), capture_output=True).stdout
        check("lines = wc -l", int(wc.split()[0]) == lines, (wc, lines))
    rc, out, err = run([lt, "count", "-q", "-k", "DST,DPT,PROTO", big])
    check("-q silences the summary", rc == 0 and err == b"" and out == base, err)
    # LOGTALLY_TRACE=1: phase times on stderr, in order, and the same rows.
    rc, out, err = run([lt, "count", "-q", "-k", "DST,DPT,PROTO", big], env={"LOGTALLY_TRACE": "1"})
    phases = [l.split(b"ms", 1)[1].strip() for l in err.splitlines() if l.startswith(b"logtally trace:")]
    check("LOGTALLY_TRACE: phases in order, same rows", rc == 0 and out == base and phases ==
          [b"counted (read, parse, count)", b"merged", b"rows built", b"sorted", b"written"], err)
    rc, out, err = run([lt, "count", "-q", "-k", "line", "--memory", "1M", big], env={"LOGTALLY_TRACE": "1"})
    check("LOGTALLY_TRACE: spilled run names its phases", rc == 0 and b"spilled the rest" in err and
          b"partitions aggregated into sorted runs" in err, err)

    # Same answer whatever the path through the engine.
    same = [
        ("-j 1", [lt, "count", "-q", "-j", "1", "-k", "DST,DPT,PROTO", big], None, None),
        ("-j 2", [lt, "count", "-q", "-j", "2", "-k", "DST,DPT,PROTO", big], None, None),
        ("stdin -", [lt, "count", "-q", "-k", "DST,DPT,PROTO", "-"], open(big, "rb"), None),
        ("stdin implicit", [lt, "count", "-q", "-k", "DST,DPT,PROTO"], open(big, "rb"), None),
    ]
    for kib in (1, 4, 64, 1024, 65536):
        same.append((f"chunk {kib} KiB", [lt, "count", "-q", "--chunk-size", str(kib), "-k", "DST,DPT,PROTO", big], None, None))
        same.append((f"stdin chunk {kib} KiB", [lt, "count", "-q", "--chunk-size", str(kib), "-k", "DST,DPT,PROTO", "-"], open(big, "rb"), None))
        same.append((f"--mmap chunk {kib} KiB", [lt, "count", "-q", "--mmap", "--chunk-size", str(kib), "-k", "DST,DPT,PROTO", big], None, None))
    rc, vout, _ = run([lt, "--version"])
    kernels = re.search(rb"supported here: ([^;]+);", vout).group(1).decode().split(", ")
    for k in kernels:
        same.append((f"kernel {k}", [lt, "count", "-q", "-k", "DST,DPT,PROTO", big], None, {"LOGTALLY_KERNEL": k}))
    # Standard input that is a file something else has partly read: counting
    # starts where the reader left off, mapped or not.
    with open(big, "rb") as f:
        data = f.read()
    cut = data.index(b"\n", len(data) // 2) + 1
    tail_path = os.path.join(tmp, "tail.log")
    with open(tail_path, "wb") as f:
        f.write(data[cut:])
    _, tail_base, _ = run([lt, "count", "-q", "-k", "DST,DPT,PROTO", tail_path])
    for flags in ([], ["--mmap"]):
        with open(big, "rb") as f:
            f.seek(cut)
            rc, out, err = run([lt, "count", "-q", "-k", "DST,DPT,PROTO"] + flags + ["-"], stdin=f)
        check(f"stdin from a file at an offset {flags}", rc == 0 and out == tail_base and out != base, err)
    for name, args, stdin, env in same:
        rc, out, err = run(args, stdin=stdin, env=env)
        check(f"same answer: {name}", rc == 0 and out == base, err)
    check("several kernels exercised", len(kernels) >= 2, kernels)
    # More threads than cores: as many threads as asked, and nothing on stderr
    # (TBB would otherwise cap its workers and print a warning), plain and
    # gzip'd (a decoder thread beside the workers).
    big_gz = os.path.join(tmp, "big.log.gz")
    with open(big, "rb") as f, gzip.open(big_gz, "wb") as g:
        g.write(f.read())
    for path in (big, big_gz):
        for j in ("3", "8"):
            rc, out, err = run([lt, "count", "-q", "-j", j, "-k", "DST,DPT,PROTO", path])
            check(f"-j {j} on {os.path.basename(path)}: same answer, quiet", rc == 0 and out == base and err == b"", err)

    # A pipe (not a regular file on stdin).
    p = subprocess.run(f"cat '{big}' | '{lt}' count -q -k DST,DPT,PROTO", shell=True, capture_output=True)
    check("same answer: pipe", p.returncode == 0 and p.stdout == base, p.stderr)

    # A directory is its files; the answer equals the concatenation.
    d = os.path.join(tmp, "dir")
    os.mkdir(d)
    for i, s in enumerate(samples):
        shutil.copy(s, os.path.join(d, f"fw.log.{i}" if i else "fw.log"))
    rc, out_dir, err = run([lt, "count", "-q", "-k", "line", d])
    rc2, out_cat, err2 = run([lt, "count", "-q", "-k", "line"] + samples)
    check("directory = its files", rc == 0 and rc2 == 0 and out_dir == out_cat, err + err2)

    # Against coreutils: -k line is sort | uniq -c (ignoring order of ties and
    # layout), on the samples without bytes that the display escapes.
    for s in samples:
        with open(s, "rb") as f:
            data = f.read()
        if re.search(rb"[\x00-\x09\x0b-\x1f\x7f-\xff\\]", data):
            continue
        rc, out, err = run([lt, "count", "-q", "-k", "line", s])
        ref = subprocess.run(f"LC_ALL=C sort '{s}' | uniq -c", shell=True, capture_output=True).stdout
        mine = normalise_uniq(out)
        theirs = normalise_uniq(ref)
        # logtally prints an empty line as '-'.
        theirs = sorted((c, b"-" if k == b"" else k) for c, k in theirs)
        check(f"line vs sort|uniq -c: {os.path.basename(s)}", rc == 0 and mine == theirs, err)
        rc, out, err = run([lt, "count", "-q", "-k", "$1,$2", s])
        ref = subprocess.run(f"LC_ALL=C awk '{{print $1, $2}}' '{s}' | sort | uniq -c", shell=True,
                             capture_output=True).stdout
        theirs = []
        for c, k in normalise_uniq(ref):
            parts = k.split(b" ")
            theirs.append((c, b" ".join(x if x else b"-" for x in parts)))
        check(f"$1,$2 vs awk: {os.path.basename(s)}", rc == 0 and normalise_uniq(out) == sorted(theirs), err)

    # Errors: a missing file is named, the rest is still counted, exit 2.
    one = samples[0]
    rc_ok, out_ok, _ = run([lt, "count", "-q", "-k", "line", one])
    rc, out, err = run([lt, "count", "-q", "-k", "line", one, "/nonexistent/fw.log"])
    check("missing file: exit 2, named, others printed",
          rc == 2 and b"/nonexistent/fw.log" in err and out == out_ok, (rc, err))
    rc, out, err = run([lt, "count", "-q", "-k", "line", tmp + "/nosuchdir/"])
    check("missing directory: exit 2", rc == 2 and b"nosuchdir" in err, err)

    # -o writes atomically; a bad -o fails before the work and leaves nothing.
    outp = os.path.join(tmp, "res.csv")
    rc, out, err = run([lt, "count", "-q", "-k", "DPT", "-f", "csv", "-o", outp, big])
    check("-o writes the file", rc == 0 and out == b"" and open(outp, "rb").read().startswith(b"DPT,count\n"), err)
    check("-o leaves no temp file", [f for f in os.listdir(tmp) if ".tmp." in f] == [], os.listdir(tmp))
    rc, out, err = run([lt, "count", "-q", "-k", "DPT", "-o", os.path.join(tmp, "no", "such", "x"), big])
    check("-o into a missing directory: exit 2", rc == 2 and b"no/such/x" in err, err)
    # A target that is not a regular file is written in place, never replaced
    # by one (-o /dev/null once turned /dev/null into a file).
    import stat as stat_mod
    rc, out, err = run([lt, "count", "-q", "-k", "DPT", "-o", "/dev/null", big])
    check("-o /dev/null stays a device", rc == 0 and out == b"" and
          stat_mod.S_ISCHR(os.stat("/dev/null").st_mode), (rc, err))
    fifo = os.path.join(tmp, "fifo")
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", fifo], stdout=subprocess.PIPE)
    rc, out, err = run([lt, "count", "-q", "-k", "DPT", "-o", fifo, big])
    got = reader.communicate(timeout=60)[0]
    _, want, _ = run([lt, "count", "-q", "-k", "DPT", big])
    check("-o FIFO: written through, still a FIFO", rc == 0 and got == want and
          stat_mod.S_ISFIFO(os.stat(fifo).st_mode), (rc, err))
    target = os.path.join(tmp, "target.txt")
    with open(target, "w") as f:
        f.write("old\n")
    os.chmod(target, 0o640)
    link = os.path.join(tmp, "link.txt")
    os.symlink(target, link)
    rc, out, err = run([lt, "count", "-q", "-k", "DPT", "-o", link, big])
    check("-o through a symlink replaces the target, keeps the link and the mode",
          rc == 0 and os.path.islink(link) and open(target, "rb").read() == want and
          stat_mod.S_IMODE(os.stat(target).st_mode) == 0o640, (rc, err))
    rc, out, err = run([lt, "count", "-q", "-k", "DPT", "-o", tmp, big])
    check("-o a directory: exit 2, named", rc == 2 and b"is a directory" in err, err)

    # Formats agree with each other.
    rc, t, _ = run([lt, "count", "-q", "-k", "SRC,PROTO", "--percent", big])
    rc2, j, _ = run([lt, "count", "-q", "-k", "SRC,PROTO", "--percent", "-f", "json", big])
    rc3, nd, _ = run([lt, "count", "-q", "-k", "SRC,PROTO", "--percent", "-f", "ndjson", big])
    import json
    arr = json.loads(j)
    check("json parses and matches ndjson", arr == [json.loads(x) for x in nd.splitlines()], "")
    trows = t.splitlines()
    check("json rows = text rows", len(arr) == len(trows), (len(arr), len(trows)))
    check("percent sums to ~100", abs(sum(r["percent"] for r in arr) - 100) < 0.01 * len(arr) + 0.01, "")
    rc, top, _ = run([lt, "count", "-q", "-k", "SRC,PROTO", "--percent", "-n", "3", big])
    check("-n 3 is the first 3 rows", top.splitlines() == trows[:3], top)

    # Hostile bytes: NUL, invalid UTF-8, CR, no final newline, a 3 MB line.
    odd = os.path.join(tmp, "odd.log")
    with open(odd, "wb") as f:
        f.write(b"IN=eth0 OUT= SRC=1.1.1.1 DPT=53\r\n")
        f.write(b"IN=eth0 OUT= SRC=\xff\xfe\x00 DPT=53\n")
        f.write(b"IN=eth0 OUT= SRC=a\\b DPT=53\n")
        f.write(b"x" * 3_000_000 + b" IN=eth0 OUT= SRC=long DPT=1\n")
        f.write(b"\x00" * 82)
    rc, out, err = run([lt, "count", "-q", "-k", "SRC,DPT", odd])
    check("odd bytes escaped", rc == 0 and b"\\xff\\xfe\\x00 53" in out and b"a\\\\b 53" in out
          and b"1.1.1.1 53" in out and b"long 1" in out, out)
    rc, out, err = run([lt, "count", "-k", "line", "--chunk-size", "1", odd])
    check("odd file: 5 lines", rc == 0 and b"5 lines" in err, err)
    empty = os.path.join(tmp, "empty.log")
    open(empty, "wb").close()
    rc, out, err = run([lt, "count", "-k", "DST", "-f", "json", empty])
    check("empty file", rc == 0 and out == b"[]\n" and b"0 lines" in err, (out, err))

    # Bounded memory: a tiny budget forces spilling; the answer is
    # the same as in memory, for full output and top-N, and every format.
    for key in ("line", "SRC,SPT,DST,DPT", "DST,DPT,PROTO"):
        for extra in ([], ["-n", "5"], ["-f", "json", "--percent"]):
            rc, mem_out, _ = run([lt, "count", "-q", "-k", key] + extra + [big])
            rc2, ext_out, err = run([lt, "count", "-k", key, "--memory", "1M", "--temp-dir", tmp] + extra + [big])
            check(f"spilled = in memory: {key} {extra}", rc == 0 and rc2 == 0 and ext_out == mem_out, err)
            check(f"spill reported: {key} {extra}", b"spilled" in err, err)
    check("no temporary files left", [f for f in os.listdir(tmp) if "spill" in f] == [], os.listdir(tmp))
    rc, out, err = run([lt, "count", "-q", "-k", "line", "--memory", "1M", "--temp-dir", "/nonexistent/dir", big])
    check("unwritable temp dir: exit 2, named, no rows", rc == 2 and b"/nonexistent/dir" in err and out == b"", (rc, err))
    outp2 = os.path.join(tmp, "never.txt")
    rc, out, err = run([lt, "count", "-q", "-k", "line", "--memory", "1M", "--temp-dir", "/nonexistent/dir", "-o", outp2, big])
    check("unwritable temp dir: -o target not created", rc == 2 and not os.path.exists(outp2), err)
    rc, out, err = run([lt, "count", "-q", "-k", "line", "--memory", "lots", big])
    check("bad --memory is a usage error", rc == 2 and b"--memory" in err, err)
    # A disk that fills: a 1 MiB tmpfs, when this machine lets us mount one.
    mnt = os.path.join(tmp, "small")
    os.mkdir(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt], capture_output=True).returncode == 0:
        try:
            rc, out, err = run([lt, "count", "-q", "-k", "line", "--memory", "1M", "--temp-dir", mnt, big])
            check("full temp disk: exit 2 with a clear message", rc == 2 and out == b"" and b"No space left" in err, err)
            check("full temp disk: nothing left behind", os.listdir(mnt) == [], os.listdir(mnt))
        finally:
            subprocess.run(["umount", mnt])
    else:
        print("note: cannot mount a tmpfs here; the full-disk case is not run")

    # Compressed inputs give byte-identical output.
    gz = os.path.join(tmp, "all.log.gz")
    with open(big, "rb") as f, gzip.open(gz, "wb") as g:
        g.write(f.read())
    rc, out, err = run([lt, "count", "-q", "-k", "DST,DPT,PROTO", gz])
    check("gzip = plain", rc == 0 and out == base, err)
    for tool, ext in (("zstd", "zst"), ("bzip2", "bz2"), ("xz", "xz")):
        if shutil.which(tool) is None:
            continue
        path = os.path.join(tmp, f"all.log.{ext}")
        subprocess.run(f"{tool} -c '{big}' > '{path}'", shell=True, check=True)
        rc, out, err = run([lt, "count", "-q", "-k", "DST,DPT,PROTO", path])
        check(f"{tool} = plain", rc == 0 and out == base, err)
        rc, out, err = run([lt, "count", "-q", "-k", "DST,DPT,PROTO", "-"], stdin=open(path, "rb"))
        check(f"{tool} on stdin = plain", rc == 0 and out == base, err)
    # Truncated gzip: exit 2, name and offset, the other file still counted.
    with open(gz, "rb") as f:
        data = f.read()
    cut = os.path.join(tmp, "cut.log.gz")
    with open(cut, "wb") as f:
        f.write(data[: len(data) // 2])
    rc, out, err = run([lt, "count", "-q", "-k", "line", one, cut])
    check("truncated gzip: exit 2 with name and offset", rc == 2 and b"cut.log.gz" in err and b"offset" in err, err)


if __name__ == "__main__":
    sys.exit(main())
