#!/usr/bin/env bash
# bench/linkcheck.sh - how fast does taskfarm linkcheck crawl a site,
# compared with LinkChecker?
#
# Two sites, each served by a private nginx on 127.0.0.1
# (scripts/httpd.sh), each crawled by both contestants:
#   generated  PAGES pages (default 5,000) under /p/. Page N links to pages
#              10N+1 .. 10N+10 (so that every page is reachable from page 0,
#              within five levels of it), topped up to LINKS links (default
#              10) with pages drawn at random; one page in 50 also links to
#              a missing page, one of 50 names. Everything is drawn from SEED
#              (default 1), so a seed is a site. Crawled from /p/0.html.
#   docs       a real documentation site nobody here wrote: Python's manual
#              as Debian's python3.11-doc installs it (DOCS, default
#              /usr/share/doc/python3.11/html: 530 pages of up to 2.5 MB,
#              5 style sheets, 170,000 links, 9,000 of them off the site).
#              Crawled from /index.html. What a crawl must find there is
#              computed from the files on disk by
#              tests/e2e/linkcheck-docs.py, independently of taskfarm.
# The contestants:
#   taskfarm      taskfarm -j 2 linkcheck --crawl URL --format jsonl
#                 --max-pages 100000 --max-depth 1000 --check-external no
#                 (its defaults otherwise: anchors are checked)
#   LinkChecker   linkchecker -t 32 with a configuration file that lifts its
#                 rate limit to 1000 requests/s (nginx sends the
#                 "LinkChecker: allow" header that permits it), ignores
#                 robots.txt, recurses without limit, parses and reads pages
#                 up to 16 MiB (taskfarm's --max-body; its own default
#                 skips the manual's largest pages) and logs every URL in
#                 CSV; it checks no off-site URL by default, and no anchor
#                 (its AnchorCheck plugin fetches every URL#fragment apart:
#                 it ran over 16 minutes on the manual without ending)
# House rule: on each site the two alternate, taskfarm first, ROUNDS pairs
# (default 3), after one untimed warm-up crawl by taskfarm; the result is
# the MEDIAN of the pairwise ratios t(LinkChecker) / t(taskfarm), i.e. how
# many times faster taskfarm is. pages/s is the site's pages / the wall
# time of a run.
#
# Every run is checked, so a broken run cannot look fast: exit status 1
# (there are dead links); the contestant fetched every page of the site and
# found it good (taskfarm parsed it); and the set of dead URLs it found is
# exactly the set the site holds (the generator's missing pages; on the
# manual the model's dead URLs, and for taskfarm its broken anchors too).
# The script prints whether the two agree. It also measures, for
# reference, how many requests a second nginx serves each site's pages to
# curl --parallel (32 at once), the ceiling of any crawler here.
#
# Benchmarks print figures; they never assert a timing.
# Env: TASKFARM (binary, default ../build/taskfarm beside this script),
#      SITES (default "generated docs"), PAGES, LINKS, SEED, ROUNDS, DOCS;
#      LINKCHECKER (default linkchecker).
# Exit status: 0 when every run checked out, 1 when one did not, 2 on a
# setup error (no nginx, no python3, nginx would not start). The docs site
# is skipped, and said so, when DOCS holds no site.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
PAGES=${PAGES:-5000}
LINKS=${LINKS:-10}
SEED=${SEED:-1}
ROUNDS=${ROUNDS:-3}
LINKCHECKER=${LINKCHECKER:-linkchecker}
httpd=$here/../scripts/httpd.sh

for p in python3 curl; do
    if ! command -v "$p" >/dev/null 2>&1; then
        echo "linkcheck.sh: $p not found" >&2
        exit 2
    fi
done
if ! command -v nginx >/dev/null 2>&1 && [[ ! -x /usr/sbin/nginx ]]; then
    echo "linkcheck.sh: nginx not found (scripts/install-deps.sh --test installs it)" >&2
    exit 2
fi
have_lc=1
if ! command -v "$LINKCHECKER" >/dev/null 2>&1; then
    have_lc=0
fi

# LinkChecker drops root's privileges to nobody's: its configuration and
# the sites must be readable by others (mktemp made $tmp 0700).
chmod 755 "$tmp"
servers=()
# shellcheck disable=SC2317 # called from the EXIT trap
stop_servers() {
    local d
    for d in "${servers[@]}"; do
        bash "$httpd" stop "$d" >/dev/null 2>&1 || true
    done
}
trap 'stop_servers; rm -rf "$tmp"' EXIT

