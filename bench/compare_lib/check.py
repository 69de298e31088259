"""Independent answers for bench/compare, computed in Python from the log bytes.

Nothing here calls logtally or shares its code. One pass over the plain file computes:

* the *careful* answer: the netfilter rules of shared/SPEC.md and docs/choices.md (record start,
  space tokens after `IN=`, bracketed parts skipped with nesting, first occurrence of a key,
  empty value = missing), which logtally's own answers must equal;
* the answers of the *naive models*, i.e. what each competitor's extraction does by
  construction, so that a competitor's different answer can be checked against an explanation
  instead of being waved through:
    - ``awk_last``: lines matching /IN=/, split on runs of blanks like awk's default FS, the LAST
      token starting with ``KEY=`` wins, brackets not skipped (the seed pipeline, mawk hash,
      datamash);
    - ``regex_first``: lines containing ``IN=``, the first match of `` KEY=([^ ]*)`` anywhere in
      the line (DuckDB's regexp_extract);
    - ``dkvp_first``: every line split on runs of spaces into ``key=value`` pairs, the first pair
      of each key wins, a line lacking any key is not counted (Miller's DKVP count -g);
* the grep chains of the service breakdown, with each false positive put down to a cause
  (a longer port such as DPT=5353, a port quoted inside an ICMP error's brackets, or elsewhere).

Only lines that could make a model differ from the careful answer (a bracket or a tab after
`IN=`, an `=` before it, a key repeated, a non-record line with `=`) go through the slow general
code. Plain records take a hot path that only tallies their fields; everything else is derived
per distinct key at the end. selftest() checks the hot and fast paths against the general code.
"""

import collections
import functools
import hashlib
import ipaddress
import json
import mmap
import multiprocessing
import os
import re

# The fields every job needs; each job's key is a projection of these.
FIELDS = (b"SRC", b"SPT", b"DST", b"DPT", b"PROTO")
NEEDLES = tuple(b" " + f + b"=" for f in FIELDS)
MODELS = ("awk_last", "regex_first", "dkvp_first")

# Job keys, as indices into FIELDS.
KEYSETS = {
    "DST,DPT,PROTO": (2, 3, 4),
    "SRC,SPT,DST,DPT": (0, 1, 2, 3),
    "DPT": (3,),
}

# Service categories of SPEC.md section 4.
SERVICE_PORTS = {
    "dns": ("53",), "ntp": ("123",), "http": ("80",), "https": ("443",), "ssh": ("22",),
    "smtp": ("25", "465", "587"), "imap": ("143", "993"),
}
PORT_SERVICE = {p: s for s, ps in SERVICE_PORTS.items() for p in ps}
CATEGORIES = tuple(SERVICE_PORTS) + ("other",)

# The two grep chains of job 2: one pattern list per category, as a sysadmin types them.
GREP_VARIANTS = {
    "plain": {s: tuple("DPT=" + p for p in ps) for s, ps in SERVICE_PORTS.items()},
    "space": {s: tuple("DPT=" + p + " " for p in ps) for s, ps in SERVICE_PORTS.items()},
}

_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_RFC3339_UTC = re.compile(rb"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z ")
_AWK_FS = re.compile(rb"[ \t\n]+")
_NEEDS_ESCAPE = re.compile(rb"[^\x20-\x5b\x5d-\x7e]")


def escape(v):
    """D(v) of docs/choices.md: printable ASCII and valid UTF-8 pass, `\\` doubled, else \\xNN."""
    if not _NEEDS_ESCAPE.search(v):
        return v.decode("ascii")
    out = []
    for ch in v.decode("utf-8", "surrogateescape"):
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0xDC80 <= o <= 0xDCFF:
            out.append("\\x%02x" % (o - 0xDC00))
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02x" % o)
        else:
            out.append(ch)
    return "".join(out)


def record_start(line):
    """Index of the `IN=` that starts the netfilter record, or -1 (choices.md, Netfilter records)."""
    j = line.find(b"IN=")
    while j >= 0:
        if j == 0 or line[j - 1] not in _WORD:
            return j
        k = line.find(b" ", j + 3)
        if k >= 0 and line.startswith(b" OUT=", k):
            return j
        j = line.find(b"IN=", j + 1)
    return -1


