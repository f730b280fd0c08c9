#ifndef NA_DAEMON_BOOTSTRAP_H
#define NA_DAEMON_BOOTSTRAP_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "util/secret.h"

/*
 * First start: when the database holds no organisation, creates the host organisation
 * and its first administrator with a one-time password (never a fixed default), in one
 * transaction. *created says whether it did; otp receives the password when it did.
 * First purges expired login throttles and old sessions (store_purge_expired).
 */
int bootstrap_first_start(struct store *st, const char *organisation_name,
                          const char *admin_username, int64_t now, bool *created,
                          char otp[SECRET_OTP_LEN + 1]);

/*
 * Tells the operator how to log in: on stderr (not through the log, which must never
 * carry secrets) and in DATA_DIR/initial-admin-password, mode 0600.
 */
void bootstrap_announce(const char *data_dir, const char *listen, const char *admin_username,
                        const char *otp);

#endif
