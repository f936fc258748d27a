/* log.c - one-line diagnostics on stderr without stdio (safe in any thread). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "config.h"

static void
vlog(const char *fmt, va_list ap)
{
    char line[1024];
    int n = snprintf(line, sizeof(line), "flowtrace[%d]: ", (int)getpid());

    if (n < 0) {
        return;
    }
    /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): the callers' va_start. */
    n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    if (n >= (int)sizeof(line)) {
        n = (int)sizeof(line) - 1;
    }
    line[n++] = '\n';
    /* One write, so lines of several processes do not interleave mid-line. */
    if (write(2, line, (size_t)n) < 0) {
        return;
    }
}

void
ft_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}

void
ft_debug(const char *fmt, ...)
{
    va_list ap;

    if (!ft_cfg.debug) {
        return;
    }
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}