def careful_fields(line, start):
    """General token walk after `IN=`: (values tuple, DPT token offset or -1, bracket spans)."""
    vals = [None] * len(FIELDS)
    dpt_pos = -1
    spans = []
    n = len(line)
    p = start
    while p < n:
        while p < n and line[p] == 0x20:
            p += 1
        if p >= n:
            break
        if line[p] == 0x5B:  # '[' at a token start opens a bracketed part
            depth = 0
            j = p
            while j < n:
                c = line[j]
                if c == 0x5B:
                    depth += 1
                elif c == 0x5D:
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            spans.append((p, j))
            p = j + 1
            continue
        e = line.find(b" ", p)
        if e < 0:
            e = n
        eq = line.find(b"=", p, e)
        if eq > p:
            key = line[p:eq]
            for i, f in enumerate(FIELDS):
                if key == f:
                    if vals[i] is None:
                        vals[i] = line[eq + 1:e]
                        if i == 3:
                            dpt_pos = p
                    break
        p = e
    # An empty value is a missing one.
    return tuple(v if v else None for v in vals), dpt_pos, spans


def fast_fields(line, start):
    """The same as careful_fields for a record without '[' after IN=: the first ' KEY=' wins.

    Returns None when a key occurs twice (the naive models may then differ: take the slow path).
    """
    vals = []
    dpt_pos = -1
    for i, nd in enumerate(NEEDLES):
        j = line.find(nd, start)
        if j < 0:
            vals.append(None)
            continue
        b = j + len(nd)
        e = line.find(b" ", b)
        if e < 0:
            v = line[b:]
        else:
            v = line[b:e]
            if line.find(nd, e) >= 0:
                return None
        vals.append(v if v else None)
        if i == 3:
            dpt_pos = j + 1
    return tuple(vals), dpt_pos


def model_awk_last(line):
    if b"IN=" not in line:
        return None
    vals = [b""] * len(FIELDS)
    for tok in _AWK_FS.split(line):
        for i, f in enumerate(FIELDS):
            if tok.startswith(f + b"="):
                vals[i] = tok[len(f) + 1:]
                break
    return tuple(v if v else None for v in vals)


def model_regex_first(line):
    if b"IN=" not in line:
        return None
    vals = []
    for nd in NEEDLES:
        j = line.find(nd)
        if j < 0:
            vals.append(None)
            continue
        b = j + len(nd)
        e = line.find(b" ", b)
        v = line[b:e] if e >= 0 else line[b:]
        vals.append(v if v else None)
    return tuple(vals)


def model_dkvp_first(line):
    """Miller DKVP count -g: None when a key is absent (the record is not counted)."""
    vals = [None] * len(FIELDS)
    for tok in line.split(b" "):
        if not tok:
            continue
        eq = tok.find(b"=")
        if eq < 0:
            continue
        key = tok[:eq]
        for i, f in enumerate(FIELDS):
            if key == f:
                if vals[i] is None:
                    vals[i] = tok[eq + 1:]
                break
    return tuple(v if v else None for v in vals), tuple(v is not None for v in vals)


_MODEL_FNS = {"awk_last": model_awk_last, "regex_first": model_regex_first}


# The plain grep chain matches `DPT=N` as a substring: a `DPT=` followed by a value that starts
# with N. Ports here are 2 or 3 digits, and no 3-digit port starts with a 2-digit one.
_PREFIX2 = {p.encode(): s for p, s in PORT_SERVICE.items() if len(p) == 2}
_PREFIX3 = {p.encode(): s for p, s in PORT_SERVICE.items() if len(p) == 3}
_EXACT = {p.encode(): s for p, s in PORT_SERVICE.items()}
assert set(len(p) for p in PORT_SERVICE) == {2, 3}
assert not any(p3[:2] in _PREFIX2 for p3 in _PREFIX3)


