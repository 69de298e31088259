"""Read each tool's output into a normalised answer and judge it against the independent check.

A keyed answer is a Counter {(value, ...): count}; values are shown through D(v) of
docs/choices.md and a missing or empty value is '-', so layouts (uniq -c, TSV, count first or
last) do not matter.
"""

import collections
import functools
import mmap
import re

from . import check

_UNIQC = re.compile(rb"^\s*(\d+) (.*)$")


class ParseError(Exception):
    pass


def _norm(v, raw):
    if raw:
        return check.escape(v) if v else "-"
    v = v.decode("utf-8", "surrogateescape")
    return v if v else "-"


def _keyed(path, nkeys, layout, raw):
    out = collections.Counter()
    with open(path, "rb") as f:
        for ln, line in enumerate(f, 1):
            line = line.rstrip(b"\n")
            if not line:
                continue
            if layout == "uniqc":
                m = _UNIQC.match(line)
                if not m:
                    raise ParseError("line %d: %r" % (ln, line[:80]))
                n, vals = int(m.group(1)), m.group(2).split(b" ")
            else:
                parts = line.split(b"\t")
                if layout == "count_first":
                    n, vals = parts[0], parts[1:]
                else:
                    n, vals = parts[-1], parts[:-1]
                try:
                    n = int(n)
                except ValueError:
                    raise ParseError("line %d: %r" % (ln, line[:80]))
            if len(vals) != nkeys:
                raise ParseError("line %d: %d values, want %d: %r" % (ln, len(vals), nkeys,
                                                                    line[:80]))
            out[tuple(_norm(v, raw) for v in vals)] += n
    return out


def _name_counts(path):
    """Lines `name count` (grep chain) or any row with a lower-case name and a count."""
    out = {}
    with open(path, "rb") as f:
        for line in f:
            words = line.decode("utf-8", "replace").replace(",", "").split()
            name = next((w for w in words if re.fullmatch(r"[a-z][a-z0-9_-]*", w)), None)
            num = next((w for w in words if w.isdigit()), None)
            if name and num is not None and name != "total":
                out[name] = out.get(name, 0) + int(num)
    return out


def parse(row, path):
    nk = len(row.keyset.split(",")) if row.keyset else 0
    if row.parse == "uniqc":
        return _keyed(path, nk, "uniqc", raw=False)
    if row.parse == "uniqc_raw":
        return _keyed(path, nk, "uniqc", raw=True)
    if row.parse == "tsv_count_first":
        return _keyed(path, nk, "count_first", raw=True)
    if row.parse == "tsv_count_last":
        return _keyed(path, nk, "count_last", raw=True)
    if row.parse in ("grepchain", "services"):
        return _name_counts(path)
    if row.parse == "wc":
        with open(path) as f:
            return int(f.read().split()[0])
    if row.parse == "fwlogwatch":
        with open(path, "rb") as f:
            head = f.read(4096).decode("utf-8", "replace")
        m = re.search(r"(\d+) (?:\(and (\d+) malformed\) )?of (\d+) entries", head)
        if not m:
            raise ParseError("no summary line")
        return {"packets": int(m.group(1)), "malformed": int(m.group(2) or 0),
                "entries": int(m.group(3))}
    raise ValueError(row.parse)


def _diff_groups(a, b):
    return sum(1 for k in set(a) | set(b) if a.get(k, 0) != b.get(k, 0))


def _fmt(n):
    return "{:,}".format(n)


def _sfmt(n):
    return "{:+,}".format(n)


MODEL_WHY = {
    "awk_last": "{n} ICMP errors keyed on the quoted packet (the last {keys} token wins, "
                "brackets not skipped)",
    "regex_first": "{n} ICMP errors get the quoted packet's DPT (first ' KEY=' match in the "
                   "line, brackets not skipped)",
    "dkvp_first": "{dropped} records lacking a key (no DPT=) not counted by count -g; {n} ICMP "
                  "errors get the quoted packet's DPT",
    "ipv6_as_written": "{ipv6} records with an IPv6 DST shown as ulogd wrote it (compressed, "
                       "`::`); logtally shows all eight groups, as the LOG target prints them",
}


