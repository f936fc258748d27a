/* config.h - FLOWTRACE_* settings of the traced process, read once in the constructor.
 *
 * No other file calls getenv(). A setting that does not parse leaves the library
 * inert and is reported in one line on stderr (only in a CPython process).
 */
#ifndef FT_INJECT_CONFIG_H
#define FT_INJECT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* A comma-separated setting, split. */
#define FT_LIST_MAX 64
struct ft_list {
    int n;
    const char *item[FT_LIST_MAX];
    char buf[2048];
};

struct ft_config {
    int disabled;         /* FLOWTRACE_DISABLE=1 */
    int debug;            /* FLOWTRACE_DEBUG=1: say why the library is inert, etc. */
    char socket[108];     /* FLOWTRACE_SOCKET, else a private per-user path for dir */
    int socket_given;     /* FLOWTRACE_SOCKET was set (by flowtrace-run) */
    char sockdir[108];    /* the private directory of a derived socket */
    char dir[4096];       /* FLOWTRACE_DIR (absolute), default ./flowtrace-out */
    char writer[4096];    /* FLOWTRACE_WRITER: writer executable ("" = beside the .so) */
    uint64_t flush_ns;    /* FLOWTRACE_FLUSH_INTERVAL seconds; 0 = only when full/at exit */
    size_t buffer_size;   /* FLOWTRACE_BUFFER_KB, bytes per thread buffer */
    unsigned max_buffers; /* FLOWTRACE_BUFFERS, the pool's bound */
    uint64_t wait_ns;     /* FLOWTRACE_WAIT_TIMEOUT: longest back-pressure wait */
    uint64_t ack_ns;      /* FLOWTRACE_ACK_TIMEOUT: longest wait for the writer at exit */
    int drop;             /* FLOWTRACE_DROP=1: never wait, count lost events instead */
    int clock;            /* FLOWTRACE_CLOCK=tsc|monotonic, default: tsc if invariant */
    int all;              /* FLOWTRACE_ALL=1: trace the standard library too */
    int children;         /* FLOWTRACE_CHILDREN=0 traces only the first process */
    int engine;           /* FLOWTRACE_ENGINE=auto|profile|monitoring (enum ft_engine_kind) */
    int manual;           /* FLOWTRACE_START=manual: nothing recorded outside regions */

    /* What is captured (issue 3). */
    size_t max_arg_length;       /* FLOWTRACE_MAX_ARG_LENGTH, default 1000; 0 = no limit */
    int repr;                    /* FLOWTRACE_REPR=1: call repr() on other objects */
    int skip_inputs;             /* FLOWTRACE_SKIP_INPUTS=1 */
    int skip_outputs;            /* FLOWTRACE_SKIP_OUTPUTS=1 */
    int exceptions;              /* FLOWTRACE_EXCEPTIONS=0: no exception details on 3.8-3.11 */
    int c_calls;                 /* FLOWTRACE_C_CALLS=1: builtin calls too */
    int memory;                  /* FLOWTRACE_WITH_MEMORY=1 (and not FLOWTRACE_NO_MEMORY) */
    int tracemalloc;             /* with memory: tracemalloc too (not FLOWTRACE_NO_TRACEMALLOC) */
    int flush_every_call;        /* FLOWTRACE_FLUSH_EVERY_CALL=1: ship after every event */
    int log_flushes;             /* FLOWTRACE_LOG_FLUSHES=1: a line per shipment on stderr */
    struct ft_list include;      /* FLOWTRACE_INCLUDE, FLOWTRACE_PACKAGE_PREFIX: module prefixes */
    struct ft_list exclude;      /* FLOWTRACE_EXCLUDE: module/function patterns */
    struct ft_list include_path; /* FLOWTRACE_INCLUDE_PATH: path prefixes or suffixes */
    struct ft_list exclude_path; /* FLOWTRACE_EXCLUDE_PATH */
    struct ft_list redact; /* FLOWTRACE_REDACT: parameter-name fragments shown as <redacted> */

    /* Applied by the writer; sent in HELLO. */
    uint64_t max_depth;       /* FLOWTRACE_MAX_DEPTH, 0 = no limit */
    uint64_t min_duration_ns; /* FLOWTRACE_MIN_DURATION, microseconds */
    int mirror_stdout;        /* FLOWTRACE_STDOUT=1: JSONL lines also on this stdout */
    char logfile[4096];       /* FLOWTRACE_LOGFILE: JSONL lines also appended here */
    int keep;                 /* FLOWTRACE_KEEP=all|failed (enum ft_keep); default failed
                              * when CI is set, else all */

    /* Units of work (issue 7). */
    struct ft_list units; /* FLOWTRACE_UNIT: MODULE:FUNCTION names whose calls are units */
};

enum ft_engine_kind { FT_ENGINE_AUTO, FT_ENGINE_PROFILE, FT_ENGINE_MONITORING };

extern struct ft_config ft_cfg;

/* Reads the environment into ft_cfg. Returns 0, or -EINVAL with msg (cap bytes) naming
 * the offending variable. Runs before the interpreter exists: no Python calls. */
int ft_config_load(char *msg, size_t cap);

/* The same, with settings ("FLOWTRACE_NAME=value" lines, or NULL) taking the place of
 * the environment's for the names they give: how flowtrace_start (control.h) is
 * configured without changing the program's environment. */
int ft_config_load_with(const char *settings, char *msg, size_t cap);

#endif