def _grep_hits(line):
    """[(offset, plain-chain category or None, space-chain category or None)] per `DPT=`."""
    out = []
    j = line.find(b"DPT=")
    while j >= 0:
        b = j + 4
        e = line.find(b" ", b)
        v = line[b:e] if e >= 0 else line[b:]
        plain = _PREFIX2.get(v[:2]) or _PREFIX3.get(v[:3])
        space = _EXACT.get(v) if e >= 0 else None
        if plain or space:
            out.append((j, plain, space))
        j = line.find(b"DPT=", b)
    return out


class _Acc:
    """Per-worker accumulators; merged by add()."""

    def __init__(self):
        self.lines = 0
        self.records = 0
        self.careful = {k: collections.Counter() for k in KEYSETS}
        self.services = collections.Counter()  # SPEC section 4 categories (records only)
        self.deltas = {m: {k: collections.Counter() for k in KEYSETS} for m in MODELS}
        self.model_lines = {m: {k: collections.Counter() for k in KEYSETS} for m in MODELS}
        self.stats = collections.Counter()
        # grep[variant][category] = lines matched; fp[variant][category][cause] = lines
        self.grep = {v: collections.Counter() for v in GREP_VARIANTS}
        self.grep_none = collections.Counter()
        self.fp = {v: collections.defaultdict(collections.Counter) for v in GREP_VARIANTS}
        self.fp_ports = {v: collections.defaultdict(collections.Counter) for v in GREP_VARIANTS}
        self.careful_cat = collections.Counter()  # grep-chain layout: other = everything else
        self.hot_small = collections.Counter()  # (DST, DPT, PROTO, utc, DPT last) of hot lines
        self.hot_full = collections.Counter()   # (SRC, SPT, DST, DPT) of hot lines

    def add(self, o):
        self.lines += o.lines
        self.records += o.records
        for k in KEYSETS:
            self.careful[k].update(o.careful[k])
        self.services.update(o.services)
        for m in MODELS:
            for k in KEYSETS:
                self.deltas[m][k].update(o.deltas[m][k])
                self.model_lines[m][k].update(o.model_lines[m][k])
        self.stats.update(o.stats)
        for v in GREP_VARIANTS:
            self.grep[v].update(o.grep[v])
            for c, cnt in o.fp[v].items():
                self.fp[v][c].update(cnt)
            for c, cnt in o.fp_ports[v].items():
                self.fp_ports[v][c].update(cnt)
        self.grep_none.update(o.grep_none)
        self.careful_cat.update(o.careful_cat)
        self.hot_small.update(o.hot_small)
        self.hot_full.update(o.hot_full)


def _keys(vals):
    """The key of each KEYSETS entry, in its order."""
    return ((vals[2], vals[3], vals[4]), (vals[0], vals[1], vals[2], vals[3]), (vals[3],))


_KEYSET_NAMES = tuple(KEYSETS)
_RANK = {"real": 0, "bracket": 1, "else": 2}
assert _keys(tuple(range(5))) == tuple(KEYSETS.values())


def _process_line(acc, line, force_slow=False):
    if line.endswith(b"\r"):
        line = line[:-1]
    acc.lines += 1
    start = record_start(line)
    # The hot path: a plain record (no bracket, tab or '=' before IN=, no key twice, every key
    # present, `DPT=` only as the DPT field) is only tallied here; _expand_hot() derives the
    # rest per distinct (DST, DPT, PROTO) at the end, exactly as the general path would.
    if start >= 0 and not force_slow and line.find(b"[", start) < 0 \
            and b"=" not in line[:start] and line.find(b"\t", start) < 0:
        fast = fast_fields(line, start)
        if fast is not None:
            vals, dpt_pos = fast
            if None not in vals and line.count(b"DPT=") == 1:
                utc = line[:1].isdigit() and _RFC3339_UTC.match(line) is not None
                dpt_last = line.find(b" ", dpt_pos) < 0
                acc.hot_small[(vals[2], vals[3], vals[4], utc, dpt_last)] += 1
                acc.hot_full[(vals[0], vals[1], vals[2], vals[3])] += 1
                acc.records += 1
                return
    _process_general(acc, line, start, force_slow)