def judge_keyed(row, got, ref):
    """Sets row.answer (and row.wrong for a logtally row); returns True when same."""
    want = ref["careful"][row.keyset]
    if got == want:
        row.answer = "same" if not row.logtally else "same (= independent check)"
        return True
    ndiff = _diff_groups(got, want)
    if row.logtally:
        row.wrong = True
        row.answer = ("WRONG: %s of %s groups differ from the independent check"
                      % (_fmt(ndiff), _fmt(len(want))))
        return False
    model = row.model
    if model in ref.get("model_deltas", {}) and \
            got == check.model_answer(ref, model, row.keyset):
        lines = ref["model_lines"][model][row.keyset]
        keys = "/".join(k + "=" for k in row.keyset.split(","))
        why = MODEL_WHY[model].format(keys=keys, n=_fmt(lines.get("bracket", 0)),
                                      dropped=_fmt(lines.get("dropped", 0)),
                                      ipv6=_fmt(lines.get("ipv6", 0)))
        extra = lines.get("extra", 0) + lines.get("other", 0)
        if extra:
            why += ", %s other lines keyed differently" % _fmt(extra)
        row.answer = "differs: %s; %s of %s groups differ [verified]" % (
            why, _fmt(ndiff), _fmt(len(want)))
        return False
    row.answer = ("differs (%s of %s groups): UNEXPLAINED, matches no model; see %s"
                  % (_fmt(ndiff), _fmt(len(want)), row.out))
    return False


def judge_grep(row, got, ref):
    var = row.model.split(":", 1)[1]
    g = ref["grep"][var]
    want = {c: ref["careful_cat"].get(c, 0) for c in check.CATEGORIES}
    if got == want:
        row.answer = "same"
        return
    parts = []
    for c in check.CATEGORIES:
        d = got.get(c, 0) - want[c]
        if not d:
            continue
        if c == "other":
            parts.append("other %s" % _sfmt(d))
            continue
        causes = g["fp"].get(c, {})
        bits = []
        if causes.get("longer port"):
            ports = g["fp_ports"].get(c, {})
            top = "/".join("%s" % p for p in list(ports)[:2])
            bits.append("%s longer ports (%s…)" % (_fmt(causes["longer port"]), top))
        if causes.get("ICMP-error quote"):
            bits.append("%s ICMP-error quotes" % _fmt(causes["ICMP-error quote"]))
        if causes.get("elsewhere"):
            bits.append("%s elsewhere" % _fmt(causes["elsewhere"]))
        if causes.get("missed"):
            bits.append("-%s missed" % _fmt(causes["missed"]))
        parts.append("%s %s = %s" % (c, _sfmt(d), " + ".join(bits)))
    verified = got == g["counts"]
    row.answer = "differs: " + "; ".join(parts) + (
        " [verified: the causes add up]" if verified else " [UNEXPLAINED: the causes do not "
        "add up to the difference]")


def judge_services(row, got, ref):
    want = ref["services"]
    if got == want:
        row.answer = "same (= independent check)"
    else:
        row.wrong = True
        bad = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
        row.answer = "WRONG: categories differ from the independent check: " + ", ".join(bad)


def judge(row, ref):
    """Read row.out and set row.answer; returns nothing (row.wrong marks a wrong logtally).

    ref: the main log's independent answer, with job 7's under "spill" and job 8's under
    "ndjson" (a row's `check` says which it is judged against)."""
    if not row.parse:
        row.answer = "n/a (no answer: a floor)"
        return
    if row.check:
        ref = ref[row.check]
    if row.parse in ("uniqc_digest", "uniqc_digest_raw"):
        try:
            judge_spill(row, ref)
        except (ParseError, OSError, ValueError) as e:
            row.answer = "could not read the output: %s" % e
            if row.logtally:
                row.wrong = True
        return
    try:
        got = parse(row, row.out)
    except (ParseError, OSError, ValueError, IndexError) as e:
        row.answer = "could not read the output: %s" % e
        if row.logtally:
            row.wrong = True
        return
    if row.parse in ("uniqc", "uniqc_raw", "tsv_count_first", "tsv_count_last"):
        judge_keyed(row, got, ref)
    elif row.parse == "grepchain":
        judge_grep(row, got, ref)
    elif row.parse == "services":
        judge_services(row, got, ref)
    elif row.parse == "wc":
        row.answer = ("same (%s lines)" % _fmt(got) if got == ref["lines"] else
                      "differs: %s lines, the check reads %s (a last line without a newline?)"
                      % (_fmt(got), _fmt(ref["lines"])))
    elif row.parse == "fwlogwatch":
        judge_fwlogwatch(row, got, ref)


