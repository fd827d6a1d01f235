# bench/lib.sh - what every benchmark script shares; sourced, not run.
# Sets: TF (absolute path of the taskfarm binary, from $TASKFARM or
# ../build/taskfarm beside the scripts), tmp (a scratch folder removed on
# exit), the Open MPI settings for running as root with 3 ranks on 2 cores,
# and the helpers now, median, maxof, commas and timeit.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
TF=${TASKFARM:-"$here/../build/taskfarm"}
export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1}
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
# Open MPI's single-copy transfers stay on (its default); set
# OMPI_MCA_btl_vader_single_copy_mechanism=none where process_vm_readv is
# blocked.
export OMPI_MCA_rmaps_base_oversubscribe=${OMPI_MCA_rmaps_base_oversubscribe:-1}

if [[ ! -x $TF ]]; then
    echo "$(basename "$0"): taskfarm binary not found or not executable: $TF (set TASKFARM)" >&2
    exit 2
fi
TF=$(cd "$(dirname "$TF")" && pwd)/$(basename "$TF")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# now: wall clock in seconds into REPLY ($EPOCHREALTIME needs no fork).
now() {
    if [[ -n ${EPOCHREALTIME:-} ]]; then REPLY=$EPOCHREALTIME; else REPLY=$(date +%s.%N); fi
}
# median / maxof: of the numbers on standard input (blank-separated).
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END {
    if (NR == 0) exit; if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
maxof() { tr ' ' '\n' | sed '/^$/d' | sort -g | tail -n 1; }
# commas N: N with thousands separators.
commas() { sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta' <<<"$1"; }

# timeit OUT CMD...: runs CMD with stdout to OUT and stderr to $tmp/stderr;
# sets T to its wall time in seconds and returns its exit status.
timeit() {
    local out=$1 t0 t1 rc=0
    shift
    now; t0=$REPLY
    "$@" >"$out" 2>"$tmp/stderr" || rc=$?
    now; t1=$REPLY
    T=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
    return "$rc"
}
