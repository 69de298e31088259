#!/usr/bin/env python3
"""Independent reference implementation of `logtally count`.

Written from ../../../shared/SPEC.md and docs/choices.md only, never from the C++ sources, so
that tests/reference/differential_test.py can compare the two byte for byte.
Python 3.11, standard library only.  Clarity first; the hot path uses bytes methods and
regular expressions instead of per-byte loops so ~50 MB takes well under a minute or two.

CLI subset:
    reference.py count [-k F1,F2,...] [-w COND]... [-n N] [-f text|tsv|csv|json|ndjson]
                       [--percent] [-j N (ignored)] [PATH...]

Besides stdout (byte-exact per choices.md "Output"), one line goes to stderr:
    reference: lines=L records=R other=O counted=C filtered=F groups=G
where L = C + F + O (choices.md "Conditions", Accounting) and R is the number of lines that
are netfilter records, whatever the key.

Library use (the differential test imports this module):
    t = tally_paths(paths, parse_keys("DST,DPT"), [parse_condition(b"DPT=53")])
    out = render(t, "text", percent=False, top=None)
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import ipaddress
import lzma
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Optional

# A value is bytes, or None when missing.  SPEC §2: "A missing field and an empty field are the
# same group"; "An empty value of any key ... prints as - too".  So every getter maps b"" to None.
Value = Optional[bytes]


class UsageError(Exception):
    """Bad command line: exit status 2 (choices.md "Exit status")."""


class InputError(Exception):
    """An input that cannot be read or decoded: reported, others still counted, exit 2."""


# ----------------------------------------------------------------------------------------------
# Lines (choices.md "Lines")
# ----------------------------------------------------------------------------------------------

def split_lines(data: bytes) -> list[bytes]:
    """A line ends at \\n; a final line without \\n is a line; a file ending with \\n has no
    extra empty line; empty input has 0 lines.  One trailing \\r is removed.  NUL and every
    other byte are ordinary bytes."""
    if not data:
        return []
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()  # the empty string after the final \n is not a line
    return [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines]


# ----------------------------------------------------------------------------------------------
# Netfilter record detection (SPEC §2 first paragraph; choices.md "Netfilter records")
# ----------------------------------------------------------------------------------------------

def _is_word_byte(b: int) -> bool:
    """ASCII letter, digit or '_' (SPEC §2)."""
    return 48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122 or b == 95


def record_start(line: bytes) -> int:
    """Offset of the `IN=` that starts the record's fields, or -1 when the line is no record.

    `IN=` starts a record when (a) it is at the start of the line, or (b) the byte before it is
    not an ASCII letter, digit or `_`, or (c) it is followed by a possibly empty run of
    non-space (non-0x20) bytes and then ` OUT=` (so `DROPIN=eth0 OUT=` works but
    `PHYSIN=eth0 PHYSOUT=` does not).  The first such `IN=` wins."""
    i = line.find(b"IN=")
    next_space = -2  # cached position of the first space at or after the current run
    while i >= 0:
        if i == 0 or not _is_word_byte(line[i - 1]):
            return i
        # rule (c): the run of non-space bytes after `IN=` ends at the next space, which must
        # begin ` OUT=`.  The cache keeps this linear even on megabyte lines without spaces.
        if next_space != -1 and next_space < i + 3:
            next_space = line.find(b" ", i + 3)
        if next_space != -1 and line.startswith(b" OUT=", next_space):
            return i
        i = line.find(b"IN=", i + 3)
    return -1


# ----------------------------------------------------------------------------------------------
# Fields after IN= (SPEC §2 bullets 2-4; choices.md "Netfilter records")
# ----------------------------------------------------------------------------------------------

_NON_SPACE = re.compile(rb"[^ ]")
_BRACKET = re.compile(rb"[\[\]]")


def _tokens_with_brackets(seg: bytes) -> list[bytes]:
    """Space-separated tokens of `seg`, skipping bracketed parts.

    choices.md: a token that starts with `[` opens a bracket; from that `[` on every `[` adds
    a level and every `]` removes one; the part ends at the `]` that returns to level 0 and
    tokenizing resumes right after that `]`.  An unclosed bracket runs to the end of the line.
    A `[` that is not at the start of a token is an ordinary byte."""
    out: list[bytes] = []
    pos, n = 0, len(seg)
    while True:
        m = _NON_SPACE.search(seg, pos)
        if m is None:
            return out
        pos = m.start()
        if seg[pos] == 0x5B:  # '[' at the start of a token
            depth = 0
            for b in _BRACKET.finditer(seg, pos):
                depth += 1 if b.group() == b"[" else -1
                if depth == 0:
                    pos = b.end()
                    break
            else:
                return out  # unclosed bracket: the rest of the line is inner packet
            continue
        end = seg.find(b" ", pos)
        if end < 0:
            end = n
        out.append(seg[pos:end])
        pos = end


def parse_fields(line: bytes, start: int) -> dict[bytes, bytes]:
    """KEY=VALUE fields of the record whose `IN=` is at `start`.

    Tokens are separated by runs of 0x20.  A token without `=` is a flag (not a field).  The key
    is the text before the first `=`; an empty key is ignored; only the first occurrence of a
    key counts (SPEC: `LEN=` for IP then UDP length -> the IP one)."""
    seg = line[start:]
    tokens = _tokens_with_brackets(seg) if b"[" in seg else seg.split(b" ")
    fields: dict[bytes, bytes] = {}
    for tok in tokens:
        key, eq, value = tok.partition(b"=")
        if eq and key and key not in fields:
            fields[key] = value
    return fields


# ----------------------------------------------------------------------------------------------
# Header: TIME, HOST, PREFIX (SPEC §2 first bullet; choices.md "Header")
# ----------------------------------------------------------------------------------------------

_PRI = re.compile(rb"<[0-9]{1,3}>")
# Step 2: the timestamp, which must be followed by at least one space (the lookahead).
_TIMESTAMP = re.compile(
    rb"(?:"
    # BSD: month name, 1 or 2 spaces, 1-2 digit day, a space, HH:MM:SS
    rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}[0-9]{1,2} "
    rb"[0-9]{2}:[0-9]{2}:[0-9]{2}"
    rb"|"
    # RFC 3339 / ISO 8601: YYYY-MM-DDTHH:MM:SS, optional .fraction, optional Z or +-HH:MM
    rb"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
    rb"(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})?"
    rb")(?= )"
)
_SPACES = re.compile(rb" *")
# Steps 3-5: "a word is taken only when a space follows it before the IN=" (lookaheads).
_WORD = re.compile(rb"[^ ]+(?= )")
_KERNEL = re.compile(rb"kernel:(?= )")
_UPTIME = re.compile(rb"\[ *[0-9]+\.[0-9]+\](?= )")


def parse_header(hdr: bytes) -> tuple[Value, Value, Value]:
    """(TIME, HOST, PREFIX) from `hdr`, the bytes before the record's `IN=` (never past it).

    1. optional <PRI>; 2. optional timestamp followed by >= 1 space (TIME is its exact text);
    3. only after a timestamp: HOST = next word unless it ends with ':' or reaches the IN=;
    4. optional word `kernel:`; 5. optional uptime bracket `[ 123.456]`.
    What remains, trimmed of spaces, is PREFIX; empty means missing.
    Reading chosen where choices.md is silent: the timestamp must follow the <PRI> (or the
    start of the line) directly; spaces before the words of steps 3-5 are skipped."""
    pos = 0
    m = _PRI.match(hdr)
    if m:
        pos = m.end()
    time = host = None
    m = _TIMESTAMP.match(hdr, pos)
    if m:
        time = m.group()
        pos = _SPACES.match(hdr, m.end()).end()
        m = _WORD.match(hdr, pos)
        if m and not m.group().endswith(b":"):
            host = m.group()
            pos = m.end()
    pos = _SPACES.match(hdr, pos).end()
    m = _KERNEL.match(hdr, pos)
    if m:
        pos = _SPACES.match(hdr, m.end()).end()
    m = _UPTIME.match(hdr, pos)
    if m:
        pos = m.end()
    prefix = hdr[pos:].strip(b" ")
    return time, host, prefix or None


# ----------------------------------------------------------------------------------------------
# Keys (SPEC §2 last paragraph, §3 -k; choices.md "Other keys")
# ----------------------------------------------------------------------------------------------

KIND_LINE, KIND_WORD, KIND_HEADER, KIND_FIELD = "line", "word", "header", "field"
_HEADER_INDEX = {b"TIME": 0, b"HOST": 1, b"PREFIX": 2}
_WORD_KEY = re.compile(rb"\$([1-9][0-9]*)")
# Derived fields (service, day, hour, SRC/24, DPT.name) are outside this reference's subset;
# refuse them rather than silently treating them as (always missing) netfilter field names.
_DERIVED = re.compile(rb"service|day|hour|[A-Za-z0-9_]+/[0-9]+|[A-Za-z0-9_]+\.name")


@dataclass(frozen=True)
class Key:
    name: bytes  # as typed, used for TSV/CSV headers and JSON object keys
    kind: str
    index: int = 0  # N for `$N`; 0/1/2 for TIME/HOST/PREFIX

    @property
    def netfilter(self) -> bool:
        """True for netfilter fields and TIME/HOST/PREFIX; false for `line` and `$N`."""
        return self.kind in (KIND_HEADER, KIND_FIELD)


def parse_key(name: bytes) -> Key:
    if not name:
        raise UsageError("empty key name")
    if name == b"line":
        return Key(name, KIND_LINE)
    if name.startswith(b"$"):
        m = _WORD_KEY.fullmatch(name)
        if not m:
            raise UsageError(f"bad key {name!r}: $N needs N >= 1 ($0 is not a key: use line)")
        return Key(name, KIND_WORD, int(m.group(1)))
    if name in _HEADER_INDEX:
        return Key(name, KIND_HEADER, _HEADER_INDEX[name])
    if _DERIVED.fullmatch(name):
        raise UsageError(f"derived key {name.decode(errors='replace')} is not supported by the reference")
    return Key(name, KIND_FIELD)


def parse_keys(spec: bytes | str) -> list[Key]:
    if isinstance(spec, str):
        spec = os.fsencode(spec)
    return [parse_key(part) for part in spec.split(b",")]


_WORDS = re.compile(rb"[^ \t]+")


class Line:
    """One line with its record parts computed lazily (only what keys and conditions need)."""

    __slots__ = ("text", "start", "_fields", "_header", "_words")

    def __init__(self, text: bytes):
        self.text = text
        self.start = record_start(text)
        self._fields = self._header = self._words = None

    @property
    def is_record(self) -> bool:
        return self.start >= 0

    def value(self, key: Key) -> Value:
        """The key's value, None when missing or empty.  Caller checks is_record first for
        netfilter keys."""
        kind = key.kind
        if kind == KIND_FIELD:
            if self._fields is None:
                self._fields = parse_fields(self.text, self.start)
            v = self._fields.get(key.name)
        elif kind == KIND_LINE:
            v = self.text
        elif kind == KIND_WORD:
            # $1, $2, ...: awk-style words split on runs of spaces and tabs
            if self._words is None:
                self._words = _WORDS.findall(self.text)
            v = self._words[key.index - 1] if key.index <= len(self._words) else None
        else:
            if self._header is None:
                self._header = parse_header(self.text[: self.start])
            v = self._header[key.index]
        return v or None


# ----------------------------------------------------------------------------------------------
# Conditions (SPEC §3 -w; choices.md "Conditions")
# ----------------------------------------------------------------------------------------------

_RANGE = re.compile(rb"([0-9]+)-([0-9]+)")
_DIGITS = re.compile(rb"[0-9]+")


def parse_address(text: bytes):
    """An IPv4 or IPv6 address, or None.  Strict textual forms: dotted quad without leading
    zeros; IPv6 with `::` compression and an optional embedded IPv4 tail; no zone (`%eth0`)."""
    try:
        s = text.decode("ascii")
    except UnicodeDecodeError:
        return None
    if not s or "%" in s or any(c.isspace() for c in s):
        return None
    try:
        if ":" in s:
            return ipaddress.IPv6Address(s)
        return ipaddress.IPv4Address(s)
    except ValueError:
        return None


@dataclass(frozen=True)
class Alternative:
    kind: str  # "empty", "range", "cidr", "exact"
    text: bytes
    lo: int = 0
    hi: int = 0
    version: int = 0
    prefix_len: int = 0
    network: int = 0  # address bits above prefix_len (host bits dropped)

    def matches(self, v: Value) -> bool:
        if self.kind == "empty":
            return v is None  # `KEY=` matches a missing or empty field
        if v is None:
            return False  # "on a record without the field, = is false and != is true"
        if self.kind == "exact":
            return v == self.text  # exact bytes, case-sensitive
        if self.kind == "range":
            # inclusive numeric range; the value must be all digits
            return _DIGITS.fullmatch(v) is not None and self.lo <= int(v) <= self.hi
        addr = parse_address(v)  # cidr: the value must be an address of the same family
        if addr is None or addr.version != self.version:
            return False
        shift = addr.max_prefixlen - self.prefix_len
        return (int(addr) >> shift) == self.network


def parse_alternative(alt: bytes) -> Alternative:
    """choices.md: a numeric range LO-HI when both ends are whole numbers, a CIDR block ADDR/LEN
    when ADDR is an IPv4 or IPv6 address, else an exact byte string."""
    if alt == b"":
        return Alternative("empty", alt)
    m = _RANGE.fullmatch(alt)
    if m:
        return Alternative("range", alt, lo=int(m.group(1)), hi=int(m.group(2)))
    addr_text, slash, len_text = alt.partition(b"/")
    if slash:
        addr = parse_address(addr_text)
        if addr is not None:
            # ADDR is an address, so this is a CIDR block; a bad LEN is a usage error (reading
            # chosen where choices.md is silent).
            if not _DIGITS.fullmatch(len_text) or int(len_text) > addr.max_prefixlen:
                raise UsageError(f"bad CIDR prefix length in {alt.decode(errors='replace')}")
            plen = int(len_text)
            return Alternative("cidr", alt, version=addr.version, prefix_len=plen,
                               network=int(addr) >> (addr.max_prefixlen - plen))
    return Alternative("exact", alt)


@dataclass(frozen=True)
class Condition:
    key: Key
    negate: bool  # `!=`
    alternatives: tuple[Alternative, ...]

    def holds(self, line: Line) -> bool:
        # A condition on a netfilter field is false on other lines, for = and != alike.
        if self.key.netfilter and not line.is_record:
            return False
        v = line.value(self.key)
        hit = any(a.matches(v) for a in self.alternatives)
        return not hit if self.negate else hit  # `=`: any of; `!=`: none of


def parse_condition(text: bytes | str) -> Condition:
    if isinstance(text, str):
        text = os.fsencode(text)
    eq = text.find(b"=")
    if eq < 0:
        raise UsageError(f"bad condition {text!r}: expected KEY=V or KEY!=V")
    negate = eq > 0 and text[eq - 1:eq] == b"!"
    key = parse_key(text[: eq - 1] if negate else text[:eq])
    alts = tuple(parse_alternative(a) for a in text[eq + 1:].split(b","))
    return Condition(key, negate, alts)


# ----------------------------------------------------------------------------------------------
# Inputs (SPEC §3 PATH; content detection of compressed input)
# ----------------------------------------------------------------------------------------------

def decode_content(data: bytes, name: str) -> bytes:
    """Input is detected by content, not by name.  The reference handles gzip (incl.
    multi-member), bzip2 and xz with the standard library; zstd is not in it."""
    try:
        if data.startswith(b"\x1f\x8b\x08"):
            return gzip.decompress(data)
        if data.startswith(b"\xfd7zXZ\x00"):
            return lzma.decompress(data)
        if re.match(rb"BZh[1-9](1AY&SY|\x17\x72\x45\x38\x50\x90)", data):
            return bz2.decompress(data)
    except (OSError, EOFError, lzma.LZMAError, ValueError) as e:
        raise InputError(f"{name}: cannot decompress: {e}") from None
    if data.startswith(b"\x28\xb5\x2f\xfd"):
        raise InputError(f"{name}: zstd input is not supported by the reference")
    return data


def expand_paths(paths: list[str]) -> list[str]:
    """No PATH means stdin ("-").  A directory stands for its regular files whose names do not
    start with '.', non-recursive (sorted by name: order does not change the counts)."""
    if not paths:
        return ["-"]
    out = []
    for p in paths:
        if p != "-" and os.path.isdir(p):
            try:
                names = sorted(os.listdir(p))
            except OSError as e:
                out.append(InputError(f"{p}: {e.strerror}"))
                continue
            out += [os.path.join(p, n) for n in names
                    if not n.startswith(".") and os.path.isfile(os.path.join(p, n))]
        else:
            out.append(p)
    return out


def read_input(path: str, stdin_data: Optional[bytes] = None) -> bytes:
    if path == "-":
        data = stdin_data if stdin_data is not None else sys.stdin.buffer.read()
        return decode_content(data, "(standard input)")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}") from None
    return decode_content(data, path)


# ----------------------------------------------------------------------------------------------
# Counting
# ----------------------------------------------------------------------------------------------

@dataclass
class Tally:
    keys: list[Key]
    groups: dict = field(default_factory=dict)  # tuple[Value, ...] -> count
    lines: int = 0
    records: int = 0
    other: int = 0  # other lines not counted: non-records under a key with netfilter fields
    counted: int = 0
    filtered: int = 0
    errors: list = field(default_factory=list)
    rows: Optional[list] = None  # sorted_rows() cache: render() may run once per format

    def summary(self) -> str:
        return (f"reference: lines={self.lines} records={self.records} other={self.other} "
                f"counted={self.counted} filtered={self.filtered} groups={len(self.groups)}")


def tally_data(t: Tally, data: bytes, conds: list[Condition]) -> None:
    """Count one input's bytes into `t` (choices.md "Conditions", Accounting)."""
    keys = t.keys
    needs_record = any(k.netfilter for k in keys)
    groups = t.groups
    for text in split_lines(data):
        line = Line(text)
        t.lines += 1
        if line.is_record:
            t.records += 1
        elif needs_record:
            t.other += 1  # a key with any netfilter field counts records only
            continue
        if not all(c.holds(line) for c in conds):
            t.filtered += 1
            continue
        t.counted += 1
        group = tuple(line.value(k) for k in keys)
        groups[group] = groups.get(group, 0) + 1


