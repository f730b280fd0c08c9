/*
 * Tests of the notifier against real servers: tests/support/webhook_sink.py (HTTP) and
 * tests/support/smtp_sink.py (SMTP, aiosmtpd), started on free loopback ports for the
 * run and stopped at the end. Plus the pure parts: backoff, signature, templates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "notify/notify.h"
#include "notify/notify_internal.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/str.h"

#ifndef NOTALONE_SOURCE_DIR
#error "NOTALONE_SOURCE_DIR must name the source tree"
#endif

#define PYTHON      "/usr/bin/python3"
#define SUPPORT_DIR NOTALONE_SOURCE_DIR "/tests/support/"

extern char **environ;

/* ---- helper processes ---- */

/* A sink process: writes what it receives into dir; exits when stdin_fd is closed. */
struct sink {
    pid_t pid;
    int stdin_fd;
    int port;
    char dir[64];
};

static struct sink web_sink;
static struct sink smtp_sink;

static void set_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);
    assert_true(flags >= 0);
    assert_int_equal(fcntl(fd, F_SETFD, flags | FD_CLOEXEC), 0);
}

/* Reads "ready PORT\n" from fd within 20 s; the port, or -1. */
static int read_ready_port(int fd)
{
    char line[64];
    size_t len = 0;
    while (len < sizeof line - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20000) != 1)
            return -1;
        ssize_t r = read(fd, line + len, 1);
        if (r != 1)
            return -1;
        if (line[len] == '\n')
            break;
        len++;
    }
    int64_t port;
    if (len < 7 || memcmp(line, "ready ", 6) != 0 ||
        parse_int64((struct slice){line + 6, len - 6}, 1, 65535, &port))
        return -1;
    return (int)port;
}

/* Starts tests/support/<script> DIR [extra] and waits until it listens. */
static void sink_start(struct sink *s, const char *script, const char *extra)
{
    char path[512];
    int in[2], out[2];
    snprintf(path, sizeof path, "%s%s", SUPPORT_DIR, script);
    snprintf(s->dir, sizeof s->dir, "/tmp/na_notify_XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    /* Close-on-exec, so a later sink does not hold this one's stdin open. */
    set_cloexec(in[1]);
    set_cloexec(out[0]);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[0]);
    posix_spawn_file_actions_addclose(&fa, out[1]);
    char *argv[] = {(char *)PYTHON, path, s->dir, NULL, NULL, NULL};
    if (extra) {
        argv[3] = (char *)"--auth";
        argv[4] = (char *)extra;
    }
    assert_int_equal(posix_spawn(&s->pid, PYTHON, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    s->stdin_fd = in[1];
    s->port = read_ready_port(out[0]);
    close(out[0]);
    assert_true(s->port > 0);
}

/* Removes every file of dir (and dir itself when rmdir_too). */
static void dir_clear(const char *dir, int rmdir_too)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[512];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    if (rmdir_too)
        rmdir(dir);
}

static void sink_stop(struct sink *s)
{
    if (s->pid <= 0)
        return;
    close(s->stdin_fd);
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    dir_clear(s->dir, 1);
    s->pid = 0;
}

/* Number of files in dir whose name ends with suffix; path of the last one into path. */
static int dir_find(const char *dir, const char *suffix, char *path, size_t n)
{
    int count = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    size_t sl = strlen(suffix);
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < sl || strcmp(e->d_name + len - sl, suffix) != 0)
            continue;
        count++;
        snprintf(path, n, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    return count;
}

/* Whole file into a malloc'ed NUL-terminated string (caller frees); *len its length. */
static char *file_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    struct buf b;
    buf_init(&b, 8 * 1024 * 1024);
    char chunk[4096];
    size_t r;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(buf_append(&b, chunk, r), 0);
    fclose(f);
    assert_int_equal(buf_append(&b, "", 0), 0);
    if (len)
        *len = b.len;
    return buf_take(&b);
}

/* The one file ending with suffix in dir (asserts there is exactly one); caller frees. */
static char *read_only(const char *dir, const char *suffix, size_t *len)
{
    char path[512];
    assert_int_equal(dir_find(dir, suffix, path, sizeof path), 1);
    return file_read(path, len);
}

