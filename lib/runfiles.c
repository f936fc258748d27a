/* runfiles.c - a run's directory, its events.jsonl, the tree's parts and tree.json. */
#define _GNU_SOURCE
#include "runfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dirs.h"
#include "json.h"
#include "ownfile.h"

void
ft_runfiles_init(struct ft_runfiles *f)
{
    memset(f, 0, sizeof(*f));
    f->zext = "";
    f->jsonl.fd = -1;
    f->mirror_fd = -1;
    f->logfile_fd = -1;
    f->lock_fd = -1;
}

void
ft_runfiles_set_compress(struct ft_runfiles *f, int level)
{
    f->compress = 1;
    f->zlevel = level;
    f->zext = ".zst";
}

int
ft_runfiles_sink(const struct ft_runfiles *f, struct ft_sink *s, const char *path, int truncate,
                 int lazy)
{
    char zpath[4300];
    int err;

    snprintf(zpath, sizeof(zpath), "%s%s", path, f->zext);
    err = lazy ? ft_sink_open_lazy(s, zpath) : ft_sink_open(s, zpath, truncate);
    if (err == 0 && f->compress) {
        err = ft_sink_compress(s, f->zlevel);
    }
    return err;
}

void
ft_runfiles_note(struct ft_runfiles *f, int err)
{
    if (err != 0 && f->write_err == 0) {
        f->write_err = err;
    }
}

int
ft_runfiles_create(struct ft_runfiles *f, const char *dir, const char *run_id, uint64_t pid,
                   uint64_t real_ns)
{
    char path[4096];
    time_t sec = (time_t)(real_ns / 1000000000u);
    struct tm tm;
    int recreated = 0;

    if (run_id != NULL) {
        snprintf(f->id, sizeof(f->id), "%s", run_id);
    } else {
        char base[64];
        localtime_r(&sec, &tm);
        strftime(base, sizeof(base), "%Y%m%d-%H%M%S", &tm);
        snprintf(f->id, sizeof(f->id), "%s-%llu", base, (unsigned long long)pid);
    }
    /* Never reuse a directory: an exec keeps the pid, and runs may share a second. */
    for (int n = 1;; n++) {
        snprintf(path, sizeof(path), "%s/%s", dir, f->id);
        if (mkdir(path, 0700) == 0) {
            break;
        }
        if (errno == ENOENT && !recreated && ft_dirs_make(dir) == 0) {
            recreated = 1; /* the output directory was removed while the writer ran */
            n = 0;
            continue;
        }
        if (errno != EEXIST || n > 1000) {
            return -errno;
        }
        char *dot = n > 1 ? strrchr(f->id, '.') : NULL;
        if (dot != NULL) {
            *dot = '\0';
        }
        size_t l = strlen(f->id);
        snprintf(f->id + l, sizeof(f->id) - l, ".%d", n + 1);
    }
    /* Locked before any file is in it: a reader that finds the run finds it going. Readers
     * hold a shared lock only for a look (rfile.c), so waiting for it is waiting for that. */
    f->lock_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (f->lock_fd >= 0 && flock(f->lock_fd, LOCK_EX) != 0 && errno == EINTR) {
    }
    f->path = strdup(path);
    return f->path == NULL ? -ENOMEM : 0;
}

void
ft_runfiles_unlock(struct ft_runfiles *f)
{
    if (f->lock_fd >= 0) {
        close(f->lock_fd);
        f->lock_fd = -1;
    }
}

int
ft_runfiles_open_events(struct ft_runfiles *f, const uint64_t *settled)
{
    char path[4200];
    int err;

    snprintf(path, sizeof(path), "%s/events.jsonl", f->path);
    if ((err = ft_runfiles_sink(f, &f->jsonl, path, 0, 0)) != 0) {
        return err;
    }
    f->jsonl_open = 1;
    /* Held while the run is written: readers tell a run going from one whose writer is
     * gone (the kernel drops the lock with the writer). */
    flock(f->jsonl.fd, LOCK_EX | LOCK_NB);
    f->jsonl.mark_src = settled; /* records whose lines are in the file */
    f->jsonl.mirror[0] = f->mirror_fd;
    f->jsonl.mirror[1] = f->logfile_fd;
    return 0;
}

