#!/usr/bin/env python3
"""The manual page and the shell completions against the binary's --help.

Every command that `logtally --help` lists, and every option that
`logtally COMMAND --help` lists, must be in the manual page (in the command's
section, or under COMMON OPTIONS when every command takes it), in the bash
completion (run as bash runs it) and in the zsh completion; and none of them
may offer an option the command does not take. `logtally --version` and the
page's title line must give the project's version. The page must format
without warnings where man is installed. Prints 'N passed, M failed'.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

from checks import check, summary

OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def run(args, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run(args, capture_output=True, text=True, env=e, timeout=60)
    return p.returncode, p.stdout, p.stderr


def help_sections(text):
    """{'Options': [lines], 'Subcommands': [lines], ...} of a CLI11 --help."""
    sections, current = {}, None
    for line in text.splitlines():
        m = re.match(r"^(\w[\w ]*):$", line)
        if m:
            current = m.group(1)
            sections[current] = []
        elif current and line.strip():
            sections[current].append(line)
        elif current and not line.strip():
            current = None
    return sections


def help_options(text):
    """Option names (-k, --by, ...) in the Options section of a --help."""
    opts = set()
    for line in help_sections(text).get("Options", []):
        m = re.match(r"^  (-\w,)?(--?[\w-]+)", line)
        if m:
            if m.group(1):
                opts.add(m.group(1).rstrip(","))
            opts.add(m.group(2))
    return opts


def bash_complete(script, words):
    """COMPREPLY of the bash completion for the words typed so far."""
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    prog = (f"source '{script}'; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; "
            "COMP_LINE=\"${COMP_WORDS[*]}\"; COMP_POINT=${#COMP_LINE}; _logtally; "
            "printf '%s\\n' \"${COMPREPLY[@]}\"")
    rc, out, err = run(["bash", "--norc", "--noprofile", "-c", prog])
    return rc, set(out.split()), err


def zsh_blocks(text, names):
    """The option names of the zsh completion: 'common', then one for each
    command's branch ('count)' to ';;', with the lists it names, such as
    $counting); and the command names it offers."""
    def options(block):
        block = re.sub(r"\[[^\]]*\]", "", block)  # descriptions
        block = re.sub(r"_arguments( -\w)*", "", block)  # its own flags
        return set(OPTION.findall(block))

    blocks = {}
    m = re.search(r"local -a common=\((.*?)\n\s*\)\n", text, re.S)
    blocks["common"] = options(m.group(1)) if m else None
    # Other option lists a branch names ($counting), besides common.
    lists = {n: options(body) for n, body in re.findall(r"local -a (\w+)=\((.*?)\n\s*\)\n", text, re.S)
             if n not in ("common", "commands")}
    for name in names:
        m = re.search(r"^\s*" + re.escape(name) + r"\)\n(.*?);;", text, re.S | re.M)
        if m:
            blocks[name] = options(m.group(1))
            for ref in re.findall(r"\$(\w+)", m.group(1)):
                blocks[name] |= lists.get(ref, set())
    m = re.search(r"local -a commands=\((.*?)\)\n", text, re.S)
    commands = set(re.findall(r"'([a-z]+):", m.group(1))) if m else set()
    return blocks, commands


def man_sections(text):
    """{'NAME': text, ..., 'SS count': text, ...} of a roff man page, with
    '\\-' turned into '-'."""
    text = text.replace("\\-", "-")
    sections, current = {}, None
    for line in text.splitlines():
        m = re.match(r'^\.(SH|SS)\s+"?([^"]*)"?\s*$', line)
        if m:
            current = m.group(2) if m.group(1) == "SH" else "SS " + m.group(2)
            sections[current] = ""
        elif current is not None:
            sections[current] += line + "\n"
    return sections


def man_items(section):
    """Options named in the tags (.TP/.TQ lines) of a man section."""
    items = set()
    lines = section.splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.startswith((".TP", ".TQ")):
            items |= set(OPTION.findall(lines[i + 1]))
    return items


def man_mentions(section, opt):
    return re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", section) is not None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logtally", required=True)
    ap.add_argument("--version", required=True, help="the project's version")
    ap.add_argument("--man", required=True)
    ap.add_argument("--bash", required=True)
    ap.add_argument("--zsh", required=True)
    a = ap.parse_args()

    rc, top_help, err = run([a.logtally, "--help"])
    check("logtally --help exits 0", rc == 0, f"{rc} {err}")
    sections = help_sections(top_help)
    commands = [l.split()[0] for l in sections.get("Subcommands", [])]
    check("--help lists commands", len(commands) >= 3, top_help)
    top_opts = help_options(top_help)
    check("--help lists -V, --version", {"-V", "--version"} <= top_opts, top_help)

    helps = {}
    for c in commands:
        rc, out, err = run([a.logtally, c, "--help"])
        check(f"logtally {c} --help exits 0", rc == 0, f"{rc} {err}")
        helps[c] = help_options(out)
        check(f"logtally {c} --help lists options", {"-h", "--help"} < helps[c], out)

    # --version and the page's title give the project's version.
    rc, out, err = run([a.logtally, "--version"])
    first = out.splitlines()[0] if out else ""
    check("--version first line", rc == 0 and first == f"logtally {a.version}",
          f"rc {rc}: {first!r}, want 'logtally {a.version}'")

    # The manual page.
    with open(a.man, encoding="utf-8") as f:
        man = f.read()
    th = re.search(r'^\.TH LOGTALLY 1 \S+ "logtally ([^"]+)"', man, re.M)
    check("man .TH carries the version", th is not None and th.group(1) == a.version,
          th.group(0) if th else "no .TH LOGTALLY 1 DATE \"logtally VERSION\" line")
    msec = man_sections(man)
    common = msec.get("COMMON OPTIONS")
    check("man has COMMON OPTIONS", common is not None, list(msec))
    common = common or ""
    for o in sorted(top_opts):
        check(f"man mentions logtally {o}", man_mentions(msec.get("SYNOPSIS", ""), o),
              "not in SYNOPSIS")
    for c in commands:
        sec = msec.get(f"SS {c}")
        check(f"man has a section for {c}", sec is not None, list(msec))
        if sec is None:
            continue
        for o in sorted(helps[c]):
            check(f"man documents {c} {o}", man_mentions(sec, o) or o in man_items(common),
                  f"{o} is in 'logtally {c} --help' but neither in the page's '{c}' "
                  "section nor under COMMON OPTIONS")
        for o in sorted(man_items(sec) - helps[c]):
            check(f"man {c} section offers only real options", False,
                  f"{o} is in the page's '{c}' section but not in 'logtally {c} --help'")
    for o in sorted(man_items(common)):
        for c in commands:
            check(f"man common option {o} is taken by {c}", o in helps[c],
                  f"{o} is under COMMON OPTIONS but not in 'logtally {c} --help'")
    if shutil.which("man"):
        rc, out, err = run(["man", "--warnings", "-l", a.man],
                           env={"MANPAGER": "cat", "MANWIDTH": "80", "LC_ALL": "C.UTF-8"})
        check("man --warnings -l formats cleanly", rc == 0 and not err.strip() and "logtally" in out,
              f"rc {rc}: {err}")
    else:
        print("note: no man here; the page's formatting is not checked")

    # The bash completion, run as bash runs it.
    rc, got, err = bash_complete(a.bash, ["logtally", ""])
    check("bash completes the commands", rc == 0 and got == set(commands),
          f"got {sorted(got)}, want {sorted(commands)} {err}")
    rc, got, err = bash_complete(a.bash, ["logtally", "co"])
    check("bash: logtally co<TAB> gives count", got == {"count"}, f"got {sorted(got)} {err}")
    rc, got, err = bash_complete(a.bash, ["logtally", "-"])
    check("bash completes the top-level options", got == top_opts,
          f"got {sorted(got)}, want {sorted(top_opts)} {err}")
    for c in commands:
        rc, got, err = bash_complete(a.bash, ["logtally", c, "-"])
        check(f"bash completes every option of {c}", helps[c] <= got,
              f"missing {sorted(helps[c] - got)} {err}")
        check(f"bash offers only options of {c}", got <= helps[c],
              f"not in 'logtally {c} --help': {sorted(got - helps[c])}")

    # The zsh completion: the options of `common` and of each command's branch.
    with open(a.zsh, encoding="utf-8") as f:
        zsh = f.read()
    check("zsh completion starts with #compdef logtally", zsh.startswith("#compdef logtally\n"),
          zsh[:40])
    blocks, zcommands = zsh_blocks(zsh, commands)
    check("zsh completes the commands", zcommands == set(commands),
          f"got {sorted(zcommands)}, want {sorted(commands)}")
    check("zsh has a common options list", blocks.get("common") is not None, "no 'local -a common=('")
    for c in commands:
        if c not in blocks:
            check(f"zsh has a branch for {c}", False, f"no '{c})' branch")
            continue
        got = (blocks.get("common") or set()) | blocks[c]
        check(f"zsh completes every option of {c}", helps[c] <= got,
              f"missing {sorted(helps[c] - got)}")
        check(f"zsh offers only options of {c}", got <= helps[c],
              f"not in 'logtally {c} --help': {sorted(got - helps[c])}")
    if shutil.which("zsh"):
        rc, out, err = run(["zsh", "-n", a.zsh])
        check("zsh -n parses the completion", rc == 0, err)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
