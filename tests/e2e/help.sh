#!/bin/bash
# help.sh - the help, the man page and the bash completion agree with the
# binary: every option of `taskfarm --help` and of each `taskfarm JOB --help`
# has an entry in docs/taskfarm.1 and every entry there is an option, the
# page renders without a warning, each job's help has examples, no help line
# is wider than 79 columns, and the completion offers the jobs, options and
# values the binary has.
#
# Usage: bash tests/e2e/help.sh path/to/taskfarm   (or TASKFARM=...)

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

TOP=$(cd "$(dirname "$0")/../.." && pwd)
MAN=$TOP/docs/taskfarm.1
COMP=$TOP/completion/taskfarm.bash
TFQ=$(q "$TF")

# ------------------------------------------------------------- the help
run_cmd 0 "$TFQ --help > $W/help.out 2> $W/help.err"
check "test ! -s $W/help.err"
for h in Jobs 'Other commands' 'Workers and scheduling' 'Input and output' \
         'Records and resume' 'Limits and stopping'; do
    check "grep -q -x -F -e $(q "$h:") $W/help.out"
done
check "grep -q -E '^  results FILE +print the records of a results file' $W/help.out"
check "grep -q -E '^  report FILE +write an HTML or text report' $W/help.out"
# No option is left to "Other options": each has its heading.
check "! grep -q '^Other options:' $W/help.out"
# The hidden listings are for the completion, not for people.
check "! grep -q -e --list- $W/help.out"

# The jobs, as the help lists them and as the completion is told.
sed -n '/^Jobs:$/,/^$/s/^  \([a-z][a-z0-9]*\) .*/\1/p' "$W/help.out" > "$W/jobs"
run_cmd 0 "$TFQ --list-commands > $W/commands"
check "test -s $W/jobs && grep -v -x -e results -e report $W/commands | cmp - $W/jobs"
mapfile -t JOBS < "$W/jobs"

# options FILE - the long options of a help text, one per line: the names
# at the start of an option's line, not those in the wrapped text or in the
# examples.
options()
{
    sed '/^Examples:$/,$d' "$1" |
        grep -o -E '^ {2,6}(-[A-Za-z], )?--[a-z][a-z0-9-]*' |
        grep -o -E -e '--[a-z][a-z0-9-]*'
}
options "$W/help.out" > "$W/opts.common"
check "grep -q -x -e --dry-run $W/opts.common && grep -q -x -e --jobs $W/opts.common"
: > "$W/opts.all"
cat "$W/opts.common" >> "$W/opts.all"
for j in "${JOBS[@]}"; do
    run_cmd 0 "$TFQ $j --help > $W/help-$j.out 2> $W/help-$j.err"
    check "test ! -s $W/help-$j.err && grep -q '^Usage: taskfarm .*$j' $W/help-$j.out"
    check "grep -q -x 'Examples:' $W/help-$j.out && grep -q -E '^  (.* )?taskfarm .*$j' $W/help-$j.out"
    options "$W/help-$j.out" > "$W/opts.$j"
    cat "$W/opts.$j" >> "$W/opts.all"
    # Every option of the job, and only those, in its help.
    run_cmd 0 "$TFQ --list-options $j | grep -o -E -e '^--[a-z][a-z0-9-]*' | grep -v -x -F -f $W/opts.common | sort | cmp - <(sort $W/opts.$j)"
done
run_cmd 0 "$TFQ results --help > $W/help-results.out"
options "$W/help-results.out" >> "$W/opts.all"
check "awk 'length > 79 { print FILENAME \": \" \$0; bad = 1 } END { exit bad }' $W/help*.out"

