/* srcfile.c - the text of a run's source file (see srcfile.h). */
#define _GNU_SOURCE
#include "srcfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FT_SRCFILE_MAX (1u << 20) /* bytes of one file, at most */

/* Reads path whole into a NUL-terminated buffer (the caller frees it), or says why not.
 * run_start_us < 0: a file kept with the run (not compared with the run's start). */
static const char *
read_source(const char *path, double run_start_us, size_t budget, char **text, size_t *len)
{
    struct stat st;
    const char *origin = run_start_us < 0 ? "run" : "disk";
    ssize_t got;
    char *buf;
    int fd;

    *text = NULL;
    if (run_start_us >= 0 && path[0] != '/') {
        return "none"; /* a program's file by a relative name, <string>, <frozen ...> */
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        return errno == ENOENT || errno == ENOTDIR ? "missing" : "unreadable";
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return "unreadable";
    }
    if ((size_t)st.st_size > FT_SRCFILE_MAX || (size_t)st.st_size > budget) {
        close(fd);
        return "large";
    }
    if (run_start_us >= 0 &&
        (double)st.st_mtim.tv_sec * 1e6 + (double)st.st_mtim.tv_nsec / 1e3 > run_start_us) {
        origin = "changed";
    }
    buf = malloc((size_t)st.st_size + 1);
    got = buf != NULL ? read(fd, buf, (size_t)st.st_size) : -1;
    close(fd);
    if (got < 0) {
        free(buf);
        return "unreadable";
    }
    buf[got] = '\0';
    if (memchr(buf, '\0', (size_t)got) != NULL) {
        free(buf);
        return "binary";
    }
    *text = buf;
    *len = (size_t)got;
    return origin;
}

/* The kept copy of path: its hash in one of the maps, a file RUN/sources/<hash>. Returns
 * 1 with the file's path in out, 0 when the run did not keep it. */
static int
kept_path(const struct ft_srcfile_from *from, const char *path, char *out, size_t cap)
{
    const char *keys[] = {path, NULL};

    for (size_t i = 0; i < from->nmaps; i++) {
        yajl_val v =
            from->maps[i] != NULL ? yajl_tree_get(from->maps[i], keys, yajl_t_string) : NULL;
        const char *hash = v != NULL ? YAJL_GET_STRING(v) : NULL;
        size_t n = hash != NULL ? strspn(hash, "0123456789abcdef") : 0;
        /* A hash names a file in the run's directory and nothing else. */
        if (hash != NULL && n >= 16 && hash[n] == '\0' &&
            (size_t)snprintf(out, cap, "%s/sources/%s", from->rundir, hash) < cap) {
            return 1;
        }
    }
    return 0;
}

const char *
ft_srcfile_read(const struct ft_srcfile_from *from, const char *path, size_t budget, char **text,
                size_t *len)
{
    char kept[4096];

    *len = 0;
    if (kept_path(from, path, kept, sizeof(kept))) {
        const char *origin = read_source(kept, -1, budget, text, len);
        if (*text != NULL) {
            return origin;
        }
        /* the run's copy is unusable: the file on disk then */
    }
    return read_source(path, from->run_start_us, budget, text, len);
}

void
ft_srcfile_cache_init(struct ft_srcfile_cache *c, const struct ft_srcfile_from *from)
{
    memset(c, 0, sizeof(*c));
    c->from = from;
    c->budget = 32u << 20;
}

void
ft_srcfile_cache_free(struct ft_srcfile_cache *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].path);
        free(c->v[i].text);
    }
    free(c->v);
    memset(c, 0, sizeof(*c));
}

static struct ft_srcfile_ent *
cache_get(struct ft_srcfile_cache *c, const char *path)
{
    struct ft_srcfile_ent *e;

    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->v[i].path, path) == 0) {
            return &c->v[i];
        }
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct ft_srcfile_ent *nv = realloc(c->v, cap * sizeof(*nv));
        if (nv == NULL) {
            return NULL;
        }
        c->v = nv;
        c->cap = cap;
    }
    e = &c->v[c->n];
    memset(e, 0, sizeof(*e));
    if ((e->path = strdup(path)) == NULL) {
        return NULL;
    }
    ft_srcfile_read(c->from, path, c->budget, &e->text, &e->len);
    c->budget -= e->len;
    c->n++;
    return e;
}

const char *
ft_srcfile_line(struct ft_srcfile_cache *c, const char *path, unsigned line, size_t *len)
{
    struct ft_srcfile_ent *e = path != NULL && line > 0 ? cache_get(c, path) : NULL;
    const char *p, *end, *nl;

    if (e == NULL || e->text == NULL) {
        return NULL;
    }
    p = e->text;
    end = e->text + e->len;
    for (unsigned i = 1; i < line; i++) {
        if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
            return NULL;
        }
        p = nl + 1;
    }
    nl = memchr(p, '\n', (size_t)(end - p));
    *len = (size_t)((nl != NULL ? nl : end) - p);
    return p;
}
