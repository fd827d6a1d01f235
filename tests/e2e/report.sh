#!/bin/bash
# report.sh - `taskfarm report` of a real run's joblog and results file:
# the numbers match the run, bad input and output exit 2 with one line, a
# failed write leaves no file behind, and the HTML page renders its charts
# in headless Chromium (no console message, each chart drawn with a size)
#
# Usage: bash tests/e2e/report.sh path/to/taskfarm   (or TASKFARM=...)
# Without chromium the browser checks are skipped and the script exits 77.

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

TFQ=$(q "$TF")

# skip_case CMD REASON - a check that cannot run here: counted as skipped
# (unlike e2e_skip, also in a fork-only build, as it is no MPI case).
skip_case()
{
    E2E_SKIPPED=$((E2E_SKIPPED + 1))
    printf 'SKIP %s\n#    %s\n' "$1" "$2"
}

# 40 tasks of 10 to 190 ms: every 8th exits 3 and tasks 13 and 26 are
# killed by SIGTERM, so 7 fail.
T=$W/tasks.txt
for i in $(seq 1 40); do
    ms=$(( (i * 37) % 19 * 10 + 10 ))
    if [ $((i % 8)) = 0 ]; then
        echo "sleep 0.$(printf %03d $ms); exit 3"
    elif [ "$i" = 13 ] || [ "$i" = 26 ]; then
        echo "sleep 0.$(printf %03d $ms); kill -TERM \$\$"
    else
        echo "sleep 0.$(printf %03d $ms); echo task $i"
    fi
done > "$T"
run_cmd 1 "$TFQ -j 2 --joblog $W/j.log --results $W/r.tfr run $T > $W/run.out 2> $W/run.err"

# ------------------------------------------------------ the numbers
for f in j.log r.tfr; do
    run_cmd 0 "$TFQ report $W/$f --format txt > $W/$f.txt 2> $W/$f.txt.err"
    check "test ! -s $W/$f.txt.err"
    check "grep -q -x 'tasks  *40' $W/$f.txt"
    check "grep -q -x 'task runs  *40' $W/$f.txt"
    check "grep -q -x 'failed  *7' $W/$f.txt"
    check "grep -q -x 'workers  *2' $W/$f.txt"
    check "grep -q -x 'failed tasks (7):' $W/$f.txt"
    check "grep -q -x 'slowest 10 task runs:' $W/$f.txt"
    # The failed tasks are listed in task order.
    check "test \"\$(sed -n '/^failed tasks/,\$p' $W/$f.txt | awk 'NR > 2 { print \$1 }' | tr '\n' ' ')\" = '8 13 16 24 26 32 40 '"
    # The default output is FILE.html, and nothing is printed.
    run_cmd 0 "$TFQ report $W/$f > $W/$f.out 2> $W/$f.err"
    check "test -s $W/$f.html && test ! -s $W/$f.out && test ! -s $W/$f.err"
    check "grep -q '</html>' $W/$f.html && ! grep -q '<script' $W/$f.html"
done
# The joblog's own sums: total task time and makespan, to the millisecond.
check "grep -q -x \"total task time  *\$(awk -F '\t' 'NR > 1 { s += \$4 } END { printf \"%.3f\", s }' $W/j.log) s\" $W/j.log.txt"
check "grep -q -x \"makespan  *\$(awk -F '\t' 'NR == 2 || \$3 < a { a = \$3 } NR > 1 && \$3 + \$4 > b { b = \$3 + \$4 } END { printf \"%.3f\", b - a }' $W/j.log) s\" $W/j.log.txt"
# Efficiency is total task time / (workers x makespan), as printed.
check "awk '/^total task time/ { t = \$4 } /^makespan/ { m = \$2 } /^efficiency/ { e = \$2 + 0 } END { exit !(e > 0 && (e - 100 * t / (2 * m))^2 < 0.01) }' $W/j.log.txt"

# The title is escaped; -o - writes to standard output.
run_cmd 0 "$TFQ report $W/j.log -o $W/title.html --title '<b>&\"x' 2> $W/title.err"
check "grep -q -F '<h1>&lt;b&gt;&amp;&quot;x</h1>' $W/title.html && test ! -s $W/title.err"
run_cmd 0 "$TFQ report -o - $W/r.tfr > $W/stdout.html 2> $W/stdout.err"
check "head -c 15 $W/stdout.html | grep -q -x '<!DOCTYPE html>'"