# ------------------------------------------------------------- the man page
# man_tags - the lines that follow .TP in the page: each entry's tag.
man_tags()
{
    awk 'prev == ".TP" { print } { prev = $0 }' "$MAN"
}
man_tags > "$W/man.tags"
# in_man NAME - NAME (like --dry-run) is the tag of an entry of the page,
# written with \- for each dash, and not only the start of a longer name.
in_man()
{
    local re=${1//-/\\\\-}
    grep -q -E -e "$re(\\\\[^-]|[^a-z0-9\\\\]|\$)" "$W/man.tags"
}
if command -v groff > /dev/null 2>&1; then
    run_cmd 0 "groff -man -Tutf8 -ww -z $(q "$MAN") > $W/groff.out 2>&1"
    check "test ! -s $W/groff.out"
else
    e2e_skip "groff -man -Tutf8 -ww -z $(q "$MAN")" "groff not found (groff-base)"
fi
check "grep -q '^\\.TH TASKFARM 1 ' $(q "$MAN")"
for s in NAME SYNOPSIS DESCRIPTION JOBS 'COMMON OPTIONS' 'OTHER COMMANDS' \
         ENVIRONMENT 'EXIT STATUS' FILES EXAMPLES 'SEE ALSO'; do
    check "grep -q -x -F -e $(q ".SH $s") $(q "$MAN")"
done
for j in "${JOBS[@]}"; do
    check "grep -q -E '^\\.SS \"?$j( |\"|\$)' $(q "$MAN")"
done
for c in results report; do
    check "grep -q -E '^\\.SS \"$c FILE\"' $(q "$MAN")"
done
# Each option in some help is an entry of the page ...
sort -u "$W/opts.all" > "$W/opts.help"
missing=
while read -r o; do
    in_man "$o" || missing="$missing $o"
done < "$W/opts.help"
check "test -z '$missing' # options without an entry in docs/taskfarm.1:$missing"
check "in_man --list-commands && in_man --list-options"
# ... and each entry of the page is an option some help lists.
grep -o -E -e '^\\fB\\-\\-([a-z0-9]|\\-)+|, \\fB\\-\\-([a-z0-9]|\\-)+' "$W/man.tags" |
    sed -e 's/^, //' -e 's/^\\fB//' -e 's/\\-/-/g' | sort -u > "$W/opts.man"
# (The page documents every job: a build that left some out has fewer.)
if has_job linalg && has_job linkcheck; then
    check "grep -v -x -e --list-commands -e --list-options $W/opts.man | comm -23 - $W/opts.help | diff /dev/null -"
fi

# ------------------------------------------------------------- completion
# completions WORD... - what completing the last WORD of `taskfarm WORD...`
# offers, sorted, on one line.
# shellcheck disable=SC2317 # called by the checks, through eval
completions()
{
    (
        # shellcheck source=completion/taskfarm.bash
        . "$COMP"
        COMP_WORDS=("$TF" "$@")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _taskfarm
        if [ "${#COMPREPLY[@]}" -gt 0 ]; then
            printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
        fi
    )
}
check "bash -n $(q "$COMP")"
check "test \"\$(completions r)\" = 'report results run '"
check "test \"\$(completions '')\" = \"\$(sort $W/commands | tr '\\n' ' ')\""
check "test \"\$(completions run --unor)\" = '--unordered '"
check "test \"\$(completions pi --sa)\" = '--samples '"
check "test \"\$(completions --backend '')\" = 'auto fork mpi '"
check "test \"\$(completions --backend = f)\" = 'fork '"
check "test \"\$(completions --order '')\" = 'input lpt '"
check "test \"\$(completions --bind '')\" = 'cores none '"
check "test \"\$(completions --chunk '')\" = 'auto '"
if has_job linkcheck; then
    check "test \"\$(completions linkcheck --format '')\" = 'csv jsonl table '"
fi
check "test \"\$(completions results --format '')\" = 'jsonl tsv '"
# A job's options only after the job; the argument of -j is not the job.
check "test \"\$(completions --sam)\" = ''"
check "test \"\$(completions -j 4 nu)\" = 'null '"
check "test \"\$(completions -q --dry)\" = '--dry-run '"
# File names for the task file and for FILE arguments.
mkdir "$W/files" && touch "$W/files/tasks.txt" "$W/files/tasks2.txt" "$W/files/other"
check "cd $W/files && test \"\$(completions -j 2 run ta)\" = 'tasks.txt tasks2.txt '"
check "cd $W/files && test \"\$(completions --joblog o)\" = 'other '"

e2e_finish
