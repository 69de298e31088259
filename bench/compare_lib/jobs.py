"""The jobs and tool rows of bench/compare: each row is one shell command and how to read it."""

import dataclasses
import os
import shlex
import shutil

from . import setup

JOBS = {
    1: "count",
    2: "services",
    3: "highcard",
    4: "compressed",
    5: "floors",
    6: "fwlogwatch",
    7: "spill",
    8: "ndjson",
    9: "archives",
}
JOB_TITLES = {
    1: "count by DST,DPT,PROTO",
    2: "service breakdown",
    3: "high cardinality: SRC,SPT,DST,DPT",
    4: "compressed input: DST,DPT,PROTO",
    5: "floors",
    6: "fwlogwatch summary",
    7: "exact counts within a memory budget: every line unique",
    8: "ulogd2 JSON lines: DST,DPT",
    9: "two .gz archives on all threads vs one after the other: DST,DPT,PROTO",
}

# Job 7: the memory budget of the issue ("exact counts at any cardinality within a memory
# budget"), given to logtally --memory and to sort -S alike; a logtally spill row is flagged
# when its peak RSS exceeds SPILL_RSS_FACTOR times the budget.
SPILL_BUDGET = "256M"
SPILL_BUDGET_MIB = 256
SPILL_RSS_FACTOR = 1.2
# Job 9: the issue asks two archives on 2 threads to be at least this much faster than one
# after the other.
ARCHIVES_GOAL = 1.7


@dataclasses.dataclass
class Row:
    job: int
    tool: str
    cmd: str
    input: object              # the file (or list of files) the command reads, warmed first
    parse: str = None          # how to read its output (answers.PARSERS), None: no answer
    keyset: str = None         # check.KEYSETS name for keyed answers
    model: str = None          # the naive model a differing answer must equal (check.MODELS)
    logtally: bool = False     # a logtally answer: must equal the independent check
    ref: str = None            # this row is the logtally reference for ratio group `ref`
    ratio_to: str = "count"    # ratio group whose reference divides this row's time
    pipefail: bool = True
    note: str = ""
    nbytes: int = None         # uncompressed bytes read, for MB/s (None: the main plain log)
    check: str = None          # the independent answer to judge against: None (the main log's),
                               # "spill" (job 7's streaming digests) or "ndjson" (job 8's)
    rss_cap_mib: float = None  # flag the peak RSS against this bound (job 7's logtally rows)
    faster_goal: float = None  # the reference should be this many times faster (job 9)
    # Filled in by the runner.
    times: list = dataclasses.field(default_factory=list)
    rss_kb: list = dataclasses.field(default_factory=list)
    out: str = None
    error: str = None
    timed_out: int = 0         # a run was stopped after this many seconds
    idx: int = 0               # position in the run, for unique output file names
    answer: str = ""
    wrong: bool = False

    @property
    def slug(self):
        keep = "".join(c if c.isalnum() else "-" for c in self.tool.lower())
        return "%02d-job%d-%s" % (self.idx, self.job,
                                   "-".join(p for p in keep.split("-") if p)[:60])


def q(s):
    return shlex.quote(s)


def awk_program(keys, hash_table, ofs=None):
    """The extraction a careful admin writes: split on blanks, pick KEY= tokens (last one wins).

    It does not skip the bracketed quote of an ICMP error, and later tokens overwrite earlier
    ones, so DST/DPT/PROTO of an ICMP error come from the quoted packet.
    """
    names = [k.lower() for k in keys]
    lines = ["/IN=/ {", "  %s = \"\"" % " = ".join(names), "  for (i = 1; i <= NF; i++) {"]
    for i, (k, n) in enumerate(zip(keys, names)):
        kw = "if" if i == 0 else "else if"
        lines.append("    %s ($i ~ /^%s=/) %s = substr($i, %d)" % (kw, k, n, len(k) + 2))
    lines.append("  }")
    if hash_table:
        lines.append("  n[%s]++" % ' " " '.join(names))
        lines.append("}")
        lines.append("END { for (k in n) print n[k], k }")
    else:
        lines.append("  print %s" % ", ".join(names))
        lines.append("}")
    prog = "\n".join(lines)
    if ofs is not None:
        return "-v OFS=%s %s" % (q(ofs), q(prog))
    return q(prog)