# A joblog written by GNU Parallel itself, where it is installed.
if command -v parallel > /dev/null 2>&1; then
    # It exits with the number of tasks that failed.
    run_cmd 7 "parallel --will-cite -j 2 --joblog $W/gnu.log < $T > /dev/null 2>&1"
    run_cmd 0 "$TFQ report $W/gnu.log --format txt > $W/gnu.txt 2> $W/gnu.err"
    check "grep -q -x 'tasks  *40' $W/gnu.txt && grep -q -x 'failed  *7' $W/gnu.txt && grep -q -x 'workers  *2' $W/gnu.txt"
else
    skip_case "parallel --will-cite -j 2 --joblog $W/gnu.log < $T" \
        "GNU Parallel is not installed"
fi

# A run too big to draw task by task: 20000 tasks on two hosts of four
# workers each, one in 50 failed.
awk 'BEGIN {
    print "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand"
    for (i = 1; i <= 20000; i++) {
        w = i % 8
        d = (i * 7919 % 1000) / 1000 + 0.001
        printf "%d\tnode%d\t%.3f\t%10.3f\t0\t0\t%d\t0\tsim %d\n", i, w % 2,
            1700000000 + t[w], d, (i % 50 == 0), i
        t[w] += d + 0.002
    }
}' > "$W/big.log"
run_cmd 0 "$TFQ report $W/big.log --format txt > $W/big.txt 2> $W/big.err"
check "grep -q -x 'tasks  *20000' $W/big.txt && grep -q -x 'failed  *400' $W/big.txt && grep -q -x 'workers  *8' $W/big.txt"
run_cmd 0 "$TFQ report $W/big.log 2> $W/big.err"
check "test \"\$(wc -c < $W/big.log.html)\" -lt 1000000 && test \"\$(grep -o '<rect' $W/big.log.html | wc -l)\" -lt 200"

# ------------------------------------------------------ errors
usage_error "$W/none.log: No such file" report "$W/none.log"
{ head -n 3 "$W/j.log"; echo "not a joblog line"; tail -n +4 "$W/j.log"; } > "$W/bad.log"
usage_error "$W/bad.log:4: not a joblog line" report "$W/bad.log"
usage_error "$W/nodir/x.html" report "$W/j.log" -o "$W/nodir/x.html"
check "test ! -e $W/nodir"
usage_error "'pdf' is not html or txt" report "$W/j.log" --format pdf
usage_error "no file given" report
# A log of no tasks is a report of no tasks, with a warning.
head -n 1 "$W/j.log" > "$W/empty.log"
run_cmd 0 "$TFQ report $W/empty.log --format txt > $W/empty.txt 2> $W/empty.err"
check "grep -q -x 'tasks  *0' $W/empty.txt && test \"\$(wc -l < $W/empty.err)\" = 1 && grep -q 'no task records' $W/empty.err"

# A full disk: the write fails with exit 3 and one line naming the file,
# and leaves the earlier report as it was and no temporary file. The page
# takes about 40 kB; the 1 MiB tmpfs has under 20 kB left.
D=$W/tiny
mkdir "$D"
if mount -t tmpfs -o size=1m tmpfs "$D" 2> /dev/null; then
    trap 'umount "$D" 2> /dev/null; e2e_cleanup' EXIT
    head -c 1030000 /dev/zero > "$D/filler"
    echo old > "$D/big.html"
    run_cmd 3 "$TFQ report $W/big.log -o $D/big.html > $W/full.out 2> $W/full.err"
    check "test \"\$(wc -l < $W/full.err)\" = 1 && grep -q -F '$D/big.html: No space left on device' $W/full.err"
    check "test \"\$(cat $D/big.html)\" = old && test \"\$(ls -A $D | tr '\n' ' ')\" = 'big.html filler '"
    umount "$D"
else
    skip_case "$TFQ report $W/big.log -o $D/big.html" \
        "cannot mount a tmpfs here (needs root)"
fi

# ------------------------------------------------------ in a browser
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
    skip_case "chromium --headless ... file://$W/j.log.html" \
        "chromium is not installed (scripts/install-deps.sh --test)"
    e2e_finish
fi
CH="timeout -k 5 60 $(q "$CHROME") --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync"
# chrome_cmd ARGS - sets C to the Chromium command line, with a profile
# of its own.
P=0
chrome_cmd()
{
    P=$((P + 1))
    C="$CH --user-data-dir=$W/profile.$P $*"
}

# A screenshot: a PNG 1200 pixels wide with more in it than a blank page.
chrome_cmd --hide-scrollbars "--screenshot=$W/shot.png" \
    --window-size=1200,1600 "file://$W/j.log.html"
