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
 * The password is written to DATA_DIR/initial-admin-password (a new file, mode 0600,
 * synced; never through a link or over an existing file) before the commit, so an
 * administrator never exists whose password nobody can read; -NA_EIO (nothing created)
 * when it cannot be written. First purges expired login throttles and old sessions.
 * -NA_EINVAL when organisation_name is not a valid name or admin_username (lowercased)
 * not a valid username.
 */
int bootstrap_first_start(struct store *st, const char *data_dir, const char *organisation_name,
                          const char *admin_username, int64_t now, bool *created,
                          char otp[SECRET_OTP_LEN + 1]);

/*
 * Tells the operator how to log in, on stderr, showing the password itself only when
 * stderr is a terminal (never through the log, which must never carry secrets).
 */
int bootstrap_announce(const char *data_dir, const char *listen, const char *admin_username,
                       const char *otp);

#endif
