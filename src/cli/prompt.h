#ifndef NA_CLI_PROMPT_H
#define NA_CLI_PROMPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * Reading passwords: from the terminal without echo, or one line at a time from a pipe.
 * Callers wipe the buffers when done (sodium_memzero).
 */

/* True when standard input is a terminal. */
bool prompt_stdin_is_tty(void);

/*
 * Reads one line from f into dst (size n) without its "\n" (or "\r\n"). -NA_ETOOBIG when
 * the line does not fit (the rest of it is not read), -NA_EIO at end of input before any
 * character or on a read error.
 */
int prompt_read_line(FILE *f, char *dst, size_t n);

/*
 * Writes prompt to stderr and reads a line from the terminal on standard input with echo
 * turned off (restored afterwards, also when a signal ends the program). Errors as
 * prompt_read_line; -NA_EIO when the terminal cannot be set.
 */
int prompt_password(const char *prompt, char *dst, size_t n);

#endif
