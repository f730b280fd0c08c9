#include "dc09/codes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/alloc.h"

/*
 * The event table: two sorted arrays (Contact ID and SIA), looked up by binary search.
 * Labels are owned by the table so that entries from the JSON file and defaults are alike.
 */

struct entry {
    char code[5];
    enum dc09_action action;
    char *label;
};

struct dc09_codes {
    struct entry *cid, *sia;
    size_t n_cid, n_sia;
};

struct default_entry {
    const char *code;
    enum dc09_action action;
    const char *label;
};

/* Contact ID: qualifier 1 (new event) or 3 (restore) and the event number. Restores not
 * listed fall back to DC09_ACTION_RESTORE in dc09_codes_lookup. */
static const struct default_entry cid_defaults[] = {
    {"1100", DC09_ACTION_RED, "Medical alarm"},
    {"1101", DC09_ACTION_RED, "Personal emergency"},
    {"1102", DC09_ACTION_AMBER, "Fail to report in"},
    {"1110", DC09_ACTION_RED, "Fire alarm"},
    {"1120", DC09_ACTION_RED, "Panic alarm"},
    {"1121", DC09_ACTION_DURESS, "Duress"},
    {"1122", DC09_ACTION_DURESS, "Silent panic"},
    {"1123", DC09_ACTION_RED, "Audible panic"},
    {"1302", DC09_ACTION_BATTERY_LOW, "Low battery"},
    {"1309", DC09_ACTION_BATTERY_LOW, "Battery test failure"},
    {"1311", DC09_ACTION_BATTERY_LOW, "Battery missing or dead"},
    {"1384", DC09_ACTION_BATTERY_LOW, "Transmitter low battery"},
    {"1601", DC09_ACTION_TEST, "Manual test"},
    {"1602", DC09_ACTION_LINK, "Periodic test"},
    {"1603", DC09_ACTION_LINK, "Periodic radio test"},
    {"1607", DC09_ACTION_TEST, "Walk test"},
    {"3302", DC09_ACTION_BATTERY_OK, "Battery restored"},
    {"3309", DC09_ACTION_BATTERY_OK, "Battery test passed"},
    {"3311", DC09_ACTION_BATTERY_OK, "Battery restored"},
    {"3384", DC09_ACTION_BATTERY_OK, "Transmitter battery restored"},
};

/* SIA DC-03 event codes. */
static const struct default_entry sia_defaults[] = {
    {"CL", DC09_ACTION_RECORD, "Closing"},
    {"FA", DC09_ACTION_RED, "Fire alarm"},
    {"FR", DC09_ACTION_RESTORE, "Fire restore"},
    {"HA", DC09_ACTION_DURESS, "Hold-up alarm"},
    {"HR", DC09_ACTION_RESTORE, "Hold-up restore"},
    {"MA", DC09_ACTION_RED, "Medical alarm"},
    {"MR", DC09_ACTION_RESTORE, "Medical restore"},
    {"OP", DC09_ACTION_RECORD, "Opening"},
    {"PA", DC09_ACTION_RED, "Panic alarm"},
    {"PR", DC09_ACTION_RESTORE, "Panic restore"},
    {"QA", DC09_ACTION_RED, "Emergency alarm"},
    {"QR", DC09_ACTION_RESTORE, "Emergency restore"},
    {"RP", DC09_ACTION_LINK, "Automatic test"},
    {"RX", DC09_ACTION_TEST, "Manual test"},
    {"XR", DC09_ACTION_BATTERY_OK, "Transmitter battery restored"},
    {"XT", DC09_ACTION_BATTERY_LOW, "Transmitter low battery"},
    {"YR", DC09_ACTION_BATTERY_OK, "Battery restored"},
    {"YT", DC09_ACTION_BATTERY_LOW, "Low battery"},
};

static const char *const action_names[] = {"record",   "link",  "restore",     "battery_ok",
                                           "position", "test",  "battery_low", "amber",
                                           "red",      "duress"};

const char *dc09_action_name(enum dc09_action a)
{
    if ((unsigned)a > DC09_ACTION_LAST)
        return "record";
    return action_names[a];
}

