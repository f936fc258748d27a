/* recover.c - rebuilding runs left unfinished by a writer that died (see recover.h). */
#define _GNU_SOURCE
#include "recover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/rfile.h"
#include "lib/sink.h"
#include "lib/run.h"
#include "lib/wire.h"
#include "procs.h"
#include "replay.h"

static int
exists(const char *dir, const char *name)
{
    char path[4200];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return lstat(path, &st) == 0;
}

int
ft_recover_feed(struct ft_run *run, const char *path, int *saw_hello)
{
    struct ft_wire_decoder dec;
    struct ft_replay in;
    struct ft_frame f;
    int err = ft_replay_open(&in, path, FT_REPLAY_NOFOLLOW);

    if (err != 0) {
        return err == -ENOENT ? 0 : err;
    }
    ft_wire_decoder_init(&dec);
    while (err == 0 && ft_replay_read(&in, &dec) > 0) {
        while (err == 0) {
            int rc = ft_wire_next_frame(&dec, &f);
            if (rc != 1) {
                err = rc < 0 ? rc : 0;
                break;
            }
            if (f.hdr.type == FT_FRAME_HELLO) {
                *saw_hello = 1;
            }
            err = ft_run_frame(run, &f);
        }
    }
    if (err == 0 && ft_wire_decoder_pending(&dec) > 0) {
        err = FT_ETRUNCATED;
    }
    ft_wire_decoder_close(&dec);
    ft_replay_close(&in);
    return err;
}

/* Whether the process that wrote this journal still runs: its HELLO's pid and start time
 * name a live process. */
static int
still_running(const char *journal)
{
    struct ft_wire_decoder dec;
    struct ft_hello_id id;
    struct ft_replay in;
    struct ft_frame f;
    uint64_t ppid, st;
    int running = 0;

    if (ft_replay_open(&in, journal, FT_REPLAY_NOFOLLOW) != 0) {
        return 0;
    }
    ft_wire_decoder_init(&dec);
    if (ft_replay_read(&in, &dec) > 0 && ft_wire_next_frame(&dec, &f) == 1 &&
        f.hdr.type == FT_FRAME_HELLO) {
        ft_procs_hello(&f, &id);
        running = id.pid != 0 && ft_procs_stat(id.pid, &ppid, &st) == 0 &&
                  (id.starttime == 0 || st == id.starttime);
    }
    ft_wire_decoder_close(&dec);
    ft_replay_close(&in);
    return running;
}

static int
move_out(const char *from_dir, const char *to_dir, const char *name)
{
    char from[4400], to[4400];

    snprintf(from, sizeof(from), "%s/%s", from_dir, name);
    snprintf(to, sizeof(to), "%s/%s", to_dir, name);
    return rename(from, to) == 0 ? 0 : -errno;
}

/* Removes what the dead writer left beside the rebuilt files: its journal, the process's
 * END, partial tree parts, what it said to readers of the run going (.live). */
static void
clean_run_dir(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char p[4400];

    if (d == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, "raw.ftb") == 0 || strcmp(e->d_name, "raw.ftb.zst") == 0 ||
            strcmp(e->d_name, "end.ftb") == 0 || strcmp(e->d_name, ".tree.json.tmp") == 0 ||
            strcmp(e->d_name, ".live") == 0 || strcmp(e->d_name, ".live.tmp") == 0 ||
            (strncmp(e->d_name, ".thread-", 8) == 0 && strstr(e->d_name, ".part") != NULL)) {
            snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
            unlink(p);
        }
    }
    closedir(d);
}

/* The rebuilt run's kept sources (sources/<sha256>) into path's: a file the dead writer
 * already wrote has the same name because it has the same content. */
static void
move_sources(const char *built, const char *path)
{
    char from[4400], to[4400], f[4700], t[4700];
    struct dirent *e;
    DIR *d;

    snprintf(from, sizeof(from), "%s/sources", built);
    snprintf(to, sizeof(to), "%s/sources", path);
    if ((d = opendir(from)) == NULL) {
        return;
    }
    if (mkdir(to, 0700) != 0 && errno != EEXIST) {
        closedir(d);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(f, sizeof(f), "%s/%s", from, e->d_name);
        snprintf(t, sizeof(t), "%s/%s", to, e->d_name);
        if (access(t, F_OK) == 0 || rename(f, t) != 0) {
            unlink(f);
        }
    }
    closedir(d);
    rmdir(from);
}

