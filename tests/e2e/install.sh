#!/usr/bin/env bash
# install.sh - `cmake --install` puts the binary, the header, the library, a
# pkg-config file, the man page and the bash completion in place; the
# completion works with the installed binary, and a program built with
# pkg-config's flags against the installed copy links and runs.
#   tests/e2e/install.sh BUILD_DIR
set -u
build=${1:?usage: install.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"
e2e_init "$build/taskfarm"

prefix=$W/prefix
run_cmd 0 "cmake --install $(q "$build") --prefix $(q "$prefix") > /dev/null"
for f in bin/taskfarm include/taskfarm.h share/man/man1/taskfarm.1 \
         share/bash-completion/completions/taskfarm; do
    check "test -f $(q "$prefix/$f")"
done
comp=$prefix/share/bash-completion/completions/taskfarm
check "bash -n $(q "$comp")"
check "test \"\$(bash -c '. \"\$1\"; COMP_WORDS=(\"\$2\" pi --sa); COMP_CWORD=2; _taskfarm; echo \"\${COMPREPLY[*]}\"' - $(q "$comp" "$prefix/bin/taskfarm"))\" = --samples"
check "find $(q "$prefix") -name libtaskfarm.a | grep -q ."
check "find $(q "$prefix") -name taskfarm.pc | grep -q ."
pc=$(find "$prefix" -name taskfarm.pc | head -n 1)
run_cmd 0 "$(q "$prefix/bin/taskfarm") --version | grep -q '^taskfarm [0-9]'"

cat > "$W/prog.c" <<'PROG'
/* A user's program against the installed library. */
#include <stdio.h>
#include <string.h>

#include <taskfarm.h>

int
main(void)
{
    struct tf_buf b;
    int rc;

    tf_buf_init(&b, 0);
    rc = tf_template_expand("echo {/.}", "dir/a b.txt", 11, 1, 1, &b);
    if (rc != 0 || strcmp((char *)b.data, "echo 'a b'") != 0) {
        fprintf(stderr, "got '%s' (%d)\n", b.data ? (char *)b.data : "", rc);
        return 1;
    }
    printf("%s\n", (char *)b.data);
    tf_buf_cleanup(&b);
    return 0;
}
PROG
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
run_cmd 0 "cc -Wall -Werror ${TF_E2E_CFLAGS:-} -o $(q "$W/prog") $(q "$W/prog.c") \$(pkg-config --cflags --libs --static taskfarm)"
run_cmd 0 "$(q "$W/prog") | grep -qx \"echo 'a b'\""
e2e_finish