def _expand_hot(acc):
    """Fold the hot-path tallies into the per-line accumulators (see _process_line)."""
    acc.careful["SRC,SPT,DST,DPT"].update(acc.hot_full)
    acc.hot_full = collections.Counter()
    for (dst, dpt, proto, utc, dpt_last), n in acc.hot_small.items():
        acc.careful["DST,DPT,PROTO"][(dst, dpt, proto)] += n
        acc.careful["DPT"][(dpt,)] += n
        cat = PORT_SERVICE.get(dpt.decode("latin-1"), "other")
        acc.services[cat] += n
        acc.careful_cat[cat] += n
        if utc:
            acc.stats["records_rfc3339_utc"] += n
            acc.stats["records_fwlogwatch_rejects"] += n
        hits = {"plain": _PREFIX2.get(dpt[:2]) or _PREFIX3.get(dpt[:3]),
                "space": None if dpt_last else _EXACT.get(dpt)}
        for var in GREP_VARIANTS:
            c = hits[var]
            if c:
                acc.grep[var][c] += n
                if c != cat:
                    acc.fp[var][c]["longer port"] += n
                    acc.fp_ports[var][c][dpt.decode("latin-1")] += n
            else:
                acc.grep_none[var] += n
            if cat != "other" and c != cat:
                acc.fp[var][cat]["missed"] += n
    acc.hot_small = collections.Counter()


def _process_general(acc, line, start, force_slow):
    vals = None
    ckeys = None
    dpt_pos = -1
    spans = ()
    slow_models = False
    if start >= 0:
        fast = None
        if not force_slow and line.find(b"[", start) < 0 and b"=" not in line[:start] \
                and line.find(b"\t", start) < 0:
            fast = fast_fields(line, start)
        if fast is not None:
            vals, dpt_pos = fast
        else:
            vals, dpt_pos, spans = careful_fields(line, start)
            slow_models = True
        acc.records += 1
        ckeys = _keys(vals)
        careful = acc.careful
        for name, key in zip(_KEYSET_NAMES, ckeys):
            careful[name][key] += 1
        dpt = vals[3]
        if dpt is not None:
            cat = PORT_SERVICE.get(dpt.decode("latin-1"), "other")
            acc.services[cat] += 1
        else:
            cat = "other"
            proto = vals[4]
            acc.services[escape(proto).lower() if proto else "-"] += 1
            acc.stats["records_without_dpt"] += 1
        # What fwlogwatch 1.4's netfilter parser rejects as malformed (see compare_lib/answers.py).
        utc = _RFC3339_UTC.match(line) is not None
        portless_tcp = dpt is None and vals[4] == b"TCP"
        if utc:
            acc.stats["records_rfc3339_utc"] += 1
        if portless_tcp:
            acc.stats["records_tcp_without_dpt"] += 1
        if utc or portless_tcp:
            acc.stats["records_fwlogwatch_rejects"] += 1
        if spans:
            acc.stats["records_with_bracket"] += 1
            inner = [line[a:b + 1] for a, b in spans]
            for f in (b"DPT=", b"DST=", b"PROTO="):
                if any(f in s for s in inner):
                    acc.stats["bracket_with_" + f[:-1].decode()] += 1
    else:
        cat = "other"
        slow_models = b"=" in line
        if b"IN=" in line:
            acc.stats["non_record_lines_with_IN="] += 1
    acc.careful_cat[cat] += 1

    # Naive models: on fast-path records they give the careful answer (but Miller drops a record
    # that lacks a key altogether), and on lines without '=' they count nothing, like the
    # careful rules.
    if slow_models:
        for m in MODELS:
            if m == "dkvp_first":
                mvals, present = model_dkvp_first(line)
            else:
                mvals, present = _MODEL_FNS[m](line), None
            mkeys = _keys(mvals) if mvals is not None else (None, None, None)
            if present is not None:
                pk = _keys(present)
                mkeys = tuple(None if k is None or not all(p) else k for k, p in zip(mkeys, pk))
            for i, name in enumerate(_KEYSET_NAMES):
                ckey = ckeys[i] if ckeys is not None else None
                mkey = mkeys[i]
                if mkey != ckey:
                    d = acc.deltas[m][name]
                    if ckey is not None:
                        d[ckey] -= 1
                    if mkey is not None:
                        d[mkey] += 1
                    cause = ("dropped" if mkey is None else "extra" if ckey is None
                             else "bracket" if spans else "other")
                    acc.model_lines[m][name][cause] += 1
    elif vals is not None and None in vals:
        absent = tuple(v is not None or line.find(NEEDLES[i], start) >= 0
                       for i, v in enumerate(vals))
        for name, ckey, p in zip(_KEYSET_NAMES, ckeys, _keys(absent)):
            if not all(p):
                acc.deltas["dkvp_first"][name][ckey] -= 1
                acc.model_lines["dkvp_first"][name]["dropped"] += 1

    # grep chains: which categories each chain puts this line in, and why when it is wrong.
    hits = _grep_hits(line) if b"DPT=" in line else ()
    for vi, var in enumerate(GREP_VARIANTS):
        cats = {}
        for j, *c in hits:
            c = c[vi]
            if c is None:
                continue
            where = ("real" if j == dpt_pos else
                     "bracket" if any(a < j < b for a, b in spans) else "else")
            if c not in cats or _RANK[where] < _RANK[cats[c]]:
                cats[c] = where
        for c, where in cats.items():
            acc.grep[var][c] += 1
            if c != cat:
                if where == "real":
                    acc.fp[var][c]["longer port"] += 1
                    acc.fp_ports[var][c][vals[3].decode("latin-1")] += 1
                elif where == "bracket":
                    acc.fp[var][c]["ICMP-error quote"] += 1
                else:
                    acc.fp[var][c]["elsewhere"] += 1
        if cat != "other" and cat not in cats:
            acc.fp[var][cat]["missed"] += 1
        if not cats:
            acc.grep_none[var] += 1


