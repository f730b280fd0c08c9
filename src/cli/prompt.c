#include "cli/prompt.h"

#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "util/error.h"

/* The terminal's settings while echo is off, for the signal handler to restore. */
static struct termios saved_tio;
static volatile sig_atomic_t echo_off;

static const int prompt_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define PROMPT_NSIGNALS (sizeof(prompt_signals) / sizeof(prompt_signals[0]))

bool prompt_stdin_is_tty(void)
{
    return isatty(STDIN_FILENO) == 1;
}

int prompt_read_line(FILE *f, char *dst, size_t n)
{
    size_t len = 0;
    int ch = EOF;
    if (n == 0)
        return -NA_ETOOBIG;
    while ((ch = fgetc(f)) != EOF && ch != '\n') {
        if (len + 1 >= n) {
            dst[0] = '\0';
            return -NA_ETOOBIG;
        }
        dst[len++] = (char)ch;
    }
    dst[len] = '\0';
    if (ch == EOF && (len == 0 || ferror(f)))
        return -NA_EIO;
    if (len > 0 && dst[len - 1] == '\r')
        dst[--len] = '\0';
    return 0;
}

static void on_signal(int sig)
{
    if (echo_off)
        (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void set_handlers(struct sigaction *old, bool install)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < PROMPT_NSIGNALS; i++) {
        if (install)
            (void)sigaction(prompt_signals[i], &sa, &old[i]);
        else
            (void)sigaction(prompt_signals[i], &old[i], NULL);
    }
}

int prompt_password(const char *prompt, char *dst, size_t n)
{
    struct sigaction old[PROMPT_NSIGNALS];
    struct termios tio;

    if (tcgetattr(STDIN_FILENO, &saved_tio) != 0)
        return -NA_EIO;
    tio = saved_tio;
    tio.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
    tio.c_lflag |= ICANON;
    fputs(prompt, stderr);
    fflush(stderr);
    set_handlers(old, true);
    echo_off = 1;
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio) != 0) {
        echo_off = 0;
        set_handlers(old, false);
        return -NA_EIO;
    }
    int rc = prompt_read_line(stdin, dst, n);
    (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
    echo_off = 0;
    set_handlers(old, false);
    fputc('\n', stderr);
    return rc;
}
