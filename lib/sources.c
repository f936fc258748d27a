/* sources.c - the source files a run keeps (see sources.h). */
#define _GNU_SOURCE
#include "sources.h"

#include <errno.h>
#include <fcntl.h>
#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
#include "wire.h"

void
ft_sources_init(struct ft_sources *s)
{
    memset(s, 0, sizeof(*s));
}

void
ft_sources_free(struct ft_sources *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].path);
    }
    free(s->v);
    memset(s, 0, sizeof(*s));
}

/* run_dir/sources/<sha>, written whole under a temporary name and renamed into place, so
 * a reader never sees part of a file. Already there: nothing to do. */
static int
store(const char *run_dir, const char *sha, const uint8_t *text, size_t len)
{
    char path[4096], tmp[4096 + 8];
    size_t done = 0;
    int fd, err = 0;

    if ((size_t)snprintf(path, sizeof(path), "%s/sources", run_dir) >= sizeof(path)) {
        return -ENAMETOOLONG;
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        return -errno;
    }
    snprintf(path, sizeof(path), "%s/sources/%s", run_dir, sha);
    if (access(path, F_OK) == 0) {
        return 0;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return -errno;
    }
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            err = -errno;
            break;
        }
        done += (size_t)w;
    }
    if (close(fd) != 0 && err == 0) {
        err = -errno;
    }
    if (err == 0 && rename(tmp, path) != 0) {
        err = -errno;
    }
    if (err != 0) {
        unlink(tmp);
    }
    return err;
}

static struct ft_source *
find(struct ft_sources *s, const char *path, size_t plen)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strncmp(s->v[i].path, path, plen) == 0 && s->v[i].path[plen] == '\0') {
            return &s->v[i];
        }
    }
    return NULL;
}

int
ft_sources_add(struct ft_sources *s, const char *run_dir, const uint8_t *p, size_t len)
{
    const uint8_t *path = NULL, *text = NULL, *val;
    uint32_t plen = 0, tlen = 0, tag, vlen;
    size_t pos = 0;
    char sha[SHA256_DIGEST_STRING_LENGTH];
    struct ft_source *e;
    int rc, err;

    while ((rc = ft_tlv_next(p, len, &pos, &tag, &val, &vlen)) == 1) {
        if (tag == FT_TAG_PATH) {
            path = val;
            plen = vlen;
        } else if (tag == FT_TAG_CONTENT) {
            text = val;
            tlen = vlen;
        }
    }
    if (rc != 0 || path == NULL || text == NULL || plen == 0 || memchr(path, '\0', plen) != NULL) {
        return FT_EBADFRAME;
    }
    e = find(s, (const char *)path, plen);
    if ((e == NULL && s->n >= FT_SOURCES_MAX) || s->bytes + tlen > FT_SOURCES_BYTES) {
        return 0; /* over the bounds: not kept */
    }
    SHA256Data(text, tlen, sha);
    if ((err = store(run_dir, sha, text, tlen)) != 0) {
        return err;
    }
    s->bytes += tlen;
    if (e == NULL) {
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 32;
            struct ft_source *nv = realloc(s->v, cap * sizeof(*nv));
            if (nv == NULL) {
                return -ENOMEM;
            }
            s->v = nv;
            s->cap = cap;
        }
        e = &s->v[s->n];
        if ((e->path = strndup((const char *)path, plen)) == NULL) {
            return -ENOMEM;
        }
        s->n++;
    }
    memcpy(e->sha, sha, sizeof(e->sha));
    return 0;
}

static int
by_path(const void *a, const void *b)
{
    return strcmp(((const struct ft_source *)a)->path, ((const struct ft_source *)b)->path);
}

void
ft_sources_put_json(struct ft_sources *s, struct ft_buf *b)
{
    if (s->n == 0) {
        return;
    }
    qsort(s->v, s->n, sizeof(s->v[0]), by_path); /* lookups do not depend on the order */
    ft_buf_puts(b, ",\"sources\":{");
    for (size_t i = 0; i < s->n; i++) {
        if (i > 0) {
            ft_buf_putc(b, ',');
        }
        ft_json_put_cstr(b, s->v[i].path);
        ft_buf_puts(b, ":\"");
        ft_buf_puts(b, s->v[i].sha);
        ft_buf_putc(b, '"');
    }
    ft_buf_putc(b, '}');
}
