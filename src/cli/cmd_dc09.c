/*
 * notalone dc09 send, events: sending a SIA DC-09 message as a device would (for installers
 * checking a device's configuration, and for tests), and the events the receiver stored.
 * Keys are read from a file or the environment, never from the command line, where they
 * would show in the process list and the shell's history.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <stdarg.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/cmd.h"
#include "cli/names.h"
#include "cli/output.h"
#include "cli/prompt.h"
#include "cli/visits.h"
#include "dc09/frame.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/str.h"

#define SEND_DEFAULT_TO      "127.0.0.1:9009"
#define SEND_DEFAULT_TIMEOUT 10
#define SEND_TIMEOUT_MAX     600
/* A key file holds the hex and perhaps a newline; anything longer is not a key. */
#define KEY_FILE_MAX 256
/* Most events one 'dc09 events' prints, and the default. */
#define EVENTS_MAX     10000
#define EVENTS_DEFAULT 50
/* Exit status of a message the receiver did not take (NAK, DUH), and of no answer. */
#define SEND_EXIT_REFUSED   1
#define SEND_EXIT_NO_ANSWER 2

/* ---- keys ---- */

void cmd_dc09_key_wipe(struct cmd_dc09_key *k)
{
    sodium_memzero(k, sizeof *k);
}

/* Trims ASCII white space around s in place; returns s moved past the leading part. */
static char *trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* The first KEY_FILE_MAX bytes of path ("-": standard input) into buf (size KEY_FILE_MAX + 1). */
static int read_key_file(const char *path, char *buf)
{
    bool stdin_file = strcmp(path, "-") == 0;
    FILE *f = stdin_file ? stdin : fopen(path, "r");
    if (!f)
        return -NA_EIO;
    size_t n = fread(buf, 1, KEY_FILE_MAX + 1, f);
    int rc = ferror(f) ? -NA_EIO : n > KEY_FILE_MAX ? -NA_ETOOBIG : 0;
    buf[n > KEY_FILE_MAX ? KEY_FILE_MAX : n] = '\0';
    if (!stdin_file)
        fclose(f);
    return rc;
}

/* Checks the hex in text and keeps it, upper-cased, with its bytes, in out. */
static int take_key(const char *text, struct cmd_dc09_key *out)
{
    size_t n = strlen(text);
    if (n > CMD_DC09_KEY_MAX || dc09_key_parse(text, out->bytes, &out->len) != 0)
        return -NA_EINVAL;
    dc09_upper(text, n, out->hex);
    out->hex[n] = '\0';
    return 0;
}

int cmd_read_dc09_key(struct cli *cli, const struct cli_command *cmd, const char *file,
                      bool use_env, struct cmd_dc09_key *out, bool *found)
{
    char buf[KEY_FILE_MAX + 1];
    const char *env = getenv("NOTALONE_DC09_KEY");
    int rc = 0;
    memset(out, 0, sizeof *out);
    *found = file || (use_env && env && env[0]);
    if (!*found)
        return 0;
    if (file) {
        rc = read_key_file(file, buf);
        if (rc == -NA_EIO)
            rc = cli_usage_error(cli, cmd, "cannot read the key file %s: %s", file,
                                 strcmp(file, "-") ? strerror(errno) : "read error");
        else if (rc || take_key(trim(buf), out))
            rc = cli_usage_error(
                cli, cmd, "the key file %s does not hold a key of 32, 48 or 64 hex digits", file);
    } else if (take_key(env, out)) {
        rc = cli_usage_error(cli, cmd, "NOTALONE_DC09_KEY is not a key of 32, 48 or 64 hex digits");
    }
    sodium_memzero(buf, sizeof buf);
    return rc;
}

/* ---- building the message ---- */

