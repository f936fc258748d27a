/* rfile.c - reading a run's files: plain, zstd, or the tree so far of a run still going. */
#define _GNU_SOURCE
#include "rfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "buf.h"

#define IN_CAP (128u << 10)

struct ft_rfile {
    int fd;        /* -1 when reading from mem */
    ZSTD_DCtx *dc; /* zstd files */
    char *in;      /* compressed input: in[in_pos..in_len) not yet decompressed */
    size_t in_len, in_pos;
    int in_eof;
    struct ft_buf mem; /* a document made here (the tree so far) */
    size_t mem_pos;
};

int
ft_rfile_find(const char *dir, const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    if (access(path, F_OK) == 0) {
        return 0;
    }
    snprintf(path, cap, "%s/%s.zst", dir, name);
    return access(path, F_OK) == 0 ? 0 : -ENOENT;
}

/* Whether another open file description holds an exclusive flock on path (a look: the
 * shared lock taken to see is let go at once). */
static int
locked(const char *path, int flags)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | flags), held;

    if (fd < 0) {
        return 0;
    }
    held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

/* Whether dir/name (plain or .zst) is missing or holds nothing. */
static int
empty_or_none(const char *dir, const char *name)
{
    char path[4200];
    struct stat st;

    return ft_rfile_find(dir, name, path, sizeof(path)) != 0 ||
           (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);
}

enum ft_run_state
ft_rfile_state(const char *run_dir)
{
    char path[4200];

    if (ft_rfile_find(run_dir, "tree.json", path, sizeof(path)) == 0) {
        return FT_RUN_COMPLETE;
    }
    /* The directory's lock (runfiles.h); events.jsonl's, of a writer before it. */
    if (locked(run_dir, O_DIRECTORY) ||
        (ft_rfile_find(run_dir, "events.jsonl", path, sizeof(path)) == 0 && locked(path, 0))) {
        return FT_RUN_RUNNING;
    }
    /* Its writer may have put tree.json in place and let go since the first look. */
    if (ft_rfile_find(run_dir, "tree.json", path, sizeof(path)) == 0) {
        return FT_RUN_COMPLETE;
    }
    /* Written in this order from mkdir: .live, events.jsonl, raw.ftb, then records. */
    snprintf(path, sizeof(path), "%s/.live", run_dir);
    return access(path, F_OK) == 0 && empty_or_none(run_dir, "events.jsonl") &&
                   empty_or_none(run_dir, "raw.ftb")
               ? FT_RUN_NOTHING
               : FT_RUN_UNFINISHED;
}

