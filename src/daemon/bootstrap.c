#include "daemon/bootstrap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/roles.h"
#include "core/validate.h"
#include "util/error.h"
#include "util/log.h"

/* The configured names, checked as the API checks them; username lowercased into dst. */
static int check_names(const char *organisation_name, const char *admin_username,
                       char dst[USERNAME_MAX + 1])
{
    size_t n = strlen(admin_username);
    if (n > USERNAME_MAX) {
        log_error("first_start_bad_admin_username", "length=%zu", n);
        return -NA_EINVAL;
    }
    for (size_t i = 0; i <= n; i++) {
        char c = admin_username[i];
        dst[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    if (validate_username(dst)) {
        char quoted[2 * USERNAME_MAX + 8];
        log_error("first_start_bad_admin_username", "admin_username=%s",
                  log_quote(quoted, sizeof quoted, admin_username));
        return -NA_EINVAL;
    }
    if (validate_name(organisation_name)) {
        log_error("first_start_bad_organisation_name",
                  "message=\"1-200 characters, no control characters\"");
        return -NA_EINVAL;
    }
    return 0;
}

static int write_password_file(const char *path, const char *otp);

static int password_path(const char *data_dir, char *path, size_t size)
{
    int n = snprintf(path, size, "%s/initial-admin-password", data_dir);
    return n < 0 || (size_t)n >= size ? -NA_EINVAL : 0;
}

int bootstrap_first_start(struct store *st, const char *data_dir, const char *organisation_name,
                          const char *admin_username, int64_t now, bool *created,
                          char otp[SECRET_OTP_LEN + 1])
{
    char path[4200];
    bool written = false;
    int64_t count, org_id, user_id;
    char hash[SECRET_PWHASH_MAX], username[USERNAME_MAX + 1];
    *created = false;
    int rc = check_names(organisation_name, admin_username, username);
    if (rc)
        return rc;
    /* Done at each start; a periodic purge is the scheduler's. Outside the transaction
     * below, which is rolled back when there is nothing to create. */
    rc = store_purge_expired(st, now);
    if (!rc)
        rc = store_begin(st);
    if (!rc) /* nodes started together on a new database: one creates the host */
        rc = store_lock_schema(st);
    if (!rc)
        rc = store_org_count(st, &count);
    if (rc || count > 0)
        goto done;
    secret_one_time_password(otp);
    rc = secret_password_hash(otp, strlen(otp), hash);
    if (!rc)
        rc = store_org_create(st, organisation_name, true, now, &org_id);
    if (!rc) {
        struct user_new u = {.organisation_id = org_id,
                             .username = username,
                             .display_name = "Administrator",
                             .roles = ROLE_ADMIN,
                             .password_hash = hash,
                             .password_change_required = true,
                             .now = now};
        rc = store_user_create(st, &u, &user_id);
    }
    if (!rc)
        rc = password_path(data_dir, path, sizeof path);
    if (!rc)
        rc = write_password_file(path, otp);
    written = rc == 0;
    if (!rc)
        rc = store_commit(st);
    if (rc && written)
        unlink(path); /* nobody was created: the password opens nothing */
    if (!rc) {
        *created = true;
        log_info("first_start", "organisation_id=%lld admin_id=%lld", (long long)org_id,
                 (long long)user_id);
    }
done:
    store_rollback(st);
    return rc;
}

static int file_error(const char *step, const char *path)
{
    int e = errno;
    char quoted[4300];
    log_error("first_start_password_file_failed", "step=%s path=%s errno=%d", step,
              log_quote(quoted, sizeof quoted, path), e);
    return -NA_EIO;
}

/* Writes otp and a newline to a new file at path, mode 0600, durably. */
static int write_password_file(const char *path, const char *otp)
{
    char line[SECRET_OTP_LEN + 2];
    int n = snprintf(line, sizeof line, "%s\n", otp);
    if (n < 0 || (size_t)n >= sizeof line)
        return -NA_EINVAL;
    /* Never through a link nor over an existing file: the data directory may be shared. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return file_error("open", path);
    size_t done = 0;
    int rc = 0;
    while (!rc && done < (size_t)n) {
        ssize_t w = write(fd, line + done, (size_t)n - done);
        if (w < 0 && errno != EINTR)
            rc = file_error("write", path);
        else if (w > 0)
            done += (size_t)w;
    }
    if (!rc && fsync(fd))
        rc = file_error("fsync", path);
    if (close(fd) && !rc)
        rc = file_error("close", path);
    return rc;
}

int bootstrap_announce(const char *data_dir, const char *listen, const char *admin_username,
                       const char *otp)
{
    char path[4200];
    int rc = password_path(data_dir, path, sizeof path);
    if (rc)
        return rc;
    /* A terminal is read by the operator; anything else (a journal, a file) is kept. */
    if (isatty(STDERR_FILENO))
        fprintf(stderr,
                "\n"
                "  notalone: first start. Administrator \"%s\" created with the one-time "
                "password\n"
                "\n"
                "      %s\n"
                "\n"
                "  (also in %s). Log in and choose your own password:\n"
                "      notalone --server http://%s login --username %s\n"
                "      notalone passwd\n"
                "\n",
                admin_username, otp, path, listen, admin_username);
    else
        fprintf(stderr,
                "\n"
                "  notalone: first start. Administrator \"%s\" created; the one-time password\n"
                "  is in %s. Log in and choose your own password:\n"
                "      notalone --server http://%s login --username %s\n"
                "      notalone passwd\n"
                "\n",
                admin_username, path, listen, admin_username);
    return 0;
}
