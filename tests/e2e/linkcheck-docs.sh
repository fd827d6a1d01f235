#!/bin/bash
# linkcheck-docs.sh - taskfarm linkcheck on a real documentation site that
# nobody here wrote: Debian's python3.11-doc (530 pages of Python's manual,
# installed under /usr/share/doc/python3.11/html), served by a private nginx
# (scripts/httpd.sh). The dead links it reports on its own host, broken
# anchors included, must be exactly those that an independent model finds
# from the files on disk, on fork (-j 2) and under mpirun -np 3.
#
# Usage: bash tests/e2e/linkcheck-docs.sh path/to/taskfarm   (or TASKFARM=)
#
# The model (linkcheck-docs.py beside this script) reads the site as a
# browser and nginx would, and shares no code with taskfarm: it walks the pages from
# index.html, parses each with Python's html.parser (and the style sheets
# for url() and @import), resolves every link with urllib.parse against the
# page's URL (or its <base href>), and decides from the file system whether
# nginx serves it: a file (a symbolic link followed), a folder with
# index.html (a folder without one is 403, a folder's path without its
# final '/' a redirect), a '%' that starts no escape a 400. A link with a
# fragment to a page of the site is dead when the page has no element with
# that id and no <a> with that name. Off-site links are left out of the run
# (--check-external no), so only 127.0.0.1 is ever contacted.
#
# Skipped (exit 77) without python3, nginx or the package: install them
# with scripts/install-deps.sh --test. The MPI run is skipped, and said so,
# without mpirun or without MPI in taskfarm.

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

HERE=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
TOP=$(CDPATH='' cd -- "$HERE/../.." && pwd)
HTTPD=$TOP/scripts/httpd.sh
# The site; TF_DOCS_ROOT names another copy of it.
DOCS=${TF_DOCS_ROOT:-/usr/share/doc/python3.11/html}
if ! command -v python3 > /dev/null 2>&1; then
    e2e_skip_all "python3 not found"
fi
if ! command -v nginx > /dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    e2e_skip_all "nginx not found (scripts/install-deps.sh --test installs it)"
fi
if [ ! -f "$DOCS/index.html" ]; then
    e2e_skip_all "no documentation site at $DOCS: the Debian package python3.11-doc is not installed (scripts/install-deps.sh --test installs it)"
fi
if ! has_job linkcheck; then
    e2e_skip_all "this taskfarm has no linkcheck job"
fi

# shellcheck disable=SC2317 # called from the EXIT trap
server_down()
{
    bash "$HTTPD" stop "$W/httpd" > /dev/null 2>&1
}
trap 'server_down; e2e_cleanup' EXIT

TFQ=$(q "$TF")
DPY=$(q "$HERE/linkcheck-docs.py")
mpi_init


# ------------------------------------------------------------- the server
free_port()
{
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}
P=
for _ in 1 2 3; do
    P=$(free_port)
    # (HTTPD_OWNER: nginx goes when this script goes, however it ends)
    if HTTPD_OWNER=$$ bash "$HTTPD" start "$W/httpd" "$DOCS" "$P" \
        > "$W/httpd.out" 2>&1; then
        break
    fi
    P=
done
if [ -z "$P" ]; then
    e2e_err "bash $(q "$HTTPD") start $W/httpd $(q "$DOCS") PORT" \
        "$(cat "$W/httpd.out")"
    e2e_finish
fi
B=http://127.0.0.1:$P

# ---------------------------------------------------------------- the model
run_cmd 0 "python3 $DPY model $(q "$DOCS") $B /index.html $W/model.json > $W/model.txt"
sed 's/^/# /' "$W/model.txt"
# The model must have found what makes the comparison worth making: the
# site's pages, and dead links and anchors among them.
check "python3 $DPY sane $W/model.json"
# With dead links, a run exits 1.
WANT=1

# Off-site links are left out, and with them every host but 127.0.0.1;
# the crawl follows the site to any depth.
CRAWL="linkcheck --crawl $B/index.html --check-external no --max-depth 1000 --format jsonl"

run_cmd $WANT "$TFQ -j 2 $CRAWL > $W/fork.out 2> $W/fork.err"
check "python3 $DPY check $W/model.json $W/fork.out"
# shellcheck disable=SC2086 # CRAWL is words
if mpi_run $WANT "$(mpirun_cmd "-np 3" $CRAWL) > $W/mpi.out 2> $W/mpi.err"; then
    check "python3 $DPY check $W/model.json $W/mpi.out"
fi

e2e_finish
