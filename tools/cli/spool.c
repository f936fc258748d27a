/* spool.c - records kept in a temporary file under their index (spool.h). */
#define _GNU_SOURCE
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes are gathered up to this much. */
#define SPOOL_CHUNK (1u << 20)

int
ft_spool_tmpfile(void)
{
    const char *dir = getenv("TMPDIR");
    char path[PATH_MAX];
    int fd;

    snprintf(path, sizeof(path), "%s/flowtrace-spool.XXXXXX", dir && *dir ? dir : "/tmp");
    if ((fd = mkostemp(path, O_CLOEXEC)) < 0) { /* $TMPDIR unusable: /tmp */
        snprintf(path, sizeof(path), "/tmp/flowtrace-spool.XXXXXX");
        if ((fd = mkostemp(path, O_CLOEXEC)) < 0) {
            return -errno;
        }
    }
    unlink(path);
    return fd;
}

int
ft_spool_open(struct ft_spool *s, size_t n)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    ft_buf_init(&s->w);
    s->off = calloc(n + 1, sizeof(*s->off));
    s->len = calloc(n + 1, sizeof(*s->len));
    if (s->off == NULL || s->len == NULL) {
        free(s->off);
        s->off = NULL;
        return -ENOMEM;
    }
    s->n = n;
    return (s->fd = ft_spool_tmpfile()) < 0 ? s->fd : 0;
}

static int
drain(struct ft_spool *s)
{
    size_t done = 0;

    while (done < s->w.len) {
        ssize_t k =
            pwrite(s->fd, s->w.p + done, s->w.len - done, (off_t)(s->end - s->w.len + done));
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return k < 0 ? -errno : -EIO;
        }
        done += (size_t)k;
    }
    s->w.len = 0;
    return 0;
}

int
ft_spool_put(struct ft_spool *s, size_t k, const void *p, size_t len)
{
    if (k >= s->n || len > UINT32_MAX) {
        return -EINVAL;
    }
    s->off[k] = s->end;
    s->len[k] = (uint32_t)len;
    ft_buf_put(&s->w, p, len);
    s->end += len;
    if (s->w.oom) {
        return -ENOMEM;
    }
    return s->w.len >= SPOOL_CHUNK ? drain(s) : 0;
}

int
ft_spool_get(struct ft_spool *s, size_t k, struct ft_buf *out)
{
    size_t len = k < s->n ? s->len[k] : 0, done = 0;
    int rc;

    if (len == 0) {
        return 0;
    }
    if (s->w.len > 0 && (rc = drain(s)) != 0) {
        return rc;
    }
    if (ft_buf_reserve(out, len) != 0) {
        return -ENOMEM;
    }
    while (done < len) {
        ssize_t r = pread(s->fd, out->p + out->len + done, len - done, (off_t)(s->off[k] + done));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return r < 0 ? -errno : -EIO;
        }
        done += (size_t)r;
    }
    out->len += len;
    return 0;
}

void
ft_spool_close(struct ft_spool *s)
{
    if (s->off != NULL && s->fd >= 0) { /* opened (a zeroed spool never was) */
        close(s->fd);
    }
    free(s->off);
    free(s->len);
    ft_buf_free(&s->w);
    memset(s, 0, sizeof(*s));
    s->fd = -1;
}
