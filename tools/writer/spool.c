/* spool.c - receive now, format later: a run's raw frames on disk. */
#define _GNU_SOURCE
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/sink.h"

#define SPOOL_FLUSH_AT (256u << 10)
#define READ_CHUNK     (1u << 20)

int
ft_spool_open(struct ft_spool *s, const char *run_dir, int keep)
{
    char path[4200];

    memset(s, 0, sizeof(*s));
    ft_buf_init(&s->pending);
    ft_wire_decoder_init(&s->dec);
    s->keep = keep;
    snprintf(path, sizeof(path), "%s/raw.ftb", run_dir);
    s->path = strdup(path);
    s->rbuf = malloc(READ_CHUNK);
    if (s->path == NULL || s->rbuf == NULL) {
        s->fd = -1;
        return -ENOMEM;
    }
    s->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    return s->fd < 0 ? -errno : 0;
}

static int
write_pending(struct ft_spool *s)
{
    if (s->pending.len == 0 || s->err != 0) {
        return s->err;
    }
    s->err = ft_write_all(s->fd, s->pending.p, s->pending.len);
    if (s->err == 0) {
        s->written += s->pending.len;
        s->pending.len = 0;
    }
    return s->err;
}

int
ft_spool_append(struct ft_spool *s, const struct ft_frame *f)
{
    if (s->err != 0) {
        return s->err;
    }
    ft_buf_put(&s->pending, &f->hdr, sizeof(f->hdr));
    ft_buf_put(&s->pending, f->payload, f->hdr.len);
    if (s->pending.oom) {
        return s->err = -ENOMEM;
    }
    return s->pending.len >= SPOOL_FLUSH_AT ? write_pending(s) : 0;
}

uint64_t
ft_spool_backlog(const struct ft_spool *s)
{
    return s->written + s->pending.len - s->formatted;
}

int
ft_spool_format(struct ft_spool *s, struct ft_run *run, size_t max_bytes, uint64_t *offset)
{
    struct ft_frame f;
    size_t done = 0;
    int rc, err;

    if ((err = write_pending(s)) != 0) {
        *offset = s->formatted;
        return err;
    }
    while (done < max_bytes && s->formatted < s->written) {
        uint64_t want = s->written - s->formatted;
        ssize_t n = pread(s->fd, s->rbuf, want < READ_CHUNK ? (size_t)want : READ_CHUNK,
                          (off_t)s->formatted);
        if (n <= 0) {
            *offset = s->formatted;
            return n < 0 ? -errno : FT_ETRUNCATED;
        }
        s->formatted += (uint64_t)n;
        done += (size_t)n;
        if ((err = ft_wire_decoder_feed(&s->dec, s->rbuf, (size_t)n)) != 0) {
            *offset = s->formatted;
            return err;
        }
        while ((rc = ft_wire_next_frame(&s->dec, &f)) == 1) {
            if (f.hdr.type == FT_FRAME_HELLO) {
                continue; /* applied on arrival */
            }
            if ((err = ft_run_frame(run, &f)) != 0) {
                *offset = f.offset;
                return err;
            }
        }
        if (rc < 0) {
            *offset = s->dec.consumed + s->dec.off;
            return rc;
        }
    }
    return 0;
}

static int
apply_frames(struct ft_wire_decoder *d, struct ft_run *run)
{
    struct ft_frame f;
    int err = 0;

    while (err == 0 && ft_wire_next_frame(d, &f) == 1) {
        if (f.hdr.type != FT_FRAME_HELLO) {
            err = ft_run_frame(run, &f);
        }
    }
    return err;
}

void
ft_spool_discard(struct ft_spool *s, struct ft_run *run)
{
    int err = 0;

    while (err == 0 && s->rbuf != NULL && s->formatted < s->written) {
        uint64_t want = s->written - s->formatted;
        ssize_t got = pread(s->fd, s->rbuf, want < READ_CHUNK ? (size_t)want : READ_CHUNK,
                            (off_t)s->formatted);
        if (got <= 0 || ft_wire_decoder_feed(&s->dec, s->rbuf, (size_t)got) != 0) {
            break;
        }
        s->formatted += (uint64_t)got;
        err = apply_frames(&s->dec, run);
    }
    if (err == 0 && s->pending.len > 0 &&
        ft_wire_decoder_feed(&s->dec, s->pending.p, s->pending.len) == 0) {
        apply_frames(&s->dec, run);
    }
    s->pending.len = 0;
    s->formatted = s->written;
}

void
ft_spool_close(struct ft_spool *s)
{
    if (s->fd >= 0) {
        if (s->keep) {
            write_pending(s);
        }
        close(s->fd);
        if (!s->keep && s->path != NULL) {
            unlink(s->path);
        }
    }
    s->fd = -1;
    ft_buf_free(&s->pending);
    ft_wire_decoder_close(&s->dec);
    free(s->path);
    free(s->rbuf);
    s->path = NULL;
    s->rbuf = NULL;
}
