/*
 * Red alert to operator's screen: how long from a worker's POST /api/v1/alerts/red until
 * the alarm.opened event reaches an operator's live stream (GET /api/v1/events), at a
 * fixed rate, and how many red alerts a second the server takes at saturation.
 *
 *   na_alarm_stream URL OPERATOR_TOKEN WORKER_TOKENS RATE SECONDS SATURATION_SECONDS
 *
 * WORKER_TOKENS is a comma-separated list: one sender thread per worker, each with its
 * own keep-alive connection. At the fixed rate, alert k is due at start + k / RATE and its
 * latency counts from then, not from when a late thread got round to it, so that a slow
 * server cannot hide its queue (no coordinated omission). Prints the latencies of the
 * acknowledgement (sent only after the commit) and of the event, and the saturation
 * throughput.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "util/str.h"

#define MAX_SENDERS 64

/* What is known of one alarm: when its alert was due, acknowledged, seen on the stream. */
struct sample {
    int64_t due_us, ack_us;
    _Atomic int64_t event_us;
};

struct bench {
    const char *url, *operator_token;
    char *tokens[MAX_SENDERS];
    int n_senders;
    double rate;
    int64_t start_us, stop_us; /* the sending window */
    bool fixed_rate;
    /* Samples by alarm id (a fresh database numbers them from 1). */
    struct sample *samples;
    int64_t max_alarms;
    atomic_bool stream_ready, stream_stop;
    _Atomic int64_t events_seen, acks, errors;
};