int dc09_action_parse(const char *s, enum dc09_action *out)
{
    for (size_t i = 0; i <= DC09_ACTION_LAST; i++) {
        if (strcmp(s, action_names[i]) == 0) {
            *out = (enum dc09_action)i;
            return 0;
        }
    }
    return -1;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->code, ((const struct entry *)b)->code);
}

static struct entry *entry_find(struct entry *e, size_t n, const char *code)
{
    struct entry key;
    size_t len = strnlen(code, sizeof key.code);
    if (len >= sizeof key.code)
        return NULL;
    memcpy(key.code, code, len + 1);
    return bsearch(&key, e, n, sizeof *e, entry_cmp);
}

/* The label of code while the array is being built (not yet sorted); NULL when absent. */
static const char *entry_label(const struct entry *e, size_t n, const char *code)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(e[i].code, code) == 0)
            return e[i].label;
    }
    return NULL;
}

/* Adds or replaces code in the array *e of *n entries (room for cap). */
static void entry_set(struct entry *e, size_t *n, const char *code, enum dc09_action action,
                      const char *label)
{
    struct entry *old = NULL;
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(e[i].code, code) == 0)
            old = &e[i];
    }
    if (!old) {
        old = &e[(*n)++];
        memcpy(old->code, code, strlen(code) + 1);
        old->label = xstrdup(label);
    } else if (old->label != label) {
        free(old->label);
        old->label = xstrdup(label);
    }
    old->action = action;
}

static void load_defaults(struct entry *e, size_t *n, const struct default_entry *d, size_t nd)
{
    for (size_t i = 0; i < nd; i++)
        entry_set(e, n, d[i].code, d[i].action, d[i].label);
}