/*
 * Value of header name in text (lines "Name: value" ending in eol) into out; 0 when
 * found. Stops at the first empty line.
 */
static int header_get(const char *text, const char *name, const char *eol, char *out, size_t n)
{
    size_t nl = strlen(name), el = strlen(eol);
    for (const char *p = text; *p && strncmp(p, eol, el) != 0;) {
        const char *end = strstr(p, eol);
        if (!end)
            return -1;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, n, "%.*s", (int)(end - v), v);
            return 0;
        }
        p = end + el;
    }
    return -1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct notifier *notifier_for(const char *smtp_url, long timeout_ms)
{
    struct notify_config cfg = {
        .smtp_url = smtp_url,
        .smtp_from = "alarms@notalone.test",
        .timeout_ms = timeout_ms,
    };
    struct notifier *nt = NULL;
    assert_int_equal(notifier_new(&cfg, &nt), 0);
    assert_non_null(nt);
    return nt;
}

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    if (sodium_init() < 0)
        return -1;
    sink_start(&web_sink, "webhook_sink.py", NULL);
    sink_start(&smtp_sink, "smtp_sink.py", NULL);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    sink_stop(&web_sink);
    sink_stop(&smtp_sink);
    return 0;
}

static int test_setup(void **state)
{
    (void)state;
    dir_clear(web_sink.dir, 0);
    dir_clear(smtp_sink.dir, 0);
    return 0;
}

/* ---- webhook ---- */

static const char *const alarm_body = "{\"alarm_id\":42,\"worker\":\"Zoë \\\"Z\\\" Ng\","
                                      "\"note\":\"line1\\nline2\"}";

static struct notify_message webhook_message(const char *path, const char *secret)
{
    static char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", web_sink.port, path);
    struct notify_message m = {
        .channel = NOTIFY_WEBHOOK,
        .address = url,
        .secret = secret,
        .event = "escalation.notify",
        .body = alarm_body,
        .idempotency_key = "ntf-42-3",
        .outbox_id = 9001,
    };
    return m;
}

static void test_webhook_delivered_signed(void **state)
{
    (void)state;
    struct notifier *nt = notifier_for(NULL, 5000);
    struct notify_message m = webhook_message("/ok", "s3cret-key");
    char err[256];
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), 0);
    assert_string_equal(err, "");

    char *head = read_only(web_sink.dir, ".headers", NULL);
    size_t body_len;
    char *body = read_only(web_sink.dir, ".body", &body_len);
    char v[256];
    assert_true(strncmp(head, "POST /ok HTTP/1.1\n", 18) == 0);
    const char *h = strchr(head, '\n') + 1;
    assert_int_equal(header_get(h, "Content-Type", "\n", v, sizeof v), 0);
    assert_string_equal(v, "application/json");
    assert_int_equal(header_get(h, "Idempotency-Key", "\n", v, sizeof v), 0);
    assert_string_equal(v, "ntf-42-3");
    assert_int_equal(header_get(h, "X-Notalone-Event", "\n", v, sizeof v), 0);
    assert_string_equal(v, "escalation.notify");
    assert_int_equal(header_get(h, "X-Notalone-Delivery", "\n", v, sizeof v), 0);
    assert_string_equal(v, "9001");
    assert_int_equal(body_len, strlen(alarm_body));
    assert_memory_equal(body, alarm_body, body_len);

    /* The signature verifies: HMAC-SHA256 of the bytes received, computed here. */
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)"s3cret-key", 10);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len);
    crypto_auth_hmacsha256_final(&st, mac);
    char expect[7 + 64 + 1] = "sha256=";
    sodium_bin2hex(expect + 7, 65, mac, sizeof mac);
    assert_int_equal(header_get(h, "X-Notalone-Signature", "\n", v, sizeof v), 0);
    assert_string_equal(v, expect);

    free(head);
    free(body);
    notifier_free(nt);
}

