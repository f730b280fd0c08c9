#include "daemon/bootstrap.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/roles.h"
#include "util/error.h"
#include "util/log.h"

int bootstrap_first_start(struct store *st, const char *organisation_name,
                          const char *admin_username, int64_t now, bool *created,
                          char otp[SECRET_OTP_LEN + 1])
{
    int64_t count, org_id, user_id;
    char hash[SECRET_PWHASH_MAX];
    *created = false;
    /* Done at each start; a periodic purge is the scheduler's. Outside the transaction
     * below, which is rolled back when there is nothing to create. */
    int rc = store_purge_expired(st, now);
    if (!rc)
        rc = store_begin(st);
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
                             .username = admin_username,
                             .display_name = "Administrator",
                             .roles = ROLE_ADMIN,
                             .password_hash = hash,
                             .password_change_required = true,
                             .now = now};
        rc = store_user_create(st, &u, &user_id);
    }
    if (!rc)
        rc = store_commit(st);
    if (!rc) {
        *created = true;
        log_info("first_start", "organisation_id=%lld admin_id=%lld", (long long)org_id,
                 (long long)user_id);
    }
done:
    store_rollback(st);
    return rc;
}

void bootstrap_announce(const char *data_dir, const char *listen, const char *admin_username,
                        const char *otp)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/initial-admin-password", data_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        dprintf(fd, "%s\n", otp);
        close(fd);
    }
    fprintf(stderr,
            "\n"
            "  notalone: first start. Administrator \"%s\" created with the one-time password\n"
            "\n"
            "      %s\n"
            "\n"
            "  (also in %s). Log in and choose your own password:\n"
            "      notalone --server http://%s login --username %s\n"
            "      notalone passwd\n"
            "\n",
            admin_username, otp, path, listen, admin_username);
}