GREP_CHAIN_CATEGORIES = (
    ("dns", ("53",)), ("ntp", ("123",)), ("http", ("80",)), ("https", ("443",)),
    ("ssh", ("22",)), ("smtp", ("25", "465", "587")), ("imap", ("143", "993")),
)


def grep_chain(path, space):
    """The 14 greps a sysadmin types for the service breakdown (7 counts, 7 in the -v chain)."""
    tail = " " if space else ""

    def pats(ports):
        return " ".join("-e %s" % q("DPT=" + p + tail) for p in ports)

    f = q(path)
    out = []
    for name, ports in GREP_CHAIN_CATEGORIES:
        out.append('echo "%s $(grep -c %s %s)"' % (name, pats(ports), f))
    chain = " | ".join("grep -v %s" % pats(ports) for _, ports in GREP_CHAIN_CATEGORIES)
    first, rest = chain.split(" | ", 1)
    out.append('echo "other $(%s %s | %s | wc -l)"' % (first, f, rest))
    return "; ".join(out)


def build_rows(ctx, jobs):
    """ctx: dict with logtally, bench_dir, plain, gz, zst, nproc, locale, duckdb, services,
    and for jobs 7-9 spill, ndjson, halves (the two .gz halves of plain) and mem_total."""
    lt = q(ctx["logtally"])
    plain, gz, zst = ctx["plain"], ctx["gz"], ctx["zst"]
    n = ctx["nproc"]
    awk = setup.awk_name() or "awk"
    has = {c: bool(shutil.which(c)) for c in ("mawk", "mlr", "datamash", "node", "igzip",
                                               "zstd", "fwlogwatch")}
    rows = []
    skipped = []
    k1 = "DST,DPT,PROTO"
    k1l = k1.split(",")
    k3 = "SRC,SPT,DST,DPT"
    k3l = k3.split(",")
    duck = os.path.join(ctx["bench_dir"], "duckdb", "count.mjs")

    if 1 in jobs:
        rows.append(Row(1, "logtally -j 1", "%s count -q -j 1 -k %s %s" % (lt, k1, q(plain)),
                        plain, "uniqc", k1, logtally=True))
        rows.append(Row(1, "logtally -j %d (all)" % n,
                        "%s count -q -j %d -k %s %s" % (lt, n, k1, q(plain)), plain, "uniqc", k1,
                        logtally=True, ref="count"))
        loc = ctx["locale"]
        rows.append(Row(1, "%s | sort | uniq -c | sort -rn (%s)" % (awk, loc),
                        "awk %s %s | sort | uniq -c | sort -rn" % (awk_program(k1l, False),
                                                                  q(plain)),
                        plain, "uniqc_raw", k1, model="awk_last",
                        note="" if loc not in ("C", "POSIX") else
                        "the default locale is already %s" % loc))
        rows.append(Row(1, "%s | sort | uniq -c | sort -rn (LC_ALL=C)" % awk,
                        "export LC_ALL=C; awk %s %s | sort | uniq -c | sort -rn"
                        % (awk_program(k1l, False), q(plain)),
                        plain, "uniqc_raw", k1, model="awk_last"))
        if has["mawk"]:
            rows.append(Row(1, "LC_ALL=C mawk hash | sort -rn",
                            "export LC_ALL=C; mawk %s %s | sort -rn"
                            % (awk_program(k1l, True), q(plain)),
                            plain, "uniqc_raw", k1, model="awk_last"))
        else:
            skipped.append("job 1 mawk hash: mawk not installed")
        if has["mawk"] and has["datamash"]:
            rows.append(Row(1, "LC_ALL=C mawk | datamash -s groupby count",
                            "export LC_ALL=C; mawk %s %s | datamash -s -g 1,2,3 count 1 "
                            "| sort -t \"$(printf '\\t')\" -k4,4nr"
                            % (awk_program(k1l, False, ofs="\t"), q(plain)),
                            plain, "tsv_count_last", k1, model="awk_last",
                            note="tab-separated extraction: datamash -W would collapse an "
                                 "empty DPT"))
        else:
            skipped.append("job 1 datamash: datamash or mawk not installed")
        if has["mlr"]:
            rows.append(Row(1, "mlr DKVP count -g",
                            "mlr --idkvp --ifs ' ' --repifs --ips '=' --onidx --ofs tab "
                            "count -g %s then sort -nr count %s" % (k1, q(plain)),
                            plain, "tsv_count_last", k1, model="dkvp_first"))
        else:
            skipped.append("job 1 Miller: mlr not installed")
        if ctx["duckdb"]:
            rows.append(Row(1, "DuckDB regexp_extract (threads=%d)" % n,
                            "node %s %s %s %d" % (q(duck), q(plain), k1, n),
                            plain, "tsv_count_first", k1, model="regex_first"))
        else:
            skipped.append("job 1 DuckDB: @duckdb/node-api not available")

    if 2 in jobs:
        rows.append(Row(2, "grep chain, 14 greps 'DPT=N'", grep_chain(plain, False), plain,
                        "grepchain", model="grep:plain", pipefail=False, ratio_to="services"))
        rows.append(Row(2, "grep chain, 14 greps 'DPT=N '", grep_chain(plain, True), plain,
                        "grepchain", model="grep:space", pipefail=False, ratio_to="services"))
        if ctx["services"]:
            rows.append(Row(2, "logtally services", "%s services -q %s" % (lt, q(plain)), plain,
                            "services", logtally=True, ref="services", ratio_to="services"))
        else:
            skipped.append("job 2 logtally services: not implemented yet (`logtally services "
                           "--help` shows no services usage); `logtally count -k DPT` stands in "
                           "(a different product: per port, not per category)")
        rows.append(Row(2, "logtally count -k DPT (stand-in for services)",
                        "%s count -q -k DPT %s" % (lt, q(plain)), plain, "uniqc", "DPT",
                        logtally=True, ref=None if ctx["services"] else "services",
                        ratio_to="services"))

    if 3 in jobs:
        sort_opts = "-S 25%% --parallel=%d" % n
        rows.append(Row(3, "logtally -j 1", "%s count -q -j 1 -k %s %s" % (lt, k3, q(plain)),
                        plain, "uniqc", k3, logtally=True, ratio_to="highcard"))
        rows.append(Row(3, "logtally -j %d (all)" % n,
                        "%s count -q -j %d -k %s %s" % (lt, n, k3, q(plain)), plain, "uniqc", k3,
                        logtally=True, ref="highcard", ratio_to="highcard"))
        rows.append(Row(3, "%s | sort %s | uniq -c | sort -rn (LC_ALL=C)" % (awk, sort_opts),
                        "export LC_ALL=C; awk %s %s | sort %s | uniq -c | sort %s -rn"
                        % (awk_program(k3l, False), q(plain), sort_opts, sort_opts),
                        plain, "uniqc_raw", k3, model="awk_last", ratio_to="highcard"))
        if has["mawk"]:
            rows.append(Row(3, "LC_ALL=C mawk hash | sort -rn",
                            "export LC_ALL=C; mawk %s %s | sort %s -rn"
                            % (awk_program(k3l, True), q(plain), sort_opts),
                            plain, "uniqc_raw", k3, model="awk_last", ratio_to="highcard"))
        if ctx["duckdb"]:
            rows.append(Row(3, "DuckDB regexp_extract (threads=%d)" % n,
                            "node %s %s %s %d" % (q(duck), q(plain), k3, n),
                            plain, "tsv_count_first", k3, model="regex_first",
                            ratio_to="highcard"))

    if 4 in jobs:
        rows.append(Row(4, "logtally .gz", "%s count -q -k %s %s" % (lt, k1, q(gz)), gz, "uniqc",
                        k1, logtally=True, ref="gz", ratio_to="gz"))
        if zst:
            rows.append(Row(4, "logtally .zst", "%s count -q -k %s %s" % (lt, k1, q(zst)), zst,
                            "uniqc", k1, logtally=True, ref="zst", ratio_to="zst"))
        if has["igzip"]:
            rows.append(Row(4, "floor: igzip -dc .gz > /dev/null",
                            "igzip -dc %s > /dev/null" % q(gz), gz, ratio_to="gz"))
        else:
            rows.append(Row(4, "floor: gzip -dc .gz > /dev/null",
                            "gzip -dc %s > /dev/null" % q(gz), gz, ratio_to="gz",
                            note="igzip (isal) not installed: gzip -dc instead"))
        if zst and has["zstd"]:
            rows.append(Row(4, "floor: zstd -dc .zst > /dev/null",
                            "zstd -dcq %s > /dev/null" % q(zst), zst, ratio_to="zst"))
        if has["mawk"]:
            rows.append(Row(4, "zcat .gz | LC_ALL=C mawk hash | sort -rn",
                            "export LC_ALL=C; zcat %s | mawk %s | sort -rn"
                            % (q(gz), awk_program(k1l, True)),
                            gz, "uniqc_raw", k1, model="awk_last", ratio_to="gz"))
            if zst and has["zstd"]:
                rows.append(Row(4, "zstdcat .zst | LC_ALL=C mawk hash | sort -rn",
                                "export LC_ALL=C; zstdcat -q %s | mawk %s | sort -rn"
                                % (q(zst), awk_program(k1l, True)),
                                zst, "uniqc_raw", k1, model="awk_last", ratio_to="zst"))

    if 5 in jobs:
        rows.append(Row(5, "floor: cat > /dev/null", "cat %s > /dev/null" % q(plain), plain))
        rows.append(Row(5, "floor: wc -l", "wc -l < %s" % q(plain), plain, "wc"))

    if 6 in jobs:
        if has["fwlogwatch"]:
            rows.append(Row(6, "fwlogwatch -d -p -S (summary)",
                            "fwlogwatch -d -p -S %s" % q(plain), plain,
                            "fwlogwatch"))
        else:
            skipped.append("job 6 fwlogwatch: not installed")
    if 7 in jobs:
        spill, sbytes = ctx["spill"], os.path.getsize(ctx["spill"])
        budget = SPILL_BUDGET
        cap = SPILL_BUDGET_MIB * SPILL_RSS_FACTOR
        sort_opts = "-S %s --parallel=%d" % (budget, n)
        # The coreutils rows come first: the logtally rows are checked against their grouping.
        rows.append(Row(7, "sort %s | uniq -c | sort -rn (LC_ALL=C)" % sort_opts,
                        "export LC_ALL=C; sort %s %s | uniq -c | sort %s -rn"
                        % (sort_opts, q(spill), sort_opts),
                        spill, "uniqc_digest_raw", "line", ratio_to="spill", nbytes=sbytes,
                        check="spill", note="the final sort -rn gets the same -S and "
                                            "--parallel (the whole output is as big as the "
                                            "input)"))
        rows.append(Row(7, "cat | logtally --memory %s -k line - (pipe)" % budget,
                        "cat %s | %s count -q --memory %s -k line -" % (q(spill), lt, budget),
                        spill, "uniqc_digest", "line", logtally=True, ref="spill",
                        ratio_to="spill", nbytes=sbytes, check="spill", rss_cap_mib=cap))
        rows.append(Row(7, "logtally --memory %s -k line FILE" % budget,
                        "%s count -q --memory %s -k line %s" % (lt, budget, q(spill)),
                        spill, "uniqc_digest", "line", logtally=True, ratio_to="spill",
                        nbytes=sbytes, check="spill", rss_cap_mib=cap,
                        note="the file read directly, as sort reads it"))
        mem = ctx.get("mem_total") or 0
        rows.append(Row(7, "logtally -k line FILE (default budget%s)"
                        % (": ¼ of RAM, %.1f GiB" % (mem / 4 / (1 << 30)) if mem else ""),
                        "%s count -q -k line %s" % (lt, q(spill)),
                        spill, "uniqc_digest", "line", logtally=True, ratio_to="spill",
                        nbytes=sbytes, check="spill"))
        # What writing a result that large costs by itself: the log is about the
        # result's size (each line once, behind its count), written the same way.
        rows.append(Row(7, "floor: cat FILE (as many bytes written to the output file)",
                        "cat %s" % q(spill), spill, ratio_to="spill", nbytes=sbytes,
                        note="no counting at all: the result's bytes (the log's, plus 8 per "
                             "line for the count) written where every job-7 row writes its "
                             "result, a file on the same disk"))
        rows.append(Row(7, "%s | sort %s | uniq -c | sort -rn (LC_ALL=C)" % (awk, sort_opts),
                        "export LC_ALL=C; awk %s %s | sort %s | uniq -c | sort %s -rn"
                        % (awk_program(k3l, False), q(spill), sort_opts, sort_opts),
                        spill, "uniqc_digest_raw", k3, model="awk_last", ratio_to="spill",
                        nbytes=sbytes, check="spill"))
        rows.append(Row(7, "cat | logtally --memory %s -k %s - (pipe)" % (budget, k3),
                        "cat %s | %s count -q --memory %s -k %s -" % (q(spill), lt, budget, k3),
                        spill, "uniqc_digest", k3, logtally=True, ratio_to="spill",
                        nbytes=sbytes, check="spill", rss_cap_mib=cap))

    if 8 in jobs:
        nd, nbytes = ctx["ndjson"], os.path.getsize(ctx["ndjson"])
        rows.append(Row(8, "logtally -k DST,DPT .ndjson",
                        "%s count -q -k DST,DPT %s" % (lt, q(nd)), nd, "uniqc", "DST,DPT",
                        logtally=True, ref="ndjson", ratio_to="ndjson", nbytes=nbytes,
                        check="ndjson"))
        if ctx["duckdb"]:
            rows.append(Row(8, "DuckDB read_json GROUP BY dest_ip, dest_port (threads=%d)" % n,
                            "node %s --json %s dest_ip,dest_port %d" % (q(duck), q(nd), n),
                            nd, "tsv_count_first", "DST,DPT", model="ipv6_as_written",
                            ratio_to="ndjson", nbytes=nbytes, check="ndjson"))
        else:
            skipped.append("job 8 DuckDB: @duckdb/node-api not available")

    if 9 in jobs:
        a, b = ctx["halves"]
        ab = "%s %s" % (q(a), q(b))
        rows.append(Row(9, "logtally A.gz B.gz (-j %d, all)" % n,
                        "%s count -q -k %s %s" % (lt, k1, ab), [a, b], "uniqc", k1,
                        logtally=True, ref="archives", ratio_to="archives"))
        rows.append(Row(9, "logtally -j 1 A.gz B.gz (one after the other)",
                        "%s count -q -j 1 -k %s %s" % (lt, k1, ab), [a, b], "uniqc", k1,
                        logtally=True, ratio_to="archives", faster_goal=ARCHIVES_GOAL,
                        note="one thread decodes and counts the archives in turn"))
        rows.append(Row(9, "logtally A.gz && logtally B.gz (two runs)",
                        "%s count -q -k %s %s && %s count -q -k %s %s"
                        % (lt, k1, q(a), lt, k1, q(b)), [a, b], "uniqc", k1,
                        logtally=True, ratio_to="archives", faster_goal=ARCHIVES_GOAL,
                        note="two tables, summed by the check"))

    for i, r in enumerate(rows, 1):
        r.idx = i
    return rows, skipped