enum {
    S_TO,
    S_UDP,
    S_TOKEN,
    S_ACCOUNT,
    S_SEQ,
    S_RECEIVER,
    S_PREFIX,
    S_DATA,
    S_XDATA,
    S_NO_TIMESTAMP,
    S_BINARY_CRC,
    S_TIMEOUT,
    S_PRINT,
    S_KEY_FILE,
};
static const struct args_spec send_spec[] = {
    [S_TO] = {"to", ARGS_VALUE},
    [S_UDP] = {"udp", ARGS_FLAG},
    [S_TOKEN] = {"token", ARGS_VALUE},
    [S_ACCOUNT] = {"account", ARGS_VALUE},
    [S_SEQ] = {"seq", ARGS_VALUE},
    [S_RECEIVER] = {"receiver", ARGS_VALUE},
    [S_PREFIX] = {"prefix", ARGS_VALUE},
    [S_DATA] = {"data", ARGS_VALUE},
    [S_XDATA] = {"xdata", ARGS_VALUE},
    [S_NO_TIMESTAMP] = {"no-timestamp", ARGS_FLAG},
    [S_BINARY_CRC] = {"binary-crc", ARGS_FLAG},
    [S_TIMEOUT] = {"timeout", ARGS_VALUE},
    [S_PRINT] = {"print", ARGS_FLAG},
    [S_KEY_FILE] = {"key-file", ARGS_VALUE},
};

/* What one send is: the options read and checked. */
struct send {
    struct dc09_build b;
    struct cmd_dc09_key key;
    char host[256];
    char port[8];
    bool udp;
    int timeout_s;
    char frame[DC09_FRAME_MAX];
    size_t frame_len;
};

static bool printable(const char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e)
            return false;
    return true;
}

/* HOST:PORT or [IPV6]:PORT into s->host and s->port. */
static int parse_to(struct cli *cli, const struct cli_command *cmd, const char *to, struct send *s)
{
    const char *colon = strrchr(to, ':');
    const char *host = to;
    size_t host_len = colon ? (size_t)(colon - to) : 0;
    int64_t port;
    if (host_len >= 2 && to[0] == '[' && to[host_len - 1] == ']') {
        host++;
        host_len -= 2;
    }
    if (!colon || host_len == 0 || host_len >= sizeof s->host ||
        parse_int64(slice_of(colon + 1), 1, 65535, &port))
        return cli_usage_error(cli, cmd, "--to must be HOST:PORT, not '%s'", to);
    memcpy(s->host, host, host_len);
    s->host[host_len] = '\0';
    (void)snprintf(s->port, sizeof s->port, "%d", (int)port);
    return 0;
}

static int parse_token(struct cli *cli, const struct cli_command *cmd, const char *t,
                       enum dc09_token *out)
{
    *out = !t || strcmp(t, "ADM-CID") == 0 ? DC09_TOKEN_ADM_CID
           : strcmp(t, "SIA-DCS") == 0     ? DC09_TOKEN_SIA_DCS
           : strcmp(t, "NULL") == 0        ? DC09_TOKEN_NULL
                                           : DC09_TOKEN_UNKNOWN;
    if (*out == DC09_TOKEN_UNKNOWN)
        return cli_usage_error(cli, cmd, "--token must be SIA-DCS, ADM-CID or NULL");
    return 0;
}

/* The header fields: account, sequence, receiver, prefix. */
static int send_header(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                       struct send *s)
{
    int64_t seq = 1;
    if (!a->value[S_ACCOUNT])
        return cli_usage_error(cli, cmd, "missing --account");
    if (!dc09_account_ok(a->value[S_ACCOUNT], strlen(a->value[S_ACCOUNT])))
        return cli_usage_error(cli, cmd, "--account must be 3 to 16 hex digits");
    if (a->value[S_SEQ] && parse_int64(slice_of(a->value[S_SEQ]), 0, 9999, &seq))
        return cli_usage_error(cli, cmd, "--seq must be a number from 0 to 9999");
    if (a->value[S_RECEIVER] &&
        !dc09_hex_ok(a->value[S_RECEIVER], strlen(a->value[S_RECEIVER]), 1, 6))
        return cli_usage_error(cli, cmd, "--receiver must be 1 to 6 hex digits");
    if (a->value[S_PREFIX] && !dc09_hex_ok(a->value[S_PREFIX], strlen(a->value[S_PREFIX]), 1, 6))
        return cli_usage_error(cli, cmd, "--prefix must be 1 to 6 hex digits");
    s->b.account = a->value[S_ACCOUNT];
    s->b.seq = (unsigned)seq;
    s->b.receiver = a->value[S_RECEIVER];
    s->b.prefix = a->value[S_PREFIX] ? a->value[S_PREFIX] : "0";
    return 0;
}

