#!/usr/bin/env bash
# The Debian package as a user gets it: made by cpack from this build
# directory, installed with apt-get, used (--version, man, bash and zsh
# completion, a count), then removed, leaving none of its files behind.
#
#   install_test.sh BUILD_DIR VERSION
#
# It installs system-wide, so it needs root and apt-get; without them it
# exits 77 (skipped). It also skips when a logtally package, or a
# /usr/bin/logtally of any other origin, is already there: it would replace
# and then remove it. ctest runs it alone (RUN_SERIAL). Prints
# 'N passed, M failed'.
set -uo pipefail

build=$(cd "$1" && pwd)
version=$2
built=$build/logtally

skip() {
    echo "SKIP: $*"
    exit 77
}
[ "$(id -u)" = 0 ] || skip "installs a package system-wide: run as root"
command -v apt-get >/dev/null && command -v dpkg >/dev/null ||
    skip "not a Debian system (no apt-get or dpkg)"
if dpkg-query -W -f='${Status}' logtally 2>/dev/null | grep -q ' installed$'; then
    skip "a logtally package is installed; this test would replace it, then remove it"
fi
for f in /usr/bin/logtally /usr/share/man/man1/logtally.1.gz \
    /usr/share/bash-completion/completions/logtally /usr/share/zsh/vendor-completions/_logtally; do
    [ -e "$f" ] && skip "$f exists (not from a package); this test would overwrite it, then remove it"
done