def _median(xs):
    s = sorted(xs)
    n = len(s)
    if not n:
        return None
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def _add_note(row, text):
    row.note = (row.note + "; " if row.note else "") + text


def annotate(rows):
    """Notes that need the timings: job 7's peak RSS against the budget, job 9's speed-up."""
    refs = {r.ref: r for r in rows if r.ref and r.times and not r.wrong and not r.error}
    for r in rows:
        if not r.times or r.error or r.timed_out:
            continue
        if r.rss_cap_mib:
            rss = max(r.rss_kb) / 1024
            within = rss <= r.rss_cap_mib
            _add_note(r, "peak RSS %.0f MiB: %s %.1f × %d MiB = %.0f MiB" % (
                rss, "within" if within else "**OVER**", SPILL_RSS_FACTOR, SPILL_BUDGET_MIB,
                r.rss_cap_mib))
            nbytes = r.nbytes or 0
            if nbytes and nbytes < SPILL_BUDGET_MIB << 20:
                _add_note(r, "the input (%.0f MiB) is smaller than the budget: this size need "
                             "not spill (--spill-lines)" % (nbytes / (1 << 20)))
        if r.faster_goal:
            ref = refs.get(r.ratio_to)
            if ref is None or ref is r:
                continue
            speedup = _median(r.times) / _median(ref.times)
            _add_note(r, "%s is %.2f× faster than this (goal ≥ %.1f×: %s)" % (
                ref.tool, speedup, r.faster_goal, "met" if speedup >= r.faster_goal
                else "**not met**"))
