# taskfarm.bash - bash completion for taskfarm: jobs, commands, options, values
#
# `cmake --install` puts it in share/bash-completion/completions/taskfarm,
# where bash-completion finds it the first time taskfarm is completed;
# without bash-completion, source it from ~/.bashrc. It completes the job or
# command as the first word that is not an option, the common options
# anywhere, a job's own options after the job, the values of options that
# take one of a few words (--backend, --order, --chunk, --format, ...) and
# file names elsewhere. The names come from the taskfarm being completed
# (the hidden --list-commands and --list-options [JOB]; for the results
# and report commands, their --help), so they always match that binary.
# It uses only bash itself, none of bash-completion's helpers.
# shellcheck shell=bash

# _taskfarm_words - the words of the command line up to the cursor in
# _tf_words, with an option and its value that bash split at '=' joined
# again; _tf_cword is the index of the word being completed.
_taskfarm_words()
{
    local i w joined=0
    _tf_words=("${COMP_WORDS[0]}")
    _tf_cword=0
    for ((i = 1; i <= COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [[ $w == = && ${_tf_words[_tf_cword]} == --* &&
              ${_tf_words[_tf_cword]} != *=* ]]; then
            _tf_words[_tf_cword]+="="
            joined=1
        elif ((joined)); then
            _tf_words[_tf_cword]+=$w
            joined=0
        else
            _tf_words+=("$w")
            _tf_cword=$((_tf_cword + 1))
        fi
    done
}

# _taskfarm_load PROG [JOB|COMMAND] - fills _tf_arg: each option of PROG
# (common ones, and JOB's) mapped to the name of its argument, empty for a
# flag; a COMMAND's options are read from its --help.
_taskfarm_load()
{
    local name arg line
    _tf_arg=()
    case ${2:-} in
    results | report)
        while IFS= read -r line; do
            # "  -h, --help    text" or "  --format tsv|jsonl   text"
            [[ $line =~ ^\ +(-[A-Za-z],\ )?(--[a-z][a-z0-9-]*)(\ ([^ ]+))? ]] ||
                continue
            _tf_arg[${BASH_REMATCH[2]}]=${BASH_REMATCH[4]}
        done < <("$1" "$2" --help 2> /dev/null)
        ;;
    *)
        while read -r name arg; do
            [[ $name == -* ]] && _tf_arg[$name]=$arg
        done < <("$1" --list-options ${2:+"$2"} 2> /dev/null)
        ;;
    esac
}

# _taskfarm_value SPEC PREFIX - completes the value of an option whose
# argument is named SPEC: its words when SPEC lists them (auto|mpi|fork,
# N|auto), directories for DIR, file names for FILE, else nothing.
_taskfarm_value()
{
    local spec=$1 cur=$2 w words=()
    case $spec in
    *FILE*)
        compopt -o filenames 2> /dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return
        ;;
    DIR)
        compopt -o filenames 2> /dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        return
        ;;
    esac
    [[ $spec == *\|* ]] || return
    local IFS='|'
    for w in $spec; do
        [[ $w =~ ^[a-z][a-z0-9-]*$ ]] && words+=("$w")
    done
    IFS=' '
    mapfile -t COMPREPLY < <(compgen -W "${words[*]}" -- "$cur")
}

_taskfarm()
{
    local prog cur w i job='' expect='' opt
    local -a _tf_words longs=()
    local -A _tf_arg=()
    local _tf_cword
    COMPREPLY=()
    _taskfarm_words
    cur=${_tf_words[_tf_cword]}
    prog=${_tf_words[0]/#\~/$HOME}
    command -v -- "$prog" > /dev/null 2>&1 || prog=taskfarm
    _taskfarm_load "$prog"
    # Which job or command the line has, and whether the word being
    # completed is the argument of the option before it.
    for ((i = 1; i < _tf_cword; i++)); do
        w=${_tf_words[i]}
        if [[ -n $expect ]]; then
            expect=
            continue
        fi
        case $w in
        --) break ;;
        --*=*) ;;
        --*)
            [[ -n ${_tf_arg[$w]+set} && -n ${_tf_arg[$w]} ]] && expect=$w
            ;;
        -?)
            [[ -n ${_tf_arg[$w]+set} && -n ${_tf_arg[$w]} ]] && expect=$w
            ;;
        -*) ;; # -j4: the value is inside
        *)
            if [[ -z $job ]]; then
                job=$w
                _taskfarm_load "$prog" "$job"
            fi
            ;;
        esac
    done
    if [[ -n $expect ]]; then
        _taskfarm_value "${_tf_arg[$expect]}" "$cur"
    elif [[ $cur == --*=* ]]; then
        opt=${cur%%=*}
        [[ -n ${_tf_arg[$opt]:-} ]] &&
            _taskfarm_value "${_tf_arg[$opt]}" "${cur#*=}"
    elif [[ $cur == -* ]]; then
        for opt in "${!_tf_arg[@]}"; do
            [[ $opt == --* ]] && longs+=("$opt")
        done
        mapfile -t COMPREPLY < <(compgen -W "${longs[*]}" -- "$cur" | sort)
    elif [[ -z $job ]]; then
        mapfile -t COMPREPLY < <(compgen -W \
            "$("$prog" --list-commands 2> /dev/null)" -- "$cur")
    else
        compopt -o filenames 2> /dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
}

complete -F _taskfarm taskfarm
