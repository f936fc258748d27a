/* sink.h - a file written through an in-memory buffer (writer and tools only).
 *
 * The sink owns its fd and its buffer. Write errors are sticky: after the first one
 * (for example ENOSPC) the sink drops data and keeps counting it, so the caller can
 * report exactly what was lost, and the file is cut back to the end of the last flush
 * that succeeded, so it never ends with part of a flush. ft_sink_close() releases
 * everything in all cases. A lazy sink (ft_sink_open_lazy) creates its file only when it
 * first writes out: one dropped before that (ft_sink_discard) costs no system call.
 *
 * A sink may compress (ft_sink_compress): each write (a flush) is then one whole zstd
 * frame, so the file is a valid zstd stream up to its last good write (`zstd -dc` reads
 * it; concatenated frames read as the concatenation of their contents; a reader of a run
 * still going gets every line written), and one compression context serves every sink:
 * the memory of a sink does not depend on compressing. Copies to the mirrors stay plain.
 */
#ifndef FT_LIB_SINK_H
#define FT_LIB_SINK_H

#include <stdint.h>

#include "buf.h"

/* A sink writes out once it holds this much: a writer serving 200 processes holds two per
 * run (events.jsonl, a thread's tree part). 32 KiB zstd frames cost some ratio: 34.8
 * bytes a call on fib compressed, 29.8 with 128 KiB (docs/architecture.md). */
#define FT_SINK_FLUSH_AT (32u << 10)

struct ft_sink {
    int fd;
    int err;                  /* first write error (negative errno), 0 if none */
    uint64_t written;         /* bytes that reached the file */
    uint64_t dropped;         /* bytes dropped after an error */
    int mirror[2];            /* fds that get a copy of every byte written (-1: none); not owned */
    struct ft_buf b;          /* pending bytes; append to it directly */
    const uint64_t *mark_src; /* optional: a counter sampled into mark by each good flush */
    uint64_t mark;            /* *mark_src when the last flush succeeded: what the file holds */
    int compress;             /* each write is a zstd frame ... */
    int zlevel;               /* ... at this level */
    char *path;               /* a lazy sink's file (owned), created at its first write */
};

/* Creates path (O_EXCL unless truncate is set) with mode 0600. Returns 0 or -errno. */
int ft_sink_open(struct ft_sink *s, const char *path, int truncate);

/* From now on the sink writes zstd at level (libzstd's levels; 0 means its default).
 * Returns 0. */
int ft_sink_compress(struct ft_sink *s, int level);

/* len bytes of src as one whole zstd frame at `level`, as a compressed sink writes a flush,
 * into out (its bytes replaced). Returns 0 or -errno. */
int ft_sink_zframe(int level, const void *src, size_t len, struct ft_buf *out);

/* Like ft_sink_open(s, path, 1), but the file is created (with its parent directory, 0700,
 * if that is missing) only when bytes are first written out, or at ft_sink_close. path is
 * copied. Returns 0 or -ENOMEM. */
int ft_sink_open_lazy(struct ft_sink *s, const char *path);

/* Drops the sink: its buffered bytes, and its file if it was created (a lazy sink's).
 * Frees everything. */
void ft_sink_discard(struct ft_sink *s);

/* Nothing more reaches the file, nor the copies: err (negative errno) becomes the sticky
 * error unless there is one, and what is buffered is dropped (counted). The file keeps
 * what its last good write left; a lazy sink's is never created. */
void ft_sink_stop(struct ft_sink *s, int err);

/* Writes out all buffered bytes. Returns 0 or the sticky error. */
int ft_sink_flush(struct ft_sink *s);

/* Writes out the buffer if it holds at least FT_SINK_FLUSH_AT bytes. */
static inline void
ft_sink_maybe_flush(struct ft_sink *s)
{
    if (s->b.len >= FT_SINK_FLUSH_AT) {
        ft_sink_flush(s);
    }
}

/* Flushes, closes the fd and frees the buffer. Returns 0 or the sticky error. */
int ft_sink_close(struct ft_sink *s);

/* Writes all of data to fd, retrying on EINTR and short writes. Returns 0 or -errno. */
int ft_write_all(int fd, const void *data, size_t n);

#endif
