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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
