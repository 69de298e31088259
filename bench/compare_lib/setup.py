"""Tools, installs, machine facts and data for bench/compare."""

import hashlib
import json
import os
import platform
import re
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
    if not (os.path.exists(gz) and meta.get("gz") == os.path.getsize(gz)):
        if shutil.which("pigz"):
            cmd = "pigz -6 -c %s > %s.tmp" % (base, gz)
        else:
            note("pigz not found: gzip -6 for the .gz copy")
            cmd = "gzip -6 -c %s > %s.tmp" % (base, gz)
        log("compressing: " + cmd)
        if subprocess.run(["bash", "-c", cmd]).returncode != 0:
            raise SystemExit("gzip copy failed")
        os.rename(gz + ".tmp", gz)
        meta["gz"] = os.path.getsize(gz)
    if shutil.which("zstd") and not (os.path.exists(zst) and meta.get("zst") == os.path.getsize(zst)):
        cmd = "zstd -3 -q -T0 -c %s > %s.tmp" % (base, zst)
        log("compressing: " + cmd)
        if subprocess.run(["bash", "-c", cmd]).returncode != 0:
            raise SystemExit("zstd copy failed")
        os.rename(zst + ".tmp", zst)
        meta["zst"] = os.path.getsize(zst)
    with open(meta_path, "w") as f:
        json.dump(meta, f)
    return base, gz, (zst if os.path.exists(zst) else None)
