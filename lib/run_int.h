/* run_int.h - state shared by run.c (frames, metadata, files) and calls.c (call stacks,
 * JSONL lines and tree nodes). Not for use outside lib/. */
#ifndef FT_LIB_RUN_INT_H
#define FT_LIB_RUN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "codetab.h"
#include "run.h"
#include "sink.h"

#define FT_THREAD_IDX_MAX (1u << 20)

/* A call in the tree. Streamed nodes are written as they happen (their head when they
 * start, their tail when they end); held nodes (generators and coroutines, which outlive
 * the frame that started them, and the siblings that follow them) stay in memory until
 * everything under them has ended, then are written whole, in order. */
struct ft_tnode {
    uint64_t id;
    const struct ft_code *code;
    struct ft_tnode *parent;        /* NULL at a thread's top level */
    struct ft_rthread *owner;       /* the thread whose tree file holds this node */
    struct ft_tnode *qhead, *qtail; /* children not yet completely written, in order */
    struct ft_tnode *next;          /* link in the parent's queue */
    uint64_t start, end;            /* ticks */
    uint64_t active, resumed_at;    /* generators: ticks spent running; start of this run */
    uint64_t instance;              /* self of a method, or 0 */
    uint64_t ident;                 /* generators: frame identity (key in the gens map) */
    uint64_t resume_mark;           /* generators: the run's last call id at the last resume */
    uint32_t resumes;
    uint32_t frames; /* entries on thread stacks that point here (running) */
    uint32_t depth;
    uint32_t pending;  /* children not yet complete */
    uint32_t nwritten; /* children written into a streamed node (commas) */
    char *args, *result, *after, *exc, *mem_before, *mem_after; /* JSON texts, or NULL */
    const char *incomplete;
    uint8_t streamed; /* head written */
    uint8_t closed;   /* end known */
    uint8_t done;     /* closed and everything under it complete */
    uint8_t held;
    uint8_t gen;
    uint8_t entered;      /* ENTER line written */
    uint8_t tentative;    /* --min-duration: not yet known to be long enough */
    uint8_t unwound;      /* ended by an exception */
    uint8_t dropped;      /* generator: freed or finalized while suspended, no event told */
    uint8_t idle_end;     /* generator: its last resume made no call before it unwound */
    uint8_t queued;       /* in its parent's queue */
    uint8_t spawner;      /* referenced by the spawn or hand-off map */
    uint8_t unit_root;    /* the call a unit of work hangs from */
    uint8_t transparent;  /* written without a level of its own: its children take its place
                           * (framework code inside a unit, FT_DEF_BOUNDARY; an adoption) */
    struct ft_unit *unit; /* the unit this call belongs to (its own, or its caller's), or NULL */
    struct ft_adoption *adoption; /* set on the node standing for work another thread adopted */
    struct ft_tnode *part_owner;  /* the adoption whose part file holds this subtree, or NULL */
};

/* Work a call handed to another thread (HANDOFF), as that thread runs it (ADOPT ..
 * ADOPT_END): a transparent node under the handing call whose children, the calls the
 * thread made meanwhile, stream into a part file of their own (threads run side by side)
 * and are spliced into the handing call's children when all of them have ended. */
struct ft_adoption {
    struct ft_rthread *thread; /* the thread that ran it: its children say so ("thread") */
    struct ft_sink part;
    char *path; /* NULL when the part could not be opened: the subtree is held instead */
    int open;
};

/* A unit of work being written (units.c): the subtree of its root call goes to its own
 * DIR/<run>/units/<id>/ files instead of the run's. */
struct ft_unit {
    uint64_t id;
    int kind; /* enum ft_unit_kind */
    char *name, *method, *path, *remote, *agent, *request_id, *outcome;
    uint64_t counts0[5], counts1[5]; /* unittest result counts at the start and the end */
    int have_end;
    int status;            /* HTTP status, 0 while unknown */
    struct ft_tnode *root; /* until the unit is done */
    struct ft_rthread *thread;
    uint64_t start, end; /* ticks */
    uint64_t calls;
    int unwound;            /* an exception escaped the root call */
    const char *incomplete; /* the root call never returned: why */
    char *dir;              /* DIR/<run>/units/<id> */
    struct ft_sink tree, jsonl;
    int tree_open, jsonl_open;
    char *frag; /* ,"unit":N[,"request_id":"..."] for its JSONL lines */
    size_t frag_len;
    char *exc, *exc_path; /* the latest exception chain's deepest call */
    uint64_t chain_next;  /* call id that continues that chain if it unwinds too */
    char *traceparent, *tracestate, *route; /* W3C trace context and route of a request */
    struct ft_spans spans;                  /* calls kept for exporters (opts.span_limit) */
    struct ft_unit *prev, *next;            /* the run's open units */
};

/* A frame executing on a thread; node is NULL for frames below --max-depth. */
struct ft_rframe {
    struct ft_tnode *node;
    uint64_t code_id;
};