static void test_webhook_unsigned_and_reused(void **state)
{
    (void)state;
    struct notifier *nt = notifier_for(NULL, 5000);
    struct notify_message m = webhook_message("/created", NULL);
    char err[256], v[128];
    /* Two sends on one notifier: the second must not carry anything of the first. */
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), 0);
    dir_clear(web_sink.dir, 0);
    m.idempotency_key = "ntf-43-1";
    m.outbox_id = 43;
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), 0);
    char *head = read_only(web_sink.dir, ".headers", NULL);
    assert_int_not_equal(header_get(head, "X-Notalone-Signature", "\n", v, sizeof v), 0);
    assert_int_equal(header_get(strchr(head, '\n') + 1, "Idempotency-Key", "\n", v, sizeof v), 0);
    assert_string_equal(v, "ntf-43-1");
    free(head);
    notifier_free(nt);
}

static void test_webhook_error_status(void **state)
{
    (void)state;
    struct notifier *nt = notifier_for(NULL, 5000);
    char err[256];
    struct notify_message m = webhook_message("/fail", "k");
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EIO);
    assert_non_null(strstr(err, "500"));
    m = webhook_message("/notfound", "k");
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EIO);
    assert_non_null(strstr(err, "404"));
    notifier_free(nt);
}

static void test_webhook_redirect_not_followed(void **state)
{
    (void)state;
    struct notifier *nt = notifier_for(NULL, 5000);
    char err[256], path[512];
    struct notify_message m = webhook_message("/redirect", NULL);
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EIO);
    assert_non_null(strstr(err, "302"));
    assert_int_equal(dir_find(web_sink.dir, ".headers", path, sizeof path), 1);
    notifier_free(nt);
}

static void test_webhook_big_answer_bounded(void **state)
{
    (void)state;
    struct notifier *nt = notifier_for(NULL, 5000);
    char err[256];
    struct notify_message m = webhook_message("/big", NULL);
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), 0);
    notifier_free(nt);
}

