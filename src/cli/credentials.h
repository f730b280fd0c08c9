#ifndef NA_CLI_CREDENTIALS_H
#define NA_CLI_CREDENTIALS_H

#include <stddef.h>

/*
 * The saved login of the notalone client: a JSON file {"server","token","username"} at
 * $XDG_CONFIG_HOME/notalone/credentials.json (or $HOME/.config/notalone/credentials.json),
 * mode 0600 in a directory of mode 0700, replaced atomically.
 */

/* Largest credentials file read. */
#define CREDENTIALS_MAX_FILE (64u * 1024u)

/* A saved login; each string owned, NULL when absent. Release with credentials_fini. */
struct credentials {
    char *server;
    char *token;
    char *username;
};

/*
 * Path of the credentials file into dst (size n), from the values of XDG_CONFIG_HOME and
 * HOME (either may be NULL). XDG_CONFIG_HOME is used only when absolute (as the XDG spec
 * says). -NA_EINVAL when neither gives a path; -NA_ETOOBIG when it does not fit.
 */
int credentials_path(const char *xdg_config_home, const char *home, char *dst, size_t n);

/*
 * Reads the file at path into *out (strings owned by *out). -NA_ENOTFOUND when there is
 * no file, -NA_EMALFORMED when it is not a credentials object, -NA_EIO when it cannot be
 * read. *out is empty on failure.
 */
int credentials_load(const char *path, struct credentials *out);

/*
 * Writes c to path, creating missing directories with mode 0700, through a temporary file
 * made with O_EXCL and mode 0600 and renamed over the old one. -NA_EIO on failure (the old
 * file, if any, is unchanged).
 */
int credentials_save(const char *path, const struct credentials *c);

/* Deletes the file at path; 0 also when there is none. -NA_EIO on failure. */
int credentials_remove(const char *path);

/* Releases and wipes the strings of c; c is then empty. */
void credentials_fini(struct credentials *c);

#endif