def judge_fwlogwatch(row, got, ref):
    st = ref["stats"]
    records = ref["records"]
    rejects = st.get("records_fwlogwatch_rejects", 0)
    shape = "; its groups (prefix, interface, proto, DST, port; ICMP by type) are not " \
            "comparable row by row"
    if got["packets"] == records:
        row.answer = "same record count (%s)%s" % (_fmt(records), shape)
        return
    why = ("counts %s of %s records: rejects %s as malformed" % (
        _fmt(got["packets"]), _fmt(records), _fmt(got["malformed"])))
    if got["packets"] + got["malformed"] == records and got["malformed"] == rejects:
        why += " (%s RFC 3339 `…Z` lines, %s port-less TCP fragments) [verified]" % (
            _fmt(st.get("records_rfc3339_utc", 0)), _fmt(st.get("records_tcp_without_dpt", 0)))
    else:
        why += " [UNEXPLAINED: the check expects %s rejects]" % _fmt(rejects)
    row.answer = "differs: " + why + shape



# --- Job 7: answers too big for Python memory, compared through digests (check.py). ---

def _digest_work(args, nkeys, raw, watch):
    """Digest of the `count value...` lines (uniq -c layout) in a byte range of an output."""
    path, lo, hi = args
    h, count_hash, shown = check.h, check.count_hash, check.shown_bytes
    wsum = psum = groups = total = 0
    seen = collections.Counter()
    if hi <= lo:
        return wsum, psum, groups, total, seen
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            pos = lo
            while pos < hi:
                end = min(pos + (32 << 20), hi)
                if end < hi:
                    nl = mm.find(b"\n", end - 1, hi)
                    end = hi if nl < 0 else nl + 1
                block = mm[pos:end]
                pos = end
                lines = block.split(b"\n")
                if block.endswith(b"\n"):
                    lines.pop()
                for line in lines:
                    if not line:
                        continue
                    t = line.lstrip(b" ")
                    i = t.find(b" ")
                    if i <= 0 or not t[:i].isdigit():
                        raise ParseError("not `count value`: %r" % line[:80])
                    n = int(t[:i])
                    rest = t[i + 1:]
                    if nkeys == 1:
                        kb = shown(rest) if raw else (rest or b"-")
                    else:
                        vals = rest.split(b" ")
                        if len(vals) != nkeys:
                            raise ParseError("%d values, want %d: %r" % (len(vals), nkeys,
                                                                         line[:80]))
                        kb = b"\x00".join(shown(v) if raw else (v or b"-") for v in vals)
                    hk = h(kb)
                    wsum += n * hk
                    psum += count_hash(n) * hk
                    groups += 1
                    total += n
                    if watch and kb in watch:
                        seen[kb] += n
        finally:
            mm.close()
    return wsum % check.P, psum % check.P, groups, total, seen


def digest(path, nkeys, raw, watch=None):
    """{wsum, psum, groups, total, seen}: see check.py; seen holds the counts of the keys in
    watch. Streams the file on all cores; nothing of it is kept."""
    work = functools.partial(_digest_work, nkeys=nkeys, raw=raw, watch=watch)
    out = {"wsum": 0, "psum": 0, "groups": 0, "total": 0, "seen": collections.Counter()}
    for w, p, g, t, seen in check.map_ranges(work, path):
        out["wsum"] = (out["wsum"] + w) % check.P
        out["psum"] = (out["psum"] + p) % check.P
        out["groups"] += g
        out["total"] += t
        out["seen"].update(seen)
    return out


def _model_grouping(got, delta):
    """The careful answer's (psum, groups), from a competitor's answer that equals its model:
    the model moves delta[key] records onto each key (minus: away from it), so the careful count
    of a key is the competitor's minus delta. None when that would be negative."""
    psum, groups = got["psum"], got["groups"]
    for kb, d in delta.items():
        have = got["seen"].get(kb, 0)
        want = have - d
        if want < 0:
            return None
        hk = check.h(kb)
        if have:
            psum -= check.count_hash(have) * hk
            groups -= 1
        if want:
            psum += check.count_hash(want) * hk
            groups += 1
    return psum % check.P, groups