void
ft_runfiles_open_copies(struct ft_runfiles *f, uint64_t pid, int want_stdout, const char *logfile,
                        const char *cwd)
{
    char path[4200];

    if (want_stdout) {
        snprintf(path, sizeof(path), "/proc/%llu/fd/1", (unsigned long long)pid);
        f->mirror_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
    }
    if (logfile != NULL && logfile[0] != '\0') {
        if (logfile[0] == '/' || cwd == NULL) {
            snprintf(path, sizeof(path), "%s", logfile);
        } else {
            snprintf(path, sizeof(path), "%s/%s", cwd, logfile);
        }
        /* The process names the file: never through a link, never another user's. */
        f->logfile_fd = ft_ownfile_open(path, O_WRONLY | O_APPEND | O_CREAT, 0600, f->copy_error,
                                        sizeof(f->copy_error));
    }
    f->jsonl.mirror[0] = f->mirror_fd;
    f->jsonl.mirror[1] = f->logfile_fd;
}

struct ft_sink *
ft_runfiles_part(struct ft_runfiles *f, uint32_t idx)
{
    char path[4200];
    struct ft_part *p;
    int err;

    if (idx >= f->nparts) {
        size_t cap = f->nparts ? f->nparts : 16;
        while (cap <= idx) {
            cap *= 2;
        }
        struct ft_part **np = realloc(f->parts, cap * sizeof(struct ft_part *));
        if (np == NULL) {
            ft_runfiles_note(f, -ENOMEM);
            return NULL;
        }
        memset(np + f->nparts, 0, (cap - f->nparts) * sizeof(struct ft_part *));
        f->parts = np;
        f->nparts = cap;
    }
    if ((p = f->parts[idx]) == NULL) {
        if ((p = calloc(1, sizeof(*p))) == NULL) {
            ft_runfiles_note(f, -ENOMEM);
            return NULL;
        }
        p->sink.fd = -1;
        f->parts[idx] = p;
    }
    if (p->open) {
        return &p->sink;
    }
    if (p->path != NULL || f->path == NULL || f->stopped) {
        return NULL; /* tried once and failed, or closed, or the output stopped */
    }
    snprintf(path, sizeof(path), "%s/.thread-%u.part", f->path, idx);
    if ((p->path = strdup(path)) == NULL) {
        ft_runfiles_note(f, -ENOMEM);
        return NULL;
    }
    if ((err = ft_runfiles_sink(f, &p->sink, path, 1, 0)) != 0) {
        ft_runfiles_note(f, err);
        return NULL;
    }
    p->open = 1;
    return &p->sink;
}

void
ft_runfiles_stop(struct ft_runfiles *f, int err)
{
    ft_runfiles_note(f, err);
    f->stopped = 1;
    if (f->jsonl_open) {
        /* The lines of what came before the failure, if events.jsonl can still take
         * them (another file failed): its mark then counts them. */
        ft_sink_flush(&f->jsonl);
        ft_sink_stop(&f->jsonl, err);
    }
    for (size_t i = 0; i < f->nparts; i++) {
        if (f->parts[i] != NULL && f->parts[i]->open) {
            ft_sink_stop(&f->parts[i]->sink, err);
        }
    }
}

int
ft_runfiles_error(const struct ft_runfiles *f)
{
    if (f->write_err != 0) {
        return f->write_err;
    }
    if (f->jsonl_open && f->jsonl.err != 0) {
        return f->jsonl.err;
    }
    for (size_t i = 0; i < f->nparts; i++) {
        if (f->parts[i] != NULL && f->parts[i]->open && f->parts[i]->sink.err != 0) {
            return f->parts[i]->sink.err;
        }
    }
    return 0;
}

