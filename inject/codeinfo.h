/* codeinfo.h - what FlowTrace knows about one code object, decided at its first sight.
 *
 * Data only: codes.c fills it in (and keeps it in the code object's extra slot), units.c,
 * record.c and the engines read it. Parameter positions are in the code's locals order
 * (positional, keyword-only, *args, **kwargs); definitions and records list parameters
 * in signature order (positional, *args, keyword-only, **kwargs).
 */
#ifndef FT_INJECT_CODEINFO_H
#define FT_INJECT_CODEINFO_H

#include <stdint.h>

#define FT_NO_PARAM    0xffffu
#define FT_FAST_PARAMS 8 /* parameters a call may have and take the fast path (record_fast.h) */

/* Out-of-scope code whose calls tell something (ft_code_info.probe). */
enum ft_probe {
    FT_PROBE_NONE,
    FT_PROBE_SPAWN,       /* asyncio's BaseEventLoop.create_task(coro): a task is made */
    FT_PROBE_STATUS_WSGI, /* a WSGI start_response(status, ...) */
    FT_PROBE_STATUS_ASGI, /* an ASGI server's send(message) */
    /* Work handed to another thread and taken up there (handoff.h), from here on. */
    FT_PROBE_HANDOFF_SELF, /* its self is work for another thread: HANDOFF */
    FT_PROBE_ADOPT_SELF,   /* runs the work its self is: ADOPT; ADOPT_END at its return */
    FT_PROBE_HANDOFF_ITEM, /* Queue.put_nowait by anyio's submitter: HANDOFF of the item */
    FT_PROBE_ADOPT_ITEM,   /* Queue.get in anyio's worker: ADOPT of the item it returns;
                            * ADOPT_END when the worker calls it again */
    FT_PROBE_ANYIO_SUBMIT, /* marks the callers the two above look for: not probes */
    FT_PROBE_ANYIO_WORKER,
    FT_PROBE_THREAD_RUN,  /* threading.Thread.run: an engine that meets threads at their first
                          * traced event meets this one at its start */
    FT_PROBE_THREAD_NAME, /* threading.Thread.name's setter: at its return the calling thread
                           * may have a new name (THREAD again) */
};

struct ft_code_info {
    uint64_t id;      /* code id on the wire; 0 when not traced */
    uint32_t flags;   /* FT_DEF_* */
    uint8_t traced;   /* in scope (or a unit's call) */
    uint8_t is_gen;   /* generator, coroutine or async generator */
    uint8_t probe;    /* enum ft_probe */
    uint8_t unit;     /* enum ft_unit_kind: each call is a unit of work (units.h), or 0 */
    uint16_t first;   /* index of the first captured local (1 after self/cls) */
    uint8_t has_self; /* the first local is self: its identity is the call's instance */
    uint16_t nparams; /* parameters captured (self/cls excluded) */
    uint16_t npos;    /* positional ones among them */
    uint16_t varargs; /* position of *args among them, or FT_NO_PARAM */
    uint16_t varkw;   /* position of **kwargs among them, or FT_NO_PARAM */
    uint64_t redact;  /* bit i: parameter i's name looks like a secret */
    uint8_t fast;     /* its calls may take the engines' fast path (record_fast.h); its
                       * parameters are then the first nparams fast locals (first 0) */
    /* The head of its CALL_INTS record (nparams ints), made with the id: the fast path's
     * call is that one record. */
    uint64_t w_call;
    /* The names of all its fast locals, in the frame's order (codes.c, at the first
     * exception that leaves a frame of it): nlocals of them, or none. */
    uint16_t nlocals;
    uint8_t locals_known;
    char **local_names;
};

/* The locals position of the k-th parameter in signature order. */
static inline unsigned
ft_code_param_at(const struct ft_code_info *ci, unsigned k)
{
    if (ci->varargs == FT_NO_PARAM || k < ci->npos) {
        return k;
    }
    if (k == ci->npos) {
        return ci->varargs;
    }
    return k <= ci->varargs ? k - 1 : k;
}

#endif