struct ft_rthread {
    uint32_t idx;
    uint64_t tid;
    char *name;
    char *frag; /* "thread":"<name>" */
    size_t frag_len;
    struct ft_rframe *stack;
    size_t depth, cap;
    size_t committed_below; /* --min-duration: frames below this index are committed */
    struct ft_tnode top;    /* the thread's top level: always streamed, never closed */
    int tree_open;
    struct ft_sink tree; /* part file holding this thread's top-level nodes */
    char *tree_path;
    /* Output waiting for the value records that follow an event. */
    struct ft_tnode *pend_enter, *pend_leave;
    struct ft_tnode **unwinds; /* ended by an exception, waiting for its EXC record */
    size_t nunwinds, capunwinds;
    int ended;
    struct ft_tnode *adopt; /* work handed over by another thread, being run here, or NULL */
    size_t adopt_depth;     /* stack depth at ADOPT: calls opened there go under adopt */
};

/* A map from a frame identity (generators, spawned coroutines) to a node. */
struct ft_idmap {
    uint64_t *keys;
    struct ft_tnode **vals;
    size_t cap, n;
};

enum ft_run_state { FT_RS_HELLO, FT_RS_RUNNING, FT_RS_DONE };

struct ft_run {
    struct ft_run_opts opts;
    int state;
    char id[96];
    char *path;
    uint64_t pid, ppid;
    char *python, *cwd, *exe, *engine, *parent_run;
    char *argv;
    size_t argv_len;
    int clock_kind;
    struct ft_clockconv clock;
    uint64_t start_ticks, last_ticks;
    struct ft_codetab codes;
    struct ft_rthread **threads;
    size_t threads_cap;
    uint64_t next_call_id;
    uint64_t calls, records;
    /* Records whose output is settled: their line is in the JSONL buffer (or they have
     * none). Lags `records` by the events waiting for their values; the sink samples it,
     * so that after an output failure the file's lines are exactly this many records. */
    uint64_t settled;
    struct ft_sink jsonl;
    char *run_frag; /* ,"pid":P,"run":"ID" */
    size_t run_frag_len;
    struct ft_idmap gens;     /* suspended generators and coroutines, by frame identity */
    struct ft_idmap spawns;   /* coroutines created but not started: their creator */
    struct ft_idmap handoffs; /* work handed to another thread, not yet adopted: the handing
                               * call, kept open (pending) until then */
    uint64_t next_part;       /* names adoption part files */
    uint64_t max_depth;       /* writer-side filters, from HELLO */
    uint64_t min_ticks;
    int mirror_fd;  /* JSONL lines copied here too (FLOWTRACE_STDOUT), or -1 */
    int logfile_fd; /* ... and here (FLOWTRACE_LOGFILE), or -1 */
    int want_stdout;
    char *logfile;
    /* How the process ended. */
    int how;
    int have_status;
    int status;
    int signal;
    int finalized;
    uint64_t cpu_us, blocked_us, lib_events, lib_lost;
    char *exc_type, *exc_module, *exc_msg, *exec_path, *end_reason;
    int write_err;
    /* Output failure and loss accounting (run_fail.c). */
    int fail_err;       /* the output stopped after this error (-ENOSPC, ...); 0 if not */
    uint64_t discarded; /* records received but never applied (after fail_err) */
    uint64_t lib_sent;  /* END: records that left the process */
    int have_sent;
    int recovered; /* rebuilt from a spool after the writer died: trust lib_sent */
    /* Units of work (units.c). */
    int keep; /* enum ft_keep, from HELLO; FT_KEEP_ALL without it */
    uint64_t next_unit_id;
    struct ft_unit *units;     /* open units */
    struct ft_sink units_file; /* units.jsonl, opened with the first finished unit */
    int units_open;
    struct ft_unit_row *rows; /* finished units, for the index */
    size_t nrows, caprows;
    uint64_t units_failed;
    struct ft_spans spans; /* calls outside units kept for exporters (opts.span_limit) */
    int spans_sorted;
};

/* Whether a record counts in r->records (and so in tracer.events and tracer.lost). Must
 * match what ft__run_events counts. */
static inline int
ft__rec_counted(unsigned kind)
{
    return ft_rec_is_event(kind);
}

/* run_fail.c */
int ft__run_discard(struct ft_run *r, const struct ft_frame *f);
void ft__run_accounting(const struct ft_run *r, uint64_t *events, uint64_t *lost);

/* units.c */
int ft__unit_begin(struct ft_run *r, struct ft_rthread *t, struct ft_tnode *n, const uint8_t *p,
                   size_t len);
int ft__unit_end_values(struct ft_unit *u, const uint8_t *p, size_t len);
int ft__unit_status(struct ft_unit *u, const uint8_t *p, size_t len);
void ft__unit_call_ended(struct ft_run *r, struct ft_tnode *n, int by_exception);
void ft__offer_span(struct ft_run *r, struct ft_spans *s, const struct ft_tnode *n);
void ft__unit_done(struct ft_run *r, struct ft_unit *u);
void ft__units_finish(struct ft_run *r);
void ft__units_free(struct ft_run *r);

/* calls.c */
int ft__run_events(struct ft_run *r, struct ft_rthread *t, const uint8_t *p, size_t n);
void ft__run_close_open_calls(struct ft_run *r, struct ft_rthread *t, const char *reason);
void ft__run_close_generators(struct ft_run *r, int finalized, const char *reason);
void ft__run_release_handoffs(struct ft_run *r);
void ft__rthread_init(struct ft_rthread *t);
void ft__rthread_free(struct ft_rthread *t);
void ft__run_note_write_err(struct ft_run *r, int err);
void ft__idmap_free(struct ft_idmap *m);

#endif