void
ft_runfiles_write_live(struct ft_runfiles *f, const char *head, size_t head_len,
                       uint64_t duration_us, uint64_t events, uint64_t calls,
                       const struct ft_tree_thread *threads, size_t n)
{
    char tmp[4200], final[4200];
    struct ft_sink s;

    if (f->path == NULL) {
        return;
    }
    snprintf(tmp, sizeof(tmp), "%s/.live.tmp", f->path);
    snprintf(final, sizeof(final), "%s/.live", f->path);
    if (ft_sink_open(&s, tmp, 1) != 0) {
        return;
    }
    ft_buf_put(&s.b, head, head_len);
    ft_buf_printf(&s.b, "\n%llu %llu %llu\n", (unsigned long long)duration_us,
                  (unsigned long long)events, (unsigned long long)calls);
    for (size_t i = 0; i < n; i++) {
        ft_buf_printf(&s.b, "%u %llu ", threads[i].idx, (unsigned long long)threads[i].tid);
        ft_json_put_cstr(&s.b, threads[i].name ? threads[i].name : "Thread");
        ft_buf_putc(&s.b, '\n');
    }
    if (ft_sink_close(&s) != 0 || rename(tmp, final) != 0) {
        unlink(tmp); /* best effort: a reader then sees the run as it was */
    }
}

void
ft_runfiles_flush_parts(struct ft_runfiles *f)
{
    for (size_t i = 0; i < f->nparts; i++) {
        if (f->parts[i] != NULL && f->parts[i]->open) {
            ft_sink_flush(&f->parts[i]->sink);
        }
    }
}

void
ft_runfiles_close_events(struct ft_runfiles *f)
{
    if (f->jsonl_open) {
        ft_runfiles_note(f, ft_sink_close(&f->jsonl));
        f->jsonl_open = 0;
    }
}

void
ft_runfiles_discard(struct ft_runfiles *f)
{
    static const char *const names[] = {".live", ".live.tmp", ".tree.json.tmp"};
    char path[4300];

    if (f->path == NULL) {
        return;
    }
    ft_runfiles_close_events(f);
    snprintf(path, sizeof(path), "%s/events.jsonl%s", f->path, f->zext);
    unlink(path);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", f->path, names[i]);
        unlink(path);
    }
    for (size_t i = 0; i < f->nparts; i++) {
        struct ft_part *p = f->parts[i];
        if (p != NULL && p->path != NULL) {
            if (p->open) {
                ft_sink_close(&p->sink);
                p->open = 0;
            }
            snprintf(path, sizeof(path), "%s%s", p->path, f->zext);
            unlink(path);
        }
    }
    f->discarded = 1;
    rmdir(f->path); /* only when nothing else is left in it */
}

/* Appends the part file's bytes to out, in the kernel when it can. */
static int
append_file(int out, const char *path)
{
    int in = open(path, O_RDONLY | O_CLOEXEC);
    char buf[65536];
    int err = 0;

    if (in < 0) {
        return -errno;
    }
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1u << 30, 0);
        if (n > 0) {
            continue;
        }
        if (n == 0) {
            break;
        }
        if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
            err = -errno;
            goto out;
        }
        /* Fall back to plain copying for what remains. */
        while ((n = read(in, buf, sizeof(buf))) > 0) {
            if ((err = ft_write_all(out, buf, (size_t)n)) != 0) {
                goto out;
            }
        }
        if (n < 0) {
            err = -errno;
        }
        break;
    }
out:
    close(in);
    return err;
}

/* Closes thread idx's part, copies it into s and removes it (the tree has it now: the
 * disk holds each call once more only while its part is copied). */
static int
append_part(struct ft_runfiles *f, struct ft_sink *s, uint32_t idx)
{
    struct ft_part *p = idx < f->nparts ? f->parts[idx] : NULL;
    int err;

    if (p == NULL || !p->open) {
        return 0;
    }
    ft_runfiles_note(f, ft_sink_close(&p->sink));
    p->open = 0;
    /* Compressed, the part is whole zstd frames, as the tree's writes are. */
    if ((err = ft_sink_flush(s)) == 0) {
        char zpath[4300];
        snprintf(zpath, sizeof(zpath), "%s%s", p->path, f->zext);
        err = append_file(s->fd, zpath);
        s->written = (uint64_t)lseek(s->fd, 0, SEEK_CUR);
        unlink(zpath);
    }
    return err;
}