/* The data block and extended data; a NULL message (a link test) has none. */
static int send_body(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                     struct send *s)
{
    const char *data = a->value[S_DATA], *xdata = a->value[S_XDATA];
    if (s->b.token == DC09_TOKEN_NULL && data && data[0])
        return cli_usage_error(cli, cmd, "a NULL message (a link test) carries no --data");
    if (s->b.token != DC09_TOKEN_NULL && !data)
        return cli_usage_error(cli, cmd,
                               "missing --data (such as \"1602 00 000\" for ADM-CID, "
                               "\"Nri1/RP0000\" for SIA-DCS)");
    if ((data && !printable(data)) || (xdata && !printable(xdata)))
        return cli_usage_error(cli, cmd, "--data and --xdata must be printable ASCII");
    s->b.data = data ? data : "";
    s->b.xdata = xdata && xdata[0] ? xdata : NULL;
    return 0;
}

/* Everything but the key: where to, how, and the message. */
static int send_options(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                        struct send *s)
{
    int64_t timeout = SEND_DEFAULT_TIMEOUT;
    int rc = parse_to(cli, cmd, a->value[S_TO] ? a->value[S_TO] : SEND_DEFAULT_TO, s);
    if (!rc)
        rc = parse_token(cli, cmd, a->value[S_TOKEN], &s->b.token);
    if (!rc)
        rc = send_header(cli, cmd, a, s);
    if (!rc)
        rc = send_body(cli, cmd, a, s);
    if (!rc && a->value[S_TIMEOUT] &&
        parse_int64(slice_of(a->value[S_TIMEOUT]), 1, SEND_TIMEOUT_MAX, &timeout))
        rc = cli_usage_error(cli, cmd, "--timeout must be seconds, 1 to %d", SEND_TIMEOUT_MAX);
    s->timeout_s = (int)timeout;
    s->udp = a->set[S_UDP];
    s->b.crc_binary = a->set[S_BINARY_CRC];
    s->b.timestamp = !a->set[S_NO_TIMESTAMP];
    return rc;
}

/* The key (encrypting the message) and the frame itself. */
static int send_build(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                      struct send *s)
{
    bool keyed;
    int rc = cmd_read_dc09_key(cli, cmd, a->value[S_KEY_FILE], true, &s->key, &keyed);
    if (!rc && keyed && a->set[S_NO_TIMESTAMP])
        rc = cli_usage_error(cli, cmd,
                             "an encrypted message always carries a timestamp: "
                             "--no-timestamp is for plain ones");
    if (!rc)
        rc = visits_now(cli, &s->b.now);
    if (rc)
        return rc;
    s->b.key = keyed ? s->key.bytes : NULL;
    s->b.key_len = keyed ? s->key.len : 0;
    if (sodium_init() < 0)
        return cli_fail(cli, "cannot start libsodium");
    if (dc09_build(&s->b, s->frame, sizeof s->frame, &s->frame_len) != 0)
        return cli_usage_error(cli, cmd,
                               "cannot build the message: --data or --xdata is "
                               "malformed or too long");
    return 0;
}

/* The frame for people: printable ASCII as is, the rest as \n, \r, \\ or \xHH. */
static void print_escaped(FILE *f, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\n')
            fputs("\\n", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c == '\\')
            fputs("\\\\", f);
        else if (c < 0x20 || c > 0x7e)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
    fputc('\n', f);
}

/* ---- the network ---- */

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline; 0, -NA_EUNAVAILABLE on timeout. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - monotonic_ms();
        if (left <= 0)
            return -NA_EUNAVAILABLE;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -NA_EIO;
    }
}

/* No answer: "notalone: MESSAGE" on stderr, exit status 2. */
static int no_answer(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int no_answer(struct cli *cli, const char *fmt, ...)
{
    va_list ap;
    fputs("notalone: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (cli->exit_status == CLI_EXIT_OK)
        cli->exit_status = SEND_EXIT_NO_ANSWER;
    return -NA_EIO;
}

/* A socket connected to one address (a UDP one only fixes its peer); -errno or
 * -ETIMEDOUT on failure. */
static int connect_one(const struct addrinfo *ai, int64_t deadline, int *out)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int so_error = 0;
    socklen_t len = sizeof so_error;
    if (fd < 0)
        return -errno;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        so_error = errno;
        if (so_error == EINPROGRESS) {
            int rc = wait_fd(fd, POLLOUT, deadline);
            so_error = rc == -NA_EUNAVAILABLE ? ETIMEDOUT : rc ? errno : 0;
            if (!so_error && getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0)
                so_error = errno;
        }
    }
    if (so_error) {
        close(fd);
        return -so_error;
    }
    *out = fd;
    return 0;
}