static void test_webhook_connection_refused(void **state)
{
    (void)state;
    /* A bound socket that does not listen: connecting to its port is refused. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ok", ntohs(a.sin_port));

    struct notifier *nt = notifier_for(NULL, 5000);
    struct notify_message m = webhook_message("/ok", NULL);
    m.address = url;
    char err[256];
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EIO);
    assert_true(strlen(err) > 0);
    notifier_free(nt);
    close(fd);
}

static void test_webhook_slow_times_out(void **state)
{
    (void)state;
    struct notifier *nt = notifier_for(NULL, 700);
    struct notify_message m = webhook_message("/slow", NULL);
    char err[256];
    int64_t t0 = now_ms();
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EIO);
    int64_t took = now_ms() - t0;
    assert_true(took >= 600);
    assert_true(took < 2500);
    assert_non_null(strstr(err, "imeout") ? strstr(err, "imeout") : strstr(err, "timed out"));
    notifier_free(nt);
}

static void test_webhook_bad_urls(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "ftp://127.0.0.1/x",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
        "smtp://127.0.0.1/",
        "127.0.0.1/ok",
        "not a url",
        "",
        "http://a/\r\nX: y",
        "http://a/b c",
        "dict://127.0.0.1/",
    };
    struct notifier *nt = notifier_for(NULL, 2000);
    char err[256], path[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct notify_message m = webhook_message("/ok", NULL);
        m.address = bad[i];
        assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EINVAL);
        assert_true(strlen(err) > 0);
    }
    struct notify_message m = webhook_message("/ok", NULL);
    m.address = NULL;
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EINVAL);
    assert_int_equal(dir_find(web_sink.dir, ".headers", path, sizeof path), 0);
    notifier_free(nt);
}

static void test_webhook_header_injection(void **state)
{
    (void)state;
    struct notifier *nt = notifier_for(NULL, 2000);
    char err[256], path[512];
    struct notify_message m = webhook_message("/ok", NULL);
    m.event = "escalation.notify\r\nX-Evil: 1";
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EINVAL);
    m = webhook_message("/ok", NULL);
    m.idempotency_key = "k\nX-Evil: 1";
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EINVAL);
    m = webhook_message("/ok", NULL);
    m.idempotency_key = NULL;
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EINVAL);
    m = webhook_message("/ok", NULL);
    m.body = NULL;
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EINVAL);
    assert_int_equal(dir_find(web_sink.dir, ".headers", path, sizeof path), 0);
    notifier_free(nt);
}

/* ---- email ---- */

static const char *const email_body = "Worker 17 missed the check-in at 14:00.\n"
                                      ".hidden line starting with a dot\n"
                                      ".\n"
                                      "..two dots\r\n"
                                      "Last known location: Hafenstraße 3\n"
                                      "end";
static const char *const email_body_crlf = "Worker 17 missed the check-in at 14:00.\r\n"
                                           ".hidden line starting with a dot\r\n"
                                           ".\r\n"
                                           "..two dots\r\n"
                                           "Last known location: Hafenstraße 3\r\n"
                                           "end\r\n";
static const char *const utf8_subject = "Überfällig: Zoë hat sich nicht gemeldet – "
                                        "bitte sofort anrufen, Eskalationsstufe 2 (Buddy) 🚨";

static char smtp_url[64];

static struct notifier *smtp_notifier(void)
{
    snprintf(smtp_url, sizeof smtp_url, "smtp://127.0.0.1:%d", smtp_sink.port);
    return notifier_for(smtp_url, 5000);
}

static struct notify_message email_message(void)
{
    struct notify_message m = {
        .channel = NOTIFY_EMAIL,
        .address = "buddy@example.org",
        .event = "escalation.notify",
        .subject = utf8_subject,
        .body = email_body,
        .idempotency_key = "ntf-77-1",
        .outbox_id = 77,
    };
    return m;
}

/* Decodes the RFC 2047 encoded words of the Subject header of eml into out. */
static void subject_decode(const char *eml, char *out, size_t n)
{
    const char *p = strstr(eml, "\r\nSubject: ");
    size_t used = 0;
    assert_non_null(p);
    p += 11;
    for (;;) {
        assert_true(strncmp(p, "=?UTF-8?B?", 10) == 0);
        const char *end = strstr(p + 10, "?=");
        assert_non_null(end);
        assert_true(end + 2 - p <= 75); /* RFC 2047 2: an encoded word is at most 75 */
        size_t got;
        assert_int_equal(sodium_base642bin((unsigned char *)out + used, n - used - 1, p + 10,
                                           (size_t)(end - p - 10), NULL, &got, NULL,
                                           sodium_base64_VARIANT_ORIGINAL),
                         0);
        used += got;
        p = end + 2;
        if (strncmp(p, "\r\n ", 3) != 0)
            break;
        p += 3;
    }
    assert_true(strncmp(p, "\r\n", 2) == 0);
    out[used] = '\0';
}

static void test_email_delivered(void **state)
{
    (void)state;
    struct notifier *nt = smtp_notifier();
    struct notify_message m = email_message();
    char err[256], v[256];
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), 0);
    assert_string_equal(err, "");

    char *env = read_only(smtp_sink.dir, ".envelope", NULL);
    assert_string_equal(env, "alarms@notalone.test\nbuddy@example.org\n");
    char *eml = read_only(smtp_sink.dir, ".eml", NULL);
    assert_int_equal(header_get(eml, "From", "\r\n", v, sizeof v), 0);
    assert_string_equal(v, "alarms@notalone.test");
    assert_int_equal(header_get(eml, "To", "\r\n", v, sizeof v), 0);
    assert_string_equal(v, "buddy@example.org");
    assert_int_equal(header_get(eml, "MIME-Version", "\r\n", v, sizeof v), 0);
    assert_string_equal(v, "1.0");
    assert_int_equal(header_get(eml, "Content-Type", "\r\n", v, sizeof v), 0);
    assert_string_equal(v, "text/plain; charset=utf-8");
    assert_int_equal(header_get(eml, "Content-Transfer-Encoding", "\r\n", v, sizeof v), 0);
    assert_string_equal(v, "8bit");
    assert_int_equal(header_get(eml, "Date", "\r\n", v, sizeof v), 0);
    assert_true(strlen(v) == 31 && strcmp(v + 25, " +0000") == 0 && v[3] == ',');
    char id1[128];
    assert_int_equal(header_get(eml, "Message-ID", "\r\n", id1, sizeof id1), 0);
    assert_true(id1[0] == '<' && strstr(id1, "@notalone.test>") != NULL);

    char subject[512];
    subject_decode(eml, subject, sizeof subject);
    assert_string_equal(subject, utf8_subject);
    /* The body arrives byte for byte, dots and all, with CRLF line endings. */
    const char *body = strstr(eml, "\r\n\r\n");
    assert_non_null(body);
    assert_string_equal(body + 4, email_body_crlf);
    free(env);
    free(eml);

    /* A retry of the same notification carries the same Message-ID; another does not. */
    char id2[128], id3[128];
    dir_clear(smtp_sink.dir, 0);
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), 0);
    eml = read_only(smtp_sink.dir, ".eml", NULL);
    assert_int_equal(header_get(eml, "Message-ID", "\r\n", id2, sizeof id2), 0);
    assert_string_equal(id1, id2);
    free(eml);
    dir_clear(smtp_sink.dir, 0);
    m.idempotency_key = "ntf-78-1";
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), 0);
    eml = read_only(smtp_sink.dir, ".eml", NULL);
    assert_int_equal(header_get(eml, "Message-ID", "\r\n", id3, sizeof id3), 0);
    assert_string_not_equal(id1, id3);
    free(eml);
    notifier_free(nt);
}