def judge_spill(row, sp):
    """Job 7. sp: check.stream_check()'s answer; its "grouped" entry collects, per keyset, the
    grouping (psum) a competitor's verified answer implies, and "logtally" the logtally rows'.

    - A competitor's answer must have the digest of the independent tally (or of its model's).
      Its grouping is then taken as the reference grouping: coreutils' uniq -c groups equal
      lines, and the model's per-key changes carry it over to the careful answer.
    - A logtally answer must have the digest of the independent tally (the same records under
      the same keys, its counts adding up to the lines or netfilter records) and the reference
      grouping (the same counts per key); a second logtally answer must equal the first."""
    ks = row.keyset
    line_key = ks == "line"
    want = sp["line"] if line_key else sp["careful"][ks]
    mod = None if line_key or not row.model else sp["model"][row.model][ks]
    got = digest(row.out, 1 if line_key else len(ks.split(",")), row.parse.endswith("_raw"),
                 set(mod["delta"]) if mod else None)
    grouped = sp.setdefault("grouped", {})
    lts = sp.setdefault("logtally", {}).setdefault(ks, [])
    what = ("lines" if line_key else "netfilter records")
    same_records = got["wsum"] == want["wsum"] and got["total"] == want["total"]
    if not row.logtally:
        if same_records:
            grouped[ks] = (row.tool, got["psum"], got["groups"])
            row.answer = "same (%s groups, %s %s: the independent tally's)" % (
                _fmt(got["groups"]), _fmt(got["total"]), what)
            return
        if mod and got["wsum"] == mod["wsum"] and got["total"] == mod["total"]:
            lines = mod["lines"]
            keys = "/".join(k + "=" for k in ks.split(","))
            why = MODEL_WHY[row.model].format(keys=keys, n=_fmt(lines.get("bracket", 0)),
                                              dropped=_fmt(lines.get("dropped", 0)), ipv6=0)
            extra = lines.get("extra", 0) + lines.get("other", 0)
            if extra:
                why += ", %s other lines keyed differently" % _fmt(extra)
            careful = _model_grouping(got, mod["delta"])
            if careful is None:
                row.answer = ("differs: its keys are the model's, but its counts cannot be "
                              "carried over to the careful answer: UNEXPLAINED; see %s"
                              % row.out)
                return
            grouped[ks] = (row.tool + " (model changes undone)",) + careful
            row.answer = "differs: %s; %s groups, the careful answer %s [verified]" % (
                why, _fmt(got["groups"]), _fmt(careful[1]))
            return
        row.answer = ("differs: %s %s in %s groups, not the independent tally's %s %s: "
                      "UNEXPLAINED, matches no model; see %s" % (
                          _fmt(got["total"]), what, _fmt(got["groups"]), _fmt(want["total"]),
                          what, row.out))
        return
    if not same_records:
        row.wrong = True
        row.answer = ("WRONG: %s %s in %s groups, not the independent tally's %s%s" % (
            _fmt(got["total"]), what, _fmt(got["groups"]), _fmt(want["total"]),
            "" if got["total"] != want["total"] else " (same total, different keys)"))
        return
    parts = []
    if not line_key:
        parts.append("the counts add up to the %s netfilter records" % _fmt(sp["records"]))
    peer = grouped.get(ks)
    if peer:
        if (got["psum"], got["groups"]) != tuple(peer[1:]):
            row.wrong = True
            row.answer = ("WRONG: the same %s %s, but grouped differently from %s (%s groups, "
                          "it has %s)" % (_fmt(got["total"]), what, peer[0], _fmt(peer[2]),
                                          _fmt(got["groups"])))
            return
        parts.insert(0, "= %s, group by group (%s groups)" % (peer[0], _fmt(got["groups"])))
    else:
        parts.insert(0, "%s groups; the grouping is not cross-checked: no verified competitor "
                        "answer" % _fmt(got["groups"]))
    for tool, psum in lts:
        if psum != got["psum"]:
            row.wrong = True
            row.answer = "WRONG: not the answer of %s (same keys, different counts)" % tool
            return
        parts.append("= %s" % tool)
    lts.append((row.tool, got["psum"]))
    if line_key:
        esc = sp["escaped_lines"]
        parts.append("every line is printable ASCII, so its display is the line itself" if not esc
                     else "%s lines are not printable ASCII: their display D(line) is compared"
                     % _fmt(esc))
        if sp["cr_lines"]:
            parts.append("%s lines end in CR" % _fmt(sp["cr_lines"]))
    row.answer = "same (= independent tally; %s)" % "; ".join(parts)
