/* replay.h - a run's journal read back as the stream it was: raw.ftb (journal.h) straight
 * into the wire decoder, a compressed run's raw.ftb.zst (zstd frames) through lib/rfile.
 * What --recover and --convert read. A path whose name ends ".zst" is zstd; a zstd file
 * cut short (a writer that died mid-write) reads up to its last whole block.
 */
#ifndef FT_WRITER_REPLAY_H
#define FT_WRITER_REPLAY_H

#include <sys/types.h>

#include "lib/wire.h"

struct ft_rfile;

struct ft_replay {
    int fd;              /* a plain journal, or -1 */
    struct ft_rfile *in; /* a zstd one, or NULL */
};

enum { FT_REPLAY_NOFOLLOW = 1 }; /* flags: a link is not followed (-ELOOP) */

/* Opens the journal at path for reading. Returns 0, or -errno (-ENOENT: no such file). */
int ft_replay_open(struct ft_replay *s, const char *path, int flags);

/* Feeds the next bytes of the journal to dec. Returns > 0, 0 at its end, or -errno (a
 * corrupt zstd frame: -EBADMSG) or a decoder error. */
ssize_t ft_replay_read(struct ft_replay *s, struct ft_wire_decoder *dec);

void ft_replay_close(struct ft_replay *s);

#endif
