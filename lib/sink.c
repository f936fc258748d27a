/* sink.c - buffered file output with sticky errors. */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
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
    s->zc = NULL;
    s->zframe = 0;
    ft_buf_init(&s->z);
    s->fd = open(path, flags, 0600);
    if (s->fd < 0) {
        return -errno;
    }
    return 0;
}

int
ft_sink_compress(struct ft_sink *s, int level)
{
    ZSTD_CCtx *zc = ZSTD_createCCtx();

    if (zc == NULL) {
        return -ENOMEM;
    }
    /* No checksum: a stream cut at a flush must still read up to there. */
    if (ZSTD_isError(ZSTD_CCtx_setParameter(zc, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(zc, ZSTD_c_checksumFlag, 0))) {
        ZSTD_freeCCtx(zc);
        return -EINVAL;
    }
    s->zc = zc;
    return 0;
}

/* The buffered bytes compressed into s->z; the frame ended if end. */
static int
compress(struct ft_sink *s, int end)
{
    ZSTD_inBuffer in = {s->b.p, s->b.len, 0};
    size_t left;

    s->z.len = 0;
    do {
        if (ft_buf_reserve(&s->z, ZSTD_CStreamOutSize()) != 0) {
            return -ENOMEM;
        }
        ZSTD_outBuffer out = {s->z.p + s->z.len, s->z.cap - s->z.len, 0};
        left = ZSTD_compressStream2(s->zc, &out, &in, end ? ZSTD_e_end : ZSTD_e_flush);
        if (ZSTD_isError(left)) {
            return -EIO;
        }
        s->z.len += out.pos;
    } while (left != 0 || in.pos < in.size);
    return 0;
}

/* Writes the buffer (compressed when the sink compresses; end: and ends the frame). */
static int
flush(struct ft_sink *s, int end)
{
    if (s->b.len == 0 && !(end && s->zframe)) {
        return s->err;
    }
    if (s->err == 0 && s->fd >= 0) {
        int err = s->zc != NULL ? compress(s, end) : 0;
        s->zframe = s->zc != NULL && !end;
        const char *p = s->zc != NULL ? s->z.p : s->b.p;
        size_t n = s->zc != NULL ? s->z.len : s->b.len;
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
ft_sink_flush(struct ft_sink *s)
{
    return flush(s, 0);
}

int
ft_sink_end_frame(struct ft_sink *s)
{
    return flush(s, 1);
}

int
ft_sink_close(struct ft_sink *s)
{
    int err = flush(s, 1);

    if (s->fd >= 0 && close(s->fd) != 0 && err == 0) {
        err = -errno;
        s->err = err;
    }
    s->fd = -1;
    ft_buf_free(&s->b);
    ft_buf_free(&s->z);
    ZSTD_freeCCtx(s->zc); /* accepts NULL */
    s->zc = NULL;
    return err;
}
