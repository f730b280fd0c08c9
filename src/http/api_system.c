/* Health, readiness and metrics: for load balancers and monitoring, no authentication. */
#include "http/api.h"
#include "http/metrics.h"
#include "http/stream.h"
#include "util/error.h"
#include "util/log.h"
#include "watch/watch.h"

int api_healthz(struct request *r)
{
    return request_answer(r, 200, json_pack("{s:s}", "status", "ok"));
}

int api_readyz(struct request *r)
{
    if (store_ping(r->st))
        return request_answer(r, 503, json_pack("{s:s}", "status", "not_ready"));
    return request_answer(r, 200, json_pack("{s:s}", "status", "ready"));
}

int api_metrics(struct request *r)
{
    int rc = metrics_render(r->api->metrics, &r->text);
    if (!rc && r->api->watch) {
        struct watch_stats ws;
        watch_get_stats(r->api->watch, &ws);
        rc = buf_appendf(&r->text,
                         "# HELP notalone_scheduled_jobs Deadlines, reminders, escalation steps "
                         "and deliveries in the timetable.\n"
                         "# TYPE notalone_scheduled_jobs gauge\nnotalone_scheduled_jobs %zu\n"
                         "# HELP notalone_jobs_fired_total Jobs fired since start.\n"
                         "# TYPE notalone_jobs_fired_total counter\n"
                         "notalone_jobs_fired_total %llu\n"
                         "# HELP notalone_job_lateness_max_seconds Worst lateness of a fired "
                         "job since start.\n"
                         "# TYPE notalone_job_lateness_max_seconds gauge\n"
                         "notalone_job_lateness_max_seconds %.3f\n"
                         "# HELP notalone_rows_taken_over_total Rows with due work this node "
                         "took over from nodes silent past the lease.\n"
                         "# TYPE notalone_rows_taken_over_total counter\n"
                         "notalone_rows_taken_over_total %llu\n",
                         ws.scheduled, (unsigned long long)ws.fired,
                         (double)ws.max_lateness_ms / 1000.0, (unsigned long long)ws.taken_over);
    }
    if (!rc && r->api->events)
        rc = buf_appendf(&r->text,
                         "# HELP notalone_event_streams Live event streams open on this node.\n"
                         "# TYPE notalone_event_streams gauge\nnotalone_event_streams %zu\n",
                         stream_hub_count(r->api->events));
    /* Figures read from storage: a database that fails them leaves the rest standing. */
    if (!rc) {
        int arc = metrics_render_alarms(r->st, r->now, &r->text);
        if (arc)
            log_warn("metrics_alarms_failed", "code=%s", na_error_code(arc));
    }
    if (rc)
        return rc;
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4";
    return 0;
}
