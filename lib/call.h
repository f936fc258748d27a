/* call.h - the call tree's data: a call (node), a thread's stack, an output destination.
 *
 * Data only: the call tree (calls.c) builds and frees these; the text writer (emit.c)
 * and the units observer (units.c) read them. A node's destination says where its
 * lines and its subtree go: NULL for the run's own files (events.jsonl and the owner
 * thread's part of tree.json), else a destination someone else owns (a unit of work's
 * files), inherited by every call under it.
 *
 * A transparent node has no level of its own in the output: its children are written in
 * its place (framework code that only delimits a request, FT_DEF_BOUNDARY, inside a
 * destination; and the work another thread adopted from a call of a destination, which
 * streams into a part file of its own: struct ft_adoption).
 */
#ifndef FT_LIB_CALL_H
#define FT_LIB_CALL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codetab.h"
#include "sink.h"

/* A JSON text a call carries (its arguments, result, ...): NUL-terminated, in the call's
 * own inline space when it fits (most do: "{\"n\":\"22\"}"), else on the heap. p is NULL
 * when absent. Set and dropped with ft_values_set/ft_values_clear (values.h). */
struct ft_text {
    char *p;
    uint32_t len;
    uint8_t heap;
};

#define FT_CALL_INLINE 72 /* bytes of text a call holds without an allocation */
#define FT_CALL_INTS   4  /* int arguments a call holds as numbers (ARGS_INTS) */

/* Where the text of a subtree goes instead of the run's files. */
struct ft_dest {
    struct ft_sink *jsonl; /* its JSONL lines */
    struct ft_sink *tree;  /* its root node and everything under it, or NULL: not written */
    const char *frag;      /* fields added to each of its lines: ,"unit":N... */
    size_t frag_len;
    uint64_t calls; /* calls opened under it, its root included */
    uint64_t id;    /* never the same for two in a run (the unit's id): a cache keyed on a
                     * destination must not take a later one at the same address */
};

/* A call in the tree. Streamed nodes are written as they happen (their head when they
 * start, their tail when they end); held nodes (generators and coroutines, which outlive
 * the frame that started them, and the siblings that follow them) stay in memory until
 * everything under them has ended, then are written whole, in order. */
struct ft_call {
    /* Set by open_node for every node: a reused node's old values are not cleared. */
    uint64_t id;
    const struct ft_code *code;
    struct ft_call *parent;     /* NULL at a thread's top level */
    struct ft_cthread *owner;   /* the thread whose part of the tree holds this node */
    uint64_t start;             /* ticks */
    uint64_t start_real;        /* start as nanoseconds since the epoch */
    uint64_t resumed_at;        /* generators: start of this run (ticks) */
    struct ft_dest *dest;       /* where it is written, NULL: the run's files */
    struct ft_call *part_owner; /* the adoption whose part file holds this subtree, or NULL */
    uint32_t depth;
    uint8_t id_len; /* id in decimal, written once: lines and nodes copy it */
    char id_text[24];
    /* Read only once set: ints while nints > 0, result_int while has_result_int, the
     * duration once the end is known (finish_node). Not cleared either. Ints sent as 8
     * bytes are kept as numbers and written straight into each line and node (cheaper than
     * text made once and copied): args when nints > 0 (ARGS_INTS of up to FT_CALL_INTS
     * parameters), the result when has_result_int. */
    int64_t ints[FT_CALL_INTS];
    int64_t result_int;
    uint64_t dur_ns; /* end - start */
    uint8_t dur_len; /* dur_ns in decimal */
    char dur_text[24];
    /* Everything from here to args is zero in a new node (node_new). */
    struct ft_call *qhead, *qtail; /* children not yet completely written, in order */
    struct ft_call *next;          /* link in the parent's queue */
    uint64_t end;                  /* ticks */
    uint64_t active;               /* generators: ticks spent running */
    uint64_t instance;             /* self of a method, or 0 */
    uint64_t ident;                /* generators: key in the gens map (frame identity, thread) */
    uint64_t resume_mark;          /* generators: the run's last call id at the last resume */
    uint32_t resumes;
    uint32_t frames;   /* entries on thread stacks that point here (running) */
    uint32_t pending;  /* children not yet complete */
    uint32_t nwritten; /* children written into a streamed node (commas) */
    uint32_t left_at;  /* the line an exception left it at, or 0 */
    uint8_t nints;
    uint8_t has_result_int;
    const char *incomplete;
    uint8_t streamed; /* head written */
    uint8_t closed;   /* end known */
    uint8_t done;     /* closed and everything under it complete */
    uint8_t held;
    uint8_t gen;
    uint8_t entered;     /* ENTER line written */
    uint8_t tentative;   /* --min-duration: not yet known to be long enough */
    uint8_t unwound;     /* ended by an exception */
    uint8_t dropped;     /* generator: freed or finalized while suspended, no event told */
    uint8_t idle_end;    /* generator: its last resume made no call before it unwound */
    uint8_t queued;      /* in its parent's queue */
    uint8_t spawner;     /* referenced by the spawn map */
    uint8_t dest_root;   /* the first call of its destination (a unit's call) */
    uint8_t transparent; /* no level of its own: its children take its place */
    uint8_t task;        /* a coroutine another call spawned (an asyncio task): placed
                                   * under its creator, run on its own */
    uint8_t heap_texts;  /* a text of it was put on the heap (ft_values_set) */
    uint8_t plain;       /* opened plain (calls.c open_plain): no destination, adoption's part or
                    * level of its own to skip, streamed into its thread's part */
    struct ft_adoption *adoption; /* set on the node standing for work a thread adopted */
    /* From here to inl: zero in a new node too, but cleared only when a text was set
     * (inl_used or heap_texts): most calls have none (ints, absent values). */
    struct ft_text args, result, after, exc, mem_before, mem_after; /* JSON texts */
    struct ft_text exc_site; /* ,"cause":[..],"raise":{..} of its exception */
    struct ft_text locals;   /* JSON object: its locals as an exception left it */
    uint16_t inl_used;       /* bytes of inl taken by texts */
    char inl[FT_CALL_INLINE];
    char inl_pad[FT_TEXT_PAD]; /* texts in inl are read this far past their end */
};

