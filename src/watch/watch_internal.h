#ifndef NA_WATCH_WATCH_INTERNAL_H
#define NA_WATCH_WATCH_INTERNAL_H

/* Shared by the watch's files; not part of its interface. */
#include <pthread.h>

#include "sched/sched.h"
#include "store/store_cluster.h"
#include "util/buf.h"
#include "watch/watch.h"

/* What the scheduler's jobs mean (struct sched_job.kind); id is the row's id. */
enum watch_job {
    JOB_DEADLINE = 1,    /* a visit's deadline (visit id) */
    JOB_REMINDER = 2,    /* a visit's reminder (visit id) */
    JOB_ESCALATION = 3,  /* a case's level limit (escalation id) */
    JOB_DELIVER = 4,     /* an outbox row to (re)send (outbox id) */
    JOB_UNREACHABLE = 5, /* an outbox row that finally failed (outbox id) */
    JOB_ALARM = 6,       /* an unclaimed alarm's re-notification (alarm id) */
    JOB_AMBER = 7,       /* an amber alert's deadline (amber alert id) */
    JOB_DEVICE = 8,      /* a device not tested for too long (the worker's user id) */
    JOB_DC09 = 9,        /* a DC-09 event's action to apply (dc09 event id) */
    JOB_SILENT = 10,     /* a device's loss-of-signal check (device id) */
};

struct deliver;
struct cluster;

struct watch {
    struct watch_config cfg;
    char *public_url;
    bool email_enabled;
    struct store *st; /* the scheduler thread's connection */
    struct sched *sched;
    struct deliver *deliver;
    struct cluster *cluster;
};

/* One message for one recipient, before it becomes outbox rows. */
struct notice {
    const char *event;   /* "escalation.notify", "visit.reminder", ... */
    const char *subject; /* one line */
    const char *text;    /* plain text (email, {{text}} of templates) */
    json_t *payload;     /* webhook JSON body; borrowed */
    const char *link;    /* {{link}}: acknowledgement or accept link; may be NULL */
    const char *phone;   /* {{phone}}: the worker's phone; may be NULL */
    int64_t escalation_id;
    int level;
    const char *key; /* idempotency base: the same notice always gets the same key */
};

/* Whom a notice tells: users (each once) and channels. Built by the recipients_* calls,
 * which add only enabled users of the organisation; the worker of an alarm is never added
 * (a duress alarm must not show on their devices). */
struct recipients {
    int64_t worker_id; /* never added; 0: none */
    int64_t *users;
    size_t n_users;
    int64_t *channels;
    size_t n_channels;
};
/* Frees r's arrays and zeroes it. */
void recipients_fini(struct recipients *r);
/* Adds user_id when an enabled user of org_id (gone or disabled: nobody). */
int recipients_user(struct store *st, int64_t org_id, int64_t user_id, struct recipients *r);
/* Adds the enabled line managers of worker_id's teams. */
int recipients_line_managers(struct store *st, int64_t org_id, int64_t worker_id,
                             struct recipients *r);
/* Adds the enabled users of the first of roles[0..n) that has any: someone is told as long
 * as one of them is staffed. */
int recipients_first_role(struct store *st, int64_t org_id, const unsigned *roles, size_t n,
                          struct recipients *r);
/* The red-alert path's operators: the organisation's operators, else its senior managers,
 * else its admins. */
int recipients_operators(struct store *st, int64_t org_id, struct recipients *r);
/* Queues n (its key ignored) for each user of r, keyed "<key_base>:u<user id>" so that
 * the same notice is queued once however often it is asked for. */
int recipients_notify(struct watch *w, struct store *st, int64_t org_id, const struct recipients *r,
                      const struct notice *n, const char *key_base, int64_t now,
                      struct id_list *outbox);

/* Queues n for user_id on each of their channels (or email / log). */
int notice_user(struct watch *w, struct store *st, int64_t org_id, int64_t user_id,
                const struct notice *n, int64_t now, struct id_list *out);
