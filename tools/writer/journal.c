/* journal.c - a run's raw frames appended to raw.ftb as they arrive. */
#define _GNU_SOURCE
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/sink.h"

#define JOURNAL_FLUSH_AT (32u << 10)

int
ft_journal_open(struct ft_journal *j, const char *run_dir, int keep, int compress, int zlevel)
{
    char path[4200];

    memset(j, 0, sizeof(*j));
    j->keep = keep;
    j->compress = compress;
    j->zlevel = zlevel;
    snprintf(path, sizeof(path), "%s/raw.ftb%s", run_dir, compress ? ".zst" : "");
    if ((j->path = strdup(path)) == NULL) {
        j->fd = -1;
        return -ENOMEM;
    }
    j->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    return j->fd < 0 ? -errno : 0;
}

int
ft_journal_flush(struct ft_journal *j)
{
    if (j->pending.len == 0 || j->err != 0) {
        return j->err;
    }
    if (j->compress) {
        /* One frame a write; the frame's buffer is kept for the next. */
        if ((j->err = ft_sink_zframe(j->zlevel, j->pending.p, j->pending.len, &j->zout)) == 0 &&
            (j->err = ft_write_all(j->fd, j->zout.p, j->zout.len)) == 0) {
            j->written += j->zout.len;
            j->pending.len = 0;
        }
        return j->err;
    }
    j->err = ft_write_all(j->fd, j->pending.p, j->pending.len);
    if (j->err == 0) {
        j->written += j->pending.len;
        j->pending.len = 0;
    }
    return j->err;
}

int
ft_journal_append(struct ft_journal *j, const struct ft_frame *f)
{
    if (j->err != 0) {
        return j->err;
    }
    /* A big frame goes out at once instead of growing the buffer past its bound. */
    if (j->pending.len + sizeof(f->hdr) + f->hdr.len > JOURNAL_FLUSH_AT && ft_journal_flush(j)) {
        return j->err;
    }
    ft_buf_put(&j->pending, &f->hdr, sizeof(f->hdr));
    if (f->hdr.len > JOURNAL_FLUSH_AT && !j->compress) {
        if ((j->err = ft_journal_flush(j)) == 0 &&
            (j->err = ft_write_all(j->fd, f->payload, f->hdr.len)) == 0) {
            j->written += f->hdr.len;
        }
        return j->err;
    }
    ft_buf_put(&j->pending, f->payload, f->hdr.len);
    if (j->pending.oom) {
        return j->err = -ENOMEM;
    }
    /* Compressed, a big frame is compressed with what is buffered. */
    return j->pending.len > JOURNAL_FLUSH_AT ? ft_journal_flush(j) : 0;
}

void
ft_journal_close(struct ft_journal *j)
{
    if (j->fd >= 0) {
        if (j->keep) {
            ft_journal_flush(j);
        }
        close(j->fd);
        if (!j->keep && j->path != NULL) {
            unlink(j->path);
        }
    }
    j->fd = -1;
    ft_buf_free(&j->pending);
    ft_buf_free(&j->zout);
    free(j->path);
    j->path = NULL;
}