def _scan_lines(path, lo, hi, acc, fn):
    """Calls fn(acc, line) for each line starting in [lo, hi) of path (ranges are line-aligned)."""
    if hi <= lo:
        return acc
    step = 32 << 20
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            pos = lo
            while pos < hi:
                end = min(pos + step, hi)
                if end < hi:
                    nl = mm.find(b"\n", end - 1, hi)
                    end = hi if nl < 0 else nl + 1
                block = mm[pos:end]
                lines = block.split(b"\n")
                if block.endswith(b"\n"):
                    lines.pop()
                for line in lines:
                    fn(acc, line)
                pos = end
        finally:
            mm.close()
    return acc


def _work(args):
    path, lo, hi = args
    return _scan_lines(path, lo, hi, _Acc(), _process_line)


def _ranges(path, parts):
    size = os.path.getsize(path)
    cuts = [0]
    with open(path, "rb") as f:
        for i in range(1, parts):
            f.seek(size * i // parts)
            f.readline()
            cuts.append(max(min(f.tell(), size), cuts[-1]))
    cuts.append(size)
    return [(path, cuts[i], cuts[i + 1]) for i in range(parts)]


@functools.lru_cache(maxsize=None)
def _shown(v):
    return "-" if v is None else escape(v)


def _conv(counter):
    """Counter of escaped string tuples ('-' for missing values), zero counts dropped."""
    out = collections.Counter()
    for key, n in counter.items():
        if n:
            out[tuple(map(_shown, key))] += n
    return out


def model_answer(res, model, keyset):
    """A naive model's whole answer: the careful answer plus the model's per-line changes."""
    out = collections.Counter(res["careful"][keyset])
    for key, n in res["model_deltas"][model][keyset].items():
        out[key] += n
    return collections.Counter({k: n for k, n in out.items() if n})


def _finish(acc):
    _expand_hot(acc)
    res = {"lines": acc.lines, "records": acc.records, "other_lines": acc.lines - acc.records,
           "stats": dict(acc.stats), "careful": {}, "model_deltas": {}, "model_lines": {},
           "services": dict(acc.services)}
    for k in KEYSETS:
        res["careful"][k] = _conv(acc.careful[k])
    for m in MODELS:
        res["model_deltas"][m] = {k: _conv(acc.deltas[m][k]) for k in KEYSETS}
        res["model_lines"][m] = {k: dict(acc.model_lines[m][k]) for k in KEYSETS}
    res["careful_cat"] = dict(acc.careful_cat)
    res["grep"] = {}
    for var in GREP_VARIANTS:
        g = {c: acc.grep[var][c] for c in SERVICE_PORTS}
        g["other"] = acc.grep_none[var]
        res["grep"][var] = {
            "counts": g,
            "fp": {c: dict(v) for c, v in acc.fp[var].items()},
            "fp_ports": {c: dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))[:4])
                         for c, v in acc.fp_ports[var].items()},
        }
    return res


