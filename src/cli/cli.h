#ifndef NA_CLI_CLI_H
#define NA_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cli/args.h"
#include "cli/client.h"
#include "cli/credentials.h"

/*
 * What every command of the notalone client shares: the chosen server and token, output
 * mode, the exit status, and helpers that report errors the same way everywhere.
 *
 * Exit statuses: 0 success; 1 the server answered an error (or another failure);
 * 2 usage or input error; 3 the server cannot be reached.
 */

enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_ERROR = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_UNREACHABLE = 3,
};

#define CLI_DEFAULT_SERVER "http://127.0.0.1:8080"
#define CLI_MAX_PATH       4200
#define CLI_COUNT(a)       (sizeof(a) / sizeof((a)[0]))

struct cli {
    char *server;                 /* base URL in use; owned */
    char *token;                  /* owned, NULL when none */
    bool token_saved;             /* token came from the credentials file */
    bool json;                    /* --json: print the server's JSON */
    char cred_path[CLI_MAX_PATH]; /* "" when no path could be made */
    struct credentials saved;     /* the credentials file as read (may be empty) */
    struct client *client;        /* with the token, made on first use; owned */
    struct client *anon;          /* without a token, made on first use; owned */
    int exit_status;              /* enum cli_exit of the first reported failure */
};

struct cli_command;

/* Runs a command with its arguments (after its name). 0 or a negated NA_E* (reported). */
typedef int (*cli_run_fn)(struct cli *cli, const struct cli_command *cmd, int argc, char **argv);

struct cli_command {
    const char *name;     /* "create" */
    const char *synopsis; /* "team create --name N [--manager USER]" */
    const char *help;     /* what it does; may be NULL */
    cli_run_fn run;
};

/* Subcommands of one command ("team"); name NULL for the top-level commands. */
struct cli_group {
    const char *name;
    const struct cli_command *cmds;
    size_t ncmds;
};

/* Releases what cli owns. */
void cli_fini(struct cli *cli);

/* Prints "usage: notalone SYNOPSIS" and the help text of cmd to f. */
void cli_print_command_usage(FILE *f, const struct cli_command *cmd);
/* Prints the synopses of every command of g to f, one a line. */
void cli_print_group_synopses(FILE *f, const struct cli_group *g);

/*
 * Reports a usage error: "notalone: MESSAGE" then the usage of cmd (NULL for the global
 * usage) on stderr; sets exit status 2. Returns -NA_EINVAL.
 */
int cli_usage_error(struct cli *cli, const struct cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reports another failure as "notalone: MESSAGE" with exit status 1. Returns -NA_EIO. */
int cli_fail(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Parses a command's arguments (see args_parse). On --help prints the usage to stdout and
 * sets a->help; on a usage error reports it. Returns 0 or -NA_EINVAL. Call args_fini.
 */
int cli_parse(struct cli *cli, const struct cli_command *cmd, const struct args_spec *spec,
              size_t nspec, const char *const *pos_names, size_t npos, size_t min_pos, int argc,
              char **argv, struct args *a);

/* Runs the subcommand named by argv[0] in g (help and usage errors handled). */
int cli_dispatch(struct cli *cli, const struct cli_group *g, int argc, char **argv);

/*
 * Sends a request (see client_request) with the token when with_token; reports a failure
 * (exit status 1, or 3 when the server cannot be reached). "Not logged in" when a token is
 * needed and there is none. *out caller json_decref.
 */
int cli_request(struct cli *cli, bool with_token, const char *method, const char *path,
                const json_t *body, json_t **out);

/*
 * As cli_request with the token, but a failure the server answers is not reported: the
 * caller decides (a 404 that means "none"). Returns 0 or the negated NA_E*.
 */
int cli_request_quiet(struct cli *cli, const char *method, const char *path, const json_t *body,
                      json_t **out);

/* Reports the last failure of cli_request_quiet as cli_request would have. Returns rc. */
int cli_report(struct cli *cli, int rc);

/* Every item of a paginated list (see client_list), failures reported. */
int cli_list(struct cli *cli, const char *path, json_t **out);

/* The user id named by arg: an id as is, else a username looked up. Failures reported. */
int cli_resolve_user(struct cli *cli, const char *arg, int64_t *out);
/* The team id named by arg: an id as is, else a team name looked up. Failures reported. */
int cli_resolve_team(struct cli *cli, const char *arg, int64_t *out);

/* A column of a list, or a line of a record shown as label and value. */
struct cli_column {
    const char *header; /* "NAME" in a list, "name" for a record */
    const char *key;    /* member of the JSON object */
};

/*
 * Prints a list: with --json the array as is, else a table of cols (members shown as by
 * output_json_text). Reports a write failure.
 */
int cli_show_list(struct cli *cli, const json_t *items, const struct cli_column *cols,
                  size_t ncols);

/* Prints a record: with --json o as is, else one "label  value" line per col. */
int cli_show_record(struct cli *cli, const json_t *o, const struct cli_column *cols, size_t ncols);

/*
 * Sets o[key] to the string value (copied); value NULL changes nothing; value "" sets null
 * when empty_is_null. Reports a usage error of cmd naming option when value is not UTF-8.
 * Returns 0 or -NA_EINVAL.
 */
int cli_set_string(struct cli *cli, const struct cli_command *cmd, json_t *o, const char *key,
                   const char *option, const char *value, bool empty_is_null);

/* Sets o[key] to the integer v; -NA_EIO (reported) when out of memory. */
int cli_set_int(struct cli *cli, json_t *o, const char *key, int64_t v);

/* Parses an ID argument; a usage error of cmd naming what when it is not a positive id. */
int cli_parse_id(struct cli *cli, const struct cli_command *cmd, const char *what, const char *arg,
                 int64_t *out);

/* Prints v as JSON on stdout (for --json). Reports a write failure. */
int cli_print_json(struct cli *cli, const json_t *v);

/*
 * Formats a request path into dst (size CLI_MAX_PATH) with printf-style arguments.
 * -NA_ETOOBIG (reported) when it does not fit.
 */
int cli_path(struct cli *cli, char *dst, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Appends "key=value" to the query of path (size CLI_MAX_PATH), after '?' or '&'; value is
 * sent as is (the caller escapes it). A usage error (-NA_EINVAL) when it does not fit.
 */
int cli_query_add(struct cli *cli, char *path, const char *key, const char *value);
/* As cli_query_add for an id. */
int cli_query_add_id(struct cli *cli, char *path, const char *key, int64_t id);

#endif
