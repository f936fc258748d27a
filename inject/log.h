/* log.h - diagnostics of the traced process: one line on stderr, written with write(2).
 *
 * ft_debug() prints only with FLOWTRACE_DEBUG=1. ft_warn() is for the few events a user
 * must hear about (bad configuration, writer lost); it never prints outside CPython
 * because nothing calls it before the CPython gate has passed. Any thread.
 */
#ifndef FT_INJECT_LOG_H
#define FT_INJECT_LOG_H

void ft_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ft_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
