/*
 * A small HTTP load generator for notaloned's benchmarks: T threads, each with its own
 * keep-alive connection, send R requests one after another and record every latency.
 * Prints one line: requests, seconds, requests/s and latency percentiles.
 *
 *   na_http_load URL METHOD PATH THREADS REQUESTS [TOKEN] [BODY]
 *
 * In BODY, "{n}" is replaced by a number unique to each request (for unique names).
 * URL and PATH may be comma-separated lists: thread t uses the (t mod n)th of each, to
 * split the load between several servers (nodes on one database) or to give each thread
 * a record of its own (a visit to check in on) instead of all contending for one.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "util/str.h"

struct job {
    const char *url, *method, *path, *token, *body;
    int64_t requests;
    int index;
    int64_t *latency_us;
    int64_t errors;
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t discard(char *p, size_t size, size_t n, void *user)
{
    (void)p;
    (void)user;
    return size * n;
}

/* The (i mod n)th item of the comma-separated list, into dst. */
static void list_item(const char *list, int64_t i, char *dst, size_t size)
{
    int64_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    const char *start = list;
    for (int64_t k = i % n; k > 0; k--)
        start = strchr(start, ',') + 1;
    size_t len = strcspn(start, ",");
    snprintf(dst, size, "%.*s", (int)(len < size ? len : size - 1), start);
}

/* BODY with "{n}" replaced by n, into dst. */
static void fill_body(const char *tmpl, long long n, char *dst, size_t size)
{
    const char *mark = strstr(tmpl, "{n}");
    if (!mark)
        snprintf(dst, size, "%s", tmpl);
    else
        snprintf(dst, size, "%.*s%lld%s", (int)(mark - tmpl), tmpl, n, mark + 3);
}

static void *run(void *arg)
{
    struct job *j = arg;
    char url[2048], base[1024], path[1024], auth[256], body[4096];
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (j->token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", j->token);
        h = curl_slist_append(h, auth);
    }
    list_item(j->url, j->index, base, sizeof base);
    list_item(j->path, j->index, path, sizeof path);
    snprintf(url, sizeof url, "%s%s", base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, j->method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    for (int64_t i = 0; i < j->requests; i++) {
        if (j->body) {
            fill_body(j->body, (long long)j->index * 100000000LL + i, body, sizeof body);
            curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, body);
        }
        int64_t t0 = now_us();
        long status = 0;
        if (curl_easy_perform(c) != CURLE_OK ||
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status >= 300)
            j->errors++;
        j->latency_us[i] = now_us() - t0;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int64_t threads, requests;
    if (argc < 6 || parse_int64(slice_of(argv[4]), 1, 256, &threads) ||
        parse_int64(slice_of(argv[5]), 1, 10000000, &requests)) {
        fprintf(stderr, "usage: na_http_load URL METHOD PATH THREADS REQUESTS [TOKEN] [BODY]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct job *jobs = xcalloc((size_t)threads, sizeof *jobs);
    pthread_t *tids = xcalloc((size_t)threads, sizeof *tids);
    int64_t *all = xcalloc((size_t)(threads * requests), sizeof *all);
    int64_t t0 = now_us();
    for (int64_t t = 0; t < threads; t++) {
        jobs[t] = (struct job){argv[1],
                               argv[2],
                               argv[3],
                               argc > 6 && argv[6][0] ? argv[6] : NULL,
                               argc > 7 ? argv[7] : NULL,
                               requests,
                               (int)t,
                               all + t * requests,
                               0};
        pthread_create(&tids[t], NULL, run, &jobs[t]);
    }
    int64_t errors = 0;
    for (int64_t t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        errors += jobs[t].errors;
    }
    double secs = (double)(now_us() - t0) / 1e6;
    int64_t n = threads * requests;
    qsort(all, (size_t)n, sizeof *all, cmp_i64);
    printf("requests=%lld threads=%lld seconds=%.2f rps=%.0f p50_us=%lld p99_us=%lld "
           "max_us=%lld errors=%lld\n",
           (long long)n, (long long)threads, secs, (double)n / secs, (long long)all[n / 2],
           (long long)all[n * 99 / 100], (long long)all[n - 1], (long long)errors);
    free(all);
    free(tids);
    free(jobs);
    curl_global_cleanup();
    return errors ? 1 : 0;
}
