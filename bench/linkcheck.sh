#!/usr/bin/env bash
# bench/linkcheck.sh - how fast does taskfarm linkcheck crawl a site,
# compared with LinkChecker?
#
# The site: PAGES pages (default 5,000) under /p/, served by a private nginx
# on 127.0.0.1 (scripts/httpd.sh). Page N links to pages 10N+1 .. 10N+10
# (so that every page is reachable from page 0, within five levels of it),
# topped up to LINKS links (default 10) with pages drawn at random; one page
# in 50 also links to a missing page, one of 50 names. Everything is drawn
# from SEED (default 1), so a seed is a site. The contestants crawl it from
# /p/0.html:
#   taskfarm      taskfarm -j 2 linkcheck --crawl URL --format jsonl
#                 --max-pages 100000 --max-depth 1000
#   LinkChecker   linkchecker -t 32 with a configuration file that lifts its
#                 rate limit to 1000 requests/s (nginx sends the
#                 "LinkChecker: allow" header that permits it), ignores
#                 robots.txt, recurses without limit and logs every URL in
#                 CSV
# House rule: the two alternate, taskfarm first, ROUNDS pairs (default 3),
# after one untimed warm-up crawl by taskfarm; the result is the MEDIAN of
# the pairwise ratios t(LinkChecker) / t(taskfarm), i.e. how many times
# faster taskfarm is. pages/s is PAGES / the wall time of a run.
#
# Every run is checked, so a broken run cannot look fast: exit status 1
# (there are dead links); taskfarm parsed PAGES pages and LinkChecker
# reported every page valid; and the set of dead URLs each found is exactly
# the set the generator put in the site. The script prints whether both
# agree. It also measures, for reference, how many requests a second nginx
# serves this site to curl --parallel (32 at once), the ceiling of any
# crawler here.
#
# Benchmarks print figures; they never assert a timing.
# Env: TASKFARM (binary, default ../build/taskfarm beside this script),
#      PAGES, LINKS, SEED, ROUNDS; LINKCHECKER (default linkchecker).
# Exit status: 0 when every run checked out, 1 when one did not, 2 on a
# setup error (no nginx, no python3, nginx would not start).
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
# the site must be readable by others (mktemp made $tmp 0700).
chmod 755 "$tmp"
trap 'bash "$httpd" stop "$tmp/httpd" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

# ---- the site ----------------------------------------------------------------
python3 - "$tmp/site" "$PAGES" "$LINKS" "$SEED" >"$tmp/dead.expected" <<'EOF'
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
EOF
chmod -R a+rX "$tmp/site"

port=
for _ in 1 2 3; do
    port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
    if HTTPD_OWNER=$$ bash "$httpd" start "$tmp/httpd" "$tmp/site" "$port" >"$tmp/httpd.out" 2>&1; then
        break
    fi
    port=
done
if [[ -z $port ]]; then
    echo "linkcheck.sh: nginx would not start:" >&2
    cat "$tmp/httpd.out" >&2
    exit 2
fi
B=http://127.0.0.1:$port
START=$B/p/0.html
sed "s|^|$B/p/|" "$tmp/dead.expected" | LC_ALL=C sort >"$tmp/dead.want"
ndead=$(wc -l <"$tmp/dead.want")

cat >"$tmp/linkcheckerrc" <<EOF
[checking]
threads=32
maxrequestspersecond=1000
robotstxt=0
recursionlevel=-1
timeout=30
[output]
log=csv
verbose=1
status=0
EOF
chmod 644 "$tmp/linkcheckerrc"

# ---- the contestants -----------------------------------------------------------
c_taskfarm() {
    "$TF" -j 2 linkcheck --crawl "$START" --format jsonl --max-pages 100000 \
        --max-depth 1000 </dev/null
}
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
        # valid;url;... after comment lines that start with '#'.
        python3 -c 'import csv, sys
rows = csv.reader((l for l in open(sys.argv[1], newline="") if not l.startswith("#")), delimiter=";")
head = next(rows)
v, u = head.index("valid"), head.index("url")
for r in rows:
    if len(r) > u and r[v] == "False":
        print(r[u])' "$2" ;;
    esac | LC_ALL=C sort -u
}

# pages_seen NAME OUT: how many of the site's pages the run fetched and
# found good.
pages_seen() {
    case $1 in
    taskfarm)
        python3 -c 'import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get("parsed") is True))' "$2" ;;
    linkchecker)
        python3 -c 'import csv, re, sys
rows = csv.reader((l for l in open(sys.argv[1], newline="") if not l.startswith("#")), delimiter=";")
head = next(rows)
v, u = head.index("valid"), head.index("url")
print(len({r[u] for r in rows if len(r) > u and r[v] == "True" and re.search(r"/p/[0-9]+\.html$", r[u])}))' "$2" ;;
    esac
}

declare -A TIMES=() FAILED=() LABEL=([taskfarm]="taskfarm -j 2" [linkchecker]="LinkChecker -t 32")
RATIOS=""
status=0

