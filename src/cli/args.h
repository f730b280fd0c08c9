#ifndef NA_CLI_ARGS_H
#define NA_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Command-line parsing for the notalone client: long options (--name VALUE, --name=VALUE),
 * flags, repeatable options and positional arguments, in any order. Pure: no I/O.
 */

/* Longest argument accepted, in bytes; a longer one is a usage error. */
#define ARGS_MAX_LEN  4096
#define ARGS_MAX_OPTS 24
#define ARGS_MAX_POS  8

enum args_kind {
    ARGS_FLAG,  /* --disable */
    ARGS_VALUE, /* --name VALUE, at most once */
    ARGS_LIST,  /* --role VALUE, repeatable */
};

/*
 * One option a command accepts; name without the leading "--". A NULL name leaves the slot
 * unused, so that commands sharing an enum of options can each take a subset.
 */
struct args_spec {
    const char *name;
    enum args_kind kind;
};

/*
 * The parsed command line. Strings are borrowed from argv. Option results are indexed like
 * the spec array. list[i] is owned (released by args_fini), its strings borrowed.
 */
struct args {
    bool help;
    bool set[ARGS_MAX_OPTS];
    const char *value[ARGS_MAX_OPTS];
    const char **list[ARGS_MAX_OPTS];
    size_t nlist[ARGS_MAX_OPTS];
    const char *pos[ARGS_MAX_POS];
    size_t npos;
};

/*
 * Parses argv[0..argc) against spec (nspec <= ARGS_MAX_OPTS options). pos_names names the
 * positional arguments (npos_names <= ARGS_MAX_POS); the first min_pos are required.
 * "--help" or "-h" anywhere sets a->help and stops parsing with 0. "--" ends options.
 * When stop_at_pos is true parsing stops at the first positional argument, which with
 * everything after it is left uncounted: *consumed tells how many were read (may be NULL).
 * Returns 0, or -NA_EINVAL with a message for the user in err (unknown option, missing
 * value or argument, too many arguments, argument over ARGS_MAX_LEN). Call args_fini on
 * a in every case.
 */
int args_parse(struct args *a, const struct args_spec *spec, size_t nspec,
               const char *const *pos_names, size_t npos_names, size_t min_pos, bool stop_at_pos,
               int argc, char **argv, int *consumed, char *err, size_t errlen);

/* Releases the lists of a; a may be zeroed or parsed. */
void args_fini(struct args *a);

/* Checks that no argument is longer than ARGS_MAX_LEN; -NA_EINVAL with err otherwise. */
int args_check_lengths(int argc, char **argv, char *err, size_t errlen);

/*
 * True when s is a record id (a positive decimal integer without sign or leading zeros);
 * *out receives it. A USER or TEAM argument that is not an id is a name.
 */
bool args_is_id(const char *s, int64_t *out);

#endif