# serve NAME ROOT: a private nginx for the folder ROOT, in $tmp/httpd-NAME;
# sets B to its base URL, or exits 2.
# shellcheck disable=SC2317 # called by the site_* functions
serve() {
    local dir=$tmp/httpd-$1 port=
    for _ in 1 2 3; do
        port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
        if HTTPD_OWNER=$$ bash "$httpd" start "$dir" "$2" "$port" >"$tmp/httpd.out" 2>&1; then
            servers+=("$dir")
            B=http://127.0.0.1:$port
            return 0
        fi
    done
    echo "linkcheck.sh: nginx would not start:" >&2
    cat "$tmp/httpd.out" >&2
    exit 2
}

cat >"$tmp/linkcheckerrc" <<EOF
[checking]
threads=32
maxrequestspersecond=1000
robotstxt=0
recursionlevel=-1
timeout=30
maxfilesizeparse=16777216
maxfilesizedownload=16777216
[output]
log=csv
verbose=1
status=0
EOF
chmod 644 "$tmp/linkcheckerrc"

# ---- the sites -----------------------------------------------------------------
# Each site_* function serves its site and sets SITE (its name), START (the
# URL the crawls start from) and NPAGES, and writes $tmp/pages (the URLs of
# its pages, which every run must fetch and find good), $tmp/dead.want.tf
# and $tmp/dead.want.lc (the dead URLs taskfarm and LinkChecker must
# report, sorted).

# shellcheck disable=SC2317 # called as site_$s
site_generated() {
    local site=$tmp/site-generated i
    SITE=generated
    python3 - "$site" "$PAGES" "$LINKS" "$SEED" >"$tmp/dead.expected" <<'PYEOF'
import os
import random
import sys

site, pages, links, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
os.makedirs(os.path.join(site, "p"))
dead = set()
for n in range(pages):
    out = [c for c in range(10 * n + 1, 10 * n + 11) if c < pages]
    while len(out) < links:
        out.append(rng.randrange(pages))
    hrefs = ["%d.html" % c for c in out]
    if rng.randrange(50) == 0:
        k = rng.randrange(50)
        hrefs.append("missing-%d.html" % k)
        dead.add(k)
    body = "\n".join('<li><a href="%s">%s</a></li>' % (h, h) for h in hrefs)
    with open(os.path.join(site, "p", "%d.html" % n), "w") as f:
        f.write("<!DOCTYPE html>\n<html><head><title>page %d</title></head>"
                "<body><h1>page %d</h1>\n<ul>\n%s\n</ul>\n%s\n</body></html>\n"
                % (n, n, body, "lorem ipsum dolor sit amet " * 20))
for k in sorted(dead):
    print("missing-%d.html" % k)
PYEOF
    chmod -R a+rX "$site"
    serve generated "$site"
    START=$B/p/0.html
    NPAGES=$PAGES
    for ((i = 0; i < PAGES; i++)); do
        echo "$B/p/$i.html"
    done >"$tmp/pages"
    sed "s|^|$B/p/|" "$tmp/dead.expected" | LC_ALL=C sort >"$tmp/dead.want.tf"
    cp "$tmp/dead.want.tf" "$tmp/dead.want.lc"
    echo "site generated: $PAGES pages of $LINKS links (seed $SEED), $(wc -l <"$tmp/dead.want.tf") dead URLs, served by nginx at $B"
}

# shellcheck disable=SC2317 # called as site_$s
site_docs() {
    local model=$here/../tests/e2e/linkcheck-docs.py
    SITE=docs
    serve docs "$DOCS"
    START=$B/index.html
    python3 "$model" model "$DOCS" "$B" /index.html "$tmp/model.json" >"$tmp/model.txt"
    python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
for u, r in sorted(m["urls"].items()):
    if r["page"] and r["status"] == 200:
        print(u)' "$tmp/model.json" >"$tmp/pages"
    NPAGES=$(wc -l <"$tmp/pages")
    python3 "$model" dead "$tmp/model.json" | LC_ALL=C sort >"$tmp/dead.want.tf"
    grep -v '#' "$tmp/dead.want.tf" >"$tmp/dead.want.lc" || true
    echo "site docs: $DOCS, $NPAGES pages, $(wc -l <"$tmp/dead.want.lc") dead URLs and $(grep -c '#' "$tmp/dead.want.tf" || true) broken anchors (tests/e2e/linkcheck-docs.py), served by nginx at $B"
    sed -n 's/^model: /  the model: /p' "$tmp/model.txt"
}

# ---- the contestants -----------------------------------------------------------
# shellcheck disable=SC2317 # called as c_$name
c_taskfarm() {
    "$TF" -j 2 linkcheck --crawl "$START" --format jsonl --max-pages 100000 \
        --max-depth 1000 --check-external no </dev/null
}
# shellcheck disable=SC2317 # called as c_$name
c_linkchecker() {
    "$LINKCHECKER" -f "$tmp/linkcheckerrc" -t 32 "$START" </dev/null
}