/* Rebuilds one run into path/.recover/<id>, then moves its files into path. */
static void
rebuild(const char *path, const char *id, double rate, struct ft_recovered *out)
{
    char tmp[3500], built[3800], journal[3500], end[3500];
    struct ft_run_opts ro = {
        .dir = tmp, .run_id = id, .tsc_ns_per_tick = rate, .zlevel = FT_ZLEVEL_DEFAULT};
    struct ft_run *run;
    struct ft_run_info info;
    int hello = 0, err;
    const char *z;

    /* The dead writer's run was compressed if its events are: the rebuilt one is too. */
    snprintf(journal, sizeof(journal), "%s/events.jsonl.zst", path);
    ro.compress = access(journal, F_OK) == 0;
    z = ro.compress ? ".zst" : "";
    snprintf(tmp, sizeof(tmp), "%s/.recover", path);
    if (ft_rfile_find(path, "raw.ftb", journal, sizeof(journal)) != 0) {
        snprintf(journal, sizeof(journal), "%s/raw.ftb", path);
    }
    snprintf(end, sizeof(end), "%s/end.ftb", path);
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
        out->err = -errno;
        return;
    }
    if ((run = ft_run_new(&ro)) == NULL) {
        out->err = -ENOMEM;
        return;
    }
    ft_run_set_recovered(run, "rebuilt from the spool of a writer that stopped");
    out->stream_err = ft_recover_feed(run, journal, &hello);
    if (hello && !ft_run_ended(run)) {
        /* What the process sent after the journal's last whole frame is lost; its END
         * (if it could leave one) still says how it ended and how much it sent. */
        ft_recover_feed(run, end, &hello);
    }
    err = ft_run_finish(run, FT_END_DETACHED, "the writer stopped before the process ended");
    ft_run_get_info(run, &info);
    out->events = info.events;
    out->lost = info.lost;
    ft_run_free(run);
    snprintf(built, sizeof(built), "%s/%s", tmp, id);
    if (!hello) {
        err = FT_EFOREIGN;
    }
    if (err == 0) {
        char ev[32], tr[32];
        snprintf(ev, sizeof(ev), "events.jsonl%s", z);
        snprintf(tr, sizeof(tr), "tree.json%s", z);
        if ((err = move_out(built, path, ev)) == 0) {
            err = move_out(built, path, tr);
        }
    }
    out->err = err;
    if (err == 0) {
        clean_run_dir(path);
    }
    move_sources(built, path);
    clean_run_dir(built);
    rmdir(built);
    rmdir(tmp);
}

/* The whole of fd into b. Returns 0 or -errno. */
static int
read_all(int fd, struct ft_buf *b)
{
    for (;;) {
        if (ft_buf_reserve(b, 4096) != 0) {
            return -ENOMEM;
        }
        ssize_t n = read(fd, b->p + b->len, 4096);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? -errno : 0;
        }
        b->len += (size_t)n;
    }
}

/* The reason an empty run's tree gives: what readers show of it. */
#define NOTHING_REASON                                                                             \
    "nothing recorded: flowtrace-writer died after making this run and before writing "            \
    "any of it (rebuilt empty by --recover)"

/* Ends a run whose writer died before it wrote a record (FT_RUN_NOTHING): a valid, empty
 * run whose head is what the writer said of the process (.live's first line), ended as
 * detached (FT_END_DETACHED), with an empty events.jsonl. */
static void
end_empty(const char *path, struct ft_recovered *out)
{
    char live[4400], tmp[4400], tree[4400], ev[4400];
    struct ft_buf b;
    int fd;

    ft_buf_init(&b);
    snprintf(live, sizeof(live), "%s/.live", path);
    if ((fd = open(live, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        out->err = -errno;
        return;
    }
    out->err = read_all(fd, &b);
    close(fd);
    const char *nl = out->err == 0 ? memchr(b.p, '\n', b.len) : NULL;
    if (out->err == 0 && (b.len < 2 || b.p[0] != '{' || (nl != NULL && nl == b.p))) {
        out->err = FT_EFOREIGN; /* not a head the writer wrote */
    }
    if (out->err != 0) {
        ft_buf_free(&b);
        return;
    }
    b.len = nl != NULL ? (size_t)(nl - b.p) : b.len; /* the head, up to "start":N */
    ft_buf_puts(&b, ",\"durationMicros\":0.000,\"exitCode\":null,\"ended\":\"detached\","
                    "\"endReason\":\"" NOTHING_REASON "\","
                    "\"tracer\":{\"events\":0,\"lost\":0,\"calls\":0},"
                    "\"notices\":[\"" NOTHING_REASON "\"],\"threads\":[]}\n");
    snprintf(tmp, sizeof(tmp), "%s/.tree.json.tmp", path);
    snprintf(tree, sizeof(tree), "%s/tree.json", path);
    snprintf(ev, sizeof(ev), "%s/events.jsonl", path);
    fd = open(ev, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    out->err = fd < 0 ? -errno : 0;
    if (fd >= 0) {
        close(fd);
    }
    if (out->err == 0 && b.oom) {
        out->err = -ENOMEM;
    }
    if (out->err == 0 &&
        (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
        out->err = -errno;
    }
    if (out->err == 0) {
        out->err = ft_write_all(fd, b.p, b.len);
        if (close(fd) != 0 && out->err == 0) {
            out->err = -errno;
        }
        if (out->err == 0 && rename(tmp, tree) != 0) {
            out->err = -errno;
        }
    }
    if (out->err == 0) {
        clean_run_dir(path);
    } else {
        unlink(tmp);
    }
    ft_buf_free(&b);
}

int
ft_recover_dir(const char *dir, double tsc_ns_per_tick,
               void (*report)(const struct ft_recovered *r))
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[3400], journal[3500];
    int n = 0;

    if (d == NULL) {
        return -errno;
    }
    while ((e = readdir(d)) != NULL) {
        struct ft_recovered r;
        if (e->d_name[0] == '.') {
            continue;
        }
        if ((size_t)snprintf(path, sizeof(path), "%s/%.255s", dir, e->d_name) >= sizeof(path)) {
            continue;
        }
        memset(&r, 0, sizeof(r));
        r.path = path;
        if (ft_rfile_state(path) == FT_RUN_NOTHING) {
            end_empty(path, &r);
            n += r.err == 0;
            report(&r);
            continue;
        }
        if (ft_rfile_find(path, "raw.ftb", journal, sizeof(journal)) != 0 ||
            exists(path, "tree.json")) {
            continue;
        }
        if (still_running(journal)) {
            r.running = 1;
        } else {
            rebuild(path, e->d_name, tsc_ns_per_tick, &r);
            n += r.err == 0;
        }
        report(&r);
    }
    closedir(d);
    return n;
}
