/* html_src.c - the source files of a run's calls, read from disk for the viewer. */
#define _GNU_SOURCE
#include "html_src.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "cli.h"
#include "html_cols.h"

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
    if (path[0] != '/') {
        return "none";
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        return errno == ENOENT || errno == ENOTDIR ? "missing" : "unreadable";
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return "unreadable";
    }
    if ((size_t)st.st_size > FT_HTML_SRC_MAX_FILE || (size_t)st.st_size > budget) {
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
kept_path(const struct ft_html_src_from *from, yajl_val *maps, const char *path, char *out,
          size_t cap)
{
    const char *keys[] = {path, NULL};

    for (size_t i = 0; i < from->nmaps; i++) {
        yajl_val v = maps[i] != NULL ? yajl_tree_get(maps[i], keys, yajl_t_string) : NULL;
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

static void
put_file(struct ft_out *o, const char *path, int64_t f, const struct ft_html_src_from *from,
         yajl_val *maps, size_t *budget, int first)
{
    struct ft_buf *b = &o->b;
    char kept[4096], *text = NULL;
    const char *origin = NULL;
    size_t len = 0;

    if (kept_path(from, maps, path, kept, sizeof(kept))) {
        origin = read_source(kept, -1, *budget, &text, &len);
        if (text == NULL) {
            origin = NULL; /* the run's copy is unusable: the file on disk then */
        }
    }
    if (origin == NULL) {
        origin = read_source(path, from->run_start_us, *budget, &text, &len);
    }
    *budget -= len;
    ft_buf_printf(b, "%s[%lld,\"%s\",", first ? "" : ",", (long long)f, origin);
    if (text != NULL) {
        ft_cli_json_str(b, text);
    } else {
        ft_buf_puts(b, "null");
    }
    ft_buf_putc(b, ']');
    free(text);
    ft_cli_out_flush(o, 0);
}

void
ft_html_src_put(const struct ft_html_cols *h, struct ft_out *o, const struct ft_html_src_from *from)
{
    size_t nfiles = h->codes.n / 4, budget = FT_HTML_SRC_MAX_TOTAL, nout = 0;
    uint8_t *seen = calloc(h->st.n + 1, 1);
    yajl_val *maps = calloc(from->nmaps + 1, sizeof(yajl_val));

    for (size_t i = 0; maps != NULL && i < from->nmaps; i++) {
        maps[i] = from->maps[i] != NULL ? yajl_tree_parse(from->maps[i], NULL, 0) : NULL;
    }
    ft_buf_puts(&o->b, ",\n\"sources\":[");
    for (size_t i = 0; i < nfiles && seen != NULL && maps != NULL; i++) {
        int64_t f = h->codes.v[i * 4 + 2];
        if (f < 0 || seen[f]) {
            continue;
        }
        seen[f] = 1;
        put_file(o, h->strs[f], f, from, maps, &budget, nout++ == 0);
    }
    ft_buf_putc(&o->b, ']');
    for (size_t i = 0; maps != NULL && i < from->nmaps; i++) {
        yajl_tree_free(maps[i]);
    }
    free(maps);
    free(seen);
}
