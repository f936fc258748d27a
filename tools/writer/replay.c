/* replay.c - a run's journal read back, plain or zstd (replay.h). */
#define _GNU_SOURCE
#include "replay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/rfile.h"

static int
is_zstd(const char *path)
{
    size_t n = strlen(path);

    return n > 4 && strcmp(path + n - 4, ".zst") == 0;
}

int
ft_replay_open(struct ft_replay *s, const char *path, int flags)
{
    struct stat st;

    s->fd = -1;
    s->in = NULL;
    if (!is_zstd(path)) {
        s->fd = open(path, O_RDONLY | O_CLOEXEC | (flags & FT_REPLAY_NOFOLLOW ? O_NOFOLLOW : 0));
        return s->fd >= 0 ? 0 : -errno;
    }
    if ((flags & FT_REPLAY_NOFOLLOW) && lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        return -ELOOP;
    }
    return ft_rfile_open_path(&s->in, path);
}

ssize_t
ft_replay_read(struct ft_replay *s, struct ft_wire_decoder *dec)
{
    static uint8_t buf[65536];
    ssize_t n;
    int err;

    if (s->in == NULL) {
        return ft_wire_decoder_read(dec, s->fd);
    }
    n = ft_rfile_read(s->in, buf, sizeof(buf));
    if (n > 0 && (err = ft_wire_decoder_feed(dec, buf, (size_t)n)) != 0) {
        return err;
    }
    return n;
}

void
ft_replay_close(struct ft_replay *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    if (s->in != NULL) {
        ft_rfile_close(s->in);
        s->in = NULL;
    }
}
