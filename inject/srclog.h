/* srclog.h - the sources log: the files that hold traced code, each sent once to the
 * writer with its text, so that a run shows its code after the checkout is gone.
 *
 * A file is noted when its first traced code object is defined (codes.c); whoever ships
 * events (ship.c) reads each file noted and not yet sent and sends it as a SOURCE frame
 * (TLVs PATH and CONTENT) before the events, right after its definition. Bounded: only
 * regular files under an absolute path, at most FT_SRCLOG_FILE_MAX bytes each (a larger
 * one is not kept), FT_SRCLOG_TOTAL_MAX bytes and FT_SRCLOG_FILES_MAX files per
 * connection. The log keeps the paths only, so a forked child sends them again on its
 * own connection (read again then). Any thread (one lock).
 */
#ifndef FT_INJECT_SRCLOG_H
#define FT_INJECT_SRCLOG_H

#include <stddef.h>
#include <stdint.h>

#define FT_SRCLOG_FILE_MAX  (1u << 20)
#define FT_SRCLOG_TOTAL_MAX (32u << 20)
#define FT_SRCLOG_FILES_MAX 4096u

/* A file with traced code; noted once, whatever the number of calls. */
void ft_srclog_note(const char *path);

/* Reads each file noted and not yet sent and passes its SOURCE payload to send(); files
 * that cannot be read, or are over the bounds, are passed over. Stops at the first error
 * of send() and returns it (that file is sent again next time). */
int ft_srclog_send(int (*send)(const uint8_t *p, size_t n, void *arg), void *arg);

/* In a forked child, and for the next connection in this process (recording started
 * again): every file is sent again, within fresh bounds. */
void ft_srclog_atfork_child(void);
void ft_srclog_resend(void);

/* Tests: forgets every file. */
void ft_srclog_reset(void);

#endif
