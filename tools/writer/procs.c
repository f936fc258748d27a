/* procs.c - traced processes and their descendants (see procs.h). */
#include "procs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRACED_MAX 4096
#define DEPTH_MAX  64

static struct {
    uint64_t pid, starttime;
    char id[96];
} traced[TRACED_MAX];
static unsigned ntraced;

void
ft_procs_hello(const struct ft_frame *f, struct ft_hello_id *out)
{
    size_t pos = 0;
    uint32_t tag, len;
    const uint8_t *val;
    uint64_t v;

    memset(out, 0, sizeof(*out));
    out->only_first = 0;
    while (ft_tlv_next(f->payload, f->hdr.len, &pos, &tag, &val, &len) == 1) {
        if (ft_tlv_u64(val, len, &v) != 0) {
            continue;
        }
        switch (tag) {
        case FT_TAG_PID:
            out->pid = v;
            break;
        case FT_TAG_PPID:
            out->ppid = v;
            break;
        case FT_TAG_STARTTIME:
            out->starttime = v;
            break;
        case FT_TAG_CHILDREN:
            out->only_first = v == 0;
            break;
        default:
            break;
        }
    }
}

void
ft_procs_add(uint64_t pid, uint64_t starttime, const char *run_id)
{
    unsigned k = ntraced % TRACED_MAX;

    traced[k].pid = pid;
    traced[k].starttime = starttime;
    snprintf(traced[k].id, sizeof(traced[k].id), "%s", run_id ? run_id : "");
    ntraced++;
}

/* The newest run of (pid, starttime): after exec chains, the last image's. */
static const char *
find_traced(uint64_t pid, uint64_t starttime)
{
    for (unsigned i = 0; i < TRACED_MAX && i < ntraced; i++) {
        unsigned k = (ntraced - 1 - i) % TRACED_MAX;
        if (traced[k].pid == pid && traced[k].starttime == starttime) {
            return traced[k].id;
        }
    }
    return NULL;
}

int
ft_procs_stat(uint64_t pid, uint64_t *ppid, uint64_t *starttime)
{
    char path[64], buf[1024], *p;
    int fd, field = 3;
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%llu/stat", (unsigned long long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return -EIO;
    }
    buf[n] = '\0';
    /* "pid (comm) state ppid ...": comm may hold spaces and parentheses. */
    p = strrchr(buf, ')');
    if (p == NULL || p[1] != ' ') {
        return -EIO;
    }
    p += 2;
    while (*p != '\0' && *p != ' ') {
        p++; /* state */
    }
    *ppid = strtoull(p, &p, 10);
    for (field = 4; *p != '\0' && field < 22; p++) {
        if (*p == ' ') {
            field++;
        }
    }
    *starttime = strtoull(p, NULL, 10);
    return 0;
}

const char *
ft_procs_traced_ancestor(uint64_t pid, uint64_t starttime, uint64_t *traced_pid)
{
    uint64_t ppid = 0, st = 0;

    for (int depth = 0; pid > 1 && depth < DEPTH_MAX; depth++) {
        if (ft_procs_stat(pid, &ppid, &st) != 0) {
            return NULL; /* gone: the chain is broken here */
        }
        if (depth == 0 && starttime != 0 && st != starttime) {
            return NULL; /* not the process that said hello */
        }
        const char *id = find_traced(pid, st);
        if (id != NULL) {
            *traced_pid = pid;
            return id;
        }
        pid = ppid;
    }
    return NULL;
}