def tally_paths(paths: list[str], keys: list[Key], conds: list[Condition],
                stdin_data: Optional[bytes] = None) -> Tally:
    t = Tally(keys)
    for p in expand_paths(paths):
        if isinstance(p, InputError):
            t.errors.append(str(p))
            continue
        try:
            data = read_input(p, stdin_data)
        except InputError as e:
            t.errors.append(str(e))
            continue
        tally_data(t, data, conds)
    return t


# ----------------------------------------------------------------------------------------------
# Output (choices.md "Output")
# ----------------------------------------------------------------------------------------------

_PLAIN = re.compile(rb"[\x20-\x5b\x5d-\x7e]*")  # printable ASCII except backslash
_ESCAPE_CHARS = re.compile("[\\\\\x00-\x1f\x7f\udc80-\udcff]")


def _escape_char(m: re.Match) -> str:
    c = m.group()
    if c == "\\":
        return "\\\\"
    o = ord(c)
    # surrogateescape maps each byte of invalid UTF-8 to U+DC80..U+DCFF
    return "\\x%02x" % (o - 0xDC00 if o >= 0xDC80 else o)


def escape(v: bytes) -> bytes:
    """D(v): printable ASCII and valid multi-byte UTF-8 pass through, `\\` becomes `\\\\`, every
    other byte (controls, DEL, invalid UTF-8) becomes `\\xNN` in lowercase hex.  "Valid" is
    Python's strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF)."""
    if _PLAIN.fullmatch(v):
        return v
    s = v.decode("utf-8", "surrogateescape")
    return _ESCAPE_CHARS.sub(_escape_char, s).encode("utf-8")


