# bash completion for logtally                              -*- shell-script -*-
#
# Completes the commands, each command's options (as its --help lists them)
# and the values that have a fixed set: formats, rule targets and actions,
# key fields. Self-contained: needs only bash, not the bash-completion
# helpers. tests/cli/docs_test.py checks it against every command's --help.

_logtally()
{
    local cur prev cmd opt i
    COMPREPLY=()
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}

    # The command is the first word after "logtally" that is not an option
    # (the options before it take no value).
    cmd=
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            -*) ;;
            *)
                cmd=${COMP_WORDS[i]}
                break
                ;;
        esac
    done

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W '-h --help -V --version' -- "$cur"))
        else
            COMPREPLY=($(compgen -W 'count services rules merge diff' -- "$cur"))
        fi
        return 0
    fi

    # Every command takes `common`; the commands that read logs, `counting`.
    local common='-h --help -o --output -j --threads --memory --temp-dir -q --quiet'
    local counting='-w --where --since --until --year --utc --services --mmap
        --chunk-size --input'
    local opts fields='SRC DST SPT DPT PROTO IN OUT MAC LEN TTL TIME HOST PREFIX
        line service DPT.name SPT.name day hour'
    case $cmd in
        count) opts="$common $counting -k --by -n --top -f --format --percent --save --state" ;;
        services) opts="$common $counting -f --format" ;;
        rules)
            opts="$common $counting -k --by -n --top --to --chain --action"
            fields='SRC DST DPT SPT PROTO'
            ;;
        merge) opts="$common -k --by -w --where -n --top -f --format --percent --save" ;;
        diff) opts="$common -n --top -f --format" ;;
        *) return 0 ;;
    esac

    # The option whose value is being typed: the word before, or the option
    # before '=' (bash splits "--format=c" into "--format", "=", "c").
    opt=$prev
    if [[ $cur == = ]]; then
        cur=
    elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
        opt=${COMP_WORDS[COMP_CWORD - 2]}
        [[ $opt == -* ]] || return 0 # the value of a -w condition
    fi

    case $opt in
        -f | --format)
            COMPREPLY=($(compgen -W 'text tsv csv json ndjson' -- "$cur"))
            return 0
            ;;
        --input)
            COMPREPLY=($(compgen -W 'text json auto' -- "$cur"))
            return 0
            ;;
        --to)
            COMPREPLY=($(compgen -W 'iptables nftables' -- "$cur"))
            return 0
            ;;
        --action)
            COMPREPLY=($(compgen -W 'DROP REJECT' -- "$cur"))
            return 0
            ;;
        --chain)
            local chains='INPUT FORWARD OUTPUT input forward output'
            for ((i = 1; i < COMP_CWORD; i++)); do
                if [[ ${COMP_WORDS[i]} == --to ]]; then
                    local target=${COMP_WORDS[i + 1]}
                    [[ $target == = ]] && target=${COMP_WORDS[i + 2]}
                    case $target in
                        iptables) chains='INPUT FORWARD OUTPUT' ;;
                        nftables) chains='input forward output' ;;
                    esac
                fi
            done
            COMPREPLY=($(compgen -W "$chains" -- "$cur"))
            return 0
            ;;
        -k | --by)
            # Comma-separated: complete the field after the last comma.
            local done_=
            [[ $cur == *,* ]] && done_=${cur%,*},
            COMPREPLY=($(compgen -W "$fields" -P "$done_" -- "${cur##*,}"))
            compopt -o nospace 2>/dev/null
            return 0
            ;;
        -w | --where)
            COMPREPLY=($(compgen -W "$fields" -- "$cur"))
            compopt -o nospace 2>/dev/null
            return 0
            ;;
        -o | --output | --services | --save)
            COMPREPLY=($(compgen -f -- "$cur"))
            compopt -o filenames 2>/dev/null
            return 0
            ;;
        --temp-dir | --state)
            COMPREPLY=($(compgen -d -- "$cur"))
            compopt -o filenames 2>/dev/null
            return 0
            ;;
        -j | --threads | -n | --top | --since | --until | --year | --memory | --chunk-size)
            return 0
            ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
        compopt -o filenames 2>/dev/null
    fi
    return 0
}
complete -F _logtally logtally
