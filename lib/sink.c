/* sink.c - buffered file output with sticky errors. */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

int
ft_write_all(int fd, const void *data, size_t n)
{
    const char *p = data;

    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int
ft_sink_open(struct ft_sink *s, const char *path, int truncate)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_EXCL);

    ft_buf_init(&s->b);
    s->err = 0;
    s->written = 0;
    s->dropped = 0;
    s->mirror[0] = s->mirror[1] = -1;
    s->mark_src = NULL;
    s->mark = 0;
    s->compress = 0;
    s->zlevel = 0;
    s->path = NULL;
    s->fd = open(path, flags, 0600);
    if (s->fd < 0) {
        return -errno;
    }
    return 0;
}

int
ft_sink_compress(struct ft_sink *s, int level)
{
    s->zlevel = level;
    s->compress = 1;
    return 0;
}

/* One compression context and output buffer for every sink: each write is a zstd frame
 * of its own, so no sink keeps compression state between writes and the writer's memory
 * does not grow with the number of files it writes at once. (One thread writes.) */
static ZSTD_CCtx *zctx;
static struct ft_buf zout;

/* src as one zstd frame, in out (replacing what it held). */
static int
zframe(int level, const void *src, size_t len, struct ft_buf *out)
{
    size_t n;

    out->len = 0;
    if ((zctx == NULL && (zctx = ZSTD_createCCtx()) == NULL) ||
        ft_buf_reserve(out, ZSTD_compressBound(len)) != 0) {
        return -ENOMEM;
    }
    /* No checksum: a file cut after any write reads up to there. */
    ZSTD_CCtx_reset(zctx, ZSTD_reset_session_and_parameters);
    if (ZSTD_isError(ZSTD_CCtx_setParameter(zctx, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(zctx, ZSTD_c_checksumFlag, 0))) {
        return -EINVAL;
    }
    n = ZSTD_compress2(zctx, out->p, out->cap, src, len);
    if (ZSTD_isError(n)) {
        return -EIO;
    }
    out->len = n;
    return 0;
}

/* The buffered bytes as one zstd frame, in zout. */
static int
compress(const struct ft_sink *s)
{
    return zframe(s->zlevel, s->b.p, s->b.len, &zout);
}

int
ft_sink_zframe(int level, const void *src, size_t len, struct ft_buf *out)
{
    return zframe(level, src, len, out);
}

int
ft_sink_open_lazy(struct ft_sink *s, const char *path)
{
    ft_buf_init(&s->b);
    s->fd = -1;
    s->err = 0;
    s->written = 0;
    s->dropped = 0;
    s->mirror[0] = s->mirror[1] = -1;
    s->mark_src = NULL;
    s->mark = 0;
    s->compress = 0;
    s->zlevel = 0;
    s->path = strdup(path);
    return s->path != NULL ? 0 : -ENOMEM;
}

/* A lazy sink's file, now: its directory too if missing. */
static int
create_lazy(struct ft_sink *s)
{
    int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
    char *slash;

    s->fd = open(s->path, flags, 0600);
    if (s->fd < 0 && errno == ENOENT && (slash = strrchr(s->path, '/')) != NULL) {
        *slash = '\0';
        int made = mkdir(s->path, 0700) == 0 || errno == EEXIST;
        *slash = '/';
        if (made) {
            s->fd = open(s->path, flags, 0600);
        }
    }
    if (s->fd < 0) {
        s->err = -errno;
    }
    return s->err;
}

void
ft_sink_discard(struct ft_sink *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        if (s->path != NULL) {
            unlink(s->path);
        }
    }
    s->fd = -1;
    ft_buf_free(&s->b);
    free(s->path);
    s->path = NULL;
}

void
ft_sink_stop(struct ft_sink *s, int err)
{
    if (s->err == 0) {
        s->err = err != 0 ? err : -EIO;
    }
    s->dropped += s->b.len;
    s->b.len = 0;
    s->mirror[0] = s->mirror[1] = -1;
}

int
ft_sink_flush(struct ft_sink *s)
{
    if (s->b.len == 0) {
        return s->err;
    }
    if (s->err == 0 && s->fd < 0 && s->path != NULL) {
        create_lazy(s);
    }
    if (s->err == 0 && s->fd >= 0) {
        int err = s->compress ? compress(s) : 0;
        const char *p = s->compress ? zout.p : s->b.p;
        size_t n = s->compress ? zout.len : s->b.len;
        if (err == 0) {
            err = ft_write_all(s->fd, p, n);
        }
        if (err == 0) {
            s->written += n;
            if (s->mark_src != NULL) {
                s->mark = *s->mark_src;
            }
        } else {
            s->err = err;
            /* Part of this flush may be in the file: cut it off (shrinking needs no
             * space, so this works on a full disk too). */
            if (ftruncate(s->fd, (off_t)s->written) != 0) {
                s->err = err;
            }
        }
    }
    if (s->err != 0) {
        s->dropped += s->b.len;
    }
    /* Copies are best effort: a closed stdout must not cost the trace. */
    for (int i = 0; i < 2; i++) {
        if (s->mirror[i] >= 0 && ft_write_all(s->mirror[i], s->b.p, s->b.len) != 0) {
            s->mirror[i] = -1;
        }
    }
    s->b.len = 0;
    return s->err;
}

int
ft_sink_close(struct ft_sink *s)
{
    int err;

    if (s->err == 0 && s->fd < 0 && s->path != NULL) {
        create_lazy(s); /* an empty file is still a file */
    }
    err = ft_sink_flush(s);
    free(s->path);
    s->path = NULL;
    if (s->fd >= 0 && close(s->fd) != 0 && err == 0) {
        err = -errno;
        s->err = err;
    }
    s->fd = -1;
    ft_buf_free(&s->b);
    return err;
}