static void test_email_ascii_subject_plain(void **state)
{
    (void)state;
    struct notifier *nt = smtp_notifier();
    struct notify_message m = email_message();
    m.subject = "Visit overdue: worker 17";
    char err[256], v[256];
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), 0);
    char *eml = read_only(smtp_sink.dir, ".eml", NULL);
    assert_int_equal(header_get(eml, "Subject", "\r\n", v, sizeof v), 0);
    assert_string_equal(v, "Visit overdue: worker 17");
    free(eml);
    notifier_free(nt);
}

static void test_email_injection_refused(void **state)
{
    (void)state;
    static const char *const bad_addresses[] = {
        "buddy@example.org\r\nRCPT TO:<evil@example.org>",
        "buddy@example.org\nBcc: evil@example.org",
        "buddy@example.org>",
        "<buddy@example.org",
        "buddy @example.org",
        "buddy@example.org, evil@example.org",
        "Buddy <buddy@example.org>",
        "buddy",
        "@example.org",
        "buddy@",
        "a@b@c",
        "",
    };
    static const char *const bad_subjects[] = {
        "Overdue\r\nBcc: evil@example.org",
        "Overdue\nBcc: evil@example.org",
        "Overdue\r",
        "tab\tand bell\a",
        "bad utf-8 \xc3\x28",
    };
    struct notifier *nt = smtp_notifier();
    char err[256], path[512];
    for (size_t i = 0; i < sizeof bad_addresses / sizeof bad_addresses[0]; i++) {
        struct notify_message m = email_message();
        m.address = bad_addresses[i];
        assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EINVAL);
        assert_null(strstr(err, "example.org")); /* no address in the reason */
    }
    for (size_t i = 0; i < sizeof bad_subjects / sizeof bad_subjects[0]; i++) {
        struct notify_message m = email_message();
        m.subject = bad_subjects[i];
        assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EINVAL);
    }
    struct notify_message m = email_message();
    m.address = NULL;
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EINVAL);
    m = email_message();
    m.idempotency_key = "k\r\nX: y";
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EINVAL);
    assert_int_equal(dir_find(smtp_sink.dir, ".eml", path, sizeof path), 0);
    notifier_free(nt);
}

static void test_email_unconfigured(void **state)
{
    (void)state;
    struct notifier *nt = notifier_for(NULL, 2000);
    struct notify_message m = email_message();
    char err[256];
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EINVAL);
    assert_non_null(strstr(err, "not configured"));
    notifier_free(nt);

    struct notify_config cfg = {
        .smtp_url = "http://127.0.0.1:1/", .smtp_from = "a@b.test", .timeout_ms = 2000};
    assert_int_equal(notifier_new(&cfg, &nt), 0);
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EINVAL);
    notifier_free(nt);
    cfg.smtp_url = smtp_url;
    cfg.smtp_from = "not an address";
    assert_int_equal(notifier_new(&cfg, &nt), 0);
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EINVAL);
    notifier_free(nt);
}

