#!/usr/bin/env bash
# demo.sh - install what is missing, build, and run a task file on this
# machine's cores with the fork backend (no cluster needed).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh" "$top/build"
echo
echo "== taskfarm run examples/demo-tasks.txt (joblog: build/demo.joblog)"
"$top/build/taskfarm" run --joblog "$top/build/demo.joblog" \
    "$top/examples/demo-tasks.txt"