# run NAME: one checked, timed run; sets T. Returns 1 (and marks NAME
# failed) when the run fails its check.
run() {
    local name=$1 rc=0 why="" n
    T=
    timeit "$tmp/out.$name" "c_$name" || rc=$?
    dead_set "$name" "$tmp/out.$name" >"$tmp/dead.$name"
    n=$(pages_seen "$name" "$tmp/out.$name")
    if [[ $rc -ne 1 ]]; then
        why="exit status $rc, expected 1 (dead links found)"
    elif [[ $n -ne $PAGES ]]; then
        why="$n pages fetched and good, expected $PAGES"
    elif ! cmp -s "$tmp/dead.$name" "$tmp/dead.want"; then
        why="$(wc -l <"$tmp/dead.$name") dead URLs, not the $ndead in the site: $(comm -3 "$tmp/dead.$name" "$tmp/dead.want" | head -n 3 | tr -s '\t\n' '  ')"
    fi
    if [[ -n $why ]]; then
        FAILED[$name]="FAILED: $why"
        {
            echo "linkcheck.sh: ${LABEL[$name]}: $why"
            tail -n 5 "$tmp/stderr" | sed 's/^/  stderr: /'
        } >&2
        status=1
        return 1
    fi
    printf '  %-18s %8.3f s  %8.0f pages/s\n' "${LABEL[$name]}" "$T" \
        "$(awk -v n="$PAGES" -v t="$T" 'BEGIN { print n / t }')"
}

echo "linkcheck: $PAGES pages of $LINKS links (seed $SEED), $ndead dead URLs, served by nginx at $B"
echo "taskfarm: $TF"
if [[ $have_lc = 0 ]]; then
    echo "LinkChecker: skipped: $LINKCHECKER not installed"
else
    echo "LinkChecker: $("$LINKCHECKER" --version 2>/dev/null | head -n 1)"
fi

# The ceiling: nginx serving the site's pages to curl, 32 transfers at once
# over reused connections, each page twice.
for _ in 1 2; do
    for ((i = 0; i < PAGES; i++)); do
        printf 'url = "%s/p/%d.html"\noutput = "/dev/null"\n' "$B" "$i"
    done
done >"$tmp/curl.cfg"
now; t0=$REPLY
if curl -s --parallel --parallel-max 32 -K "$tmp/curl.cfg" 2>/dev/null; then
    now; t1=$REPLY
    awk -v n="$((2 * PAGES))" -v a="$t0" -v b="$t1" 'BEGIN {
        printf "nginx: %.0f requests/s to curl --parallel --parallel-max 32 (%d GETs)\n", n / (b - a), n }'
else
    echo "nginx: requests/s not measured (curl --parallel failed)"
fi

echo "warm-up:"
run taskfarm || true
if [[ $have_lc = 1 && -z ${FAILED[taskfarm]:-} ]]; then
    for ((r = 1; r <= ROUNDS; r++)); do
        echo "pair $r:"
        run taskfarm || break
        a=$T
        run linkchecker || break
        b=$T
        TIMES[taskfarm]+=" $a"
        TIMES[linkchecker]+=" $b"
        RATIOS+=" $(awk -v p="$b" -v a="$a" 'BEGIN { printf "%.6f", p / a }')"
    done
fi

# ---- report ------------------------------------------------------------------
echo
printf '%-18s  %10s  %s\n' contestant pages/s "dead URLs found"
for name in taskfarm linkchecker; do
    [[ $name = taskfarm || $have_lc = 1 ]] || continue
    if [[ -n ${FAILED[$name]:-} ]]; then
        printf '%-18s  %s\n' "${LABEL[$name]}" "${FAILED[$name]}"
        continue
    fi
    m=$(median <<<"${TIMES[$name]:-}")
    if [[ -z $m ]]; then
        printf '%-18s  %10s\n' "${LABEL[$name]}" -
    else
        printf '%-18s  %10.0f  %d\n' "${LABEL[$name]}" \
            "$(awk -v n="$PAGES" -v t="$m" 'BEGIN { print n / t }')" \
            "$(wc -l <"$tmp/dead.$name")"
    fi
done
if [[ $have_lc = 1 ]]; then
    if [[ ! -f $tmp/dead.taskfarm || ! -f $tmp/dead.linkchecker ]]; then
        echo "dead URLs: not compared (a contestant did not run)"
    elif cmp -s "$tmp/dead.taskfarm" "$tmp/dead.linkchecker"; then
        echo "dead URLs: taskfarm and LinkChecker agree ($ndead, the same as the site's)"
    else
        echo "dead URLs: taskfarm and LinkChecker DISAGREE:"
        comm -3 "$tmp/dead.taskfarm" "$tmp/dead.linkchecker" 2>/dev/null | head -n 10 | sed 's/^/  /'
    fi
    m=$(median <<<"$RATIOS")
    echo
    if [[ -n $m ]]; then
        printf 'ratio t(LinkChecker) / t(taskfarm), median of %d alternating pairs: %.2fx (>1: taskfarm is faster)\n' \
            "$(wc -w <<<"$RATIOS")" "$m"
    else
        echo "ratio t(LinkChecker) / t(taskfarm): no complete pair"
    fi
fi
exit "$status"
