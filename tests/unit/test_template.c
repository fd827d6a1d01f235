/* test_template.c - unit tests of replacement strings and shell quoting */
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "template.h"
#include "tf_test.h"

/* The characters tf__shell_quote() may leave bare, written out on their own
 * so that the test does not share the implementation's table. */
static const char safe_set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "abcdefghijklmnopqrstuvwxyz"
                               "0123456789_-./:,+@%^=";

/* Expands TMPL for LINE with SEQ and SLOT and checks the result is WANT. */
static void
expand_is(const char *tmpl, const char *line, uint64_t seq, int slot,
          const char *want)
{
    struct tf_buf out;

    tf_buf_init(&out, 0);
    assert_int_equal(
        tf__template_expand(tmpl, line, strlen(line), seq, slot, &out), 0);
    assert_non_null(out.data);
    assert_string_equal((const char *)out.data, want);
    assert_int_equal(out.len, strlen(want));
    tf_buf_cleanup(&out);
}

static void
expand_ok(const char *tmpl, const char *line, const char *want)
{
    expand_is(tmpl, line, 7, 3, want);
}

static void
quote_is(const char *s, const char *want)
{
    struct tf_buf out;

    tf_buf_init(&out, 0);
    assert_int_equal(tf__shell_quote(s, strlen(s), &out), 0);
    assert_string_equal((const char *)out.data, want);
    assert_int_equal(out.len, strlen(want));
    tf_buf_cleanup(&out);
}

/*
 * Runs CMD as `SHELL -c CMD` and stores its standard output in OUT. PATH
 * names no directory, so only builtins such as printf can run: should the
 * quoting ever break, an injected command cannot start rm or anything else.
 * Returns the exit status, or -1 when the shell could not be run.
 */
static int
run_shell(const char *shell, const char *locale, const char *cmd,
          struct tf_buf *out)
{
    char lc[64];
    char *argv[] = {(char *)shell, "-c", (char *)cmd, NULL};
    char *envp[] = {"PATH=/nonexistent", lc, NULL};
    posix_spawn_file_actions_t fa;
    char chunk[4096];
    int fds[2];
    pid_t pid;
    int status;
    int rc;

