#!/usr/bin/env python3
"""The README's examples, run: every ```console block of README.md is a list of
`$ COMMAND` lines, each followed by the exact output the README shows for it.
Each command runs in bash, in a scratch directory where `datasets/` is the
repository's and `logtally` on PATH is the binary under test, and its output
is compared with the README's, so the examples cannot drift from the program.

Shown lines that start with `logtally: ` are standard error (the run summary);
one that ends with `...` matches any line that starts with what comes before
it (the summary's timing varies). The other lines are standard output,
compared exactly. A command must exit 0 and write to standard error only what
the README shows.

The README's first code block, the set-up commands, cannot run here (it
installs packages); its `build/logtally ...` part is run with the binary under
test, and the scripts it calls must exist. Prints 'N passed, M failed'.
"""
import argparse
import os
import re
import shutil
import subprocess
import tempfile

from checks import check, summary

FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
MIN_EXAMPLES = 10   # a README that yields fewer has lost its examples or its markup


def code_blocks(text):
    """(language, [lines]) of each fenced block, lines dedented by the fence's indent."""
    blocks, lang, indent, lines = [], None, "", []
    for line in text.splitlines():
        m = FENCE.match(line)
        if lang is None:
            if m:
                lang, indent, lines = m.group(2), m.group(1), []
        elif m and m.group(1) == indent and not m.group(2):
            blocks.append((lang, lines))
            lang = None
        else:
            lines.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
    return blocks


def examples(blocks):
    """(command, [expected lines]) of every `$ ` line in console blocks."""
    out = []
    for lang, lines in blocks:
        if lang != "console":
            continue
        for line in lines:
            if line.startswith("$ "):
                out.append((line[2:], []))
            elif out:
                out[-1][1].append(line)
    return out


def line_matches(want, got):
    if want.endswith("..."):
        return got.startswith(want[:-3])
    return got == want


def run(cmd, cwd, env):
    p = subprocess.run(["bash", "-c", "set -o pipefail; " + cmd], cwd=cwd, env=env,
                       capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logtally", required=True)
    ap.add_argument("--source", required=True, help="the repository's top directory")
    a = ap.parse_args()
    lt = os.path.abspath(a.logtally)
    with open(os.path.join(a.source, "README.md"), encoding="utf-8") as f:
        blocks = code_blocks(f.read())

    tmp = tempfile.mkdtemp(prefix="logtally_readme_")
    try:
        bindir = os.path.join(tmp, "bin")
        work = os.path.join(tmp, "work")
        os.makedirs(bindir)
        os.makedirs(work)
        os.symlink(lt, os.path.join(bindir, "logtally"))
        os.symlink(os.path.join(os.path.abspath(a.source), "datasets"),
                   os.path.join(work, "datasets"))
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""), TZ="UTC")
        env.pop("LOGTALLY_KERNEL", None)
        env.pop("LOGTALLY_TRACE", None)

        setup(blocks, a.source, lt, work, env)

        found = examples(blocks)
        check(f"README has at least {MIN_EXAMPLES} console examples", len(found) >= MIN_EXAMPLES,
              f"found {len(found)}")
        for cmd, shown in found:
            rc, out, err = run(cmd, work, env)
            want_err = [l for l in shown if l.startswith("logtally: ")]
            want_out = [l for l in shown if not l.startswith("logtally: ")]
            got_out, got_err = out.splitlines(), err.splitlines()
            check(f"exit 0: {cmd}", rc == 0, f"exit {rc}, stderr: {err}")
            check(f"stdout as shown: {cmd}", got_out == want_out,
                  "\n--- README\n" + "\n".join(want_out) + "\n--- logtally\n" + out)
            check(f"stderr as shown: {cmd}",
                  len(got_err) == len(want_err) and
                  all(line_matches(w, g) for w, g in zip(want_err, got_err)),
                  "\n--- README\n" + "\n".join(want_err) + "\n--- logtally\n" + err)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


def setup(blocks, source, lt, work, env):
    """The README begins with the two set-up commands: the scripts they call exist, and
    the count the first one runs works with the binary under test."""
    check("README begins with a sh block", bool(blocks) and blocks[0][0] == "sh",
          blocks[0][0] if blocks else "no code block")
    if not blocks:
        return
    commands = [l for l in blocks[0][1] if l.strip()]
    check("two set-up commands", len(commands) == 2, commands)
    ran = 0
    for line in commands:
        for part in (p.strip() for p in line.split("&&")):
            if part.startswith("bash "):
                script = part.split()[1]
                check(f"set-up script exists: {script}",
                      os.path.isfile(os.path.join(source, script)), part)
            elif part.startswith("build/logtally "):
                rc, out, err = run("logtally " + part[len("build/logtally "):], work, env)
                check(f"set-up count runs: {part}", rc == 0 and out.strip() != "", err)
                ran += 1
            else:
                check(f"set-up step known: {part}", False, part)
    check("the first set-up command counts the sample", ran == 1, commands)


if __name__ == "__main__":
    raise SystemExit(main())