passed=0 failed=0
check() { # check NAME CONDITION-STATUS [DETAIL]
    if [ "$2" = 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $1${3:+: $3}"
    fi
}
need() { # the tools the checks use: .ci/setup installs them
    local missing=()
    for t in "$@"; do command -v "$t" >/dev/null || missing+=("$t"); done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "FAIL missing tools: ${missing[*]} (install the packages .ci/setup lists)"
        echo "0 passed, 1 failed"
        exit 1
    fi
}
need cpack dpkg-deb dpkg-shlibdeps man readelf ldd
[ -f /usr/share/bash-completion/bash_completion ] || {
    echo "FAIL no /usr/share/bash-completion/bash_completion (apt-get install bash-completion)"
    echo "0 passed, 1 failed"
    exit 1
}
[ -x "$built" ] || {
    echo "FAIL no $built: build first"
    echo "0 passed, 1 failed"
    exit 1
}

tmp=$(mktemp -d /tmp/logtally_install.XXXXXX)
chmod 755 "$tmp" # apt's unprivileged fetcher reads the .deb from here
installed=0
apt_opts=(-y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
cleanup() {
    if [ "$installed" = 1 ]; then
        echo "removing the package after a failure"
        DEBIAN_FRONTEND=noninteractive apt-get remove "${apt_opts[@]}" logtally >/dev/null 2>&1 ||
            dpkg -r logtally >/dev/null 2>&1
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The package, from this build directory.
arch=$(dpkg --print-architecture)
deb=$tmp/logtally_${version}_${arch}.deb
if ! (cd "$tmp" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp") >"$tmp/cpack.log" 2>&1; then
    cat "$tmp/cpack.log"
    check "cpack -G DEB" 1
    echo "$passed passed, $failed failed"
    exit 1
fi
if [ ! -f "$deb" ]; then
    check "cpack makes $(basename "$deb")" 1 "it made: $(cd "$tmp" && ls -- *.deb 2>&1)"
    echo "$passed passed, $failed failed"
    exit 1
fi
check "cpack makes $(basename "$deb")" 0

# Depends names the package of every shared library the binary loads.
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
# dpkg knows a library by the path its package ships, which with the merged
# /usr may be /lib/... or /usr/lib/..., and a symbolic link or its target.
paths_of() {
    local real
    real=$(readlink -f "$1")
    printf '%s\n' "$1" "${1/#\/usr\/lib\//\/lib/}" "${1/#\/lib\//\/usr\/lib/}" \
        "$real" "${real/#\/usr\/lib\//\/lib/}" "${real/#\/lib\//\/usr\/lib/}" | sort -u
}
mapfile -t libs < <(ldd "$built" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
mapfile -t candidates < <(for lib in "${libs[@]}"; do paths_of "$lib"; done)
owners=$(LC_ALL=C dpkg -S "${candidates[@]}" 2>/dev/null) # "libc6:amd64: /lib/.../libc.so.6"
needed=()
for lib in "${libs[@]}"; do
    pkg=$(awk -F': ' 'NR == FNR {want[$0]; next} ($2 in want) {sub(/:.*/, "", $1); print $1; exit}' \
        <(paths_of "$lib") - <<<"$owners")
    if [ -z "$pkg" ]; then
        check "the package of $lib" 1 "dpkg -S finds none"
        continue
    fi
    tr ',' '\n' <<<"$depends" | awk '{print $1}' | grep -qxF "$pkg"
    check "Depends names $pkg ($lib)" $? "$depends"
    needed+=("$pkg")
done
echo "the binary's libraries come from: $(printf '%s\n' "${needed[@]}" | sort -u | tr '\n' ' ')"

expected=(/usr/bin/logtally /usr/share/man/man1/logtally.1.gz
    /usr/share/bash-completion/completions/logtally /usr/share/zsh/vendor-completions/_logtally)
contents=$(dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\.||')
for f in "${expected[@]}"; do
    grep -qx "$f" <<<"$contents"
    check "the package holds $f" $?
done

# Install it as a user would.
installed=1
DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" --no-install-recommends "$deb" \
    >"$tmp/apt.log" 2>&1
status=$?
check "apt-get install ./$(basename "$deb")" $status "$(tail -20 "$tmp/apt.log")"
if [ $status != 0 ]; then
    echo "$passed passed, $failed failed"
    exit 1
fi
files=$(dpkg -L logtally)

out=$(/usr/bin/logtally --version | head -1)
[ "$out" = "logtally $version" ]
check "logtally --version" $? "'$out', want 'logtally $version'"
id_built=$(readelf -n "$built" | awk '/Build ID/ {print $3}')
id_installed=$(readelf -n /usr/bin/logtally | awk '/Build ID/ {print $3}')
[ -n "$id_built" ] && [ "$id_built" = "$id_installed" ]
check "the installed binary is the one just built" $? "build id $id_installed, built $id_built"
out=$(printf 'a\nb\na\n' | /usr/bin/logtally count -q)
[ "$out" = "$(printf '      2 a\n      1 b')" ]
check "the installed binary counts" $? "$out"

out=$(man -w logtally 2>&1)
[ "$out" = /usr/share/man/man1/logtally.1.gz ]
check "man -w logtally" $? "$out"
page=$(MANPAGER=cat MANWIDTH=80 man logtally 2>"$tmp/man.err")
status=$?
head -n 8 <<<"$page" | grep -q '^NAME' && grep -q 'logtally count' <<<"$page"
check "man logtally" $((status + $?)) "$(head -n 5 <<<"$page") $(cat "$tmp/man.err")"
MANPAGER=cat MANWIDTH=80 man --warnings -l /usr/share/man/man1/logtally.1.gz >/dev/null 2>"$tmp/man.err"
[ ! -s "$tmp/man.err" ]
check "the installed page formats without warnings" $? "$(cat "$tmp/man.err")"

# bash: the file alone, as the completion function sees a TAB, and through
# bash-completion's on-demand loader (which finds it by the command's name).
out=$(bash --norc --noprofile -c 'source /usr/share/bash-completion/completions/logtally
    COMP_WORDS=(logtally co); COMP_CWORD=1; _logtally; echo "${COMPREPLY[@]}"' 2>&1)
[ "$out" = count ]
check "bash: logtally co<TAB>" $? "'$out', want 'count'"
out=$(bash --norc --noprofile -c 'source /usr/share/bash-completion/bash_completion
    _completion_loader logtally; complete -p logtally' 2>&1)
grep -q -- '-F _logtally' <<<"$out"
check "bash-completion loads it for logtally" $? "$out"

# zsh, where it is installed: the completion is on zsh's own path and compinit
# binds it to logtally.
if command -v zsh >/dev/null; then
    out=$(cd "$tmp" && HOME=$tmp zsh -f -c 'autoload -Uz compinit; compinit -u -D; print -r -- ${_comps[logtally]}' 2>&1)
    [ "$out" = _logtally ]
    check "zsh: compinit binds _logtally" $? "'$out'"
else
    echo "note: no zsh here; its completion is only checked by docs_test"
fi

# Remove it: none of its files may remain, nor any directory of its own.
DEBIAN_FRONTEND=noninteractive apt-get remove "${apt_opts[@]}" logtally >"$tmp/apt.log" 2>&1
check "apt-get remove logtally" $? "$(tail -20 "$tmp/apt.log")"
installed=0
dpkg-query -W -f='${Status}' logtally 2>/dev/null | grep -q ' installed$'
[ $? != 0 ]
check "the package is gone" $?
while read -r p; do
    [ -n "$p" ] && [ "$p" != /. ] || continue
    if [ -d "$p" ] && [ ! -L "$p" ]; then
        # A directory may stay only if another package owns it too.
        dpkg -S "$p" >/dev/null 2>&1
        check "directory $p is not left behind" $? "nothing else owns it"
    else
        [ ! -e "$p" ] && [ ! -L "$p" ]
        check "$p is removed" $?
    fi
done <<<"$files"
[ "$(wc -l <<<"$files")" -ge ${#expected[@]} ]
check "dpkg -L listed the package's files" $? "$files"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