    snprintf(lc, sizeof(lc), "LC_ALL=%s", locale);
    if (pipe(fds) != 0)
        return -1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    rc = posix_spawn(&pid, shell, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -1;
    }
    for (;;) {
        ssize_t n = read(fds[0], chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (tf_buf_append(out, chunk, (size_t)n) < 0)
            break;
    }
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
print_hex(const char *what, const void *p, size_t n)
{
    const unsigned char *c = p;
    size_t i;

    print_message("%s (%zu bytes):", what, n);
    for (i = 0; i < n; i++)
        print_message(" %02x", c[i]);
    print_message("\n");
}

/*
 * Expands TMPL for the LEN bytes at LINE, runs the command under SHELL and
 * checks that its output is exactly WANT (WANT_LEN bytes).
 */
static void
shell_gives(const char *shell, const char *locale, const char *tmpl,
            const char *line, size_t len, const char *want, size_t want_len)
{
    struct tf_buf cmd;
    struct tf_buf got;
    int status;

    tf_buf_init(&cmd, 0);
    tf_buf_init(&got, 0);
    assert_int_equal(tf__template_expand(tmpl, line, len, 1, 1, &cmd), 0);
    status = run_shell(shell, locale, (const char *)cmd.data, &got);
    if (status != 0 || got.len != want_len ||
        memcmp(got.data, want, want_len) != 0) {
        print_hex("input", line, len);
        print_hex("command", cmd.data, cmd.len);
        print_hex("wanted", want, want_len);
        print_hex("got", got.data, got.len);
        fail_msg("%s gave status %d and a different output", shell, status);
    }
    tf_buf_cleanup(&cmd);
    tf_buf_cleanup(&got);
}

/* Checks that `printf '%s\n' {}` prints back the LEN bytes at LINE. */
static void
round_trip(const char *shell, const char *locale, const char *line, size_t len)
{
    char want[1024];

    assert_true(len < sizeof(want));
    memcpy(want, line, len);
    want[len] = '\n';
    shell_gives(shell, locale, "printf '%s\\n' {}", line, len, want, len + 1);
}

/* Lines no shell may see as anything but one literal word. None of them
 * names a harmful command, in case the quoting under test is broken. */
static const char *const nasty[] = {
    "",
    "a b",
    "  leading and trailing  ",
    "\t",
    "tab\there",
    "'",
    "''",
    "it's",
    "'\\''",
    "\\'",
    "\"double\"",
    "\"",
    "$HOME",
    "${HOME}",
    "$(echo PWNED)",
    "`echo PWNED`",
    "'; echo PWNED #",
    "'$(echo PWNED)'",
    "\"; echo PWNED; \"",
    "\\",
    "back\\slash\\n\\t\\\\",
    "*",
    "?",
    "[a-z]*",
    "~",
    "~root/x",
    "a;b|c&d>e<f",
    "(sub) {group;}",
    "!!",
    "#comment",
    "{a,b}",
    "-n",
    "-e \\x41",
    "%s %d %% %n",
    "a=b c",
    "IFS= x",
    "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93",
    "\xff\xfe not utf-8 \x80",
    "\x7f",
    "\x01\x02\x03\x1b[31mred\x1b[0m\x1f",
    "\r carriage return",
};

static void
test_quote_leaves_safe_words_bare(void **state)
{
    (void)state;
    quote_is("dir/sub/file.tar.gz", "dir/sub/file.tar.gz");
    quote_is("a-b_c.d:e,f+g@h%i^j=k", "a-b_c.d:e,f+g@h%i^j=k");
    quote_is("-n", "-n");
    quote_is(safe_set, safe_set);
}

static void
test_quote_empty_string_becomes_two_quotes(void **state)
{
    (void)state;
    quote_is("", "''");
}

static void
test_quote_space_forces_single_quotes(void **state)
{
    (void)state;
    quote_is("a b", "'a b'");
    quote_is(" ", "' '");
}

static void
test_quote_writes_single_quote_as_close_escape_reopen(void **state)
{
    (void)state;
    quote_is("it's", "'it'\\''s'");
    quote_is("'", "''\\'''");
    quote_is("''", "''\\'''\\'''");
    quote_is("a'b'c", "'a'\\''b'\\''c'");
}

static void
test_quote_bare_exactly_for_the_safe_set(void **state)
{
    int c;

    (void)state;
    for (c = 1; c < 256; c++) {
        char s[2] = {(char)c, '\0'};
        bool safe = strchr(safe_set, c) != NULL;
        struct tf_buf out;

        tf_buf_init(&out, 0);
        assert_int_equal(tf__shell_quote(s, 1, &out), 0);
        if (safe) {
            assert_int_equal(out.len, 1);
            assert_int_equal(out.data[0], (unsigned char)c);
        } else if (c == '\'') {
            assert_string_equal((const char *)out.data, "''\\'''");
        } else {
            assert_int_equal(out.len, 3);
            assert_int_equal(out.data[0], '\'');
            assert_int_equal(out.data[1], (unsigned char)c);
            assert_int_equal(out.data[2], '\'');
        }
        tf_buf_cleanup(&out);
    }
}

static void
test_quote_one_unsafe_byte_quotes_the_whole_word(void **state)
{
    (void)state;
    quote_is("file name.txt", "'file name.txt'");
    quote_is("x.png;", "'x.png;'");
    quote_is("~/x", "'~/x'");
    quote_is("caf\xc3\xa9", "'caf\xc3\xa9'");
}

static void
test_quote_reads_n_bytes_not_up_to_nul(void **state)
{
    struct tf_buf out;

    (void)state;
    tf_buf_init(&out, 0);
    assert_int_equal(tf__shell_quote("abc def", 3, &out), 0);
    assert_string_equal((const char *)out.data, "abc");
    tf_buf_reset(&out);
    assert_int_equal(tf__shell_quote("a b'c", 4, &out), 0);
    assert_string_equal((const char *)out.data, "'a b'\\'''");
    tf_buf_cleanup(&out);
}

static void
test_quote_appends_after_existing_content(void **state)
{
    struct tf_buf out;

    (void)state;
    tf_buf_init(&out, 0);
    assert_int_equal(tf_buf_puts(&out, "echo "), 0);
    assert_int_equal(tf__shell_quote("a b", 3, &out), 0);
    assert_int_equal(tf_buf_puts(&out, " "), 0);
    assert_int_equal(tf__shell_quote("c", 1, &out), 0);
    assert_string_equal((const char *)out.data, "echo 'a b' c");
    tf_buf_cleanup(&out);
}

static void
test_quote_over_cap_returns_einput_and_keeps_buffer(void **state)
{
    struct tf_buf out;

    (void)state;
    tf_buf_init(&out, 6);
    assert_int_equal(tf_buf_puts(&out, "x"), 0);
    /* "'a b'" is 5 bytes: 1 + 5 fits a cap of 6 exactly. */
    assert_int_equal(tf__shell_quote("a b", 3, &out), 0);
    assert_string_equal((const char *)out.data, "x'a b'");
    tf_buf_reset(&out);
    assert_int_equal(tf_buf_puts(&out, "xy"), 0);
    assert_int_equal(tf__shell_quote("a b", 3, &out), TF_EINPUT);
    assert_int_equal(out.len, 2);
    assert_string_equal((const char *)out.data, "xy");
    assert_int_equal(tf__shell_quote("abcde", 5, &out), TF_EINPUT);
    assert_string_equal((const char *)out.data, "xy");
    tf_buf_cleanup(&out);
}

static void
test_expand_nested_path_gives_each_part(void **state)
{
    (void)state;
    expand_ok("{}", "dir/sub/file.tar.gz", "dir/sub/file.tar.gz");
    expand_ok("{.}", "dir/sub/file.tar.gz", "dir/sub/file.tar");
    expand_ok("{/}", "dir/sub/file.tar.gz", "file.tar.gz");
    expand_ok("{//}", "dir/sub/file.tar.gz", "dir/sub");
    expand_ok("{/.}", "dir/sub/file.tar.gz", "file.tar");
    expand_ok("{#}", "dir/sub/file.tar.gz", "7");
    expand_ok("{%}", "dir/sub/file.tar.gz", "3");
}

static void
test_expand_bare_file_has_dot_as_dirname(void **state)
{
    (void)state;
    expand_ok("{}", "file", "file");
    expand_ok("{.}", "file", "file");
    expand_ok("{/}", "file", "file");
    expand_ok("{//}", "file", ".");
    expand_ok("{/.}", "file", "file");
    expand_ok("{//}", "file.txt", ".");
    expand_ok("{.}", "file.txt", "file");
}

static void
test_expand_absolute_path_gives_each_part(void **state)
{
    (void)state;
    expand_ok("{}", "/abs/x.png", "/abs/x.png");
    expand_ok("{.}", "/abs/x.png", "/abs/x");
    expand_ok("{/}", "/abs/x.png", "x.png");
    expand_ok("{//}", "/abs/x.png", "/abs");
    expand_ok("{/.}", "/abs/x.png", "x");
}

static void
test_expand_file_in_root_has_slash_as_dirname(void **state)
{
    (void)state;
    expand_ok("{//}", "/x", "/");
    expand_ok("{/}", "/x", "x");
    expand_ok("{//}", "/", "/");
    expand_ok("{/}", "/", "''");
    expand_ok("{//}", "//x", "/");
}

static void
test_expand_hidden_file_keeps_its_leading_dot(void **state)
{
    (void)state;
    expand_ok("{.}", ".hidden", ".hidden");
    expand_ok("{/.}", ".hidden", ".hidden");
    expand_ok("{/}", ".hidden", ".hidden");
    expand_ok("{//}", ".hidden", ".");
    expand_ok("{.}", "dir/.hidden", "dir/.hidden");
    expand_ok("{/.}", "dir/.hidden", ".hidden");
    expand_ok("{.}", "dir/.hidden.txt", "dir/.hidden");
    expand_ok("{/.}", ".hidden.txt", ".hidden");
}

static void
test_expand_dot_in_dirname_is_not_an_extension(void **state)
{
    (void)state;
    expand_ok("{.}", "dir.d/file", "dir.d/file");
    expand_ok("{/.}", "dir.d/file", "file");
    expand_ok("{/}", "dir.d/file", "file");
    expand_ok("{//}", "dir.d/file", "dir.d");
    expand_ok("{.}", "a.b/c.d/e", "a.b/c.d/e");
}

static void
test_expand_extension_is_only_the_last_suffix(void **state)
{
    (void)state;
    expand_ok("{.}", "a.b.c", "a.b");
    expand_ok("{.}", "dir/file.", "dir/file");
    expand_ok("{/.}", "x.y/a.b.c", "a.b");
}

static void
test_expand_trailing_slash_gives_empty_basename(void **state)
{
    (void)state;
    expand_ok("{/}", "dir/", "''");
    expand_ok("{/.}", "dir/", "''");
    expand_ok("{//}", "dir/", "dir");
    expand_ok("{.}", "dir/", "dir/");
}

static void
test_expand_quotes_every_path_part(void **state)
{
    const char *line = "my dir/my file.txt";

    (void)state;
    expand_ok("{}", line, "'my dir/my file.txt'");
    expand_ok("{.}", line, "'my dir/my file'");
    expand_ok("{/}", line, "'my file.txt'");
    expand_ok("{//}", line, "'my dir'");
    expand_ok("{/.}", line, "'my file'");
    /* Only the part that needs quotes is quoted. */
    expand_ok("{/} {//}", "a b/c", "c 'a b'");
}

static void
test_expand_without_placeholder_appends_quoted_line(void **state)
{
    (void)state;
    expand_ok("gzip -9", "x.txt", "gzip -9 x.txt");
    expand_ok("echo", "a b", "echo 'a b'");
    expand_ok("echo", "it's", "echo 'it'\\''s'");
    expand_ok("wc -l", "$(reboot)", "wc -l '$(reboot)'");
    assert_false(tf__template_has_placeholder("gzip -9"));
}

static void
test_expand_with_only_number_placeholders_does_not_append_line(void **state)
{
    (void)state;
    expand_ok("echo {#}", "a b", "echo 7");
    expand_ok("echo {%}", "a b", "echo 3");
}

static void
test_expand_quotes_semicolon_injection(void **state)
{
    (void)state;
    expand_ok("echo {}", "'; rm -rf ~ #", "echo ''\\''; rm -rf ~ #'");
    expand_ok("echo", "; rm -rf ~ #", "echo '; rm -rf ~ #'");
}

static void
test_expand_quotes_command_substitution(void **state)
{
    (void)state;
    expand_ok("echo {}", "$(reboot)", "echo '$(reboot)'");
    expand_ok("echo {/}", "dir/$(reboot)", "echo '$(reboot)'");
    expand_ok("echo {//}", "$(reboot)/x", "echo '$(reboot)'");
    expand_ok("echo {.}", "x;reboot.sh", "echo 'x;reboot'");
    expand_ok("echo {/.}", "d/$(reboot).sh", "echo '$(reboot)'");
}

static void
test_expand_quotes_backticks(void **state)
{
    (void)state;
    expand_ok("echo {}", "`reboot`", "echo '`reboot`'");
    expand_ok("echo {}", "a`id`b", "echo 'a`id`b'");
}

static void
test_expand_quotes_embedded_single_quotes(void **state)
{
    (void)state;
    expand_ok("echo {}", "a'b'c", "echo 'a'\\''b'\\''c'");
    expand_ok("echo {}", "'$(reboot)'", "echo ''\\''$(reboot)'\\'''");
    expand_ok("echo {/}", "d/it's", "echo 'it'\\''s'");
}

static void
test_expand_empty_line_gives_empty_quotes(void **state)
{
    (void)state;
    expand_ok("cmd {}", "", "cmd ''");
    expand_ok("cmd", "", "cmd ''");
    expand_ok("{.}|{/}|{//}|{/.}", "", "''|''|.|''");
}

static void
test_expand_writes_seq_and_slot_in_decimal(void **state)
{
    (void)state;
    expand_is("{#}", "x", 0, 0, "0");
    expand_is("{#}:{%}", "x", 42, 5, "42:5");
    expand_is("{#}", "x", UINT64_MAX, 1, "18446744073709551615");
    expand_is("{%}", "x", 1, INT_MAX, "2147483647");
    expand_is("{%}", "x", 1, -1, "-1");
    expand_is("{%}", "x", 1, INT_MIN, "-2147483648");
    expand_is("job{#}.out", "x", 1000000, 1, "job1000000.out");
}

static void
test_expand_repeats_placeholders(void **state)
{
    (void)state;
    expand_is("{} {} {#}{#}{%}", "a", 12, 4, "a a 12124");
    expand_ok("cp {} {//}/{/.}.bak", "d/f.txt", "cp d/f.txt d/f.bak");
}

static void
test_expand_leaves_other_braces_literal(void **state)
{
    (void)state;
    expand_ok("echo {x} {}", "v", "echo {x} v");
    expand_ok("echo { } {}", "v", "echo { } v");
    expand_ok("awk '{print $1}' {}", "f.txt", "awk '{print $1}' f.txt");
    expand_ok("{{}}", "v", "{v}");
    expand_ok("{.}}", "v", "v}");
    expand_ok("{x}", "v", "{x} v");
    expand_ok("{", "v", "{ v");
    expand_ok("}", "v", "} v");
    expand_ok("}{", "v", "}{ v");
    expand_ok("{/x} {..} {//.} {##}", "v", "{/x} {..} {//.} {##} v");
}

static void
test_expand_leaves_truncated_placeholder_at_end_literal(void **state)
{
    (void)state;
    expand_ok("echo {#", "v", "echo {# v");
    expand_ok("echo {%", "v", "echo {% v");
    expand_ok("echo {.", "v", "echo {. v");
    expand_ok("echo {/", "v", "echo {/ v");
    expand_ok("echo {//", "v", "echo {// v");
    expand_ok("echo {/.", "v", "echo {/. v");
}

static void
test_expand_appends_after_existing_content(void **state)
{
    struct tf_buf out;

    (void)state;
    tf_buf_init(&out, 0);
    assert_int_equal(tf_buf_puts(&out, "X;"), 0);
    assert_int_equal(tf__template_expand("echo {}", "a", 1, 1, 1, &out), 0);
    assert_string_equal((const char *)out.data, "X;echo a");
    tf_buf_cleanup(&out);
}

static void
test_expand_reads_len_bytes_of_line(void **state)
{
    struct tf_buf out;

    (void)state;
    tf_buf_init(&out, 0);
    assert_int_equal(
        tf__template_expand("{} {/} {.}", "d/f.c trailing", 5, 1, 1, &out), 0);
    assert_string_equal((const char *)out.data, "d/f.c f.c d/f");
    tf_buf_cleanup(&out);
}

static void
test_expand_over_cap_returns_einput(void **state)
{
    struct tf_buf out;

    (void)state;
    tf_buf_init(&out, 10);
    /* "echo 'a b'" is exactly 10 bytes. */
    assert_int_equal(tf__template_expand("echo {}", "a b", 3, 1, 1, &out), 0);
    assert_string_equal((const char *)out.data, "echo 'a b'");
    tf_buf_reset(&out);
    assert_int_equal(tf__template_expand("echo {}", "a bc", 4, 1, 1, &out),
                     TF_EINPUT);
    assert_int_equal(out.len, 0);
    /* The template alone, before any replacement, is past the cap. */
    assert_int_equal(tf__template_expand("echo 0123456789", "a", 1, 1, 1, &out),
                     TF_EINPUT);
    assert_int_equal(out.len, 0);
    tf_buf_cleanup(&out);
}

static void
test_expand_failure_leaves_buffer_as_it_was(void **state)
{
    struct tf_buf out;

    (void)state;
    tf_buf_init(&out, 15);
    assert_int_equal(tf_buf_puts(&out, "keep "), 0);
    /* The first two copies of the line fit; the third does not. */
    assert_int_equal(tf__template_expand("{} {} {}", "abc", 3, 1, 1, &out),
                     TF_EINPUT);
    assert_int_equal(out.len, 5);
    assert_string_equal((const char *)out.data, "keep ");
    /* Nor does the " {}" appended to a template without placeholders. */
    assert_int_equal(tf__template_expand("echo 12345", "a", 1, 1, 1, &out),
                     TF_EINPUT);
    assert_string_equal((const char *)out.data, "keep ");
    /* The buffer is still usable. */
    assert_int_equal(tf__template_expand("echo {}", "a", 1, 1, 1, &out), 0);
    assert_string_equal((const char *)out.data, "keep echo a");
    tf_buf_cleanup(&out);
}

static void
test_has_placeholder_finds_each_of_the_seven(void **state)
{
    static const char *const yes[] = {
        "{}",
        "{.}",
        "{/}",
        "{//}",
        "{/.}",
        "{#}",
        "{%}",
        "echo {} x",
        "a{{}}",
        "{x} {/.}",
        "{//}{",
        "{ {%}",
        "awk '{print}' {#}",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (!tf__template_has_placeholder(yes[i]))
            fail_msg("no placeholder found in \"%s\"", yes[i]);
    }
}

static void
test_has_placeholder_rejects_lookalikes(void **state)
{
    static const char *const no[] = {
        "",     "echo",  "{x}",  "{",  "}",    "{ }",           "{/x}",
        "{..}", "{//.}", "{##}", "{#", "{/",   "{//",           "{/.",
        "}{",   "{ }}",  "{{",   "%}", "{\\}", "awk '{print}'",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        if (tf__template_has_placeholder(no[i]))
            fail_msg("placeholder wrongly found in \"%s\"", no[i]);
    }
}

static void
test_sh_prints_back_each_nasty_line_exactly(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(nasty) / sizeof(nasty[0]); i++)
        round_trip("/bin/sh", "C", nasty[i], strlen(nasty[i]));
}

static void
test_sh_prints_back_each_control_byte_exactly(void **state)
{
    char line[4];
    int c;

    (void)state;
    for (c = 0x01; c <= 0x1f; c++) {
        if (c == '\n')
            continue;
        line[0] = 'a';
        line[1] = (char)c;
        line[2] = 'b';
        round_trip("/bin/sh", "C", line, 3);
        round_trip("/bin/sh", "C", line + 1, 1);
    }
}

static void
test_sh_prints_back_every_byte_but_nul_and_newline(void **state)
{
    char line[256];
    size_t n = 0;
    int c;

    (void)state;
    for (c = 1; c < 256; c++) {
        if (c != '\n')
            line[n++] = (char)c;
    }
    round_trip("/bin/sh", "C", line, n);
}

static void
test_sh_prints_back_random_lines_exactly(void **state)
{
    static const char pool[] = "'\"\\$`!*?[]{}()<>|&;#~= \t%-/.x\xc3\xa9\xff";
    uint64_t x = 0x9e3779b97f4a7c15u;
    int iter;

    (void)state;
    for (iter = 0; iter < 200; iter++) {
        char line[48];
        size_t len;
        size_t i;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        len = (size_t)(x % sizeof(line));
        for (i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* Mostly shell metacharacters, sometimes any byte. */
            if (x % 4 != 0)
                line[i] = pool[(x >> 8) % (sizeof(pool) - 1)];
            else
                line[i] = (char)(1 + (x >> 8) % 255);
            if (line[i] == '\n')
                line[i] = '\'';
        }
        round_trip("/bin/sh", "C", line, len);
    }
}

static void
test_sh_gets_each_path_part_as_one_argument(void **state)
{
    static const char line[] = "my dir/it's $(echo x) `y`.tar.gz";
    static const char want[] = "my dir/it's $(echo x) `y`.tar.gz\n"
                               "my dir/it's $(echo x) `y`.tar\n"
                               "it's $(echo x) `y`.tar.gz\n"
                               "my dir\n"
                               "it's $(echo x) `y`.tar\n"
                               "1 1\n";

    (void)state;
    shell_gives("/bin/sh", "C",
                "printf '%s\\n' {} {.} {/} {//} {/.}; echo {#} {%}", line,
                sizeof(line) - 1, want, sizeof(want) - 1);
}

static void
test_bash_prints_back_each_nasty_line_exactly(void **state)
{
    size_t i;

    (void)state;
    if (access("/bin/bash", X_OK) != 0)
        skip();
    for (i = 0; i < sizeof(nasty) / sizeof(nasty[0]); i++) {
        round_trip("/bin/bash", "C", nasty[i], strlen(nasty[i]));
        round_trip("/bin/bash", "C.UTF-8", nasty[i], strlen(nasty[i]));
    }
}

/* Compiles TMPL with COLSEP, which must succeed. */
static struct tf__template *
compile_ok(const char *tmpl, const char *colsep)
{
    struct tf__template *t = NULL;
    struct tf_error err;

    tf_error_init(&err);
    if (tf__template_compile(tmpl, colsep, &t, &err) != 0)
        fail_msg("'%s' with --colsep %s: %s", tmpl,
                 colsep == NULL ? "(none)" : colsep, err.msg);
    assert_non_null(t);
    return t;
}

/* Applies T to LINE as task SEQ in SLOT and checks the result is WANT. */
static void
apply_is(const struct tf__template *t, const char *line, uint64_t seq, int slot,
         const char *want)
{
    struct tf_buf out;

    tf_buf_init(&out, 0);
    assert_int_equal(tf__template_apply(t, line, strlen(line), seq, slot, &out),
                     0);
    assert_non_null(out.data);
    assert_string_equal((const char *)out.data, want);
    assert_int_equal(out.len, strlen(want));
    tf_buf_cleanup(&out);
}

/* Compiles TMPL with COLSEP and checks what it makes of LINE (task 7,
 * slot 3). */
static void
cols_ok(const char *tmpl, const char *colsep, const char *line,
        const char *want)
{
    struct tf__template *t = compile_ok(tmpl, colsep);

    apply_is(t, line, 7, 3, want);
    tf__template_free(t);
}

/*
 * Checks that compiling TMPL with COLSEP fails with TF_EUSAGE, leaves the
 * result NULL, and gives a one-line message that contains WANT.
 */
static void
refused(const char *tmpl, const char *colsep, const char *want)
{
    struct tf__template *t = (struct tf__template *)&t;
    struct tf_error err;

    tf_error_init(&err);
    assert_int_equal(tf__template_compile(tmpl, colsep, &t, &err), TF_EUSAGE);
    assert_null(t);
    assert_int_equal(err.code, TF_EUSAGE);
    if (strstr(err.msg, want) == NULL)
        fail_msg("'%s': message \"%s\" lacks \"%s\"", tmpl, err.msg, want);
    assert_null(strchr(err.msg, '\n'));
}

/* The message for a lookalike replacement string, up to the text. */
#define UNKNOWN_RPL " is not a replacement string taskfarm knows (it knows"
#define KNOWN_LIST                                                             \
    "(it knows {} {.} {/} {//} {/.} {#} {%} and {N} {N.} {N/} {N//} {N/.} "    \
    "with --colsep)"

static void
canon_is(const char *s, const char *want)
{
    struct tf_buf out;

    tf_buf_init(&out, 0);
    assert_int_equal(tf_buf_puts(&out, "<"), 0);
    if (tf__shell_canon(s, strlen(s), &out) != 0)
        fail_msg("canon of [%s] failed", s);
    assert_int_equal(tf_buf_puts(&out, ">"), 0);
    if (strncmp((const char *)out.data + 1, want, strlen(want)) != 0 ||
        out.len != strlen(want) + 2)
        fail_msg("canon of [%s] is %s, wanted <%s>", s, (const char *)out.data,
                 want);
    tf_buf_cleanup(&out);
}

static bool
matches(const struct tf__template *t, const char *line, uint64_t seq,
        const char *cmd)
{
    return tf__template_matches(t, line, strlen(line), seq, cmd, strlen(cmd));
}

static void
test_columns_split_on_a_one_byte_separator(void **state)
{
    (void)state;
    cols_ok("echo {1} {2} {3}", ",", "a,b,c", "echo a b c");
    cols_ok("echo {2}:{1}", ",", "x y,it's", "echo 'it'\\''s':'x y'");
    cols_ok("{1}|{2}", ":", "usr:x:1000", "usr|x");
    cols_ok("{2}", "|", "a|b|c", "b");
    cols_ok("{1}", ",", "no separator here", "'no separator here'");
}

static void
test_columns_split_on_a_multibyte_separator(void **state)
{
    (void)state;
    cols_ok("{1} {2} {3}", "::", "a::b:c::", "a b:c ''");
    cols_ok("{2}", "ab", "xabyabz", "y");
    /* Matches do not overlap: "aaa" split on "aa" is "" and "a". */
    cols_ok("[{1}] [{2}] [{3}]", "aa", "aaa", "[''] [a] ['']");
}

static void
test_columns_split_on_tab_escape(void **state)
{
    (void)state;
    cols_ok("{2} {1}", "\\t", "a\tb", "b a");
    cols_ok("{2}", "\\t", "a b\tc d", "'c d'");
    cols_ok("{2}", "\\t\\t", "a\t\tb\tc", "'b\tc'");
}

static void
test_columns_split_on_escaped_backslash_and_punctuation(void **state)
{
    (void)state;
    cols_ok("{2}", "\\\\", "a\\b", "b");
    cols_ok("{2}", "\\|", "a|b", "b");
    cols_ok("{2}", "\\.", "a.b", "b");
    cols_ok("{2}", "\\ ", "a b", "b");
    /* Regular expression characters are literal without a backslash. */
    cols_ok("{2}", ".", "a.b", "b");
    cols_ok("{2}", "[,]", "a[,]b,c", "b,c");
}

static void
test_blank_runs_split_like_awk(void **state)
{
    (void)state;
    cols_ok("{1}|{2}|{3}", "\\s+", "  a \t b  ", "a|b|''");
    cols_ok("{1}|{2}", "\\s+", "a\t\t\tb", "a|b");
    cols_ok("{1}", "\\s+", "   ", "''");
    cols_ok("echo", "\\s+", " x  y ", "echo x y");
    cols_ok("echo", "\\s+", " \t ", "echo ");
    /* A single space as a literal separator makes empty columns. */
    cols_ok("{1}|{2}|{3}", " ", "a  b", "a|''|b");
}

static void
test_path_operations_apply_to_a_column(void **state)
{
    const char *line = "x,dir/sub/f.tar.gz,my dir/it's.txt";

    (void)state;
    cols_ok("{2.}", ",", line, "dir/sub/f.tar");
    cols_ok("{2/}", ",", line, "f.tar.gz");
    cols_ok("{2//}", ",", line, "dir/sub");
    cols_ok("{2/.}", ",", line, "f.tar");
    cols_ok("{3.} {3/} {3//} {3/.}", ",", line,
            "'my dir/it'\\''s' 'it'\\''s.txt' 'my dir' 'it'\\''s'");
    cols_ok("{1//} {1/}", ",", line, ". x");
    cols_ok("{2//}", ",", "a,/x", "/");
}

static void
test_missing_column_is_an_empty_quoted_word(void **state)
{
    (void)state;
    cols_ok("echo {3}", ",", "a,b", "echo ''");
    cols_ok("{3.} {3/} {3//} {3/.}", ",", "a,b", "'' '' '' ''");
    cols_ok("x{10000}y", ",", "a", "x''y");
    cols_ok("[{2}]", "\\s+", "", "['']");
}

static void
test_empty_columns_are_quoted(void **state)
{
    (void)state;
    cols_ok("{1}|{2}|{3}", ",", "a,,b", "a|''|b");
    cols_ok("{1}|{2}", ",", ",", "''|''");
    cols_ok("{1}", ",", "", "''");
    cols_ok("echo", ",", "a,", "echo a ''");
}

static void
test_without_colsep_column_one_is_the_line(void **state)
{
    const char *line = "my dir/f.tar.gz";

    (void)state;
    cols_ok("{1}", NULL, line, "'my dir/f.tar.gz'");
    cols_ok("{1.}", NULL, line, "'my dir/f.tar'");
    cols_ok("{1/}", NULL, line, "f.tar.gz");
    cols_ok("{1//}", NULL, line, "'my dir'");
    cols_ok("{1/.}", NULL, line, "f.tar");
    cols_ok("{1}", NULL, "a,b", "a,b");
}

static void
test_with_colsep_line_forms_give_every_column(void **state)
{
    const char *line = "x/a.b,y/c d.e";

    (void)state;
    cols_ok("{}", ",", line, "x/a.b 'y/c d.e'");
    cols_ok("{.}", ",", line, "x/a 'y/c d'");
    cols_ok("{/}", ",", line, "a.b 'c d.e'");
    cols_ok("{//}", ",", line, "x y");
    cols_ok("{/.}", ",", line, "a 'c d'");
    cols_ok("[{}]", "\\s+", "  ", "[]");
}

static void
test_template_without_replacement_gets_every_column(void **state)
{
    (void)state;
    cols_ok("printf '<%s>'", ",", "a b,c", "printf '<%s>' 'a b' c");
    cols_ok("echo", ",", "a", "echo a");
    cols_ok("echo", NULL, "a b,c", "echo 'a b,c'");
    cols_ok("", ",", "a,b", " a b");
}

static void
test_compiled_template_agrees_with_expand_without_colsep(void **state)
{
    static const char *const tmpls[] = {
        "{}",
        "{.}|{/}|{//}|{/.}",
        "cp {} {//}/{/.}.bak",
        "echo {#} {%}",
        "gzip -9",
        "",
        "{{}}",
        "{.}}",
        "{x} { } {",
        "awk '{print $1}' {}",
        "echo {#",
        "{} {} {#}{#}{%}",
        "${HOME} {a,b} { cmd; }",
    };
    static const char *const lines[] = {
        "",     "file", "/abs/x.png", "dir/sub/file.tar.gz", ".hidden",
        "dir/", "/",    "it's $(x)",  "a b/c d.e",
    };
    size_t i;
    size_t j;

    (void)state;
    for (i = 0; i < sizeof(tmpls) / sizeof(tmpls[0]); i++) {
        struct tf__template *t = compile_ok(tmpls[i], NULL);

        for (j = 0; j < sizeof(lines) / sizeof(lines[0]); j++) {
            struct tf_buf want;

            tf_buf_init(&want, 0);
            assert_int_equal(tf__template_expand(tmpls[i], lines[j],
                                                 strlen(lines[j]), 42, 5,
                                                 &want),
                             0);
            apply_is(t, lines[j], 42, 5,
                     want.data == NULL ? "" : (const char *)want.data);
            tf_buf_cleanup(&want);
        }
        tf__template_free(t);
    }
}

static void
test_compiled_template_writes_seq_and_slot(void **state)
{
    struct tf__template *t = compile_ok("{#}:{%}:{2}", ",");

    (void)state;
    apply_is(t, "a,b", UINT64_MAX, INT_MIN,
             "18446744073709551615:-2147483648:b");
    apply_is(t, "a,b", 0, 0, "0:0:b");
    tf__template_free(t);
}

static void
test_uses_slot_only_with_slot_placeholder(void **state)
{
    struct tf__template *t;

    (void)state;
    t = compile_ok("echo {%}", NULL);
    assert_true(tf__template_uses_slot(t));
    tf__template_free(t);
    t = compile_ok("echo {} {#} {1} % {%x}", NULL);
    assert_false(tf__template_uses_slot(t));
    tf__template_free(t);
    tf__template_free(NULL);
}

static void
test_apply_over_cap_fails_and_leaves_buffer(void **state)
{
    struct tf__template *t = compile_ok("echo {1} {2}", ",");
    struct tf_buf out;

    (void)state;
    tf_buf_init(&out, 12);
    assert_int_equal(tf_buf_puts(&out, "k "), 0);
    /* "echo 'a b' c" is 12 bytes; with "k " it is past the cap. */
    assert_int_equal(tf__template_apply(t, "a b,c", 5, 1, 1, &out), TF_EINPUT);
    assert_int_equal(out.len, 2);
    assert_string_equal((const char *)out.data, "k ");
    assert_int_equal(tf__template_apply(t, "a,b", 3, 1, 1, &out), 0);
    assert_string_equal((const char *)out.data, "k echo a b");
    tf_buf_cleanup(&out);
    tf__template_free(t);
}

static void
test_compile_refuses_perl_expressions(void **state)
{
    (void)state;
    refused("echo {=s/x/y/=}", NULL,
            "--template: '{=s/x/y/=}' is not a replacement string taskfarm "
            "knows " KNOWN_LIST);
    refused("{==}", ",", "'{==}'" UNKNOWN_RPL);
    refused("a {= $_ =} b", NULL, "'{= $_ =}'" UNKNOWN_RPL);
    /* Cut to 40 bytes. */
    refused("{=0123456789012345678901234567890123456789=}", NULL,
            "'{=01234567890123456789012345678901234...'" UNKNOWN_RPL);
    /* A newline in it does not break the message's line. */
    refused("{=\n=}", NULL, "'{=?=}'" UNKNOWN_RPL);
}

static void
test_compile_refuses_unknown_lookalikes(void **state)
{
    static const char *const bad[] = {
        "{..}",  "{+/}", "{0#}", "{##}",  "{-1}", "{1..3}", "{1//.}",
        "{0}",   "{01}", "{+.}", "{=}",   "{^}",  "{1#}",   "{1%}",
        "{//.}", "{./}", "{#%}", "{1-2}", "{/0}", "{.1}",
    };
    char tmpl[64];
    char want[128];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(tmpl, sizeof(tmpl), "echo {} %s x", bad[i]);
        snprintf(want, sizeof(want), "'%s'" UNKNOWN_RPL, bad[i]);
        refused(tmpl, ",", want);
        refused(tmpl, NULL, want);
    }
}

