"""Tools, installs, machine facts and data for bench/compare."""

import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import time

# command -> Debian package that provides it.
DEBIAN_TOOLS = {
    "mawk": "mawk",
    "gawk": "gawk",
    "mlr": "miller",
    "datamash": "datamash",
    "fwlogwatch": "fwlogwatch",
    "igzip": "isal",
    "zstd": "zstd",
    "pigz": "pigz",
}


def log(msg):
    print(msg, flush=True)


def note(msg):
    print("note: " + msg, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), capture_output=True, text=True, **kw)


def install_debian(no_install):
    """apt-get install the Debian packages of missing tools (root only, unless --no-install)."""
    missing = sorted({pkg for cmd, pkg in DEBIAN_TOOLS.items() if not shutil.which(cmd)})
    if not missing:
        return
    if no_install:
        note("not installing (--no-install): " + " ".join(missing))
        return
    if os.geteuid() != 0:
        note("not root, not installing: " + " ".join(missing))
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + missing
    log("installing Debian packages: " + " ".join(missing))
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, text=True)
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        # One by one, so that one unavailable package does not cost the others.
        for pkg in missing:
            r1 = subprocess.run(cmd[:-len(missing)] + [pkg], env=env, capture_output=True,
                                text=True)
            if r1.returncode != 0:
                note("apt-get install %s failed: %s" % (pkg, (r1.stderr.strip().splitlines()
                                                             or ["?"])[-1]))


def install_duckdb(bench_dir, no_install):
    """npm install @duckdb/node-api into bench/duckdb/; returns True when DuckDB is usable."""
    ddir = os.path.join(bench_dir, "duckdb")
    have = os.path.isdir(os.path.join(ddir, "node_modules", "@duckdb", "node-api"))
    if not shutil.which("node"):
        note("node not found: DuckDB rows skipped")
        return False
    if not have:
        if no_install or not shutil.which("npm"):
            note("@duckdb/node-api not installed in bench/duckdb (%s): DuckDB rows skipped"
                 % ("--no-install" if no_install else "npm not found"))
            return False
        log("npm install in bench/duckdb (@duckdb/node-api)")
        r = sh(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ddir,
               timeout=900)
        if r.returncode != 0:
            note("npm install of @duckdb/node-api failed, DuckDB rows skipped: "
                 + (r.stderr.strip().splitlines() or ["?"])[-1])
            return False
    r = sh(["node", "-e", "import('@duckdb/node-api').then(m => console.log('ok'))"], cwd=ddir)
    if r.returncode != 0 or "ok" not in r.stdout:
        note("@duckdb/node-api does not load, DuckDB rows skipped: "
             + (r.stderr.strip().splitlines() or ["?"])[-1])
        return False
    return True


def duckdb_version(bench_dir):
    try:
        with open(os.path.join(bench_dir, "duckdb", "node_modules", "@duckdb", "node-api",
                               "package.json")) as f:
            return json.load(f).get("version", "?")
    except OSError:
        return "?"


def tool_version(cmd):
    """First line of a tool's version output, or ''."""
    for args in ([cmd, "--version"], [cmd, "-V"], [cmd, "-W", "version"]):
        try:
            r = subprocess.run(args, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        out = (r.stdout or r.stderr).strip().splitlines()
        if r.returncode == 0 and out:
            return out[0].strip()
    return ""


def awk_name():
    path = shutil.which("awk")
    if not path:
        return None
    return os.path.basename(os.path.realpath(path))


def machine_facts():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / 1048576)
                    break
    except OSError:
        pass
    load = "?"
    try:
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
    except OSError:
        pass
    return {"nproc": os.cpu_count() or 1, "cpu": cpu, "ram": mem, "kernel": platform.release(),
            "load": load}


def default_locale():
    for var in ("LC_ALL", "LC_COLLATE", "LANG"):
        v = os.environ.get(var)
        if v:
            return v
    return "POSIX"


SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(i?[bB])?\s*$")


def parse_size(text):
    """'1G', '100MB', '512MiB', '2000000' -> bytes (K/M/G/T are powers of 1024, like the gen)."""
    m = SIZE_RE.match(text)
    if not m:
        raise ValueError("bad size: %r (use e.g. 1G, 100MB, 512M)" % text)
    mult = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2).lower()]
    return int(float(m.group(1)) * mult)