def analyse(path, procs=None):
    procs = procs or os.cpu_count() or 1
    total = _Acc()
    if procs > 1 and os.path.getsize(path) > (8 << 20):
        with multiprocessing.get_context("fork").Pool(procs) as pool:
            for acc in pool.imap_unordered(_work, _ranges(path, procs)):
                total.add(acc)
    else:
        total = _work((path, 0, os.path.getsize(path)))
    return _finish(total)


def selftest(path, max_lines=20000):
    """The fast path must agree with the general token walk (and the careful fields with both)."""
    a, b = _Acc(), _Acc()
    n = 0
    with open(path, "rb") as f:
        for line in f:
            if line.endswith(b"\n"):
                line = line[:-1]
            _process_line(a, line)
            _process_line(b, line, force_slow=True)
            n += 1
            if n >= max_lines:
                break
    ra, rb = _finish(a), _finish(b)
    problems = []
    for key in ("careful", "model_deltas", "model_lines", "services", "grep", "careful_cat",
                "lines", "records", "stats"):
        if ra[key] != rb[key]:
            problems.append(key)
    # The general walk on hand-made cases from choices.md.
    cases = [
        (b"x IN=e OUT= SRC=1 DST=2 PROTO=ICMP TYPE=3 [SRC=2 DST=1 PROTO=UDP SPT=9 DPT=53 ] MTU=1",
         (b"1", None, b"2", None, b"ICMP")),
        (b"DROP:IN=e OUT= DST=2 PROTO=TCP [a [b] DPT=1 ] DPT=7", (None, None, b"2", b"7", b"TCP")),
        (b"LOGIN=x IN=e OUT= DST=3 DPT= PROTO=TCP", (None, None, b"3", None, b"TCP")),
        (b"IN=e OUT= DST=4 DST=5 PROTO=UDP [unclosed DPT=1", (None, None, b"4", None, b"UDP")),
    ]
    for line, want in cases:
        s = record_start(line)
        got = careful_fields(line, s)[0] if s >= 0 else None
        if got != want:
            problems.append("case %r: got %r want %r" % (line, got, want))
    if record_start(b"LOGIN=x") != -1 or record_start(b"LOGIN=x y OUT=") != -1 or record_start(b"XIN=eth0 OUT= a") != 1 \
            or record_start(b"IN=") != 0 or record_start(b"a:IN=x") != 2:
        problems.append("record_start")
    return n, problems


# --- Job 7 (spill): an answer too big to hold in Python memory is checked through digests. ---
#
# A multiset of keys is summarised by sums modulo the prime P = 2^127 - 1 of H(key), a 128-bit
# BLAKE2b of the key's display (values joined by NUL):
#   * wsum = sum over records of H(key) = sum over groups of count * H(key). The independent
#     check gets it one line at a time, with no table; an answer gets it from its output.
#   * psum = sum over groups of F(count) * H(key), F(n) a hash of n: a digest of the (count, key)
#     pairs themselves, so a group split in two (1 a, 1 a for 2 a) changes it.
# Equal digests mean equal answers, barring a collision of chance about 2^-120.

P = (1 << 127) - 1


def h(b):
    return int.from_bytes(hashlib.blake2b(b, digest_size=16).digest(), "little") % P