static void
test_compile_refuses_column_numbers_past_the_limit(void **state)
{
    struct tf__template *t;

    (void)state;
    refused("{10001}", ",", "'{10001}': column numbers go from 1 to 10000");
    refused("{99999999999999999999}", ",", "column numbers go from 1 to");
    t = compile_ok("{10000/.}", ",");
    tf__template_free(t);
}

static void
test_compile_refuses_higher_column_without_colsep(void **state)
{
    (void)state;
    refused("echo {2}", NULL, "--template: '{2}' needs --colsep");
    refused("{1} {3/.}", NULL, "'{3/.}' needs --colsep");
    refused("echo ${10}", NULL, "'{10}' needs --colsep");
    cols_ok("echo ${10}", ",", "1,2,3,4,5,6,7,8,9,ten", "echo $ten");
}

static void
test_colsep_refuses_empty_value_and_unknown_escapes(void **state)
{
    (void)state;
    refused("{}", "", "--colsep '': the column separator is empty");
    refused("{}", "\\q", "--colsep '\\q': unknown escape '\\q'");
    refused("{}", ",\\n", "--colsep ',\\n': unknown escape '\\n'");
    refused("{}", "\\s", "--colsep '\\s': unknown escape '\\s'");
    refused("{}", "\\s+x", "--colsep '\\s+x': unknown escape '\\s'");
    refused("{}", "\\1", "--colsep '\\1': unknown escape '\\1'");
    refused("{}", "a\\", "--colsep 'a\\': ends in a lone backslash");
}

