/* Health, readiness and metrics: for load balancers and monitoring, no authentication. */
#include "http/api.h"
#include "http/metrics.h"
#include "util/error.h"

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
    if (rc)
        return rc;
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4";
    return 0;
}