struct sender {
    struct bench *b;
    int index;
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_until(int64_t t_us)
{
    int64_t d = t_us - now_us();
    if (d <= 0)
        return;
    struct timespec ts = {.tv_sec = d / 1000000, .tv_nsec = (d % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* The number after "key": in text, or -1. */
static int64_t json_number(const char *text, size_t len, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    size_t plen = strlen(pattern);
    for (size_t i = 0; i + plen < len; i++) {
        if (memcmp(text + i, pattern, plen) != 0)
            continue;
        int64_t v = 0;
        size_t j = i + plen;
        if (j >= len || text[j] < '0' || text[j] > '9')
            return -1;
        while (j < len && text[j] >= '0' && text[j] <= '9')
            v = v * 10 + (text[j++] - '0');
        return v;
    }
    return -1;
}

/* ---- the operator's stream ---- */

struct line_reader {
    struct bench *b;
    char line[8192];
    size_t len;
    bool opened; /* the event being read is an alarm.opened */
};

static void stream_line(struct line_reader *r)
{
    static const char ev[] = "event: alarm.opened";
    if (r->len == 0) {
        r->opened = false;
        return;
    }
    if (r->len == sizeof ev - 1 && memcmp(r->line, ev, r->len) == 0) {
        r->opened = true;
        return;
    }
    if (!r->opened || r->len < 5 || memcmp(r->line, "data:", 5) != 0)
        return;
    int64_t id = json_number(r->line, r->len, "alarm_id");
    if (id > 0 && id < r->b->max_alarms) {
        int64_t zero = 0;
        atomic_compare_exchange_strong(&r->b->samples[id].event_us, &zero, now_us());
        atomic_fetch_add(&r->b->events_seen, 1);
    }
}

static size_t stream_write(char *p, size_t size, size_t n, void *user)
{
    struct line_reader *r = user;
    atomic_store(&r->b->stream_ready, true);
    for (size_t i = 0; i < size * n; i++) {
        if (p[i] == '\n') {
            stream_line(r);
            r->len = 0;
        } else if (r->len < sizeof r->line) {
            r->line[r->len++] = p[i];
        }
    }
    return size * n;
}

static int stream_progress(void *user, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    return atomic_load(&((struct bench *)user)->stream_stop) ? 1 : 0;
}

static void *stream_main(void *arg)
{
    struct bench *b = arg;
    struct line_reader r = {.b = b};
    char url[512], auth[256];
    snprintf(url, sizeof url, "%s/api/v1/events", b->url);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", b->operator_token);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Accept: text/event-stream");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, stream_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, b);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_perform(c); /* until stream_stop */
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

/* ---- the workers' senders ---- */

struct answer {
    char text[1024];
    size_t len;
};

static size_t keep_answer(char *p, size_t size, size_t n, void *user)
{
    struct answer *a = user;
    size_t k = size * n;
    size_t room = sizeof a->text - 1 - a->len;
    memcpy(a->text + a->len, p, k < room ? k : room);
    a->len += k < room ? k : room;
    return size * n;
}

static void *sender_main(void *arg)
{
    struct sender *s = arg;
    struct bench *b = s->b;
    char url[512], auth[256], body[128];
    snprintf(url, sizeof url, "%s/api/v1/alerts/red", b->url);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", b->tokens[s->index]);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_answer);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    for (int64_t k = s->index;; k += b->n_senders) {
        int64_t due = b->fixed_rate ? b->start_us + (int64_t)((double)k * 1e6 / b->rate) : now_us();
        if (due >= b->stop_us)
            break;
        sleep_until(due);
        struct answer a = {0};
        snprintf(body, sizeof body, "{\"alert_id\":\"bench-%d-%lld-%lld\"}", s->index,
                 (long long)b->start_us, (long long)k);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        long status = 0;
        CURLcode rc = curl_easy_perform(c);
        int64_t acked = now_us();
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        int64_t id = rc == CURLE_OK && status == 201 ? json_number(a.text, a.len, "alarm_id") : -1;
        if (id <= 0 || id >= b->max_alarms) {
            atomic_fetch_add(&b->errors, 1);
            continue;
        }
        b->samples[id].due_us = due;
        b->samples[id].ack_us = acked;
        atomic_fetch_add(&b->acks, 1);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

static void run_senders(struct bench *b)
{
    pthread_t threads[MAX_SENDERS];
    struct sender senders[MAX_SENDERS];
    for (int i = 0; i < b->n_senders; i++) {
        senders[i] = (struct sender){.b = b, .index = i};
        pthread_create(&threads[i], NULL, sender_main, &senders[i]);
    }
    for (int i = 0; i < b->n_senders; i++)
        pthread_join(threads[i], NULL);
}

/* ---- figures ---- */

static int compare_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static double pct_ms(const int64_t *sorted, size_t n, double p)
{
    size_t k = (size_t)((double)n * p / 100.0 + 0.999999);
    return n ? (double)sorted[k ? k - 1 : 0] / 1000.0 : 0;
}

static void print_spread(const char *what, int64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, compare_i64);
    printf("  %-36s n=%zu p50=%.2f ms p90=%.2f ms p99=%.2f ms max=%.2f ms\n", what, n,
           pct_ms(v, n, 50), pct_ms(v, n, 90), pct_ms(v, n, 99), pct_ms(v, n, 100));
}

/* Latencies of the alarms numbered [from, to): acknowledgement and event. */
static void report(struct bench *b, int64_t from, int64_t to)
{
    int64_t *ack = xcalloc((size_t)(to - from) + 1, sizeof *ack);
    int64_t *event = xcalloc((size_t)(to - from) + 1, sizeof *event);
    size_t n_ack = 0, n_event = 0, missing = 0;
    for (int64_t id = from; id < to; id++) {
        struct sample *s = &b->samples[id];
        if (!s->due_us)
            continue;
        ack[n_ack++] = s->ack_us - s->due_us;
        int64_t ev = atomic_load(&s->event_us);
        if (ev)
            event[n_event++] = ev - s->due_us;
        else
            missing++;
    }
    print_spread("POST /api/v1/alerts/red -> 201", ack, n_ack);
    print_spread("POST -> alarm.opened on the stream", event, n_event);
    printf("  events missing: %zu, errors: %lld\n", missing, (long long)atomic_load(&b->errors));
    free(ack);
    free(event);
}

static int parse_tokens(struct bench *b, char *list)
{
    for (char *p = list; p && *p && b->n_senders < MAX_SENDERS;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        b->tokens[b->n_senders++] = p;
        p = comma ? comma + 1 : NULL;
    }
    return b->n_senders > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr,
                "usage: %s URL OPERATOR_TOKEN WORKER_TOKENS RATE SECONDS "
                "SATURATION_SECONDS\n",
                argv[0]);
        return 2;
    }
    struct bench b = {.url = argv[1], .operator_token = argv[2]};
    int64_t rate, seconds, sat_seconds;
    if (parse_tokens(&b, argv[3]) || parse_int64(slice_of(argv[4]), 1, 100000, &rate) ||
        parse_int64(slice_of(argv[5]), 1, 3600, &seconds) ||
        parse_int64(slice_of(argv[6]), 0, 3600, &sat_seconds)) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    b.rate = (double)rate;
    /* Room for the fixed-rate alarms and a generous saturation run. */
    b.max_alarms = rate * seconds * 2 + sat_seconds * 20000 + 1000;
    b.samples = xcalloc((size_t)b.max_alarms, sizeof *b.samples);

    pthread_t stream;
    pthread_create(&stream, NULL, stream_main, &b);
    for (int i = 0; i < 500 && !atomic_load(&b.stream_ready); i++)
        sleep_until(now_us() + 10000);

    printf("red alerts at %lld/s for %lld s, %d workers, one operator's stream:\n", (long long)rate,
           (long long)seconds, b.n_senders);
    b.fixed_rate = true;
    b.start_us = now_us() + 100000;
    b.stop_us = b.start_us + seconds * 1000000;
    run_senders(&b);
    sleep_until(now_us() + 2000000); /* stragglers */
    int64_t fixed_acks = atomic_load(&b.acks);
    report(&b, 1, b.max_alarms);

    if (sat_seconds > 0) {
        memset(b.samples, 0, (size_t)b.max_alarms * sizeof *b.samples);
        atomic_store(&b.errors, 0);
        int64_t events_before = atomic_load(&b.events_seen);
        b.fixed_rate = false;
        b.start_us = now_us();
        b.stop_us = b.start_us + sat_seconds * 1000000;
        run_senders(&b);
        double took = (double)(now_us() - b.start_us) / 1e6;
        sleep_until(now_us() + 2000000);
        int64_t acks = atomic_load(&b.acks) - fixed_acks;
        printf("saturation, %d workers back to back for %lld s:\n", b.n_senders,
               (long long)sat_seconds);
        printf("  %.0f red alerts/s acknowledged (%lld), %lld events streamed\n",
               (double)acks / took, (long long)acks,
               (long long)(atomic_load(&b.events_seen) - events_before));
        report(&b, 1, b.max_alarms);
    }
    atomic_store(&b.stream_stop, true);
    pthread_join(stream, NULL);
    free(b.samples);
    curl_global_cleanup();
    return 0;
}