/* Queues n on one channel (an organisation's or a user's). */
int notice_channel(struct watch *w, struct store *st, const struct channel_row *c,
                   const struct notice *n, int64_t now, struct id_list *out);
void id_list_push(struct id_list *l, int64_t id);

/* The information pack of a visit (§6.17.6): worker, itinerary, vehicle, next of kin. */
json_t *pack_visit(struct store *st, const struct visit_row *v);
/* Plain-text rendering of a pack for email. */
void pack_text(json_t *pack, struct buf *out);

/* Users told of an alarm, from its timeline's "notified" lines: each once, when first. */
struct told {
    int64_t user_id;
    int64_t at;
};
struct told_list {
    struct told *items; /* caller frees */
    size_t n;
};
int alarm_told_users(struct store *st, const struct alarm_row *a, struct told_list *out);
/* watch_alarm_pack with the organisation's settings s already read (NULL: read here). */
json_t *alarm_pack(struct store *st, const struct alarm_row *a, const struct alarm_settings *s,
                   int64_t now);
/* Plain-text rendering of an alarm's pack (watch_alarm_pack) for notices. */
void alarm_pack_text(json_t *pack, struct buf *out);

/*
 * The alarm jobs (alarms.c), in the scheduler's transaction: each reads its row again and
 * acts only if it is still due, so a stale job is harmless. *next receives the job to
 * schedule after the commit (due_at 0: none).
 */
int alarm_job_renotify(struct watch *w, struct store *st, int64_t alarm_id, int64_t now,
                       struct sched_job *next, struct id_list *outbox);
int alarm_job_amber(struct watch *w, struct store *st, int64_t amber_id, int64_t now,
                    struct sched_job *next, struct id_list *outbox);
int alarm_job_device(struct watch *w, struct store *st, int64_t user_id, int64_t now,
                     struct sched_job *next, struct id_list *outbox);

/* The device jobs (devices.c), like the alarm jobs. */
int device_job_dc09(struct watch *w, struct store *st, int64_t event_id, int64_t now,
                    struct sched_job *next, struct id_list *outbox);
int device_job_silent(struct watch *w, struct store *st, int64_t device_id, int64_t now,
                      struct sched_job *next, struct id_list *outbox);

/* Delivery thread (deliver.c). */
int deliver_new(struct watch *w, struct deliver **out);
void deliver_free(struct deliver *d);
void deliver_submit(struct deliver *d, const int64_t *ids, size_t n);
/* Blocks until the queue is empty and nothing is being sent; returns the number of
 * deliveries finished so far (to tell whether a round did anything). */
uint64_t deliver_wait_idle(struct deliver *d);

/*
 * Puts rows this node owns (just taken over, or found at start) in the timetable, with
 * the levels of their cases that nobody could be told (st: the caller's connection).
 */
void watch_schedule_rows(struct watch *w, struct store *st, enum due_kind kind,
                         const struct adopted_row *rows, size_t n);

/* Schedules this node's own rows due at or before until (INT64_MAX: all, at start);
 * *count grows by the rows found. */
int watch_schedule_owned(struct watch *w, struct store *st, int64_t until, size_t *count);

/* Heartbeat and taking over the work of silent nodes (cluster.c). Starting takes over
 * what is there to take at once; then a thread does it on shared databases. */
int cluster_start(struct watch *w, struct cluster **out);
/* Stops the thread; cluster_free then hands this node's work to the others (call it
 * once nothing here fires or sends any more). */
void cluster_stop(struct cluster *c);
void cluster_free(struct cluster *c);
/* Rows taken over from silent nodes since start (any thread). */
uint64_t cluster_taken_over(struct cluster *c);

/* Scheduler callback (engine.c). */
void engine_fire(void *ctx, const struct sched_job *jobs, size_t n, int64_t now);

#endif