@functools.lru_cache(maxsize=65536)
def count_hash(n):
    return h(b"\x01count %d" % n)


def shown_bytes(v):
    """D(v) as bytes, '-' for a missing or empty value."""
    if not v:
        return b"-"
    if not _NEEDS_ESCAPE.search(v):
        return v
    return escape(v).encode("utf-8", "surrogateescape")


def key_bytes(key):
    """A key tuple (bytes or None per value) as the bytes digests hash."""
    return b"\x00".join(shown_bytes(v) for v in key)


SPILL_KEYSET = "SRC,SPT,DST,DPT"


class _StreamAcc:
    """Per-worker sums of stream_check()."""

    def __init__(self):
        self.lines = 0
        self.records = 0
        self.escaped_lines = 0   # lines whose display D(line) is not the line itself
        self.cr_lines = 0
        self.line_wsum = 0
        self.careful_wsum = 0
        self.model_wsum = 0
        self.model_total = 0
        self.model_lines = collections.Counter()
        self.delta = collections.Counter()  # key bytes -> awk_last count - careful count
        self.stats = collections.Counter()

    def add(self, o):
        for k in ("lines", "records", "escaped_lines", "cr_lines", "line_wsum", "careful_wsum",
                  "model_wsum", "model_total"):
            setattr(self, k, getattr(self, k) + getattr(o, k))
        self.model_lines.update(o.model_lines)
        self.delta.update(o.delta)
        self.stats.update(o.stats)


def _stream_line(acc, raw):
    acc.lines += 1
    if not raw:
        disp = b"-"
    elif _NEEDS_ESCAPE.search(raw):
        acc.escaped_lines += 1
        disp = escape(raw).encode("utf-8", "surrogateescape")
    else:
        disp = raw
    acc.line_wsum += h(disp)
    line = raw
    if line.endswith(b"\r"):
        acc.cr_lines += 1
        line = line[:-1]
    start = record_start(line)
    fast = None
    spans = ()
    if start >= 0 and line.find(b"[", start) < 0 and b"=" not in line[:start] \
            and line.find(b"\t", start) < 0:
        fast = fast_fields(line, start)
    ckey = None
    if fast is not None:
        vals = fast[0]
        slow = False
    elif start >= 0:
        vals, _, spans = careful_fields(line, start)
        slow = True
    else:
        vals = None
        slow = b"=" in line
    if vals is not None:
        acc.records += 1
        ckey = (vals[0], vals[1], vals[2], vals[3])
        kb = key_bytes(ckey)
        acc.careful_wsum += h(kb)
        if spans:
            acc.stats["records_with_bracket"] += 1
    # awk_last differs from the careful answer only on the lines the general walk takes (see
    # _process_general): on the others it is computed as the careful key.
    if slow:
        m = model_awk_last(line)
        mkey = (m[0], m[1], m[2], m[3]) if m is not None else None
    else:
        mkey = ckey
    if mkey is not None:
        mb = kb if mkey == ckey else key_bytes(mkey)
        acc.model_wsum += h(mb)
        acc.model_total += 1
    if mkey != ckey:
        if ckey is not None:
            acc.delta[kb] -= 1
        if mkey is not None:
            acc.delta[mb] += 1
        acc.model_lines["extra" if ckey is None else "bracket" if spans else "other"] += 1


def _stream_work(args):
    path, lo, hi = args
    return _scan_lines(path, lo, hi, _StreamAcc(), _stream_line)


def map_ranges(work, path, procs=None):
    """work((path, lo, hi)) over line-aligned byte ranges of path, on procs processes."""
    procs = procs or os.cpu_count() or 1
    if procs > 1 and os.path.getsize(path) > (8 << 20):
        with multiprocessing.get_context("fork").Pool(procs) as pool:
            return list(pool.imap(work, _ranges(path, procs * 4)))
    return [work((path, 0, os.path.getsize(path)))]