/* Work a call of a destination handed to another thread (HANDOFF), as that thread runs it
 * (ADOPT .. ADOPT_END): a transparent node among the handing call's children, placed when
 * the work was handed off; the calls the thread made meanwhile are its children, which
 * stream into a part file of their own (they run beside the handing thread's calls), or
 * are held in memory when it cannot be opened, and take its place once all have ended. */
struct ft_adoption {
    struct ft_cthread *thread; /* the thread that ran it (its children name it), NULL: none yet */
    struct ft_sink part;
    char *path;
    int open;
};

/* A frame executing on a thread; node is NULL for frames below --max-depth. */
struct ft_rframe {
    struct ft_call *node;
    uint64_t code_id;
};

struct ft_cthread {
    uint32_t idx;
    uint64_t tid;
    char *name;
    char *frag; /* "thread":"<name>" */
    size_t frag_len;
    /* Its index, and how many times it was named, in one number: texts made with its name
     * are kept under this key (emit.c), so that a new name (a thread renamed) is used by
     * the next line. Never 0. */
    uint64_t name_key;
    struct ft_rframe *stack;
    size_t depth, cap;
    size_t committed_below; /* --min-duration: frames below this index are committed */
    struct ft_call top;     /* the thread's top level: always streamed, never closed */
    /* Output waiting for the value records that follow an event. */
    struct ft_call *pend_enter, *pend_leave;
    struct ft_call **unwinds; /* ended by an exception, waiting for its EXC record */
    size_t nunwinds, capunwinds;
    uint32_t quiet;       /* writer ticks since its last EVENTS frame (ft_calls_tick) */
    struct ft_sink *part; /* its part of the run's tree (runfiles.h), once opened */
    int part_failed;      /* ... or it could not be */
    int ended;
    int holed;             /* a hole in its stream (GAP) closed the calls it had open */
    int unfollowed;        /* the process said it records no more of it (NOTE) */
    struct ft_call *adopt; /* work handed over by another thread, being run here, or NULL */
    size_t adopt_depth;    /* stack depth at ADOPT: calls opened there go under adopt */
};

/* The caller as the output shows it: the nearest ancestor with a level of its own. */
static inline const struct ft_call *
ft_call_visible_parent(const struct ft_call *n)
{
    const struct ft_call *p = n->parent;

    while (p != NULL && p->transparent) {
        p = p->parent;
    }
    return p;
}

/* A generator or coroutine ended by close() (GeneratorExit thrown in at its yield, as
 * when a partly consumed generator is dropped) ended normally, not by an error. From 3.12
 * CPython closes one with no handler at its yield without running it, so no event says
 * so: it is known closed when its frame is reused, or when the interpreter finished. */
static inline int
ft_call_closed_by_caller(const struct ft_call *n)
{
    static const char genexit[] = "{\"type\":\"GeneratorExit\",\"module\":\"builtins\",";

    return n->gen && (n->dropped || (n->unwound && n->exc.p != NULL &&
                                     strncmp(n->exc.p, genexit, sizeof(genexit) - 1) == 0));
}

#endif
