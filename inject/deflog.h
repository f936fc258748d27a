/* deflog.h - the definitions log: every code definition made in this process, in wire form.
 *
 * A definition (module, qualified name, file, first line, parameter names) is appended
 * when a code object is first seen (codes.c) or a builtin first called (record.c), and
 * gets the next code id. Whoever ships events (ship.c) sends the part not yet sent just
 * before them, so a record never reaches the writer ahead of its definition. The log is
 * kept whole, so that a forked child can send it all again on its own connection; it
 * grows with the number of distinct functions, never with calls. Any thread (one lock).
 */
#ifndef FT_INJECT_DEFLOG_H
#define FT_INJECT_DEFLOG_H

#include <stddef.h>
#include <stdint.h>

#include "lib/wire.h"

/* Gives v the next code id (v->id) and appends it; the lengths are taken from the
 * strings when 0. Returns 0, or -ENOMEM (the code then stays untraced). */
int ft_deflog_define(struct ft_def_view *v);

/* A builtin (C) function, for --c-calls: returns its new id, or 0. */
uint64_t ft_deflog_define_cfunc(const char *module, const char *name);

/* Passes every definition not yet sent to send(), in chunks of whole entries of at most
 * 1 MiB. Stops at the first error and returns it. */
int ft_deflog_send(int (*send)(const uint8_t *p, size_t n, void *arg), void *arg);

/* In a forked child: every definition must be sent again on the new connection. */
void ft_deflog_atfork_child(void);

/* The same in this process, for its next connection (recording started again after a
 * stop: control.h). */
void ft_deflog_resend(void);

#endif