static void
test_compile_leaves_other_braces_literal(void **state)
{
    (void)state;
    cols_ok("awk '{print $1}' {}", NULL, "f", "awk '{print $1}' f");
    cols_ok("echo ${HOME} {1}", ",", "a,b", "echo ${HOME} a");
    cols_ok("{ cmd; } {a,b}", NULL, "v", "{ cmd; } {a,b} v");
    cols_ok("{ } { {x} }", NULL, "v", "{ } { {x} } v");
    cols_ok("{1 } {=x} {=", ",", "v", "{1 } {=x} {= v");
    cols_ok("echo {1", ",", "v", "echo {1 v");
    cols_ok("{{1}}", ",", "v,w", "{v}");
}

static void
test_canon_removes_each_kind_of_quoting(void **state)
{
    (void)state;
    canon_is("echo 'a b'", "echo a b");
    canon_is("echo 'c'\"'\"'d'", "echo c'd");
    canon_is("echo 'c'\\''d'", "echo c'd");
    canon_is("echo \"a\\\"b\"", "echo a\"b");
    canon_is("echo \"a\\b\"", "echo a\\b");
    canon_is("echo \"\\$x \\` \\\\\"", "echo $x ` \\");
    canon_is("echo a\\ b\\'c\\\\", "echo a b'c\\");
    canon_is("echo ''", "echo ");
    canon_is("x '' \"\" y", "x   y");
    canon_is("  a \t\n b  ", "a b");
    canon_is("a\\\nb", "ab");
    canon_is("\"a\\\nb\"", "ab");
    canon_is("a \\", "a \\");
    canon_is("'$(id)' `id` $HOME", "$(id) `id` $HOME");
    canon_is("a;b|c #d", "a;b|c #d");
    canon_is("'a'b\"c\"d", "abcd");
    canon_is("", "");
    canon_is("   ", "");
}

