#!/usr/bin/env bash
# check-deps.sh - the include boundaries of the source tree hold:
#   - <mpi.h> only in src/transport_mpi.c, <curl/curl.h> only in
#     jobs/linkcheck/fetch.c, <jansson.h> only in jobs/linkcheck/report.c,
#     <cblas.h> and <lapacke.h> only in jobs/linalg.c;
#   - a job (jobs/) includes of the project only taskfarm.h and the headers
#     of its own folder: it sees the library through the public API alone;
#   - the library (src/ but the tool's files, src/tool_*.c and
#     src/tool_*.h) includes no header of the tool, and names neither
#     standard output nor standard error: it says what it has to say
#     through return codes and the log function it is given.
# Prints each violation as FILE:LINE: what, and exits 1 when there is one.
#   scripts/check-deps.sh [TOP]   (default: the tree this script is in)
set -uo pipefail
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 2
bad=0

# only HEADER ALLOWED... - <HEADER> is included by the ALLOWED files alone.
only()
{
    local header=$1 hit
    shift
    while IFS= read -r hit; do
        local file=${hit%%:*} ok=0 a
        for a in "$@"; do
            [ "$file" = "$a" ] && ok=1
        done
        if [ $ok = 0 ]; then
            echo "$hit: <${header//\\/}> belongs in $* alone"
            bad=1
        fi
    done < <(grep -n -E "^#[[:space:]]*include[[:space:]]*<$header>" \
        -r src jobs include examples --include='*.c' --include='*.h')
}

only 'mpi\.h' src/transport_mpi.c
only 'curl/curl\.h' jobs/linkcheck/fetch.c
only 'jansson\.h' jobs/linkcheck/report.c
only 'cblas\.h' jobs/linalg.c
only 'lapacke\.h' jobs/linalg.c

# A job's "..." includes: taskfarm.h, or a header beside it.
while IFS= read -r hit; do
    file=${hit%%:*}
    name=$(sed -E 's/.*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<<"${hit#*:*:}")
    [ "$name" = taskfarm.h ] && continue
    [ -f "$(dirname "$file")/$name" ] && [ "${name#*/}" = "$name" ] && continue
    echo "$hit: a job includes \"$name\"; it may use taskfarm.h and its own folder's headers"
    bad=1
done < <(grep -n -E '^#[[:space:]]*include[[:space:]]*"' -r jobs \
    --include='*.c' --include='*.h')

# The library includes nothing of the tool.
tool_headers=$(cd src && ls tool_*.h 2> /dev/null)
if [ -n "$tool_headers" ]; then
    for f in src/*.c src/*.h; do
        case $(basename "$f") in
        tool_*) continue ;;
        esac
        for h in $tool_headers; do
            grep -n -H -E "^#[[:space:]]*include[[:space:]]*\"$h\"" "$f" |
                sed "s/\$/: the library includes the tool's $h/"
            if grep -q -E "^#[[:space:]]*include[[:space:]]*\"$h\"" "$f"; then
                bad=1
            fi
        done
    done
fi

# ... and writes to neither standard stream.
for f in src/*.c; do
    case $(basename "$f") in
    tool_*) continue ;;
    esac
    if grep -n -H -E '\<(STDOUT_FILENO|STDERR_FILENO|stdout|stderr|printf|puts|perror)\>[[:space:]]*[(,)]' "$f" |
        grep -v -E '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)|format\(printf' |
        sed 's/$/: the library writes to a standard stream/' | grep .; then
        bad=1
    fi
done

if [ $bad = 0 ]; then
    echo "check-deps: the include boundaries hold"
fi
exit $bad
