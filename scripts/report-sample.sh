#!/usr/bin/env bash
# report-sample.sh - make docs/report-sample.html and its screenshot
# docs/report-sample.png: a real run of 120 tasks on 2 workers (some fail,
# one long task at the end makes a tail), then `taskfarm report` of its
# joblog, opened in headless Chromium.
#   scripts/report-sample.sh [TASKFARM]   (default: build/taskfarm)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tf=$(realpath "${1:-$top/build/taskfarm}")
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ]; then
    echo "report-sample: no chromium (scripts/install-deps.sh --test)" >&2
    exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Durations of 20 to 300 ms; every 17th task exits 2, every 29th is killed
# by SIGTERM; task 117 takes 1.5 s.
for i in $(seq 1 120); do
    ms=$(( (i * 53) % 29 * 10 + 20 ))
    [ "$i" = 117 ] && ms=1500
    cmd="sleep $((ms / 1000)).$(printf %03d $((ms % 1000)))"
    if [ $((i % 17)) = 0 ]; then
        echo "$cmd; echo 'no input for case $i' >&2; exit 2"
    elif [ $((i % 29)) = 0 ]; then
        echo "$cmd; kill -TERM \$\$"
    else
        echo "$cmd; echo case $i done"
    fi
done > "$work/tasks.txt"

cd "$work"
"$tf" -q -j 2 --joblog sample.joblog run tasks.txt > /dev/null 2>&1 || true
TZ=UTC "$tf" report sample.joblog -o report-sample.html \
    --title "taskfarm report: 120 tasks on 2 workers"
timeout -k 5 60 "$chrome" --headless --no-sandbox --disable-gpu \
    --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync \
    --user-data-dir="$work/profile" --hide-scrollbars \
    --screenshot="$work/report-sample.png" --window-size=1200,2020 \
    "file://$work/report-sample.html" > /dev/null 2>&1
cp report-sample.html report-sample.png "$top/docs/"
echo "report-sample: wrote docs/report-sample.html and docs/report-sample.png"
