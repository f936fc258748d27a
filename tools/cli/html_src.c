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

#include "cli.h"
#include "html_cols.h"

/* Reads path whole into a NUL-terminated buffer (the caller frees it), or says why not. */
static const char *
read_source(const char *path, double run_start_us, size_t budget, char **text, size_t *len)
{
    struct stat st;
    const char *origin = "disk";
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
    if ((double)st.st_mtim.tv_sec * 1e6 + (double)st.st_mtim.tv_nsec / 1e3 > run_start_us) {
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

void
ft_html_src_put(const struct ft_html_cols *h, struct ft_out *o, double run_start_us)
{
    struct ft_buf *b = &o->b;
    size_t nfiles = h->codes.n / 4, budget = FT_HTML_SRC_MAX_TOTAL, nout = 0;
    uint8_t *seen = calloc(h->st.n + 1, 1);

    ft_buf_puts(b, ",\n\"sources\":[");
    for (size_t i = 0; i < nfiles && seen != NULL; i++) {
        int64_t f = h->codes.v[i * 4 + 2];
        const char *origin;
        char *text;
        size_t len = 0;
        if (f < 0 || seen[f]) {
            continue;
        }
        seen[f] = 1;
        origin = read_source(h->strs[f], run_start_us, budget, &text, &len);
        budget -= len;
        ft_buf_printf(b, "%s[%lld,\"%s\",", nout++ ? "," : "", (long long)f, origin);
        if (text != NULL) {
            ft_cli_json_str(b, text);
        } else {
            ft_buf_puts(b, "null");
        }
        ft_buf_putc(b, ']');
        free(text);
        ft_cli_out_flush(o, 0);
    }
    ft_buf_putc(b, ']');
    free(seen);
}