def shown(v: Value) -> bytes:
    """Text/TSV/CSV form of a value: D(v), or `-` when missing."""
    return b"-" if v is None else escape(v)


def sorted_rows(t: Tally) -> list[tuple[tuple, int]]:
    """Count descending, then the text-format key bytes ascending, then (distinct groups that
    print alike) field by field with a missing value before a present one."""
    if t.rows is not None:
        return t.rows

    def sort_key(item):
        group, count = item
        text_key = b" ".join(shown(v) for v in group)
        tie = tuple((0, b"") if v is None else (1, escape(v)) for v in group)
        return (-count, text_key, tie)
    t.rows = sorted(t.groups.items(), key=sort_key)
    return t.rows


def _percent(count: int, counted: int) -> float:
    return 100.0 * count / counted  # "percent = 100 * count / counted lines"


_PLAIN_NUMBER = re.compile(rb"-[0-9]*\.?[0-9]*")


def _csv_field(f: bytes) -> bytes:
    """RFC 4180: a field containing `,` or `"` is quoted, `"` doubled. A field a spreadsheet
    would run as a formula (first byte `=`, `+`, `@`, or `-` unless the field is `-` or a
    plain number such as `-5` or `-0.25`) is quoted with an apostrophe before it."""
    formula = f[:1] in (b"=", b"+", b"@") or (
        f[:1] == b"-" and f != b"-" and not (_PLAIN_NUMBER.fullmatch(f) and any(c in b"0123456789" for c in f)))
    if formula:
        return b"\"'" + f.replace(b'"', b'""') + b'"'
    if b"," in f or b'"' in f:
        return b'"' + f.replace(b'"', b'""') + b'"'
    return f