def stream_check(path, procs=None):
    """Job 7's independent answer for a file too big to count in Python: one streaming pass
    giving the digest of `-k line` (every line counts), the digest of the careful
    SRC,SPT,DST,DPT answer and of the awk_last model's, and the model's per-key changes (only
    the few keys of lines the general walk takes, so the table stays small)."""
    total = _StreamAcc()
    for acc in map_ranges(_stream_work, path, procs):
        total.add(acc)
    delta = {k: n for k, n in total.delta.items() if n}
    return {"lines": total.lines, "records": total.records,
            "other_lines": total.lines - total.records,
            "escaped_lines": total.escaped_lines, "cr_lines": total.cr_lines,
            "line": {"wsum": total.line_wsum % P, "total": total.lines},
            "careful": {SPILL_KEYSET: {"wsum": total.careful_wsum % P,
                                       "total": total.records}},
            "model": {"awk_last": {SPILL_KEYSET: {"wsum": total.model_wsum % P,
                                                  "total": total.model_total,
                                                  "delta": delta,
                                                  "lines": dict(total.model_lines)}}},
            "stats": dict(total.stats)}


# --- Job 8 (ndjson): ulogd2 JSON lines, counted by DST,DPT. ---

NDJSON_KEYSET = "DST,DPT"
NDJSON_FIELDS = ("dest_ip", "dest_port")  # ulogd2's names of DST and DPT


def _json_shown(v, stats):
    """A JSON value shown as a group: a string as is, a number as written, null or absent '-'."""
    if v is None or v == "":
        return "-"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return escape(v.encode("utf-8", "surrogateescape"))
    stats["odd_values"] += 1
    return escape(json.dumps(v).encode())


def _ip_shown(v, stats):
    """DST as the LOG target prints it: an IPv6 address with all eight groups of four digits."""
    s = _json_shown(v, stats)
    if isinstance(v, str) and ":" in v:
        stats["records_ipv6"] += 1
        try:
            full = ipaddress.IPv6Address(v).exploded
        except ValueError:
            stats["ipv6_unparsed"] += 1
            return s, s
        return full, s
    return s, s


def _ndjson_work(args):
    path, lo, hi = args
    careful = collections.Counter()
    written = collections.Counter()
    stats = collections.Counter()
    with open(path, "rb") as f:
        f.seek(lo)
        pos = lo
        while pos < hi:
            line = f.readline()
            if not line:
                break
            pos += len(line)
            stats["lines"] += 1
            line = line.strip()
            if not line:
                stats["blank_lines"] += 1
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                stats["malformed"] += 1
                continue
            if not isinstance(obj, dict):
                stats["not_objects"] += 1
                continue
            stats["records"] += 1
            dst_full, dst_written = _ip_shown(obj.get(NDJSON_FIELDS[0]), stats)
            dpt = _json_shown(obj.get(NDJSON_FIELDS[1]), stats)
            if dpt == "-":
                stats["records_without_dpt"] += 1
            if dst_full != dst_written:
                stats["records_ipv6_compressed"] += 1
            careful[(dst_full, dpt)] += 1
            written[(dst_written, dpt)] += 1
    return careful, written, stats


def analyse_ndjson(path, procs=None):
    """Job 8's independent answer: json.loads on each line, DST,DPT from dest_ip, dest_port.

    The careful answer shows an IPv6 DST in full (as logtally and the LOG target do); the model
    ``ipv6_as_written`` keeps it as ulogd wrote it (DuckDB's answer, which prints the JSON
    string)."""
    careful = collections.Counter()
    written = collections.Counter()
    stats = collections.Counter()
    for c, w, s in map_ranges(_ndjson_work, path, procs):
        careful.update(c)
        written.update(w)
        stats.update(s)
    delta = collections.Counter(written)
    delta.subtract(careful)
    return {"lines": stats["lines"], "records": stats["records"],
            "other_lines": stats["lines"] - stats["records"], "stats": dict(stats),
            "careful": {NDJSON_KEYSET: careful},
            "model_deltas": {"ipv6_as_written": {NDJSON_KEYSET: collections.Counter(
                {k: n for k, n in delta.items() if n})}},
            "model_lines": {"ipv6_as_written": {NDJSON_KEYSET: {
                "ipv6": stats["records_ipv6_compressed"]}}}}
