#!/bin/bash
# diskfull.sh - a full disk under the joblog, the results file or the
# output stops the run with one line naming the file and exit status 3,
# leaves what was written valid, and --resume finishes once there is room
#
# Usage: bash tests/e2e/diskfull.sh path/to/taskfarm   (or TASKFARM=...)
# Needs to mount a small tmpfs (root); skipped (77) where it cannot.

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

TFQ=$(q "$TF")
D=$W/tiny
mkdir "$D"
if ! mount -t tmpfs -o size=2m tmpfs "$D" 2> /dev/null; then
    e2e_skip_all "cannot mount a tmpfs here (needs root)"
fi
trap 'umount "$D" 2> /dev/null; rm -rf "$W"' EXIT

# /dev/full: every write fails.
printf 'echo a\necho b\n' > "$W/ab.txt"
run_cmd 3 "$TFQ -j 2 --joblog /dev/full run $W/ab.txt > /dev/null 2> $W/f1.err"
check "test \"\$(wc -l < $W/f1.err)\" = 1 && grep -q 'writing /dev/full: No space left on device' $W/f1.err"
run_cmd 3 "$TFQ -j 2 run $W/ab.txt > /dev/full 2> $W/f2.err"
check "grep -q 'writing standard output: No space left on device' $W/f2.err"

# A disk that fills during the run: 3000 tasks, each with 30 bytes of
# output, a joblog and a results file on a 2 MiB tmpfs that is mostly
# taken by a filler file.
for i in $(seq 1 3000); do echo "echo output line $i of the task"; done > "$W/many.txt"
head -c 1900000 /dev/zero > "$D/filler"
run_cmd 3 "$TFQ -j 2 --joblog $D/run.log --results $D/run.res run $W/many.txt > $W/many.out 2> $W/many.err"
check "test \"\$(grep -c . $W/many.err)\" = 1 && grep -q -e '$D/run\\.\\(log\\|res\\): No space left on device' $W/many.err"
# What was written is valid: whole joblog lines of 9 fields, a results
# file that reads back without complaint.
check "test \"\$(tail -c 1 $D/run.log | od -An -c | tr -d ' ')\" = '\\n'"
check "awk -F '\t' 'NF != 9 { bad = 1 } END { exit bad }' $D/run.log"
run_cmd 0 "$TFQ results $D/run.res > $W/kept.tsv 2> $W/kept.err"
check "test ! -s $W/kept.err && test \"\$(wc -l < $W/kept.tsv)\" -gt 10"
# With room again, --resume runs what is missing and nothing twice.
rm "$D/filler"
run_cmd 0 "$TFQ -j 2 --resume --joblog $D/run.log --results $D/run.res run $W/many.txt > /dev/null 2> $W/resume.err"
check "awk -F '\t' 'NR > 1 { n[\$1]++ } END { for (i = 1; i <= 3000; i++) if (n[i] != 1) exit 1 }' $D/run.log"
check "test \"\$($TFQ results --all $D/run.res | tail -n +2 | cut -f 1 | sort -n | uniq -d | wc -l)\" = 0"
check "test \"\$($TFQ results $D/run.res | tail -n +2 | wc -l)\" = 3000"

e2e_finish