def size_label(n):
    for suffix, mult in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= mult and n % mult == 0:
            return "%d%s" % (n // mult, suffix)
    return str(n)


def _file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def prepare_data(gen, workdir, size, seed):
    """Generate (or reuse) the plain log and its .gz and .zst copies; returns their paths.

    The cache key is size + seed; a sidecar .meta records the generator binary's digest, so a
    rebuilt generator (whose bytes for a seed may change) regenerates the data.
    """
    ddir = os.path.join(workdir, "data")
    os.makedirs(ddir, exist_ok=True)
    base = os.path.join(ddir, "weekend-%s-seed%d.log" % (size_label(size), seed))
    meta_path = base + ".meta"
    gen_digest = _file_digest(gen)
    meta = {}
    if os.path.exists(meta_path):
        try:
            with open(meta_path) as f:
                meta = json.load(f)
        except (OSError, ValueError):
            meta = {}
    fresh = (meta.get("gen") == gen_digest and os.path.exists(base)
             and os.path.getsize(base) == meta.get("bytes"))
    if not fresh:
        log("generating %s (%s, seed %d)" % (base, size_label(size), seed))
        for p in (base, base + ".gz", base + ".zst", meta_path):
            if os.path.exists(p):
                os.unlink(p)
        t = time.time()
        r = subprocess.run([gen, "--size", str(size), "--seed", str(seed), "-o", base + ".tmp"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit("logtally-gen failed: " + r.stderr.strip())
        os.rename(base + ".tmp", base)
        log("  %.1f s" % (time.time() - t))
        meta = {"gen": gen_digest, "bytes": os.path.getsize(base), "seed": seed, "size": size}
    gz, zst = base + ".gz", base + ".zst"

    def compress(cmd, dst, what):
        log("compressing: " + cmd)
        if subprocess.run(["bash", "-c", cmd]).returncode != 0:
            raise SystemExit("%s copy failed" % what)
        os.rename(dst + ".tmp", dst)
        meta[what] = os.path.getsize(dst)

    if not (os.path.exists(gz) and meta.get("gz") == os.path.getsize(gz)):
        if shutil.which("pigz"):
            cmd = "pigz -6 -c %s > %s.tmp" % (base, gz)
        else:
            note("pigz not found: gzip -6 for the .gz copy")
            cmd = "gzip -6 -c %s > %s.tmp" % (base, gz)
        compress(cmd, gz, "gz")
    if shutil.which("zstd") and not (os.path.exists(zst) and meta.get("zst") == os.path.getsize(zst)):
        compress("zstd -3 -q -T0 -c %s > %s.tmp" % (base, zst), zst, "zst")
    with open(meta_path, "w") as f:
        json.dump(meta, f)
    return base, gz, (zst if os.path.exists(zst) else None)


def mem_total_bytes():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _read_meta(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def generate_cached(gen, path, gen_args):
    """Run `logtally-gen GEN_ARGS -o PATH` unless PATH is already there from the same generator
    binary and arguments (a sidecar PATH.meta holds both); returns PATH."""
    meta_path = path + ".meta"
    meta = _read_meta(meta_path)
    gen_digest = _file_digest(gen)
    if (meta.get("gen") == gen_digest and meta.get("args") == gen_args and os.path.exists(path)
            and os.path.getsize(path) == meta.get("bytes")):
        return path
    for p in (path, meta_path):
        if os.path.exists(p):
            os.unlink(p)
    log("generating %s (logtally-gen %s)" % (path, " ".join(gen_args)))
    t = time.time()
    r = subprocess.run([gen] + gen_args + ["-o", path + ".tmp"], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("logtally-gen failed: " + r.stderr.strip())
    os.rename(path + ".tmp", path)
    log("  %.1f s" % (time.time() - t))
    with open(meta_path, "w") as f:
        json.dump({"gen": gen_digest, "args": gen_args, "bytes": os.path.getsize(path)}, f)
    return path


def prepare_spill(gen, workdir, lines, seed):
    """Job 7's log: LINES lines that are all different (10M destinations, 60,000 inside hosts)."""
    ddir = os.path.join(workdir, "data")
    os.makedirs(ddir, exist_ok=True)
    path = os.path.join(ddir, "unique-%dlines-seed%d.log" % (lines, seed))
    return generate_cached(gen, path, ["--lines", str(lines), "--dst-count", "10000000",
                                       "--src-count", "60000", "--seed", str(seed)])


def prepare_ndjson(gen, workdir, size, seed):
    """Job 8's log: the ulogd2 JSON plugin's format (one JSON object per packet)."""
    ddir = os.path.join(workdir, "data")
    os.makedirs(ddir, exist_ok=True)
    path = os.path.join(ddir, "ulogd-%s-seed%d.ndjson" % (size_label(size), seed))
    return generate_cached(gen, path, ["--format", "ulogd", "--size", str(size),
                                       "--seed", str(seed)])


def prepare_halves(plain):
    """Job 9's archives: the plain log cut at the first line boundary from its middle byte, each
    half compressed with pigz -6 (or gzip -6). Cached beside it, keyed by its size and mtime;
    returns (first.gz, second.gz, cut offset)."""
    st = os.stat(plain)
    a, b = plain + ".half1.gz", plain + ".half2.gz"
    meta_path = plain + ".halves.meta"
    meta = _read_meta(meta_path)
    if (meta.get("plain") == [st.st_size, st.st_mtime_ns] and os.path.exists(a)
            and os.path.exists(b) and meta.get("a") == os.path.getsize(a)
            and meta.get("b") == os.path.getsize(b)):
        return a, b, meta["cut"]
    with open(plain, "rb") as f:
        f.seek(st.st_size // 2)
        f.readline()
        cut = f.tell()
    z = "pigz -6" if shutil.which("pigz") else "gzip -6"
    qp = shlex.quote(plain)
    for src, dst in (("head -c %d %s" % (cut, qp), a), ("tail -c +%d %s" % (cut + 1, qp), b)):
        cmd = "set -o pipefail; %s | %s > %s" % (src, z, shlex.quote(dst + ".tmp"))
        log("compressing: " + cmd)
        if subprocess.run(["bash", "-c", cmd]).returncode != 0:
            raise SystemExit("gzip half failed")
        os.rename(dst + ".tmp", dst)
    with open(meta_path, "w") as f:
        json.dump({"plain": [st.st_size, st.st_mtime_ns], "cut": cut, "a": os.path.getsize(a),
                   "b": os.path.getsize(b), "gzip": z}, f)
    return a, b, cut