run_cmd 0 "$C > $W/shot.out 2> $W/shot.err"
check "test \"\$(head -c 8 $W/shot.png | od -An -tx1 | tr -d ' \n')\" = 89504e470d0a1a0a"
check "test \"\$(od -An -tu4 --endian=big -j 16 -N 4 $W/shot.png | tr -d ' ')\" = 1200"
check "test \"\$(wc -c < $W/shot.png)\" -gt 30000"

# The probe, put into a copy of a page, measures each chart once the page
# is laid out and writes what it found into the page, which --dump-dom
# prints; a chart that is missing is also a console error.
cat > "$W/probe.html" << 'EOF'
<script>
(function () {
  var out = [];
  ["timeline", "busy", "histogram", "memory"].forEach(function (id) {
    var e = document.getElementById(id);
    if (!e || e.tagName.toLowerCase() !== "svg") {
      /* Only a results file's page has the memory chart. */
      if (id !== "memory")
        console.error("probe: no svg#" + id);
      out.push(id + "=missing");
      return;
    }
    var b = e.getBoundingClientRect();
    var n = e.querySelectorAll("rect,path").length;
    out.push(id + "=" + Math.round(b.width) + "x" + Math.round(b.height) +
             ":" + n);
  });
  var p = document.createElement("pre");
  p.id = "probe";
  p.textContent = "PROBE " + out.join(" ") + " END";
  document.body.appendChild(p);
})();
</script>
EOF
# probe-ok.sh DOM LOG N [memory] - the probe's line in DOM shows the three
# charts (four with the memory chart of a results file) at least 100x50
# pixels with shapes in them (N at least in the timeline), and
# Chromium's LOG has no console message (the page itself has no script, so
# any is the browser's complaint about it, such as a bad SVG attribute).
cat > "$W/probe-ok.sh" << 'EOF'
dom=$1 log=$2 min=$3 bad=0
line=$(grep -o '<pre id="probe">PROBE[^<]*END' "$dom") || {
    echo "no probe line in $dom"
    exit 1
}
for id in timeline busy histogram $4; do
    v=$(printf '%s\n' "$line" |
        sed -n "s/.* $id=\([0-9]*\)x\([0-9]*\):\([0-9]*\).*/\1 \2 \3/p")
    # shellcheck disable=SC2086 # split into width, height, shapes
    set -- $v
    if [ $# -ne 3 ] || [ "$1" -lt 100 ] || [ "$2" -lt 50 ] || [ "$3" -lt 1 ]; then
        echo "svg#$id: ${v:-missing}"
        bad=1
    elif [ $id = timeline ] && [ "$3" -lt "$min" ]; then
        echo "svg#timeline: $3 shapes, fewer than $min"
        bad=1
    fi
done
if grep ':CONSOLE' "$log"; then
    bad=1
fi
exit $bad
EOF
# with_probe IN OUT - OUT is IN with the probe before </body>.
with_probe()
{
    awk -v f="$W/probe.html" '/<\/body>/ { while ((getline l < f) > 0) print l } { print }' "$1" > "$2"
}
# dump NAME - the DOM of $W/NAME.html after layout, and Chromium's log.
dump()
{
    chrome_cmd --enable-logging=stderr --v=0 --virtual-time-budget=2000 \
        --run-all-compositor-stages-before-draw --window-size=1200,1600 \
        --dump-dom "file://$W/$1.html"
    run_cmd 0 "$C > $W/$1.dom 2> $W/$1.log"
}

# Each task run of the small run is a bar: 40 and the background.
with_probe "$W/j.log.html" "$W/probe-j.html"
dump probe-j
check "sh $W/probe-ok.sh $W/probe-j.dom $W/probe-j.log 41"
with_probe "$W/r.tfr.html" "$W/probe-r.html"
dump probe-r
check "sh $W/probe-ok.sh $W/probe-r.dom $W/probe-r.log 41 memory"
# The big run: shaded columns.
with_probe "$W/big.log.html" "$W/probe-big.html"
dump probe-big
check "sh $W/probe-ok.sh $W/probe-big.dom $W/probe-big.log 2"

# The checks catch a broken page: a chart missing, a bad attribute.
sed -e 's/<svg id="histogram"/<svg id="gone"/' \
    -e 's/<rect class="t" /<rect class="t" width="-5" /' \
    "$W/probe-j.html" > "$W/broken.html"
dump broken
run_cmd 1 "sh $W/probe-ok.sh $W/broken.dom $W/broken.log 41 > $W/broken.why"
check "grep -q 'svg#histogram: missing' $W/broken.why && grep -q 'A negative value is not valid' $W/broken.why && grep -q 'probe: no svg#histogram' $W/broken.why"

e2e_finish
