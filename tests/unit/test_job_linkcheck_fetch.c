/* test_job_linkcheck_fetch.c - the linkcheck job's libcurl side: the waits
 * of retries, which failures are retried, the kinds and texts of errors,
 * and the master's single fetch against a server on the loopback */
#include "tf_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "linkcheck/linkcheck.h"

/* The CURLcodes the tests use; libcurl never renumbers them. */
enum {
    E_OK = 0,
    E_COULDNT_RESOLVE_PROXY = 5,
    E_COULDNT_RESOLVE_HOST = 6,
    E_COULDNT_CONNECT = 7,
    E_PARTIAL_FILE = 18,
    E_HTTP_RETURNED_ERROR = 22,
    E_OPERATION_TIMEDOUT = 28,
    E_SSL_CONNECT_ERROR = 35,
    E_GOT_NOTHING = 52,
    E_SEND_ERROR = 55,
    E_RECV_ERROR = 56,
    E_PEER_FAILED_VERIFICATION = 60,
};

#define S 1000000u /* a second, in microseconds */

/* ------------------------------------------------------ retry waits */

static void
test_backoff_doubles_from_one_second(void **state)
{
    (void)state;
    assert_int_equal(lc__retry_wait_us(1, 0, 60 * S, 0), 1 * S);
    assert_int_equal(lc__retry_wait_us(2, 0, 60 * S, 0), 2 * S);
    assert_int_equal(lc__retry_wait_us(3, 0, 60 * S, 0), 4 * S);
    assert_int_equal(lc__retry_wait_us(6, 0, 60 * S, 0), 32 * S);
}

static void
test_backoff_jitter_adds_at_most_a_quarter(void **state)
{
    uint64_t w;

    (void)state;
    w = lc__retry_wait_us(3, 0, 60 * S, 0.5);
    assert_true(w > 4 * S && w < 5 * S);
    w = lc__retry_wait_us(3, 0, 60 * S, 0.999);
    assert_true(w > 4 * S && w <= 5 * S);
    /* Out of range: no jitter. */
    assert_int_equal(lc__retry_wait_us(1, 0, 60 * S, 1.5), 1 * S);
    assert_int_equal(lc__retry_wait_us(1, 0, 60 * S, -1), 1 * S);
}

static void
test_backoff_past_the_longest_wait_is_no_retry(void **state)
{
    (void)state;
    /* 64 s > 60 s. */
    assert_int_equal(lc__retry_wait_us(7, 0, 60 * S, 0), UINT64_MAX);
    assert_int_equal(lc__retry_wait_us(1000, 0, 60 * S, 0), UINT64_MAX);
    /* No wait allowed: no retry. */
    assert_int_equal(lc__retry_wait_us(1, 0, 0, 0), UINT64_MAX);
    /* A jitter alone that passes the longest wait is cut to it. */
    assert_int_equal(lc__retry_wait_us(6, 0, 33 * S, 0.999), 33 * S);
}

static void
test_retry_after_is_the_wait_unless_too_long(void **state)
{
    (void)state;
    assert_int_equal(lc__retry_wait_us(1, 7, 60 * S, 0.9), 7 * S);
    assert_int_equal(lc__retry_wait_us(5, 1, 60 * S, 0.9), 1 * S);
    assert_int_equal(lc__retry_wait_us(1, 60, 60 * S, 0), 60 * S);
    assert_int_equal(lc__retry_wait_us(1, 61, 60 * S, 0), UINT64_MAX);
    assert_int_equal(lc__retry_wait_us(1, INT64_MAX, 60 * S, 0), UINT64_MAX);
    /* None given (0): the backoff. */
    assert_int_equal(lc__retry_wait_us(2, 0, 60 * S, 0), 2 * S);
}

/* ------------------------------------------------- what is retried */

/* One try's end and whether it is retried. */
struct retry_case {
    int code;
    long status;
    const char *detail;
    bool retried;
};

static void
check_retries(const struct retry_case *cases, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (lc__retryable(cases[i].code, cases[i].status, cases[i].detail) !=
            cases[i].retried)
            fail_msg("case %zu: code %d, status %ld: retried should be %d", i,
                     cases[i].code, cases[i].status, (int)cases[i].retried);
    }
}

