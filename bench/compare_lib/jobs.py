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
}
JOB_TITLES = {
    1: "count by DST,DPT,PROTO",
    2: "service breakdown",
    3: "high cardinality: SRC,SPT,DST,DPT",
    4: "compressed input: DST,DPT,PROTO",
    5: "floors",
    6: "fwlogwatch summary",
}


@dataclasses.dataclass
class Row:
    job: int
    tool: str
    cmd: str
    input: str                 # the file whose bytes the command reads (warmed before timing)
    parse: str = None          # how to read its output (answers.PARSERS), None: no answer
    keyset: str = None         # check.KEYSETS name for keyed answers
    model: str = None          # the naive model a differing answer must equal (check.MODELS)
    logtally: bool = False     # a logtally answer: must equal the independent check
    ref: str = None            # this row is the logtally reference for ratio group `ref`
    ratio_to: str = "count"    # ratio group whose reference divides this row's time
    pipefail: bool = True
    note: str = ""
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
    """ctx: dict with logtally, bench_dir, plain, gz, zst, nproc, locale, duckdb, services."""
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
    for i, r in enumerate(rows, 1):
        r.idx = i
    return rows, skipped
