/* config.h - FLOWTRACE_* settings of the traced process, read once in the constructor.
 *
 * No other file calls getenv(). A setting that does not parse leaves the library
 * inert and is reported in one line on stderr (only in a CPython process).
 */
#ifndef FT_INJECT_CONFIG_H
#define FT_INJECT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct ft_config {
    int disabled;            /* FLOWTRACE_DISABLE=1 */
    int debug;               /* FLOWTRACE_DEBUG=1: say why the library is inert, etc. */
    char socket[108];        /* FLOWTRACE_SOCKET, else a private per-user path for dir */
    int socket_given;        /* FLOWTRACE_SOCKET was set (by flowtrace-run) */
    char sockdir[108];       /* the private directory of a derived socket */
    char dir[4096];          /* FLOWTRACE_DIR (absolute), default ./flowtrace-out */
    char writer[4096];       /* FLOWTRACE_WRITER: writer executable ("" = beside the .so) */
    uint64_t flush_ns;       /* FLOWTRACE_FLUSH_INTERVAL seconds; 0 = only when full/at exit */
    size_t buffer_size;      /* FLOWTRACE_BUFFER_KB, bytes per thread buffer */
    unsigned max_buffers;    /* FLOWTRACE_BUFFERS, the pool's bound */
    uint64_t wait_ns;        /* FLOWTRACE_WAIT_TIMEOUT: longest back-pressure wait */
    uint64_t ack_ns;         /* FLOWTRACE_ACK_TIMEOUT: longest wait for the writer at exit */
    int drop;                /* FLOWTRACE_DROP=1: never wait, count lost events instead */
    int clock;               /* FLOWTRACE_CLOCK=tsc|monotonic, default: tsc if invariant */
    int all;                 /* FLOWTRACE_ALL=1: trace the standard library too */
    int children;            /* FLOWTRACE_CHILDREN=0 traces only the first process */
};

extern struct ft_config ft_cfg;

/* Reads the environment into ft_cfg. Returns 0, or -EINVAL with msg (cap bytes) naming
 * the offending variable. Runs before the interpreter exists: no Python calls. */
int ft_config_load(char *msg, size_t cap);

#endif