static bool cid_code_ok(const char *s)
{
    if (strlen(s) != 4 || (s[0] != '1' && s[0] != '3' && s[0] != '6'))
        return false;
    for (size_t i = 1; i < 4; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

static bool sia_code_ok(const char *s)
{
    return strlen(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

static bool label_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 100)
        return false;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return false;
    }
    return true;
}

/* One entry's value: "red" or {"action": "amber", "label": "Amber button"}. */
static int read_value(const char *code, json_t *v, enum dc09_action *action, const char **label,
                      char *err, size_t n)
{
    json_t *a = v;
    *label = NULL;
    if (json_is_object(v)) {
        const char *key;
        json_t *field;
        json_object_foreach(v, key, field)
        {
            if (strcmp(key, "action") != 0 && strcmp(key, "label") != 0) {
                snprintf(err, n, "code %s: unknown field \"%s\"", code, key);
                return -1;
            }
        }
        a = json_object_get(v, "action");
        json_t *l = json_object_get(v, "label");
        if (l && (!json_is_string(l) || !label_ok(json_string_value(l)))) {
            snprintf(err, n, "code %s: label must be 1 to 100 printable characters", code);
            return -1;
        }
        *label = l ? json_string_value(l) : NULL;
    }
    if (!json_is_string(a) || dc09_action_parse(json_string_value(a), action) < 0) {
        snprintf(err, n,
                 "code %s: action must be one of record, link, restore, battery_ok, "
                 "position, test, battery_low, amber, red, duress",
                 code);
        return -1;
    }
    return 0;
}

/* The entries of one section ("contact_id" or "sia") of the JSON file. */
static int read_section(json_t *sec, bool cid, struct entry **e, size_t *n, char *err, size_t errn)
{
    const char *code;
    json_t *v;
    if (!json_is_object(sec)) {
        snprintf(err, errn, "\"%s\" must be an object", cid ? "contact_id" : "sia");
        return -1;
    }
    *e = xrealloc(*e, *n + json_object_size(sec), sizeof **e);
    json_object_foreach(sec, code, v)
    {
        enum dc09_action action;
        const char *label;
        if (cid ? !cid_code_ok(code) : !sia_code_ok(code)) {
            snprintf(err, errn, "\"%.16s\" is not a %s", code,
                     cid ? "Contact ID code (qualifier 1, 3 or 6 and three digits)"
                         : "SIA code (two capital letters)");
            return -1;
        }
        if (read_value(code, v, &action, &label, err, errn) < 0)
            return -1;
        /* Without a label a default's is kept; a new code is named by itself. */
        char named[16];
        snprintf(named, sizeof named, "Code %s", code);
        const char *old = entry_label(*e, *n, code);
        entry_set(*e, n, code, action, label ? label : old ? old : named);
    }
    return 0;
}

static int read_json(struct dc09_codes *c, const char *json, char *err, size_t n)
{
    json_error_t jerr;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    int rc = -1;
    if (!root) {
        snprintf(err, n, "line %d: %s", jerr.line, jerr.text);
        return -1;
    }
    if (!json_is_object(root)) {
        snprintf(err, n, "the codes must be a JSON object");
        goto done;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        bool cid = strcmp(key, "contact_id") == 0;
        if (!cid && strcmp(key, "sia") != 0) {
            snprintf(err, n, "unknown section \"%.32s\" (contact_id or sia)", key);
            goto done;
        }
        if (read_section(v, cid, cid ? &c->cid : &c->sia, cid ? &c->n_cid : &c->n_sia, err, n) < 0)
            goto done;
        /* Sorted for entry_find's bsearch in dc09_codes_lookup; loading itself finds
         * codes linearly (entry_label, entry_set), so the order matters only once loaded. */
        qsort(cid ? c->cid : c->sia, cid ? c->n_cid : c->n_sia, sizeof(struct entry), entry_cmp);
    }
    rc = 0;
done:
    json_decref(root);
    return rc;
}

int dc09_codes_new(const char *json, struct dc09_codes **out, char *err, size_t n)
{
    struct dc09_codes *c = xcalloc(1, sizeof *c);
    size_t ncid = sizeof cid_defaults / sizeof cid_defaults[0];
    size_t nsia = sizeof sia_defaults / sizeof sia_defaults[0];
    c->cid = xcalloc(ncid, sizeof *c->cid);
    c->sia = xcalloc(nsia, sizeof *c->sia);
    load_defaults(c->cid, &c->n_cid, cid_defaults, ncid);
    load_defaults(c->sia, &c->n_sia, sia_defaults, nsia);
    qsort(c->cid, c->n_cid, sizeof *c->cid, entry_cmp);
    qsort(c->sia, c->n_sia, sizeof *c->sia, entry_cmp);
    if (json && read_json(c, json, err, n) < 0) {
        dc09_codes_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

void dc09_codes_free(struct dc09_codes *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_cid; i++)
        free(c->cid[i].label);
    for (size_t i = 0; i < c->n_sia; i++)
        free(c->sia[i].label);
    free(c->cid);
    free(c->sia);
    free(c);
}

void dc09_codes_lookup(const struct dc09_codes *c, enum dc09_token t, const char *code,
                       struct dc09_meaning *out)
{
    const struct entry *e = NULL;
    if (t == DC09_TOKEN_ADM_CID)
        e = entry_find(c->cid, c->n_cid, code);
    else if (t == DC09_TOKEN_SIA_DCS)
        e = entry_find(c->sia, c->n_sia, code);
    if (e) {
        out->action = e->action;
        out->label = e->label;
    } else if (t == DC09_TOKEN_ADM_CID && code[0] == '3') {
        out->action = DC09_ACTION_RESTORE;
        out->label = "Restore";
    } else {
        out->action = DC09_ACTION_RECORD;
        out->label = "Unknown code";
    }
}

void dc09_codes_message(const struct dc09_codes *c, enum dc09_token t, const struct dc09_payload *p,
                        struct dc09_meaning *out, size_t *index)
{
    size_t best = 0;
    out->action = DC09_ACTION_LINK;
    out->label = "Link test";
    if (t != DC09_TOKEN_NULL) {
        for (size_t i = 0; i < p->n_codes && i < DC09_CODES_MAX; i++) {
            struct dc09_meaning m;
            dc09_codes_lookup(c, t, p->codes[i].code, &m);
            if (i == 0 || m.action > out->action) {
                *out = m;
                best = i;
            }
        }
    }
    if (index)
        *index = best;
}
