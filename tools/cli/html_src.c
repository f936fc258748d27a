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
#include "srcfile.h"

static void
put_file(struct ft_out *o, const char *path, int64_t f, const struct ft_srcfile_from *from,
         size_t *budget, int first)
{
    struct ft_buf *b = &o->b;
    char *text = NULL;
    size_t len = 0;
    const char *origin = ft_srcfile_read(from, path, *budget, &text, &len);

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
    struct ft_srcfile_from sf = {from->rundir, maps, from->nmaps, from->run_start_us};

    ft_buf_puts(&o->b, ",\n\"sources\":[");
    for (size_t i = 0; i < nfiles && seen != NULL && maps != NULL; i++) {
        int64_t f = h->codes.v[i * 4 + 2];
        if (f < 0 || seen[f]) {
            continue;
        }
        seen[f] = 1;
        put_file(o, h->strs[f], f, &sf, &budget, nout++ == 0);
    }
    ft_buf_putc(&o->b, ']');
    for (size_t i = 0; maps != NULL && i < from->nmaps; i++) {
        yajl_tree_free(maps[i]);
    }
    free(maps);
    free(seen);
}