/* A socket connected to s's host, trying each of its addresses in turn. */
static int connect_to(struct cli *cli, const struct send *s, int64_t deadline, int *out)
{
    struct addrinfo hints = {.ai_socktype = s->udp ? SOCK_DGRAM : SOCK_STREAM};
    struct addrinfo *list = NULL;
    int err = getaddrinfo(s->host, s->port, &hints, &list);
    if (err)
        return no_answer(cli, "cannot find %s: %s", s->host, gai_strerror(err));
    int rc = -EADDRNOTAVAIL;
    for (const struct addrinfo *ai = list; ai && rc; ai = ai->ai_next)
        rc = connect_one(ai, deadline, out);
    freeaddrinfo(list);
    if (rc)
        return no_answer(cli, "cannot connect to %s port %s: %s", s->host, s->port,
                         rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
    return 0;
}

static int send_all(struct cli *cli, int fd, const struct send *s, int64_t deadline)
{
    size_t done = 0;
    while (done < s->frame_len) {
        ssize_t n = send(fd, s->frame + done, s->frame_len - done, MSG_NOSIGNAL);
        if (n >= 0) {
            done += (size_t)n;
            continue;
        }
        int rc = errno == EAGAIN || errno == EWOULDBLOCK ? wait_fd(fd, POLLOUT, deadline)
                 : errno == EINTR                        ? 0
                                                         : -NA_EIO;
        if (rc)
            return no_answer(cli, "cannot send to %s port %s: %s", s->host, s->port,
                             rc == -NA_EUNAVAILABLE ? "timed out" : strerror(errno));
    }
    return 0;
}

/* The answer's bytes as received. */
struct answer {
    uint8_t buf[DC09_FRAME_MAX + 1024];
    size_t n;
    struct dc09_span span;
};

/*
 * Reads until a whole frame is in a (TCP: bytes accumulate; UDP: each datagram on its own),
 * the deadline passes or the receiver closes the connection.
 */
static int read_answer(struct cli *cli, int fd, const struct send *s, int64_t deadline,
                       struct answer *a)
{
    for (;;) {
        int rc = wait_fd(fd, POLLIN, deadline);
        if (rc)
            return no_answer(cli, "no answer from %s port %s within %d s", s->host, s->port,
                             s->timeout_s);
        if (s->udp)
            a->n = 0;
        ssize_t n = recv(fd, a->buf + a->n, sizeof a->buf - a->n, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n < 0)
            return no_answer(cli, "no answer from %s port %s: %s", s->host, s->port,
                             strerror(errno));
        if (n == 0 && !s->udp)
            return no_answer(cli, "%s port %s closed the connection without answering", s->host,
                             s->port);
        a->n += (size_t)n;
        dc09_frame_next(a->buf, a->n, DC09_FRAME_MAX, &a->span);
        if (a->span.len)
            return 0;
        /* Bytes that start no frame are dropped, so that the buffer never fills. */
        memmove(a->buf, a->buf + a->span.skip, a->n - a->span.skip);
        a->n -= a->span.skip;
        if (a->n == sizeof a->buf)
            a->n = 0;
    }
}

static int exchange(struct cli *cli, const struct send *s, struct answer *a)
{
    int64_t deadline = monotonic_ms() + (int64_t)s->timeout_s * 1000;
    int fd = -1;
    int rc = connect_to(cli, s, deadline, &fd);
    if (!rc)
        rc = send_all(cli, fd, s, deadline);
    if (!rc)
        rc = read_answer(cli, fd, s, deadline, a);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- the answer ---- */

/* A DC-09 time as the standard writes it, "HH:MM:SS MM-DD-YYYY" (UTC), into dst. */
static const char *dc09_time_text(int64_t ms, char *dst, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        (void)snprintf(dst, n, "?");
    else
        (void)snprintf(dst, n, "%02d:%02d:%02d %02d-%02d-%04d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_year + 1900);
    return dst;
}

/* "SEQ #ACCOUNT" of the answer, as received. */
static void echo_text(const struct dc09_frame *f, char *dst, size_t n)
{
    (void)snprintf(dst, n, "%.*s #%.*s", (int)f->seq_text.len, f->seq_text.p, (int)f->account.len,
                   f->account.p);
}

/* Says on stderr when the answer echoes another sequence or account than was sent. */
static void check_echo(const struct send *s, const struct dc09_frame *f)
{
    if (f->seq != s->b.seq)
        fprintf(stderr, "notalone: warning: the answer is for sequence %u, not %u\n", f->seq,
                s->b.seq);
    if (strcasecmp(f->account_norm, s->b.account) != 0)
        fprintf(stderr, "notalone: warning: the answer is for another account\n");
}

/* The receiver's time of an answer (an encrypted ACK opened with the key, a NAK); 0. */
static int64_t answer_time(const struct send *s, const struct dc09_frame *f, bool *opened)
{
    struct dc09_payload *p = xcalloc(1, sizeof *p);
    int rc = -1;
    if (f->encrypted && s->b.key)
        rc = dc09_payload_decrypt(f, s->b.key, s->b.key_len, p);
    else if (!f->encrypted)
        rc = dc09_payload_parse(f, p);
    *opened = !f->encrypted || rc == DC09_OK;
    int64_t t = rc == DC09_OK && p->has_timestamp ? p->timestamp_ms : 0;
    sodium_memzero(p, sizeof *p);
    free(p);
    if (!t && !f->encrypted && f->has_timestamp)
        t = f->timestamp_ms;
    return t;
}

static void print_ack(const struct send *s, const struct dc09_frame *f)
{
    char echo[64], when[40];
    bool opened;
    int64_t t = answer_time(s, f, &opened);
    echo_text(f, echo, sizeof echo);
    if (t)
        printf("ACK %s (receiver time %s)\n", echo, dc09_time_text(t, when, sizeof when));
    else
        printf("ACK %s\n", echo);
    if (!opened)
        fprintf(stderr, "notalone: warning: the ACK is encrypted and %s\n",
                s->b.key ? "does not open with this key" : "there is no key to open it");
    else if (!f->encrypted && s->b.key)
        fputs("notalone: warning: the message was encrypted but the ACK is not\n", stderr);
}

static void print_nak(const struct send *s, const struct dc09_frame *f)
{
    char when[40], ours[40];
    bool opened;
    int64_t t = answer_time(s, f, &opened);
    int64_t apart = t ? (t - s->b.now) / 1000 : 0;
    if (!t) {
        puts("NAK: the receiver refused the message (a wrong CRC, length or field, a key "
             "that does not open it, or its timestamp)");
        return;
    }
    printf("NAK: receiver time %s", dc09_time_text(t, when, sizeof when));
    /* The receiver takes an encrypted message's timestamp from 40 s before its time to 20 s
     * after; plain ones it does not check. */
    if (s->b.key && (apart > 40 || apart < -20))
        printf(" (this computer's time %s: the message's timestamp is outside the receiver's "
               "window)\n",
               dc09_time_text(s->b.now, ours, sizeof ours));
    else
        puts(" (the receiver refused the message: a wrong CRC, length or field, or a key that "
             "does not open it)");
}

/* Prints the one line that says what the receiver answered; 0 only for an ACK. */
static int show_answer(struct cli *cli, const struct send *s, const struct answer *a)
{
    struct dc09_frame f;
    char echo[64];
    int rc = dc09_frame_parse(a->buf + a->span.skip, a->span.len, &f);
    /* A NAK echoes nothing: the standard gives it sequence 0000 and account 0. */
    if (rc == DC09_OK && f.token != DC09_TOKEN_NAK)
        check_echo(s, &f);
    if (rc == DC09_OK && f.token == DC09_TOKEN_ACK) {
        print_ack(s, &f);
        return 0;
    }
    if (rc != DC09_OK)
        printf("the answer is not a valid DC-09 frame (%s)\n", dc09_error_name(rc));
    else if (f.token == DC09_TOKEN_NAK)
        print_nak(s, &f);
    else if (f.token == DC09_TOKEN_DUH) {
        echo_text(&f, echo, sizeof echo);
        printf("DUH %s: the receiver does not take this message (an unknown token, an encrypted "
               "message from an account without a key, or a plain one from an account that "
               "requires encryption)\n",
               echo);
    } else
        printf("the answer is a %s message, not ACK, NAK or DUH\n", dc09_token_name(f.token));
    if (cli->exit_status == CLI_EXIT_OK)
        cli->exit_status = SEND_EXIT_REFUSED;
    return -NA_EIO;
}

static int run_send(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    struct send *s = xcalloc(1, sizeof *s);
    struct answer *ans = xcalloc(1, sizeof *ans);
    int rc = cli_parse(cli, cmd, send_spec, CLI_COUNT(send_spec), NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = send_options(cli, cmd, &a, s);
    if (!rc)
        rc = send_build(cli, cmd, &a, s);
    if (!rc && a.set[S_PRINT])
        print_escaped(stdout, s->frame, s->frame_len);
    if (!rc && !a.set[S_PRINT]) {
        rc = exchange(cli, s, ans);
        if (!rc)
            rc = show_answer(cli, s, ans);
    }
done:
    cmd_dc09_key_wipe(&s->key);
    free(s);
    free(ans);
    args_fini(&a);
    return rc;
}

/* ---- events ---- */

enum { E_DEVICE, E_WORKER, E_ACTION, E_UNASSIGNED, E_LINK, E_LIMIT };
static const struct args_spec events_spec[] = {
    [E_DEVICE] = {"device", ARGS_VALUE}, [E_WORKER] = {"worker", ARGS_VALUE},
    [E_ACTION] = {"action", ARGS_VALUE}, [E_UNASSIGNED] = {"unassigned", ARGS_FLAG},
    [E_LINK] = {"link", ARGS_FLAG},      [E_LIMIT] = {"limit", ARGS_VALUE},
};

/* The query of the events' path from the options. */
static int events_path(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                       char *path)
{
    char action[64];
    int64_t id;
    int rc = cli_path(cli, path, "/api/v1/dc09/events");
    if (!rc && a->value[E_DEVICE]) {
        rc = cli_parse_id(cli, cmd, "--device", a->value[E_DEVICE], &id);
        if (!rc)
            rc = cli_query_add_id(cli, path, "device_id", id);
    }
    if (!rc && a->value[E_WORKER]) {
        rc = cli_resolve_user(cli, a->value[E_WORKER], &id);
        if (!rc)
            rc = cli_query_add_id(cli, path, "worker_id", id);
    }
    if (!rc && a->value[E_ACTION]) {
        if (output_url_escape(a->value[E_ACTION], action, sizeof action) != 0)
            return cli_usage_error(cli, cmd, "--action is too long");
        rc = cli_query_add(cli, path, "action", action);
    }
    if (!rc && a->set[E_UNASSIGNED])
        rc = cli_query_add(cli, path, "unassigned", "true");
    if (!rc && a->set[E_LINK])
        rc = cli_query_add(cli, path, "link", "true");
    return rc;
}

/* Appends the newest events at path to all, page after page, until max. */
static int list_events(struct cli *cli, const char *path, size_t max, json_t *all)
{
    char page[CLI_MAX_PATH];
    int64_t before = 0;
    while (json_array_size(all) < max) {
        json_t *answer = NULL;
        size_t want = max - json_array_size(all);
        int rc = cli_path(cli, page, "%s", path);
        if (!rc)
            rc = cli_query_add_id(cli, page, "limit", want > 200 ? 200 : (int64_t)want);
        if (!rc && before)
            rc = cli_query_add_id(cli, page, "before", before);
        if (!rc)
            rc = cli_request(cli, true, "GET", page, NULL, &answer);
        if (rc)
            return rc;
        json_t *events = json_object_get(answer, "items");
        const json_t *next = json_object_get(answer, "next_before");
        if (!json_is_array(events) || (next && !json_is_null(next) && !json_is_integer(next))) {
            json_decref(answer);
            return cli_fail(cli, "invalid reply from %s: the reply is not a list", cli->server);
        }
        json_array_extend(all, events);
        before = json_is_integer(next) ? (int64_t)json_integer_value(next) : 0;
        json_decref(answer);
        if (before <= 0)
            return 0;
    }
    return 0;
}

/* "1120 zone 015", "PA", "-". */
static const char *code_text(const json_t *e, char *dst, size_t n)
{
    char code[32], zone[32];
    output_text(json_object_get(e, "code"), code, sizeof code);
    output_text(json_object_get(e, "zone"), zone, sizeof zone);
    if (json_is_string(json_object_get(e, "zone")))
        (void)snprintf(dst, n, "%s zone %s", code, zone);
    else
        (void)snprintf(dst, n, "%s", code);
    return dst;
}

static void print_events(struct cli *cli, const json_t *items, int64_t now)
{
    static const char *const headers[] = {"ID",      "RECEIVED", "DEVICE", "WORKER",
                                          "ACCOUNT", "ACTION",   "CODE",   "LABEL"};
    char id[32], at[WHEN_TEXT], device[32], worker[NAMES_TEXT], account[32], action[32];
    char code[80], label[256];
    struct names names;
    struct table t;
    const json_t *e;
    size_t i;
    names_init(&names);
    table_init(&t, 8, headers);
    json_array_foreach(items, i, e)
    {
        const char *row[8] = {
            output_text(json_object_get(e, "id"), id, sizeof id),
            visits_time_text(json_object_get(e, "received_at"), now, at, sizeof at),
            output_text(json_object_get(e, "device_id"), device, sizeof device),
            names_get(cli, &names, json_object_get(e, "worker_id"), false, worker, sizeof worker),
            output_text(json_object_get(e, "account"), account, sizeof account),
            output_text(json_object_get(e, "action"), action, sizeof action),
            code_text(e, code, sizeof code),
            output_text(json_object_get(e, "label"), label, sizeof label),
        };
        table_add_row(&t, row);
    }
    table_print(&t, stdout);
    table_fini(&t);
    names_fini(&names);
}

static int run_events(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *items = json_array();
    char path[CLI_MAX_PATH];
    int64_t limit = EVENTS_DEFAULT, now;
    int rc = cli_parse(cli, cmd, events_spec, CLI_COUNT(events_spec), NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    if (a.value[E_LIMIT] && parse_int64(slice_of(a.value[E_LIMIT]), 1, EVENTS_MAX, &limit)) {
        rc = cli_usage_error(cli, cmd, "--limit must be a number from 1 to %d", EVENTS_MAX);
        goto done;
    }
    rc = items ? events_path(cli, cmd, &a, path) : cli_fail(cli, "out of memory");
    if (!rc)
        rc = visits_now(cli, &now);
    if (!rc)
        rc = list_events(cli, path, (size_t)limit, items);
    if (rc || cli->json) {
        rc = rc ? rc : cli_print_json(cli, items);
        goto done;
    }
    if (json_array_size(items) == 0)
        puts("No events.");
    else
        print_events(cli, items, now);
done:
    json_decref(items);
    args_fini(&a);
    return rc;
}

static const struct cli_command dc09_cmds[] = {
    {"send",
     "dc09 send --account HEX [--data TEXT] [--token ADM-CID|SIA-DCS|NULL] [--seq N]\n"
     "                 [--receiver HEX] [--prefix HEX] [--xdata TEXT] [--no-timestamp]\n"
     "                 [--binary-crc] [--key-file FILE] [--to HOST:PORT] [--udp]\n"
     "                 [--timeout SECONDS] [--print]",
     "Sends one SIA DC-09 message as a device or panel would, and says what the receiver\n"
     "answered: ACK (exit status 0), NAK or DUH (1), or no answer (2). For installers\n"
     "checking a device's account, key and network path. --to is 127.0.0.1:9009 unless\n"
     "given; TCP unless --udp. --data is the data block (ADM-CID \"QEEE GG ZZZ\", such as\n"
     "\"1602 00 000\", a periodic test; SIA-DCS such as \"Nri1/RP0000\"); a NULL message (a\n"
     "link test) has none. --xdata is extended data as sent (\"[XE1.5][YN53.8]\"). The\n"
     "message is encrypted with the key read from --key-file FILE (- for standard input),\n"
     "else from $NOTALONE_DC09_KEY when set: 32, 48 or 64 hex digits; the key is never\n"
     "taken from the command line. An encrypted ACK is opened with the key to show the\n"
     "receiver's time. --print prints the message (control characters escaped) and sends\n"
     "nothing.",
     run_send},
    {"events",
     "dc09 events [--device ID] [--worker USER] [--action ACTION] [--link] [--unassigned]\n"
     "                   [--limit N]",
     "Lists the DC-09 events the receiver stored, newest first (the last 50 unless --limit,\n"
     "at most 10000). Link tests (NULL messages and periodic tests) only with --link.\n"
     "--unassigned lists the events of accounts no device has (the host organisation's\n"
     "operators and admins). ACTION is record, link, restore, battery_ok, position, test,\n"
     "battery_low, amber, red or duress.",
     run_events},
};

const struct cli_group cmd_dc09_group = {"dc09", dc09_cmds, CLI_COUNT(dc09_cmds)};
