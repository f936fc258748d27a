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

/* An open call on a thread's stack. */
struct ft_rframe {
    uint64_t call_id;
    uint64_t code_id;
    uint64_t start_ticks;
    const struct ft_code *code;
    int has_children; /* a child node has been written (for commas in the tree) */
};

struct ft_rthread {
    uint32_t idx;
    uint64_t tid;
    char *name;
    char *frag; /* "thread":"<name>" */
    size_t frag_len;
    struct ft_rframe *stack;
    size_t depth, cap;
    int top_has_children;
    int tree_open;
    struct ft_sink tree; /* part file holding this thread's top-level nodes */
    char *tree_path;
    int ended;
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
    struct ft_sink jsonl;
    char *run_frag; /* ,"pid":P,"run":"ID" */
    size_t run_frag_len;
    /* How the process ended. */
    int how;
    int have_status;
    int status;
    int signal;
    int finalized;
    uint64_t cpu_us, blocked_us, lib_events, lib_lost;
    char *exc_type, *exc_msg, *exec_path, *end_reason;
    int write_err;
    /* Output failure and loss accounting (run_fail.c). */
    int fail_err;         /* the output stopped after this error (-ENOSPC, ...); 0 if not */
    uint64_t discarded;   /* records received but never applied (after fail_err) */
    uint64_t lib_sent;    /* END: records that left the process */
    int have_sent;
    int recovered;        /* rebuilt from a spool after the writer died: trust lib_sent */
};

/* Whether a record counts in r->records (and so in tracer.events and tracer.lost). Must
 * match what ft__run_events counts. */
static inline int
ft__rec_counted(unsigned kind)
{
    (void)kind;
    return 1;
}

/* run_fail.c */
int ft__run_discard(struct ft_run *r, const struct ft_frame *f);
void ft__run_accounting(const struct ft_run *r, uint64_t *events, uint64_t *lost);

/* calls.c */
int ft__run_events(struct ft_run *r, struct ft_rthread *t, const uint8_t *p, size_t n);
void ft__run_close_open_calls(struct ft_run *r, struct ft_rthread *t, const char *reason);
void ft__rthread_free(struct ft_rthread *t);
void ft__run_note_write_err(struct ft_run *r, int err);

#endif