static void
test_canon_refuses_unbalanced_quotes_and_keeps_buffer(void **state)
{
    static const char *const bad[] = {"'a", "echo \"a", "\"a\\\"", "a'b'c'",
                                      "\""};
    struct tf_buf out;
    size_t i;

    (void)state;
    tf_buf_init(&out, 0);
    assert_int_equal(tf_buf_puts(&out, "keep"), 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(tf__shell_canon(bad[i], strlen(bad[i]), &out),
                         TF_EINPUT);
        assert_int_equal(out.len, 4);
        assert_string_equal((const char *)out.data, "keep");
    }
    tf_buf_cleanup(&out);
}

static void
test_canon_gives_the_words_sh_gives(void **state)
{
    /* No unquoted $, ` or glob: sh would expand those. */
    static const char *const texts[] = {
        "a 'b c' d",        "'it'\"'\"'s \"q\"'",
        "'it'\\''s'",       "\"a\\\"b\\\\c\\$d\\e\"",
        "x '' \"\" y",      "a\\ b\\'c\\\\",
        "'a'b\"c\"d\\e",    "\"a\\\nb\" c\\\nd",
        "'tab\there' a\tb", "-n 'x,y' 'a=b' '#autosave#'",
    };
    struct tf_buf cmd;
    struct tf_buf got;
    struct tf_buf want;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        tf_buf_init(&cmd, 0);
        tf_buf_init(&got, 0);
        tf_buf_init(&want, 0);
        assert_int_equal(tf_buf_printf(&cmd,
                                       "set -- %s; IFS=' '; printf '%%s' "
                                       "\"$*\"",
                                       texts[i]),
                         0);
        assert_int_equal(
            run_shell("/bin/sh", "C", (const char *)cmd.data, &want), 0);
        assert_int_equal(tf__shell_canon(texts[i], strlen(texts[i]), &got), 0);
        if (got.len != want.len ||
            (got.len > 0 && memcmp(got.data, want.data, got.len) != 0))
            fail_msg("[%s]: canon <%s>, sh <%s>", texts[i],
                     got.len ? (const char *)got.data : "",
                     want.len ? (const char *)want.data : "");
        tf_buf_cleanup(&cmd);
        tf_buf_cleanup(&got);
        tf_buf_cleanup(&want);
    }
}