def _json_string(b: bytes) -> bytes:
    """A JSON string of D(v): D output holds no control bytes, so only `\\` and `"` need JSON
    escaping (valid UTF-8 is written as is)."""
    return b'"' + b.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


FORMATS = ("text", "tsv", "csv", "json", "ndjson")


def render(t: Tally, fmt: str = "text", percent: bool = False, top: Optional[int] = None) -> bytes:
    rows = sorted_rows(t)
    if top is not None:
        rows = rows[:top]  # -n N keeps the first N rows of that order
    names = [k.name for k in t.keys]
    out: list[bytes] = []
    if fmt == "text":
        for group, count in rows:
            key_text = b" ".join(shown(v) for v in group)
            if percent:  # printf("%7d %6.2f%% %s\n", ...)
                out.append(b"%7d %6.2f%% %s\n" % (count, _percent(count, t.counted), key_text))
            else:  # printf("%7d %s\n", count, values joined by " ")
                out.append(b"%7d %s\n" % (count, key_text))
    elif fmt in ("tsv", "csv"):
        sep = b"\t" if fmt == "tsv" else b","
        quote = (lambda f: f) if fmt == "tsv" else _csv_field
        header = [escape(n) for n in names] + [b"count"] + ([b"percent"] if percent else [])
        out.append(sep.join(quote(f) for f in header) + b"\n")
        for group, count in rows:
            cells = [shown(v) for v in group] + [b"%d" % count]
            if percent:
                cells.append(b"%.2f" % _percent(count, t.counted))
            out.append(sep.join(quote(c) for c in cells) + b"\n")
    elif fmt in ("json", "ndjson"):
        objs = []
        for group, count in rows:
            members = [_json_string(escape(n)) + b":" + (b"null" if v is None else _json_string(escape(v)))
                       for n, v in zip(names, group)]
            members.append(b'"count":%d' % count)
            if percent:
                members.append(b'"percent":%.2f' % _percent(count, t.counted))
            objs.append(b"{" + b",".join(members) + b"}")
        if fmt == "ndjson":
            out += [o + b"\n" for o in objs]
        elif objs:  # `[`, objects joined by `,\n`, `]`, one object per line
            out.append(b"[\n" + b",\n".join(objs) + b"\n]\n")
        else:
            out.append(b"[]\n")
    else:
        raise UsageError(f"unknown format {fmt}")
    return b"".join(out)