/* "{"name":...,"tid":N,"calls":[": a thread's entry in tree.json up to its calls. */
static void
put_thread_head(struct ft_buf *b, const struct ft_tree_thread *t, int first)
{
    ft_buf_puts(b, first ? "{\"name\":" : ",{\"name\":");
    ft_json_put_cstr(b, t->name ? t->name : "Thread");
    ft_buf_puts(b, ",\"tid\":");
    ft_buf_put_u64(b, t->tid);
    ft_buf_puts(b, ",\"calls\":[");
}

#define THREADS_KEY "\"threads\":["

/* A zstd skippable frame (any of 16 magic numbers, then its size): readers skip it. */
#define ZSTD_SKIPPABLE_MAGIC 0x184D2A50u
#define ZSTD_SKIPPABLE_HEAD  8u

/* The head that goes in front of the first part's calls, plain: padded with spaces to
 * whole blocks (between the head's last two fields, before "threads": whitespace, as JSON
 * allows). Returns its length, 0 if out of memory. */
static size_t
plain_front(struct ft_buf *b, const char *head, size_t head_len, const struct ft_tree_thread *t0,
            size_t blk)
{
    const size_t key = sizeof(THREADS_KEY) - 1;
    size_t split, len, pad;

    split = head_len >= key && !memcmp(head + head_len - key, THREADS_KEY, key) ? head_len - key
                                                                                : head_len;
    put_thread_head(b, t0, 1);
    len = head_len + b->len;
    pad = (len + blk - 1) / blk * blk - len;
    b->len = 0;
    ft_buf_put(b, head, split);
    for (size_t i = 0; i < pad; i++) {
        ft_buf_putc(b, ' ');
    }
    ft_buf_put(b, head + split, head_len - split);
    put_thread_head(b, t0, 1);
    return b->oom || b->len != len + pad ? 0 : b->len;
}

/* The same, compressed: the head as a zstd frame of its own, then a skippable frame
 * that fills the last block. Returns its length, 0 if it cannot be made. */
static size_t
zstd_front(struct ft_buf *b, const char *head, size_t head_len, const struct ft_tree_thread *t0,
           size_t blk, int level)
{
    struct ft_buf text;
    size_t len, pad;
    int err;

    ft_buf_init(&text);
    ft_buf_put(&text, head, head_len);
    put_thread_head(&text, t0, 1);
    err = text.oom ? -ENOMEM : ft_sink_zframe(level, text.p, text.len, b);
    ft_buf_free(&text);
    if (err != 0) {
        return 0;
    }
    len = (b->len + ZSTD_SKIPPABLE_HEAD + blk - 1) / blk * blk;
    pad = len - b->len - ZSTD_SKIPPABLE_HEAD;
    for (int i = 0; i < 4; i++) { /* little-endian, as zstd's fields are */
        ft_buf_putc(b, (char)((ZSTD_SKIPPABLE_MAGIC >> (8 * i)) & 0xff));
    }
    for (int i = 0; i < 4; i++) {
        ft_buf_putc(b, (char)(((uint32_t)pad >> (8 * i)) & 0xff));
    }
    for (size_t i = 0; i < pad; i++) {
        ft_buf_putc(b, '\0');
    }
    return b->oom || b->len != len ? 0 : len;
}

/* tree.json made in the first thread's part itself, so that its calls (most of a run, or
 * all) are never on the disk twice: the head, made whole file-system blocks long (plain:
 * spaces; compressed: a skippable zstd frame after the head's own frame), is inserted in
 * front of them without moving a byte (FALLOC_FL_INSERT_RANGE: ext4, xfs); the rest is
 * appended. Returns the part's sink holding the tree so far, or NULL where that cannot be
 * done (no such part, a file system without it): the tree is then copied together. */