static void test_email_starttls_required(void **state)
{
    (void)state;
    /* The sink offers no STARTTLS: the message must not go out in the clear. */
    char url[64], err[256], path[512];
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", smtp_sink.port);
    struct notify_config cfg = {
        .smtp_url = url, .smtp_from = "a@b.test", .smtp_starttls = true, .timeout_ms = 5000};
    struct notifier *nt;
    assert_int_equal(notifier_new(&cfg, &nt), 0);
    struct notify_message m = email_message();
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EIO);
    assert_int_equal(dir_find(smtp_sink.dir, ".eml", path, sizeof path), 0);
    notifier_free(nt);
}

static void test_email_auth(void **state)
{
    (void)state;
    struct sink authed = {0};
    sink_start(&authed, "smtp_sink.py", "mailer:pa55word");
    char url[64], err[256], path[512];
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", authed.port);
    struct notify_config cfg = {.smtp_url = url,
                                .smtp_from = "a@b.test",
                                .smtp_user = "mailer",
                                .smtp_password = "pa55word",
                                .timeout_ms = 5000};
    struct notifier *nt;
    struct notify_message m = email_message();
    assert_int_equal(notifier_new(&cfg, &nt), 0);
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), 0);
    assert_int_equal(dir_find(authed.dir, ".eml", path, sizeof path), 1);
    notifier_free(nt);

    dir_clear(authed.dir, 0);
    cfg.smtp_password = "wrong";
    assert_int_equal(notifier_new(&cfg, &nt), 0);
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EIO);
    assert_non_null(strstr(err, "535")); /* refused, not timed out */
    assert_null(strstr(err, "wrong"));
    notifier_free(nt);
    cfg.smtp_user = NULL;
    assert_int_equal(notifier_new(&cfg, &nt), 0);
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EIO);
    assert_non_null(strstr(err, "530"));
    notifier_free(nt);
    assert_int_equal(dir_find(authed.dir, ".eml", path, sizeof path), 0);
    sink_stop(&authed);
}

static void test_email_compose_lines(void **state)
{
    (void)state;
    /* A 2500-byte line is broken into lines of at most 998; lone CR and LF become CRLF. */
    char *body = xmalloc(2600);
    memset(body, 'a', 2500);
    memcpy(body + 2500, "\rb\n\nc", 6);
    struct notify_message m = email_message();
    m.body = body;
    struct buf out;
    buf_init(&out, 64 * 1024);
    assert_int_equal(notify_email_compose("a@b.test", &m, 0, &out), 0);
    char v[64];
    assert_int_equal(header_get(out.data, "Date", "\r\n", v, sizeof v), 0);
    assert_string_equal(v, "Thu, 01 Jan 1970 00:00:00 +0000");
    for (const char *p = out.data; *p;) {
        const char *e = strstr(p, "\r\n");
        assert_non_null(e);
        assert_true(e - p <= 998);
        assert_null(memchr(p, '\n', (size_t)(e - p)));
        assert_null(memchr(p, '\r', (size_t)(e - p)));
        p = e + 2;
    }
    const char *b = strstr(out.data, "\r\n\r\n") + 4;
    assert_int_equal(strspn(b, "a"), 998);
    assert_string_equal(b + 998 + 2 + 998 + 2 + 504, "\r\nb\r\n\r\nc\r\n");
    buf_fini(&out);

    /* Past the buffer's maximum: too big. */
    buf_init(&out, 1000);
    assert_int_equal(notify_email_compose("a@b.test", &m, 0, &out), -NA_ETOOBIG);
    buf_fini(&out);
    free(body);
}

/* ---- log channel ---- */

/* Runs notifier_send with stderr captured; the captured text (caller frees). */
static char *send_captured(struct notifier *nt, const struct notify_message *m, int *rc)
{
    char path[] = "/tmp/na_notify_log_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fd, 2) >= 0);
    char err[256];
    *rc = notifier_send(nt, m, err, sizeof err);
    fflush(stderr);
    assert_true(dup2(saved, 2) >= 0);
    close(saved);
    close(fd);
    char *text = file_read(path, NULL);
    unlink(path);
    return text;
}

