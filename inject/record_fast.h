/* record_fast.h - the commonest calls' records, written inline by the engines.
 *
 * Most calls of a call-heavy program are of plain functions that take and give small
 * ints, or take nothing: their records (CALL_INTS and RETURN_INT, each a whole event with
 * its values inside, wire 1.9) are written here straight into the thread's buffer,
 * without the general path's checks of settings and code flags, which cost about as much
 * as the writing itself (fib: 500 instructions per call and return before, see
 * docs/architecture.md). The bytes are exactly those the general path (record.c) writes
 * for the same call.
 *
 * Which calls: ci->fast (codes.c decides it at first sight: a traced function that is
 * not a generator, a unit, a framework boundary or a method (its parameters are the first
 * fast locals), with at most FT_FAST_PARAMS
 * parameters, none of them variadic or secret-looking), while ft_record_fast_on() (no
 * --memory, --flush-every-call or skipped values, and capture ready). Each returns 0,
 * having written nothing, when the call is not one of those (a parameter or the result
 * is not a small int; at the return, a parameter that is not an int, which may need
 * ARGS_AFTER): the engine then takes the general path, which records everything.
 *
 * Hot path: no lock, no allocation, no Python. GIL held, t registered.
 */
#ifndef FT_INJECT_RECORD_FAST_H
#define FT_INJECT_RECORD_FAST_H

#include <stdint.h>
#include <string.h>

#include "capture.h"
#include "codeinfo.h"
#include "config.h"
#include "lib/clock.h"
#include "lib/wire.h"
#include "pylayout.h"
#include "tstate.h"

/* Written into the engine's callback: a call of its own costs a fifth of the path. */
#define FT_FAST_INLINE static inline __attribute__((always_inline))

/* Whether the settings let the fast path record (record.c, at ft_record_init). */
extern int ft_record_fast_settings;

static inline int
ft_record_fast_on(void)
{
    return ft_record_fast_settings;
}

/* How the caller reads what the fast path needs: constants where it knows the version
 * (the compiler then leaves out the rest). refs_tagged: fast locals are 3.14's tagged
 * references; ints_tagged: ft_pylayout.int_tagged; clock: ft_cfg.clock (FT_CLOCK_TSC, a
 * constant, reads the counter inline: no call); result_given: a return's value is never
 * NULL (sys.monitoring's PY_RETURN; 3.8-3.11's profile function may be given none). */
struct ft_fast_how {
    int refs_tagged;
    int ints_tagged;
    int clock;
    int result_given;
};

/* v is an exact int of at most two digits: *x. tagged: ft_pylayout.int_tagged, which the
 * engines pass as a constant where they know the version. */
FT_FAST_INLINE int
ft_fast_int(PyObject *v, int64_t *x, int tagged)
{
    return v != NULL && ft_type_of(v) == ft_capture_hot.long_t && ft_pylong_read_as(v, x, tagged);
}

/* A call of ci (ci->fast) starts: CALL_INTS (code id, ticks, the ints); refs: the frame's
 * fast locals in place (pylayout.h's ft_iframe_refs), not NULL when ci has parameters. A
 * buffer without room for the record is left to the general path (it ships the buffer).
 * The ints are written into the buffer as they are read, but committed only when all of
 * them were ints. */
FT_FAST_INLINE int
ft_record_fast_call(struct ft_thread *t, const struct ft_code_info *ci, const uintptr_t *refs,
                    struct ft_fast_how how)
{
    unsigned n = ci->nparams;
    uint8_t *p = t->pos, *o = p + 24;
    uint64_t ticks;
    int64_t x;

    /* n == 0 apart: GCC then tests n once before the loop, not twice (one instruction). */
    if ((size_t)(t->end - p) < (n == 0 ? 24 : 24 + 8 * (size_t)n)) {
        return 0;
    }
    if (n > 0) {
        const uintptr_t *r = refs, *e = refs + n;
        do {
            if (!ft_fast_int(ft_ref_at(r, 0, how.refs_tagged), &x, how.ints_tagged)) {
                return 0;
            }
            memcpy(o, &x, 8);
            o += 8;
        } while (++r < e);
        p = t->pos; /* read again: not held in a register through the loop */
    }
    ticks = ft_clock_ticks(how.clock);
    memcpy(p, &ci->w_call, 8);
    memcpy(p + 8, &ci->id, 8);
    memcpy(p + 16, &ticks, 8);
    ft_thread_commit(t, o);
    return 1;
}

/* A call of ci (ci->fast) returns retval: RETURN_INT (code id, ticks, the int); refs as
 * for the call. A parameter that is not an int now (rebound, or it was not one at the
 * call, which then took the general path) is left to the general path too: it may need
 * ARGS_AFTER (a mutable value), which no RETURN_INT has, and checking that here cost every
 * return four saved registers. */
FT_FAST_INLINE int
ft_record_fast_return(struct ft_thread *t, const struct ft_code_info *ci, PyObject *retval,
                      const uintptr_t *refs, struct ft_fast_how how)
{
    uint64_t w0 = ft_rec_word0(FT_REC_RETURN_INT, FT_RETURN_INT_LEN), ticks;
    uint8_t *p = t->pos;
    int64_t x;

    if ((size_t)(t->end - p) < 32) {
        return 0;
    }
    if (ci->nparams > 0) {
        const uintptr_t *r = refs, *e = refs + ci->nparams;
        do {
            PyObject *v = ft_ref_at(r, 0, how.refs_tagged);
            if (v != NULL && ft_type_of(v) != ft_capture_hot.long_t) {
                return 0;
            }
        } while (++r < e);
    }
    /* The result is written as soon as read: nothing is live across the clock's read. */
    if ((!how.result_given && retval == NULL) || ft_type_of(retval) != ft_capture_hot.long_t ||
        !ft_pylong_read_as(retval, &x, how.ints_tagged)) {
        return 0;
    }
    memcpy(p + 24, &x, 8);
    ticks = ft_clock_ticks(how.clock);
    memcpy(p, &w0, 8);
    memcpy(p + 8, &ci->id, 8);
    memcpy(p + 16, &ticks, 8);
    ft_thread_commit(t, p + 32);
    return 1;
}

#endif