static struct ft_sink *
tree_in_place(struct ft_runfiles *f, const char *head, size_t head_len,
              const struct ft_tree_thread *t0)
{
    struct ft_part *p = t0->idx < f->nparts ? f->parts[t0->idx] : NULL;
    size_t len;
    struct ft_buf b;
    struct stat st;

    if (p == NULL || !p->open || p->sink.err != 0 || ft_sink_flush(&p->sink) != 0 ||
        fstat(p->sink.fd, &st) != 0 || st.st_size == 0 || st.st_blksize <= 0) {
        return NULL;
    }
    ft_buf_init(&b);
    len = f->compress ? zstd_front(&b, head, head_len, t0, (size_t)st.st_blksize, f->zlevel)
                      : plain_front(&b, head, head_len, t0, (size_t)st.st_blksize);
    if (len == 0 || fallocate(p->sink.fd, FALLOC_FL_INSERT_RANGE, 0, (off_t)len) != 0) {
        ft_buf_free(&b);
        return NULL;
    }
    /* From here the part is the tree: a failure removes it, as a tree cut short. */
    if (pwrite(p->sink.fd, b.p, len, 0) != (ssize_t)len ||
        lseek(p->sink.fd, 0, SEEK_END) != st.st_size + (off_t)len) {
        p->sink.err = errno != 0 ? -errno : -EIO;
    }
    p->sink.written = (uint64_t)(st.st_size + (off_t)len);
    ft_buf_free(&b);
    return &p->sink;
}

int
ft_runfiles_write_tree(struct ft_runfiles *f, const char *head, size_t head_len,
                       const struct ft_tree_thread *threads, size_t n, int with_calls,
                       const char *tail, size_t tail_len)
{
    char tmp[4200], final[4200];
    struct ft_sink own, *s = NULL;
    size_t i = 0;
    int err;

    snprintf(tmp, sizeof(tmp), "%s/.tree.json.tmp", f->path);
    snprintf(final, sizeof(final), "%s/tree.json%s", f->path, f->zext);
    /* After an output error a thread's part is cut short: no calls at all. */
    if (with_calls && n > 0 && (s = tree_in_place(f, head, head_len, &threads[0])) != NULL) {
        struct ft_part *p = f->parts[threads[0].idx];
        snprintf(tmp, sizeof(tmp), "%s%s", p->path, f->zext);
        p->open = 0; /* its sink is the tree's now */
        ft_buf_puts(&s->b, "]}");
        i = 1;
    } else {
        s = &own;
        if ((err = ft_sink_open(s, tmp, 1)) != 0) {
            return err;
        }
        if (f->compress && (err = ft_sink_compress(s, f->zlevel)) != 0) {
            ft_sink_close(s);
            unlink(tmp);
            return err;
        }
        ft_buf_put(&s->b, head, head_len);
    }
    for (; i < n; i++) {
        put_thread_head(&s->b, &threads[i], i == 0);
        if (with_calls && (err = append_part(f, s, threads[i].idx)) != 0) {
            ft_sink_close(s);
            unlink(tmp);
            return err;
        }
        ft_buf_puts(&s->b, "]}");
    }
    ft_buf_putc(&s->b, ']');
    ft_buf_put(&s->b, tail, tail_len);
    ft_buf_puts(&s->b, "}\n");
    if (s->b.oom) {
        ft_sink_close(s);
        unlink(tmp);
        return -ENOMEM;
    }
    if ((err = ft_sink_close(s)) != 0) {
        unlink(tmp); /* a tree cut short is no tree */
        return err;
    }
    if (rename(tmp, final) != 0) {
        return -errno;
    }
    snprintf(tmp, sizeof(tmp), "%s/.live", f->path);
    unlink(tmp); /* the run is complete: readers read tree.json */
    return 0;
}

void
ft_runfiles_free(struct ft_runfiles *f)
{
    ft_runfiles_unlock(f);
    if (f->jsonl_open) {
        ft_sink_close(&f->jsonl);
    }
    for (size_t i = 0; i < f->nparts; i++) {
        struct ft_part *p = f->parts[i];
        if (p == NULL) {
            continue;
        }
        if (p->open) {
            ft_sink_close(&p->sink);
        }
        if (p->path != NULL) {
            char zpath[4300];
            snprintf(zpath, sizeof(zpath), "%s%s", p->path, f->zext);
            unlink(zpath);
        }
        free(p->path);
        free(p);
    }
    free(f->parts);
    if (f->mirror_fd >= 0) {
        close(f->mirror_fd);
    }
    if (f->logfile_fd >= 0) {
        close(f->logfile_fd);
    }
    free(f->path);
    ft_runfiles_init(f);
}
