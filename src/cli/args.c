#include "cli/args.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/str.h"

static int args_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int args_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* A truncated message is still a useful message. */
    (void)vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -NA_EINVAL;
}

int args_check_lengths(int argc, char **argv, char *err, size_t errlen)
{
    for (int i = 0; i < argc; i++) {
        if (strlen(argv[i]) > ARGS_MAX_LEN)
            return args_error(err, errlen, "argument %d is longer than %d bytes", i + 1,
                              ARGS_MAX_LEN);
    }
    return 0;
}

static bool is_help(const char *s)
{
    return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0;
}

/* Index of the option named by (name, len) in spec, or -1. */
static int find_spec(const struct args_spec *spec, size_t nspec, const char *name, size_t len)
{
    for (size_t i = 0; i < nspec; i++) {
        /* A slot without name is an option this command does not take. */
        if (spec[i].name && strlen(spec[i].name) == len && memcmp(spec[i].name, name, len) == 0)
            return (int)i;
    }
    return -1;
}

static void list_push(struct args *a, int idx, const char *v)
{
    a->list[idx] = xrealloc(a->list[idx], a->nlist[idx] + 1, sizeof(*a->list[idx]));
    a->list[idx][a->nlist[idx]++] = v;
}

/*
 * Reads the option at argv[*i] ("--name", "--name=value"); advances *i past a separate
 * value.
 */
static int parse_option(struct args *a, const struct args_spec *spec, size_t nspec, int argc,
                        char **argv, int *i, char *err, size_t errlen)
{
    const char *tok = argv[*i];
    const char *name = tok + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    int idx = find_spec(spec, nspec, name, len);
    if (tok[1] != '-' || len == 0 || idx < 0)
        return args_error(err, errlen, "unknown option '%.*s'", (int)(len + 2), tok);
    const struct args_spec *s = &spec[idx];
    if (s->kind == ARGS_FLAG) {
        if (eq)
            return args_error(err, errlen, "option --%s takes no value", s->name);
        a->set[idx] = true;
        return 0;
    }
    const char *v = eq ? eq + 1 : NULL;
    if (!v) {
        if (*i + 1 >= argc)
            return args_error(err, errlen, "option --%s needs a value", s->name);
        v = argv[++*i];
    }
    if (s->kind == ARGS_VALUE) {
        if (a->set[idx])
            return args_error(err, errlen, "option --%s given more than once", s->name);
        a->value[idx] = v;
    } else {
        list_push(a, idx, v);
    }
    a->set[idx] = true;
    return 0;
}

static bool has_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (is_help(argv[i]))
            return true;
    }
    return false;
}

static int check_positionals(const struct args *a, const char *const *pos_names, size_t min_pos,
                             char *err, size_t errlen)
{
    if (a->npos < min_pos)
        return args_error(err, errlen, "missing argument %s", pos_names[a->npos]);
    return 0;
}

int args_parse(struct args *a, const struct args_spec *spec, size_t nspec,
               const char *const *pos_names, size_t npos_names, size_t min_pos, bool stop_at_pos,
               int argc, char **argv, int *consumed, char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    if (consumed)
        *consumed = 0;
    if (nspec > ARGS_MAX_OPTS || npos_names > ARGS_MAX_POS || min_pos > npos_names)
        return args_error(err, errlen, "internal: bad option table");
    int rc = args_check_lengths(argc, argv, err, errlen);
    if (rc)
        return rc;
    /* A global parse stops at the command, whose own --help is not ours. */
    if (!stop_at_pos && has_help(argc, argv)) {
        a->help = true;
        return 0;
    }
    bool opts_done = false;
    int i = 0;
    for (; i < argc; i++) {
        const char *tok = argv[i];
        if (!opts_done && strcmp(tok, "--") == 0) {
            opts_done = true;
            continue;
        }
        if (!opts_done && is_help(tok)) {
            a->help = true;
            return 0;
        }
        if (!opts_done && tok[0] == '-' && tok[1] != '\0') {
            rc = parse_option(a, spec, nspec, argc, argv, &i, err, errlen);
            if (rc)
                return rc;
            continue;
        }
        if (stop_at_pos)
            break;
        if (a->npos >= npos_names)
            return args_error(err, errlen, "unexpected argument '%s'", tok);
        a->pos[a->npos++] = tok;
    }
    if (consumed)
        *consumed = i;
    return check_positionals(a, pos_names, min_pos, err, errlen);
}

void args_fini(struct args *a)
{
    for (size_t i = 0; i < ARGS_MAX_OPTS; i++) {
        free(a->list[i]);
        a->list[i] = NULL;
        a->nlist[i] = 0;
    }
}

bool args_is_id(const char *s, int64_t *out)
{
    if (s[0] < '1' || s[0] > '9')
        return false;
    return parse_int64(slice_of(s), 1, INT64_MAX, out) == 0;
}