static void
test_canon_of_a_quoted_word_is_the_word(void **state)
{
    struct tf_buf q;
    struct tf_buf c;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(nasty) / sizeof(nasty[0]); i++) {
        size_t n = strlen(nasty[i]);

        tf_buf_init(&q, 0);
        tf_buf_init(&c, 0);
        assert_int_equal(tf__shell_quote(nasty[i], n, &q), 0);
        assert_int_equal(tf__shell_canon((const char *)q.data, q.len, &c), 0);
        assert_int_equal(c.len, n);
        if (n > 0)
            assert_memory_equal(c.data, nasty[i], n);
        tf_buf_cleanup(&q);
        tf_buf_cleanup(&c);
    }
}

/*
 * One joblog Command column as GNU Parallel 20221122 (Debian 12) wrote it:
 * TMPL and COLSEP as given to parallel, the input LINE, and the task's Seq.
 */
struct gnu_cmd {
    const char *tmpl;
    const char *colsep;
    const char *line;
    uint64_t seq;
    const char *cmd;
};

/* Observed with `parallel --joblog FILE TMPL ::: LINES...` (and --colsep,
 * -j3 where given): GNU Parallel 20221122's output, copied verbatim. */
static const struct gnu_cmd gnu_cmds[] = {
    {"echo {}", NULL, "a b", 1, "echo 'a b'"},
    {"echo {}", NULL, "c'd", 2, "echo 'c'\"'\"'d'"},
    {"echo {}", NULL, "e\"f", 3, "echo 'e\"f'"},
    {"echo {}", NULL, "$x", 4, "echo '$x'"},
    {"echo {}", NULL, "plain", 5, "echo plain"},
    {"echo {}", NULL, "#autosave#", 6, "echo '#autosave#'"},
    {"echo {}", NULL, "", 7, "echo ''"},
    {"echo {}", NULL, "tab\there", 1, "echo 'tab\there'"},
    {"echo {}", NULL, "ctl\001x", 2, "echo 'ctl\001x'"},
    {"echo {}", NULL, "h\xc3\xa9llo", 3, "echo 'h\xc3\xa9llo'"},
    {"echo {}", NULL, "~/x", 4, "echo '~/x'"},
    {"echo {}", NULL, "*", 5, "echo '*'"},
    {"echo {}", NULL, "a=b", 6, "echo 'a=b'"},
    {"echo {}", NULL, "-n", 7, "echo -n"},
    {"echo {}", NULL, "x,y", 8, "echo 'x,y'"},
    {"echo {}", NULL, "a\\b", 9, "echo 'a\\b'"},
    {"echo {}", NULL, "!", 10, "echo '!'"},
    {"echo {}", NULL, "$(id)", 11, "echo '$(id)'"},
    {"echo {}", NULL, "`id`", 12, "echo '`id`'"},
    {"echo {}", NULL, "it's \"q\"", 13, "echo 'it'\"'\"'s \"q\"'"},
    {"echo {}", NULL, "dir/a b.c", 14, "echo 'dir/a b.c'"},
    {"echo {}", NULL, "%", 15, "echo '%'"},
    {"echo {}", NULL, "{}", 16, "echo '{}'"},
    {"echo {/.} {#} {%}", NULL, "dir/a b.txt", 1, "echo 'a b' 1 1"},
    {"echo {/.} {#} {%}", NULL, "x/c'd.tar.gz", 2, "echo 'c'\"'\"'d.tar' 2 1"},
    {"echo {/.} {#} {%}", NULL, "plain", 3, "echo plain 3 2"},
    {"echo {.} {/} {//} {/.}", NULL, "d'x/it's a.b", 1,
     "echo 'd'\"'\"'x/it'\"'\"'s a' 'it'\"'\"'s a.b' 'd'\"'\"'x' "
     "'it'\"'\"'s a'"},
    /* -j3 */
    {"echo slot={%} seq={#} {}", NULL, "a b", 1, "echo slot=1 seq=1 'a b'"},
    {"echo slot={%} seq={#} {}", NULL, "c'd", 2,
     "echo slot=1 seq=2 'c'\"'\"'d'"},
    {"echo slot={%} seq={#} {}", NULL, "x", 3, "echo slot=2 seq=3 x"},
    {"echo slot={%} seq={#} {}", NULL, "y", 4, "echo slot=1 seq=4 y"},
    {"echo {1} {1.}", NULL, "a b", 1, "echo 'a b' 'a b'"},
    {"echo {1} {2}", ",", "a b,c", 1, "echo 'a b' c"},
    {"echo {1} {2}", ",", "1,2,3", 2, "echo 1 2"},
    /* GNU Parallel writes nothing for a missing column; we write ''. */
    {"echo {1} {2}", ",", "x", 3, "echo x "},
    {"printf \"<%s>\\n\" {1} {2} {3}; echo {2}-{3}-", ",", "x", 1,
     "printf \"<%s>\\n\" x  ; echo --"},
    {"printf \"<%s>\\n\" {1} {2} {3}; echo {2}-{3}-", ",", "a,,b", 2,
     "printf \"<%s>\\n\" a '' b; echo ''-b-"},
    {"printf \"<%s>\\n\"", ",", "a b,c", 1, "printf \"<%s>\\n\" 'a b' c"},
    {"printf \"<%s>\"", ",", "", 1, "printf \"<%s>\" ''"},
    {"printf \"<%s>\"", ",", ",", 2, "printf \"<%s>\" '' ''"},
    {"cp {1} {2//}/{1/.}.{2/.}", ",", "d/x y.txt,e/f'g.tar.gz", 1,
     "cp 'd/x y.txt' e/'x y'.'f'\"'\"'g.tar'"},
    {"echo {} / {.} / {/} / {//} / {/.} / {#} {%}", ",", "x/a.b,y/c d.e", 1,
     "echo x/a.b 'y/c d.e' / x/a 'y/c d' / a.b 'c d.e' / x y / a 'c d' / "
     "1 1"},
    {"printf \"<%s>\" {1} {2} {3}; echo", "\\s+", "x\t\ty", 4,
     "printf \"<%s>\" x y ; echo"},
    {"echo {2} {1}", "\\t", "a\tb", 1, "echo b a"},
};