static void
test_busy_statuses_are_retried_others_not(void **state)
{
    static const struct retry_case cases[] = {
        {E_OK, 429, "", true},
        {E_OK, 503, "", true},
        {E_OK, 200, "", false},
        {E_OK, 404, "", false},
        {E_OK, 500, "", false},
        {E_OK, 502, "", false},
        {E_HTTP_RETURNED_ERROR, 503, "", false},
    };

    (void)state;
    check_retries(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_broken_connections_are_retried_others_not(void **state)
{
    static const struct retry_case cases[] = {
        {E_RECV_ERROR, 0, "", true},
        {E_SEND_ERROR, 0, "", true},
        {E_GOT_NOTHING, 0, "", true},
        {E_PARTIAL_FILE, 200, "", true},
        {E_SSL_CONNECT_ERROR, 0,
         "OpenSSL SSL_connect: Connection reset by peer in connection to x",
         true},
        {E_SSL_CONNECT_ERROR, 0, "wrong version", false},
        {E_SSL_CONNECT_ERROR, 0, NULL, false},
        {E_COULDNT_RESOLVE_HOST, 0, "", false},
        {E_COULDNT_CONNECT, 0, "", false},
        {E_OPERATION_TIMEDOUT, 0, "", false},
        {E_PEER_FAILED_VERIFICATION, 0, "", false},
    };

    (void)state;
    check_retries(cases, sizeof(cases) / sizeof(cases[0]));
}

/* --------------------------------------------------- kinds and texts */

static void
test_errors_of_reaching_a_host_are_host_errors(void **state)
{
    (void)state;
    assert_int_equal(lc__errkind(E_OK, true), LC__ERR_NONE);
    assert_int_equal(lc__errkind(E_COULDNT_RESOLVE_HOST, false), LC__ERR_HOST);
    assert_int_equal(lc__errkind(E_COULDNT_RESOLVE_PROXY, false), LC__ERR_HOST);
    assert_int_equal(lc__errkind(E_COULDNT_CONNECT, false), LC__ERR_HOST);
    /* A timeout before a connection: the host is out of reach; after
     * one: the server is slow. */
    assert_int_equal(lc__errkind(E_OPERATION_TIMEDOUT, false), LC__ERR_HOST);
    assert_int_equal(lc__errkind(E_OPERATION_TIMEDOUT, true), LC__ERR_TIMEOUT);
    assert_int_equal(lc__errkind(E_PEER_FAILED_VERIFICATION, true),
                     LC__ERR_OTHER);
    assert_int_equal(lc__errkind(E_RECV_ERROR, true), LC__ERR_OTHER);
}

static void
test_error_texts_are_libcurls_with_host_errors_named(void **state)
{
    char why[LC__WHY];

    (void)state;
    lc__error_text(E_COULDNT_RESOLVE_HOST, LC__ERR_HOST, why, sizeof(why));
    assert_string_equal(why, "unreachable host: Couldn't resolve host name");
    lc__error_text(E_COULDNT_CONNECT, LC__ERR_HOST, why, sizeof(why));
    assert_string_equal(why, "unreachable host: Couldn't connect to server");
    lc__error_text(E_OPERATION_TIMEDOUT, LC__ERR_HOST, why, sizeof(why));
    assert_string_equal(why, "unreachable host: Timeout was reached");
    lc__error_text(E_OPERATION_TIMEDOUT, LC__ERR_TIMEOUT, why, sizeof(why));
    assert_string_equal(why, "Timeout was reached");
    lc__error_text(E_PEER_FAILED_VERIFICATION, LC__ERR_OTHER, why, sizeof(why));
    assert_string_equal(why,
                        "SSL peer certificate or SSH remote key was not OK");
}

static void
test_headers_make_a_list_and_free_it(void **state)
{
    struct lc__state st;

    (void)state;
    memset(&st, 0, sizeof(st));
    assert_int_equal(lc__headers_make(&st), 0);
    assert_null(st.headers_list);
    assert_int_equal(lc__strs_printf(&st.headers, "X-One: 1"), 0);
    assert_int_equal(lc__strs_printf(&st.headers, "X-Two: 2"), 0);
    assert_int_equal(lc__headers_make(&st), 0);
    assert_non_null(st.headers_list);
    /* Made again: the old list is freed (valgrind would say otherwise). */
    assert_int_equal(lc__headers_make(&st), 0);
    assert_non_null(st.headers_list);
    lc__headers_free(&st);
    assert_null(st.headers_list);
    lc__strs_cleanup(&st.headers);
}

/* --------------------------------------- a server on the loopback */

/* A server that answers its connections in turn with REPLIES: a NULL one
 * closes the connection once the request is read, without an answer. */
struct server {
    int fd;
    unsigned port;
    const char *const *replies;
    size_t nreplies;
    size_t served;
    char request[4096]; /* the last request's head */
    pthread_t thread;
};

static void *
serve(void *arg)
{
    struct server *s = arg;
    size_t i;

    for (i = 0; i < s->nreplies; i++) {
        int c = accept(s->fd, NULL, NULL);
        size_t len = 0;
        ssize_t n;

        if (c < 0)
            break;
        s->request[0] = '\0';
        while (len < sizeof(s->request) - 1 &&
               strstr(s->request, "\r\n\r\n") == NULL) {
            n = recv(c, s->request + len, sizeof(s->request) - 1 - len, 0);
            if (n <= 0)
                break;
            len += (size_t)n;
            s->request[len] = '\0';
        }
        if (s->replies[i] != NULL) {
            const char *p = s->replies[i];
            size_t left = strlen(p);

            /* The client may stop reading: no SIGPIPE. */
            while (left > 0) {
                n = send(c, p, left, MSG_NOSIGNAL);
                if (n <= 0)
                    break;
                p += n;
                left -= (size_t)n;
            }
        }
        s->served++;
        close(c);
    }
    return NULL;
}

/* A socket bound to a free port of the loopback, listening when LISTEN;
 * sets *PORT. */
static int
loopback_socket(bool listening, unsigned *port)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    if (listening)
        assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void
server_start(struct server *s, const char *const *replies, size_t n)
{
    memset(s, 0, sizeof(*s));
    s->replies = replies;
    s->nreplies = n;
    s->fd = loopback_socket(true, &s->port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

/* Stops S, whose connections may not all have come: a listening socket
 * shut down ends the accept() that waits. */
static void
server_stop(struct server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->fd);
}

static int
curl_setup(void **state)
{
    (void)state;
    /* The loopback server is reached directly, whatever the machine's
     * proxy. */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    return lc__curl_init();
}

static int
curl_teardown(void **state)
{
    (void)state;
    lc__curl_cleanup();
    return 0;
}

/* lc__fetch_once() of http://127.0.0.1:PORT/robots.txt with a state of
 * one header and short timeouts, into BODY, STATUS and WHY (LC__WHY
 * bytes). */
static int
fetch_robots(unsigned port, long *status, struct tf_buf *body, char *why)
{
    struct lc__state st;
    char url[64];
    int rc;

    memset(&st, 0, sizeof(st));
    st.user_agent = "taskfarm-linkcheck/test";
    st.max_redirs = 5;
    st.connect_timeout_ms = 5000;
    st.max_time_ms = 10000;
    assert_int_equal(lc__strs_printf(&st.headers, "X-Test: yes"), 0);
    assert_int_equal(lc__headers_make(&st), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/robots.txt", port);
    *status = -1;
    rc = lc__fetch_once(&st, url, status, body, why, LC__WHY);
    lc__headers_free(&st);
    lc__strs_cleanup(&st.headers);
    return rc;
}

/* fetch_robots() from a server that answers with the N REPLIES; S is
 * stopped after, for what it saw. */
static int
fetch_served(struct server *s, const char *const *replies, size_t n,
             long *status, struct tf_buf *body, char *why)
{
    int rc;

    server_start(s, replies, n);
    rc = fetch_robots(s->port, status, body, why);
    server_stop(s);
    return rc;
}

static void
test_fetch_once_keeps_512_kib_and_sends_the_headers(void **state)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 614400\r\n\r\n";
    struct server s;
    struct tf_buf body;
    const char *replies[1];
    char *reply;
    char why[LC__WHY] = "";
    long status;

    (void)state;
    reply = malloc(sizeof(head) + 614400);
    assert_non_null(reply);
    memcpy(reply, head, sizeof(head) - 1);
    memset(reply + sizeof(head) - 1, 'a', 614400);
    reply[sizeof(head) - 1 + 614400] = '\0';
    replies[0] = reply;
    tf_buf_init(&body, 0);
    assert_int_equal(fetch_served(&s, replies, 1, &status, &body, why), 0);
    assert_int_equal(status, 200);
    assert_int_equal(body.len, 512 * 1024);
    assert_non_null(strstr(s.request, "GET /robots.txt HTTP/1.1\r\n"));
    assert_non_null(
        strstr(s.request, "\r\nUser-Agent: taskfarm-linkcheck/test\r\n"));
    assert_non_null(strstr(s.request, "\r\nX-Test: yes\r\n"));
    tf_buf_cleanup(&body);
    free(reply);
}

static void
test_fetch_once_tries_again_after_a_closed_connection(void **state)
{
    static const char *const replies[] = {
        NULL, "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnone"};
    struct server s;
    struct tf_buf body;
    char why[LC__WHY] = "";
    long status;

    (void)state;
    tf_buf_init(&body, 0);
    assert_int_equal(tf_buf_puts(&body, "kept:"), 0);
    assert_int_equal(fetch_served(&s, replies, 2, &status, &body, why), 0);
    assert_int_equal(s.served, 2);
    assert_int_equal(status, 404);
    /* Appended to what BODY held. */
    assert_string_equal((const char *)body.data, "kept:none");
    tf_buf_cleanup(&body);
}

static void
test_fetch_once_fails_twice_closed_with_libcurls_text(void **state)
{
    static const char *const replies[] = {NULL, NULL};
    struct server s;
    struct tf_buf body;
    char why[LC__WHY] = "";
    long status;

    (void)state;
    tf_buf_init(&body, 0);
    assert_int_equal(fetch_served(&s, replies, 2, &status, &body, why),
                     TF_EINPUT);
    assert_int_equal(s.served, 2);
    assert_int_equal(status, 0);
    assert_string_equal(why, "Server returned nothing (no headers, no data)");
    tf_buf_cleanup(&body);
}

static void
test_fetch_once_names_a_host_that_refuses(void **state)
{
    struct tf_buf body;
    unsigned port;
    char why[LC__WHY] = "";
    long status;
    int fd;

    (void)state;
    /* A port bound but not listening refuses connections. */
    fd = loopback_socket(false, &port);
    tf_buf_init(&body, 0);
    assert_int_equal(fetch_robots(port, &status, &body, why), TF_EINPUT);
    close(fd);
    assert_int_equal(status, 0);
    assert_string_equal(why, "unreachable host: Couldn't connect to server");
    tf_buf_cleanup(&body);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_from_one_second),
        cmocka_unit_test(test_backoff_jitter_adds_at_most_a_quarter),
        cmocka_unit_test(test_backoff_past_the_longest_wait_is_no_retry),
        cmocka_unit_test(test_retry_after_is_the_wait_unless_too_long),
        cmocka_unit_test(test_busy_statuses_are_retried_others_not),
        cmocka_unit_test(test_broken_connections_are_retried_others_not),
        cmocka_unit_test(test_errors_of_reaching_a_host_are_host_errors),
        cmocka_unit_test(test_error_texts_are_libcurls_with_host_errors_named),
        cmocka_unit_test(test_headers_make_a_list_and_free_it),
        cmocka_unit_test(test_fetch_once_keeps_512_kib_and_sends_the_headers),
        cmocka_unit_test(test_fetch_once_tries_again_after_a_closed_connection),
        cmocka_unit_test(test_fetch_once_fails_twice_closed_with_libcurls_text),
        cmocka_unit_test(test_fetch_once_names_a_host_that_refuses),
    };

    return cmocka_run_group_tests(tests, curl_setup, curl_teardown);
}