# dead_set NAME OUT: the dead URLs in a contestant's output, sorted.
dead_set() {
    case $1 in
    taskfarm)
        python3 -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if not r["ok"]:
        print(r["url"])' "$2" ;;
    linkchecker)
        # CSV: urlname;parentname;base;result;warningstring;infostring;
        # valid;url;... after comment lines that start with '#'. A URL is
        # logged once, with the fragment of the first link met to it,
        # which LinkChecker does not check: the URL is without it.
        python3 -c 'import csv, sys
rows = csv.reader((l for l in open(sys.argv[1], newline="") if not l.startswith("#")), delimiter=";")
head = next(rows)
v, u = head.index("valid"), head.index("url")
for r in rows:
    if len(r) > u and r[v] == "False":
        print(r[u].split("#")[0])' "$2" ;;
    esac | LC_ALL=C sort -u
}

# pages_seen NAME OUT: how many of the site's pages ($tmp/pages) the run
# fetched and found good (taskfarm: parsed).
pages_seen() {
    case $1 in
    taskfarm)
        python3 -c 'import json, sys
pages = set(open(sys.argv[2]).read().split())
recs = [json.loads(l) for l in open(sys.argv[1])]
print(sum(1 for r in recs if r.get("parsed") is True and r["url"] in pages))' "$2" "$tmp/pages" ;;
    linkchecker)
        python3 -c 'import csv, sys
pages = set(open(sys.argv[2]).read().split())
rows = csv.reader((l for l in open(sys.argv[1], newline="") if not l.startswith("#")), delimiter=";")
head = next(rows)
v, u = head.index("valid"), head.index("url")
print(len({r[u].split("#")[0] for r in rows if len(r) > u and r[v] == "True"} & pages))' "$2" "$tmp/pages" ;;
    esac
}

declare -A TIMES=() FAILED=() RATIOS=() AGREE=() NP=()
declare -A LABEL=([taskfarm]="taskfarm -j 2" [linkchecker]="LinkChecker -t 32")
status=0

# run NAME: one checked, timed run on the site; sets T. Returns 1 (and
# marks NAME failed on the site) when the run fails its check.
run() {
    local name=$1 rc=0 why="" n want=$tmp/dead.want.tf
    T=
    timeit "$tmp/out.$name" "c_$name" || rc=$?
    dead_set "$name" "$tmp/out.$name" >"$tmp/dead.$name"
    n=$(pages_seen "$name" "$tmp/out.$name")
    if [[ $name = linkchecker ]]; then
        want=$tmp/dead.want.lc
    fi
    if [[ $rc -ne 1 ]]; then
        why="exit status $rc, expected 1 (dead links found)"
    elif [[ $n -ne $NPAGES ]]; then
        why="$n pages fetched and good, expected $NPAGES"
    elif ! cmp -s "$tmp/dead.$name" "$want"; then
        why="$(wc -l <"$tmp/dead.$name") dead URLs, not the $(wc -l <"$want") in the site: $(comm -3 "$tmp/dead.$name" "$want" | head -n 3 | tr -s '\t\n' '  ')"
    fi
    if [[ -n $why ]]; then
        FAILED[$SITE:$name]="FAILED: $why"
        {
            echo "linkcheck.sh: $SITE: ${LABEL[$name]}: $why"
            tail -n 5 "$tmp/stderr" | sed 's/^/  stderr: /'
        } >&2
        status=1
        return 1
    fi
    printf '  %-18s %8.3f s  %8.0f pages/s\n' "${LABEL[$name]}" "$T" \
        "$(awk -v n="$NPAGES" -v t="$T" 'BEGIN { print n / t }')"
}