static void
test_matches_gnu_parallel_joblog_commands(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(gnu_cmds) / sizeof(gnu_cmds[0]); i++) {
        const struct gnu_cmd *g = &gnu_cmds[i];
        struct tf__template *t = compile_ok(g->tmpl, g->colsep);

        if (!matches(t, g->line, g->seq, g->cmd))
            fail_msg("[%s] on [%s] does not match [%s]", g->tmpl, g->line,
                     g->cmd);
        tf__template_free(t);
    }
}

static void
test_matches_rejects_gnu_commands_for_other_line_seq_or_template(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(gnu_cmds) / sizeof(gnu_cmds[0]); i++) {
        const struct gnu_cmd *g = &gnu_cmds[i];
        struct tf__template *t = compile_ok(g->tmpl, g->colsep);
        struct tf__template *other;
        char tmpl[256];
        char line[128];

        /* Another line. */
        snprintf(line, sizeof(line), "%s",
                 strcmp(g->line, "other") == 0 ? "another" : "other");
        if (matches(t, line, g->seq, g->cmd))
            fail_msg("[%s] on [%s] matches [%s]", g->tmpl, line, g->cmd);
        /* Another task number, where the command shows it. */
        if (strstr(g->tmpl, "{#}") != NULL &&
            matches(t, g->line, g->seq + 1, g->cmd))
            fail_msg("[%s] as task %llu matches [%s]", g->tmpl,
                     (unsigned long long)g->seq + 1, g->cmd);
        /* Another template: one more argument. */
        snprintf(tmpl, sizeof(tmpl), "%s x", g->tmpl);
        other = compile_ok(tmpl, g->colsep);
        if (matches(other, g->line, g->seq, g->cmd))
            fail_msg("[%s] on [%s] matches [%s]", tmpl, g->line, g->cmd);
        tf__template_free(other);
        tf__template_free(t);
    }
}

static void
test_matches_own_command_for_every_slot(void **state)
{
    static const char *const tmpls[] = {
        "echo {%} {}",           "x{%}0 {%}1 {}", "{%}{%}{#} {}",
        "echo '{%}' \"{%}\" {}", "f\\{%} {}",
    };
    static const int slots[] = {INT_MAX, INT_MIN, -1, 0};
    struct tf_buf cmd;
    size_t i;
    int slot;

    (void)state;
    tf_buf_init(&cmd, 0);
    for (i = 0; i < sizeof(tmpls) / sizeof(tmpls[0]); i++) {
        struct tf__template *t = compile_ok(tmpls[i], NULL);

        assert_true(tf__template_uses_slot(t));
        for (slot = -4; slot < 1100 + 4; slot++) {
            int s = slot < 1100 ? slot : slots[slot - 1100];

            tf_buf_reset(&cmd);
            assert_int_equal(tf__template_apply(t, "a 'b", 4, 12, s, &cmd), 0);
            if (!tf__template_matches(t, "a 'b", 4, 12, (const char *)cmd.data,
                                      cmd.len))
                fail_msg("[%s] in slot %d: [%s] does not match", tmpls[i], s,
                         (const char *)cmd.data);
            assert_false(tf__template_matches(t, "a 'c", 4, 12,
                                              (const char *)cmd.data, cmd.len));
        }
        tf__template_free(t);
    }
    tf_buf_cleanup(&cmd);
}

static void
test_matches_needs_one_slot_value_for_every_slot_placeholder(void **state)
{
    struct tf__template *t = compile_ok("echo {%} {%}", NULL);

    (void)state;
    assert_true(matches(t, "x", 1, "echo 2 2"));
    assert_false(matches(t, "x", 1, "echo 2 3"));
    tf__template_free(t);
    t = compile_ok("echo {%}:{%} {}", NULL);
    assert_true(matches(t, "x", 1, "echo 2:2 x"));
    assert_true(matches(t, "x", 1, "echo 12:12 x"));
    assert_false(matches(t, "x", 1, "echo 1:2 x"));
    assert_false(matches(t, "x", 1, "echo a:a x"));
    assert_false(matches(t, "x", 1, "echo :: x"));
    tf__template_free(t);
}