static void test_log_channel(void **state)
{
    (void)state;
    struct notifier *nt = notifier_for(NULL, 1000);
    struct notify_message m = {
        .channel = NOTIFY_LOG,
        .event = "visit.overdue",
        .subject = "Overdue: Zoë",
        .body = "{\"worker\":\"Zoë Ng\",\"phone\":\"+44 7700 900123\"}",
        .idempotency_key = "ntf-5-1",
        .outbox_id = 5,
    };
    int rc;
    char *text = send_captured(nt, &m, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(text, "level=info event=notification "));
    assert_non_null(strstr(text, "outbox_id=5 "));
    assert_non_null(strstr(text, "event=\"visit.overdue\""));
    assert_non_null(strstr(text, "address_kind=none"));
    assert_null(strstr(text, "Zo"));
    assert_null(strstr(text, "7700"));
    assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text)); /* one line */
    free(text);

    /* An address given to the log channel is described, never written. */
    m.address = "zoe.ng@example.org";
    text = send_captured(nt, &m, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(text, "address_kind=email"));
    assert_null(strstr(text, "zoe"));
    free(text);
    m.address = "https://sms.example.org/send?token=abc";
    text = send_captured(nt, &m, &rc);
    assert_non_null(strstr(text, "address_kind=url"));
    assert_null(strstr(text, "token"));
    free(text);
    notifier_free(nt);
}

static void test_unknown_channel_and_bad_config(void **state)
{
    (void)state;
    struct notifier *nt = notifier_for(NULL, 1000);
    struct notify_message m = {.channel = (enum notify_channel)42, .event = "x"};
    char err[64];
    assert_int_equal(notifier_send(nt, &m, err, sizeof err), -NA_EINVAL);
    assert_int_equal(notifier_send(nt, &m, NULL, 0), -NA_EINVAL);
    notifier_free(nt);
    notifier_free(NULL);

    struct notify_config cfg = {.timeout_ms = 0};
    nt = NULL;
    assert_int_equal(notifier_new(&cfg, &nt), -NA_EINVAL);
    assert_null(nt);
}

/* ---- backoff, signature, template ---- */

static void test_backoff(void **state)
{
    (void)state;
    assert_int_equal(notify_backoff_ms(1), 5000);
    assert_int_equal(notify_backoff_ms(2), 15000);
    assert_int_equal(notify_backoff_ms(3), 45000);
    assert_int_equal(notify_backoff_ms(4), 135000);
    assert_int_equal(notify_backoff_ms(5), 405000);
    assert_int_equal(notify_backoff_ms(6), 600000);
    assert_int_equal(notify_backoff_ms(7), 600000);
    assert_int_equal(notify_backoff_ms(1000), 600000);
    assert_int_equal(notify_backoff_ms(INT_MAX), 600000);
    /* Out of range below: as the first retry. */
    assert_int_equal(notify_backoff_ms(0), 5000);
    assert_int_equal(notify_backoff_ms(-3), 5000);
    for (int i = 1; i < 40; i++)
        assert_true(notify_backoff_ms(i + 1) >= notify_backoff_ms(i));
}