# ----------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _positive(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="reference.py count", allow_abbrev=False)
    p.add_argument("-k", "--by", default="line")
    p.add_argument("-w", "--where", action="append", default=[])
    p.add_argument("-n", "--top", type=_positive)
    p.add_argument("-f", "--format", default="text", choices=FORMATS)
    p.add_argument("--percent", action="store_true")
    p.add_argument("-j", "--threads", type=_positive, help="accepted and ignored")
    p.add_argument("paths", nargs="*")
    return p


def run(argv: list[str], stdin_data: Optional[bytes] = None) -> tuple[bytes, str, int]:
    """Run `reference.py ARGV` in-process: returns (stdout bytes, stderr text, exit status)."""
    if not argv or argv[0] != "count":
        return b"", "reference: usage: reference.py count [OPTIONS] [PATH...] (see --help)\n", 2
    try:
        args = build_parser().parse_intermixed_args(argv[1:])
        keys = parse_keys(args.by)
        conds = [parse_condition(c) for c in args.where]
    except UsageError as e:
        return b"", f"reference: {e}\nTry 'reference.py count --help'.\n", 2
    t = tally_paths(args.paths, keys, conds, stdin_data)
    out = render(t, args.format, args.percent, args.top)
    err = "".join(f"reference: {e}\n" for e in t.errors) + t.summary() + "\n"
    return out, err, 2 if t.errors else 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "count" and any(a in ("-h", "--help") for a in sys.argv[2:]):
        build_parser().print_help()
        return 0
    out, err, status = run(sys.argv[1:])
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    sys.stderr.write(err)
    return status


if __name__ == "__main__":
    sys.exit(main())