static void
test_matches_keeps_word_boundaries(void **state)
{
    struct tf__template *t = compile_ok("echo {1} {2}", ",");

    (void)state;
    assert_true(matches(t, "a b,c", 1, "echo 'a b' c"));
    assert_true(matches(t, "a b,c", 1, "echo a\\ b \"c\""));
    assert_false(matches(t, "a b,c", 1, "echo a 'b c'"));
    assert_false(matches(t, "a b,c", 1, "echo a b c"));
    assert_false(matches(t, "a,b", 1, "echo a b ''"));
    assert_false(matches(t, "a b,c", 1, "echo 'a b c"));
    assert_false(matches(t, "a b,c", 1, ""));
    tf__template_free(t);
}

static void
test_matches_missing_column_as_quoted_or_absent(void **state)
{
    struct tf__template *t = compile_ok("cmd {1} {3} {2}", ",");

    (void)state;
    assert_true(matches(t, "a,b", 1, "cmd a '' b"));
    assert_true(matches(t, "a,b", 1, "cmd a  b"));
    assert_false(matches(t, "a,b,c", 1, "cmd a  b"));
    assert_false(matches(t, "a,b", 1, "cmd a b b"));
    tf__template_free(t);
}

static void
test_public_names_compile_apply_and_free_the_same(void **state)
{
    struct tf_template *t = (struct tf_template *)&t;
    struct tf_error err;
    struct tf_buf out;

    (void)state;
    tf_buf_init(&out, 0);
    assert_int_equal(tf_template_compile("cp {1} {2//}/", ",", &t, NULL), 0);
    assert_non_null(t);
    assert_int_equal(tf_template_apply(t, "a b,d/x", 7, 1, 1, &out), 0);
    assert_string_equal((const char *)out.data, "cp 'a b' d/");
    tf_template_free(t);
    tf_template_free(NULL);
    tf_error_init(&err);
    assert_int_equal(tf_template_compile("{2}", NULL, &t, &err), TF_EUSAGE);
    assert_null(t);
    assert_non_null(strstr(err.msg, "needs --colsep"));
    tf_buf_cleanup(&out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_leaves_safe_words_bare),
        cmocka_unit_test(test_quote_empty_string_becomes_two_quotes),
        cmocka_unit_test(test_quote_space_forces_single_quotes),
        cmocka_unit_test(test_quote_writes_single_quote_as_close_escape_reopen),
        cmocka_unit_test(test_quote_bare_exactly_for_the_safe_set),
        cmocka_unit_test(test_quote_one_unsafe_byte_quotes_the_whole_word),
        cmocka_unit_test(test_quote_reads_n_bytes_not_up_to_nul),
        cmocka_unit_test(test_quote_appends_after_existing_content),
        cmocka_unit_test(test_quote_over_cap_returns_einput_and_keeps_buffer),
        cmocka_unit_test(test_expand_nested_path_gives_each_part),
        cmocka_unit_test(test_expand_bare_file_has_dot_as_dirname),
        cmocka_unit_test(test_expand_absolute_path_gives_each_part),
        cmocka_unit_test(test_expand_file_in_root_has_slash_as_dirname),
        cmocka_unit_test(test_expand_hidden_file_keeps_its_leading_dot),
        cmocka_unit_test(test_expand_dot_in_dirname_is_not_an_extension),
        cmocka_unit_test(test_expand_extension_is_only_the_last_suffix),
        cmocka_unit_test(test_expand_trailing_slash_gives_empty_basename),
        cmocka_unit_test(test_expand_quotes_every_path_part),
        cmocka_unit_test(test_expand_without_placeholder_appends_quoted_line),
        cmocka_unit_test(
            test_expand_with_only_number_placeholders_does_not_append_line),
        cmocka_unit_test(test_expand_quotes_semicolon_injection),
        cmocka_unit_test(test_expand_quotes_command_substitution),
        cmocka_unit_test(test_expand_quotes_backticks),
        cmocka_unit_test(test_expand_quotes_embedded_single_quotes),
        cmocka_unit_test(test_expand_empty_line_gives_empty_quotes),
        cmocka_unit_test(test_expand_writes_seq_and_slot_in_decimal),
        cmocka_unit_test(test_expand_repeats_placeholders),
        cmocka_unit_test(test_expand_leaves_other_braces_literal),
        cmocka_unit_test(
            test_expand_leaves_truncated_placeholder_at_end_literal),
        cmocka_unit_test(test_expand_appends_after_existing_content),
        cmocka_unit_test(test_expand_reads_len_bytes_of_line),
        cmocka_unit_test(test_expand_over_cap_returns_einput),
        cmocka_unit_test(test_expand_failure_leaves_buffer_as_it_was),
        cmocka_unit_test(test_has_placeholder_finds_each_of_the_seven),
        cmocka_unit_test(test_has_placeholder_rejects_lookalikes),
        cmocka_unit_test(test_sh_prints_back_each_nasty_line_exactly),
        cmocka_unit_test(test_sh_prints_back_each_control_byte_exactly),
        cmocka_unit_test(test_sh_prints_back_every_byte_but_nul_and_newline),
        cmocka_unit_test(test_sh_prints_back_random_lines_exactly),
        cmocka_unit_test(test_sh_gets_each_path_part_as_one_argument),
        cmocka_unit_test(test_bash_prints_back_each_nasty_line_exactly),
        cmocka_unit_test(test_columns_split_on_a_one_byte_separator),
        cmocka_unit_test(test_columns_split_on_a_multibyte_separator),
        cmocka_unit_test(test_columns_split_on_tab_escape),
        cmocka_unit_test(
            test_columns_split_on_escaped_backslash_and_punctuation),
        cmocka_unit_test(test_blank_runs_split_like_awk),
        cmocka_unit_test(test_path_operations_apply_to_a_column),
        cmocka_unit_test(test_missing_column_is_an_empty_quoted_word),
        cmocka_unit_test(test_empty_columns_are_quoted),
        cmocka_unit_test(test_without_colsep_column_one_is_the_line),
        cmocka_unit_test(test_with_colsep_line_forms_give_every_column),
        cmocka_unit_test(test_template_without_replacement_gets_every_column),
        cmocka_unit_test(
            test_compiled_template_agrees_with_expand_without_colsep),
        cmocka_unit_test(test_compiled_template_writes_seq_and_slot),
        cmocka_unit_test(test_uses_slot_only_with_slot_placeholder),
        cmocka_unit_test(test_apply_over_cap_fails_and_leaves_buffer),
        cmocka_unit_test(test_compile_refuses_perl_expressions),
        cmocka_unit_test(test_compile_refuses_unknown_lookalikes),
        cmocka_unit_test(test_compile_refuses_column_numbers_past_the_limit),
        cmocka_unit_test(test_compile_refuses_higher_column_without_colsep),
        cmocka_unit_test(test_colsep_refuses_empty_value_and_unknown_escapes),
        cmocka_unit_test(test_compile_leaves_other_braces_literal),
        cmocka_unit_test(test_canon_removes_each_kind_of_quoting),
        cmocka_unit_test(test_canon_refuses_unbalanced_quotes_and_keeps_buffer),
        cmocka_unit_test(test_canon_gives_the_words_sh_gives),
        cmocka_unit_test(test_canon_of_a_quoted_word_is_the_word),
        cmocka_unit_test(test_matches_gnu_parallel_joblog_commands),
        cmocka_unit_test(
            test_matches_rejects_gnu_commands_for_other_line_seq_or_template),
        cmocka_unit_test(test_matches_own_command_for_every_slot),
        cmocka_unit_test(
            test_matches_needs_one_slot_value_for_every_slot_placeholder),
        cmocka_unit_test(test_matches_keeps_word_boundaries),
        cmocka_unit_test(test_matches_missing_column_as_quoted_or_absent),
        cmocka_unit_test(test_public_names_compile_apply_and_free_the_same),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
