/* ownfile.h - files opened where others may have been first: never through a symbolic
 * link, and only if the user owns them.
 *
 * An output directory can be shared, or prepared by someone else: a link planted under a
 * name FlowTrace writes (index.sqlite, a --logfile) would make the writer create or
 * truncate a file elsewhere, and a file planted by another user would let its owner read
 * what is written into it. A file the user owns, reached by its own name, is used.
 */
#ifndef FT_LIB_OWNFILE_H
#define FT_LIB_OWNFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Whether path may be used: absent, or a regular file (not a link) owned by this user.
 * Returns 0, or -EPERM with why (cap bytes): "PATH is a symbolic link; not followed",
 * "PATH belongs to another user (uid N); not used", "PATH is not a regular file; not
 * used". */
int ft_ownfile_check(const char *path, char *why, size_t cap);

/* open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode), then the same checks on what was
 * opened. Returns the descriptor, or a negative errno with why (cap bytes). */
int ft_ownfile_open(const char *path, int flags, mode_t mode, char *why, size_t cap);

#endif