static void test_sign_rfc4231(void **state)
{
    (void)state;
    char hex[65];
    const char *data = "what do ya want for nothing?";
    notify_sign("Jefe", data, strlen(data), hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* The length counts, not the terminator: signing a prefix gives another MAC. */
    char other[65];
    notify_sign("Jefe", data, 4, other);
    assert_string_not_equal(hex, other);
    /* RFC 4231 test case 1: key of twenty 0x0b bytes, "Hi There". */
    char key[21];
    memset(key, 0x0b, 20);
    key[20] = '\0';
    notify_sign(key, "Hi There", 8, hex);
    assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

static void test_template_render(void **state)
{
    (void)state;
    const char *vars[] = {
        "name", "Zoë \"Z\" Ng", "phone", "+44 7700 900123", "note", "a\\b\nc\r\td\x01\x1f\x7f",
        NULL};
    struct buf out;
    buf_init(&out, 1024);
    assert_int_equal(notify_render_template("{\"to\":\"{{phone}}\",\"text\":\"{{name}} is "
                                            "overdue. {{note}}{{missing}}\"}",
                                            vars, &out),
                     0);
    assert_string_equal(out.data, "{\"to\":\"+44 7700 900123\",\"text\":\"Zoë \\\"Z\\\" Ng is "
                                  "overdue. a\\\\b\\nc\\r\\td\\u0001\\u001f\\u007f\"}");
    buf_reset(&out);
    assert_int_equal(notify_render_template("no placeholders } { }}", vars, &out), 0);
    assert_string_equal(out.data, "no placeholders } { }}");
    buf_reset(&out);
    assert_int_equal(notify_render_template("{{}}{{phone}}{{ phone }}", NULL, &out), 0);
    assert_string_equal(out.data, "");
    buf_reset(&out);
    assert_int_equal(notify_render_template("", vars, &out), 0);
    assert_string_equal(out.data, "");
    buf_fini(&out);
}

static void test_template_errors(void **state)
{
    (void)state;
    const char *vars[] = {"v", "0123456789", "odd", NULL};
    struct buf out;
    buf_init(&out, 16);
    assert_int_equal(buf_append_str(&out, "kept"), 0);
    /* Unterminated "{{": refused; what was in out stays, nothing half-expanded. */
    assert_int_equal(notify_render_template("x{{v}}y{{v", vars, &out), -NA_EINVAL);
    assert_string_equal(out.data, "kept");
    assert_int_equal(out.len, 4);
    /* A name without a value (odd list) is unknown, not read past the end. */
    assert_int_equal(notify_render_template("{{odd}}", vars, &out), 0);
    assert_string_equal(out.data, "kept");
    /* Exactly at the maximum is fine; one byte more is too big and leaves out as it was. */
    assert_int_equal(notify_render_template("{{v}}xx", vars, &out), 0);
    assert_int_equal(out.len, 16);
    buf_reset(&out);
    assert_int_equal(notify_render_template("{{v}}{{v}}", vars, &out), -NA_ETOOBIG);
    assert_string_equal(out.data, "");
    assert_int_equal(out.len, 0);
    /* Escaping counts against the maximum: 8 quotes become 16 bytes, 9 do not fit. */
    const char *quotes[] = {"q", "\"\"\"\"\"\"\"\"", "q9", "\"\"\"\"\"\"\"\"\"", NULL};
    assert_int_equal(notify_render_template("{{q}}", quotes, &out), 0);
    assert_int_equal(out.len, 16);
    buf_reset(&out);
    assert_int_equal(notify_render_template("{{q9}}", quotes, &out), -NA_ETOOBIG);
    assert_int_equal(out.len, 0);
    buf_fini(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_webhook_delivered_signed, test_setup),
        cmocka_unit_test_setup(test_webhook_unsigned_and_reused, test_setup),
        cmocka_unit_test_setup(test_webhook_error_status, test_setup),
        cmocka_unit_test_setup(test_webhook_redirect_not_followed, test_setup),
        cmocka_unit_test_setup(test_webhook_big_answer_bounded, test_setup),
        cmocka_unit_test_setup(test_webhook_connection_refused, test_setup),
        cmocka_unit_test_setup(test_webhook_slow_times_out, test_setup),
        cmocka_unit_test_setup(test_webhook_bad_urls, test_setup),
        cmocka_unit_test_setup(test_webhook_header_injection, test_setup),
        cmocka_unit_test_setup(test_email_delivered, test_setup),
        cmocka_unit_test_setup(test_email_ascii_subject_plain, test_setup),
        cmocka_unit_test_setup(test_email_injection_refused, test_setup),
        cmocka_unit_test_setup(test_email_unconfigured, test_setup),
        cmocka_unit_test_setup(test_email_starttls_required, test_setup),
        cmocka_unit_test_setup(test_email_auth, test_setup),
        cmocka_unit_test(test_email_compose_lines),
        cmocka_unit_test(test_log_channel),
        cmocka_unit_test(test_unknown_channel_and_bad_config),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_sign_rfc4231),
        cmocka_unit_test(test_template_render),
        cmocka_unit_test(test_template_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
