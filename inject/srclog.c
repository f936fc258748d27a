/* srclog.c - the sources log (see srclog.h). */
#define _GNU_SOURCE
#include "srclog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/wire.h"

static struct {
    pthread_mutex_t lock;
    char **paths; /* in the order noted */
    size_t n, cap, sent;
    size_t bytes; /* content sent on this connection */
    int pending;  /* n > sent (read without the lock first) */
} src = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0, 0, 0};

static int
known(const char *path)
{
    /* Noted once per traced code object's file: a few hundred files at most, and the
     * common case is the file noted last. */
    for (size_t i = src.n; i-- > 0;) {
        if (strcmp(src.paths[i], path) == 0) {
            return 1;
        }
    }
    return 0;
}

void
ft_srclog_note(const char *path)
{
    char *copy;

    if (path[0] != '/') {
        return; /* generated or relative: nothing to read reliably */
    }
    pthread_mutex_lock(&src.lock);
    if (src.n < FT_SRCLOG_FILES_MAX && !known(path)) {
        if (src.n == src.cap) {
            size_t cap = src.cap ? src.cap * 2 : 64;
            char **np = realloc(src.paths, cap * sizeof(*np));
            if (np != NULL) {
                src.paths = np;
                src.cap = cap;
            }
        }
        if (src.n < src.cap && (copy = strdup(path)) != NULL) {
            src.paths[src.n++] = copy;
            __atomic_store_n(&src.pending, 1, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&src.lock);
}

/* The payload of path's SOURCE frame (malloc'ed) in *out, or NULL when it is not kept. */
static size_t
read_source(const char *path, uint8_t **out)
{
    size_t plen = strlen(path), cap, pos = 0, len = 0;
    struct stat st;
    uint8_t *p = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    *out = NULL;
    if (fd < 0) {
        return 0;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > FT_SRCLOG_FILE_MAX ||
        src.bytes + (size_t)st.st_size > FT_SRCLOG_TOTAL_MAX) {
        close(fd);
        return 0;
    }
    cap = 2 * sizeof(struct ft_tlv_hdr) + plen + (size_t)st.st_size;
    p = malloc(cap + 1);
    if (p != NULL && ft_put_tlv_str(p, cap, &pos, FT_TAG_PATH, path, plen) == 0) {
        uint8_t *text = p + pos + sizeof(struct ft_tlv_hdr);
        struct ft_tlv_hdr h = {FT_TAG_CONTENT, 0};
        /* A file that grows meanwhile is cut at the size it had. */
        while (len < (size_t)st.st_size) {
            ssize_t r = read(fd, text + len, (size_t)st.st_size - len);
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r <= 0) {
                break;
            }
            len += (size_t)r;
        }
        h.len = (uint32_t)len;
        memcpy(p + pos, &h, sizeof(h));
        pos += sizeof(h) + len;
    }
    close(fd);
    if (p == NULL || pos == 0) {
        free(p);
        return 0;
    }
    src.bytes += len;
    *out = p;
    return pos;
}

int
ft_srclog_send(int (*send)(const uint8_t *p, size_t n, void *arg), void *arg)
{
    int err = 0;

    if (!__atomic_load_n(&src.pending, __ATOMIC_ACQUIRE)) {
        return 0;
    }
    pthread_mutex_lock(&src.lock);
    while (src.sent < src.n) {
        uint8_t *p;
        size_t n = read_source(src.paths[src.sent], &p);
        if (n > 0 && (err = send(p, n, arg)) != 0) {
            free(p);
            break;
        }
        free(p);
        src.sent++;
    }
    __atomic_store_n(&src.pending, src.sent < src.n, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&src.lock);
    return err;
}

void
ft_srclog_atfork_child(void)
{
    pthread_mutex_init(&src.lock, NULL);
    src.sent = 0;
    src.bytes = 0;
    src.pending = src.n > 0;
}

void
ft_srclog_resend(void)
{
    pthread_mutex_lock(&src.lock);
    src.sent = 0;
    src.bytes = 0;
    __atomic_store_n(&src.pending, src.n > 0, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&src.lock);
}

void
ft_srclog_reset(void)
{
    pthread_mutex_lock(&src.lock);
    for (size_t i = 0; i < src.n; i++) {
        free(src.paths[i]);
    }
    free(src.paths);
    src.paths = NULL;
    src.n = src.cap = src.sent = src.bytes = 0;
    src.pending = 0;
    pthread_mutex_unlock(&src.lock);
}