# bench_site: the ceiling, the warm-up and the pairs on the site.
bench_site() {
    local a b r t0 t1
    NP[$SITE]=$NPAGES
    # The ceiling: nginx serving the site's pages to curl, 32 transfers at
    # once over reused connections, each page twice.
    for _ in 1 2; do
        sed 's|.*|url = "&"\noutput = "/dev/null"|' "$tmp/pages"
    done >"$tmp/curl.cfg"
    now; t0=$REPLY
    if curl -s --parallel --parallel-max 32 -K "$tmp/curl.cfg" 2>/dev/null; then
        now; t1=$REPLY
        awk -v n="$((2 * NPAGES))" -v a="$t0" -v b="$t1" 'BEGIN {
            printf "nginx: %.0f requests/s to curl --parallel --parallel-max 32 (%d GETs)\n", n / (b - a), n }'
    else
        echo "nginx: requests/s not measured (curl --parallel failed)"
    fi
    rm -f "$tmp/dead.taskfarm" "$tmp/dead.linkchecker"
    echo "warm-up:"
    run taskfarm || true
    if [[ $have_lc = 1 && -z ${FAILED[$SITE:taskfarm]:-} ]]; then
        for ((r = 1; r <= ROUNDS; r++)); do
            echo "pair $r:"
            run taskfarm || break
            a=$T
            run linkchecker || break
            b=$T
            TIMES[$SITE:taskfarm]+=" $a"
            TIMES[$SITE:linkchecker]+=" $b"
            RATIOS[$SITE]+=" $(awk -v p="$b" -v a="$a" 'BEGIN { printf "%.6f", p / a }')"
        done
    fi
    # The two dead sets, but for the anchors LinkChecker does not check.
    if [[ $have_lc = 1 ]]; then
        if [[ ! -f $tmp/dead.taskfarm || ! -f $tmp/dead.linkchecker ]]; then
            AGREE[$SITE]="not compared (a contestant did not run)"
        elif cmp -s <(grep -v '#' "$tmp/dead.taskfarm") "$tmp/dead.linkchecker"; then
            a=$(grep -c '#' "$tmp/dead.taskfarm" || true)
            AGREE[$SITE]="taskfarm and LinkChecker agree ($(wc -l <"$tmp/dead.linkchecker"), the same as the site's)"
            if [[ $a -gt 0 ]]; then
                AGREE[$SITE]+="; taskfarm also found the site's $a broken anchors"
            fi
        else
            AGREE[$SITE]="taskfarm and LinkChecker DISAGREE: $(comm -3 <(grep -v '#' "$tmp/dead.taskfarm") "$tmp/dead.linkchecker" | head -n 5 | tr -s '\t\n' '  ')"
        fi
    fi
}

echo "taskfarm: $TF"
if [[ $have_lc = 0 ]]; then
    echo "LinkChecker: skipped: $LINKCHECKER not installed"
else
    echo "LinkChecker: $("$LINKCHECKER" --version 2>/dev/null | head -n 1)"
fi
DOCS=${DOCS:-/usr/share/doc/python3.11/html}
done_sites=()
for s in ${SITES:-generated docs}; do
    echo
    case $s in
    generated) ;;
    docs)
        if [[ ! -f $DOCS/index.html ]]; then
            echo "site docs: skipped: no site at $DOCS (python3.11-doc: scripts/install-deps.sh --test installs it)"
            continue
        fi
        ;;
    *)
        echo "linkcheck.sh: unknown site '$s' in SITES (generated, docs)" >&2
        exit 2
        ;;
    esac
    "site_$s"
    bench_site
    done_sites+=("$s")
done

# ---- report ------------------------------------------------------------------
echo
printf '%-10s %-18s  %10s\n' site contestant pages/s
for s in "${done_sites[@]}"; do
    for name in taskfarm linkchecker; do
        [[ $name = taskfarm || $have_lc = 1 ]] || continue
        if [[ -n ${FAILED[$s:$name]:-} ]]; then
            printf '%-10s %-18s  %s\n' "$s" "${LABEL[$name]}" "${FAILED[$s:$name]}"
            continue
        fi
        m=$(median <<<"${TIMES[$s:$name]:-}")
        if [[ -z $m ]]; then
            printf '%-10s %-18s  %10s\n' "$s" "${LABEL[$name]}" -
        else
            printf '%-10s %-18s  %10.0f  (median %.3f s, %d runs)\n' "$s" \
                "${LABEL[$name]}" \
                "$(awk -v n="${NP[$s]}" -v t="$m" 'BEGIN { print n / t }')" \
                "$m" "$(wc -w <<<"${TIMES[$s:$name]}")"
        fi
    done
done
if [[ $have_lc = 1 ]]; then
    for s in "${done_sites[@]}"; do
        echo "$s: dead URLs: ${AGREE[$s]:-not compared}"
    done
    echo
    for s in "${done_sites[@]}"; do
        m=$(median <<<"${RATIOS[$s]:-}")
        if [[ -n $m ]]; then
            printf '%s: ratio t(LinkChecker) / t(taskfarm), median of %d alternating pairs: %.2fx (>1: taskfarm is faster)\n' \
                "$s" "$(wc -w <<<"${RATIOS[$s]}")" "$m"
        else
            echo "$s: ratio t(LinkChecker) / t(taskfarm): no complete pair"
        fi
    done
fi
exit "$status"