static int
open_file(struct ft_rfile *f, const char *path)
{
    size_t n = strlen(path);

    if ((f->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        return -errno;
    }
    if (n > 4 && strcmp(path + n - 4, ".zst") == 0) {
        if ((f->dc = ZSTD_createDCtx()) == NULL || (f->in = malloc(IN_CAP)) == NULL) {
            return -ENOMEM;
        }
    }
    return 0;
}

static ssize_t
read_zstd(struct ft_rfile *f, void *buf, size_t cap)
{
    ZSTD_outBuffer out = {buf, cap, 0};

    for (;;) {
        /* The decoder first: it may hold output of input it already took. */
        ZSTD_inBuffer in = {f->in, f->in_len, f->in_pos};
        size_t rc = ZSTD_decompressStream(f->dc, &out, &in);
        ssize_t n;

        if (ZSTD_isError(rc)) {
            return -EBADMSG;
        }
        f->in_pos = in.pos;
        if (out.pos > 0 || cap == 0) {
            return (ssize_t)out.pos;
        }
        if (f->in_pos < f->in_len) {
            continue;
        }
        if (f->in_eof) {
            return 0; /* what is there was read; a frame cut short ends here */
        }
        if ((n = read(f->fd, f->in, IN_CAP)) < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        f->in_eof = n == 0;
        f->in_len = (size_t)n;
        f->in_pos = 0;
    }
}

ssize_t
ft_rfile_read(struct ft_rfile *f, void *buf, size_t cap)
{
    if (f->fd < 0) {
        size_t n = f->mem.len - f->mem_pos;
        if (n > cap) {
            n = cap;
        }
        if (n > 0) {
            memcpy(buf, f->mem.p + f->mem_pos, n);
            f->mem_pos += n;
        }
        return (ssize_t)n;
    }
    if (f->dc != NULL) {
        return read_zstd(f, buf, cap);
    }
    for (;;) {
        ssize_t n = read(f->fd, buf, cap);
        if (n >= 0 || errno != EINTR) {
            return n < 0 ? -errno : n;
        }
    }
}

void
ft_rfile_more(struct ft_rfile *f)
{
    f->in_eof = 0;
}

void
ft_rfile_close(struct ft_rfile *f)
{
    if (f == NULL) {
        return;
    }
    if (f->fd >= 0) {
        close(f->fd);
    }
    ZSTD_freeDCtx(f->dc); /* accepts NULL */
    free(f->in);
    ft_buf_free(&f->mem);
    free(f);
}

/* The whole (decompressed) content of dir/name appended to b. A missing file is empty. */
static int
slurp(const char *dir, const char *name, struct ft_buf *b)
{
    char path[4200];
    struct ft_rfile f = {.fd = -1};
    int err;

    if (ft_rfile_find(dir, name, path, sizeof(path)) != 0) {
        return 0;
    }
    if ((err = open_file(&f, path)) == 0) {
        ssize_t n;
        do {
            if (ft_buf_reserve(b, 1u << 16) != 0) {
                err = -ENOMEM;
                break;
            }
            n = ft_rfile_read(&f, b->p + b->len, b->cap - b->len);
            b->len += n > 0 ? (size_t)n : 0;
        } while (n > 0);
        err = err != 0 ? err : n < 0 ? (int)n : 0;
    }
    if (f.fd >= 0) {
        close(f.fd);
    }
    ZSTD_freeDCtx(f.dc);
    free(f.in);
    return err;
}

/* A thread's part as the writer had flushed it: whole nodes and nodes still open (their
 * head and what of their children is complete). Appends it cut back to its last point
 * between whole nodes, with every node still open closed and marked running. The part
 * holds, in order, each call's head ("children":[ open) and tail (from ] to its }); its
 * values are strings, objects and arrays nested in it. */
static void
put_closed(struct ft_buf *b, const char *p, size_t n)
{
    struct ft_buf stack, saved; /* '{' and '[' open now, and at the last cut */
    size_t cut = 0, cut_depth = 0, low = 0;
    int in_str = 0, esc = 0;

    ft_buf_init(&stack);
    ft_buf_init(&saved);
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (in_str) {
            in_str = esc || c != '"';
            esc = !esc && c == '\\';
            continue;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            ft_buf_putc(&stack, c);
        } else if ((c == '}' || c == ']') && stack.len > 0) {
            stack.len--;
            low = stack.len < low ? stack.len : low;
        }
        /* Between whole nodes: just inside a children list, or after a node's end. */
        if ((c == '[' || c == '}') && (stack.len == 0 || stack.p[stack.len - 1] == '[')) {
            if (ft_buf_reserve(&saved, stack.len + 1) != 0) {
                break;
            }
            memcpy(saved.p + low, stack.p + low, stack.len - low);
            cut = i + 1;
            cut_depth = stack.len;
            low = stack.len;
        }
    }
    ft_buf_put(b, p, cut);
    while (b->len > 0 && b->p[b->len - 1] == ',') {
        b->len--;
    }
    for (size_t d = cut_depth; d > 0; d--) {
        if (saved.p[d - 1] == '[') {
            ft_buf_putc(b, ']');
        } else {
            ft_buf_puts(b, ",\"incomplete\":\"running\"}");
        }
    }
    ft_buf_free(&stack);
    ft_buf_free(&saved);
}

/* Reads n decimal numbers, each followed by one space or the end, from *s (moved past
 * them). Returns 0, or -1 when s does not start so. */
static int
numbers(const char **s, unsigned long long *v, int n)
{
    for (int i = 0; i < n; i++) {
        char *end;
        errno = 0;
        v[i] = strtoull(*s, &end, 10);
        if (end == *s || errno != 0 || (*end != ' ' && *end != '\0')) {
            return -1;
        }
        *s = *end == ' ' ? end + 1 : end;
    }
    return 0;
}

/* The tree so far of a running run, from its .live and its thread parts. */
static int
live_tree(const char *dir, struct ft_buf *out)
{
    struct ft_buf live, part;
    char *line, *save = NULL;
    unsigned long long fig[3] = {0, 0, 0}; /* durationMicros, events, calls */
    int err, nth = 0;

    ft_buf_init(&live);
    ft_buf_init(&part);
    if ((err = slurp(dir, ".live", &live)) != 0 || live.len == 0) {
        ft_buf_free(&live);
        return err != 0 ? err : -ENOENT;
    }
    ft_buf_putc(&live, '\0');
    if ((line = strtok_r(live.p, "\n", &save)) == NULL) { /* the head, up to "start":N */
        ft_buf_free(&live);
        return -ENOENT;
    }
    ft_buf_printf(out, "%s", line);
    if ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        const char *at = line;
        numbers(&at, fig, 3);
    }
    ft_buf_printf(out,
                  ",\"durationMicros\":%llu.000,\"exitCode\":null,\"ended\":\"running\","
                  "\"tracer\":{\"events\":%llu,\"lost\":0,\"calls\":%llu},\"threads\":[",
                  fig[0], fig[1], fig[2]);
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        unsigned long long it[2]; /* index, tid */
        const char *at = line;
        char name[64];
        if (numbers(&at, it, 2) != 0 || *at != '"') {
            continue;
        }
        ft_buf_puts(out, nth++ ? ",{\"name\":" : "{\"name\":");
        ft_buf_puts(out, at); /* JSON already */
        ft_buf_printf(out, ",\"tid\":%llu,\"calls\":[", it[1]);
        snprintf(name, sizeof(name), ".thread-%llu.part", it[0]);
        part.len = 0;
        if (slurp(dir, name, &part) == 0 && part.len > 0) {
            put_closed(out, part.p, part.len);
        }
        ft_buf_puts(out, "]}");
    }
    ft_buf_puts(out, "]}\n");
    ft_buf_free(&live);
    ft_buf_free(&part);
    return out->oom ? -ENOMEM : 0;
}

int
ft_rfile_open_path(struct ft_rfile **out, const char *path)
{
    char dir[4200];
    const char *slash = strrchr(path, '/');

    if (slash == NULL) {
        return ft_rfile_open(out, ".", path);
    }
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    return ft_rfile_open(out, slash == path ? "/" : dir, slash + 1);
}

int
ft_rfile_open(struct ft_rfile **out, const char *dir, const char *name)
{
    struct ft_rfile *f = calloc(1, sizeof(*f));
    char path[4200];
    int err;

    *out = NULL;
    if (f == NULL) {
        return -ENOMEM;
    }
    f->fd = -1;
    if (ft_rfile_find(dir, name, path, sizeof(path)) == 0) {
        err = open_file(f, path);
    } else if (strcmp(name, "tree.json") == 0) {
        err = live_tree(dir, &f->mem);
        if (err == -ENOENT && ft_rfile_find(dir, name, path, sizeof(path)) == 0) {
            err = open_file(f, path); /* it ended meanwhile */
        }
    } else {
        err = -ENOENT;
    }
    if (err != 0) {
        ft_rfile_close(f);
        return err;
    }
    *out = f;
    return 0;
}
