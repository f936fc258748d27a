/* spool.h - records written in one order, read back in another, from a temporary file.
 *
 * The exports render a call once it is complete (after its children: skel.h) but write
 * the calls in pre-order. Each record goes to an unlinked temporary file in $TMPDIR (else
 * /tmp) under its index; ft_spool_get reads one back. Memory: 12 bytes per index; disk:
 * the records. Nothing here prints.
 */
#ifndef FT_CLI_SPOOL_H
#define FT_CLI_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

struct ft_spool {
    int fd;
    uint64_t *off; /* per index: where its record starts */
    uint32_t *len;
    size_t n;
    uint64_t end;    /* where the next record goes */
    struct ft_buf w; /* records not yet written */
};

/* A spool for n records. Returns 0, or -errno. */
int ft_spool_open(struct ft_spool *s, size_t n);

/* Record k (< n, given once) is p[0..len). Returns 0, or -errno. */
int ft_spool_put(struct ft_spool *s, size_t k, const void *p, size_t len);

/* Appends record k to out (nothing for one never given). Returns 0, or -errno. */
int ft_spool_get(struct ft_spool *s, size_t k, struct ft_buf *out);

/* An unlinked temporary file opened for reading and writing, in $TMPDIR (else /tmp): its
 * descriptor, or -errno. */
int ft_spool_tmpfile(void);

/* Closes s, opened or zeroed. */
void ft_spool_close(struct ft_spool *s);

#endif
