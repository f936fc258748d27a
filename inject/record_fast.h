/* record_fast.h - the commonest calls' records, written inline by the engines.
 *
 * Most calls of a call-heavy program are of plain functions that take and give small
 * ints, or take nothing: their records (CALL, CALL + ARGS_INTS, RETURN + RESULT_INT) are
 * written here straight into the thread's buffer, without the general path's checks of
 * settings and code flags, which cost about as much as the writing itself (fib: 500
 * instructions per call and return before, see docs/architecture.md). The bytes are
 * exactly those the general path (record.c) writes for the same call.
 *
 * Which calls: ci->fast (codes.c decides it at first sight: a traced function that is
 * not a generator, a unit, a framework boundary or a method, with at most FT_FAST_PARAMS
 * parameters, none of them variadic or secret-looking), while ft_record_fast_on() (no
 * --memory, --flush-every-call or skipped values, and capture ready). Each returns 0,
 * having written nothing, when the call is not one of those (a parameter or the result
 * is not a small int, or a parameter now holds a mutable value): the engine then takes the
 * general path, which records everything.
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

/* v is an exact int of at most two digits: *x. tagged: ft_pylayout.int_tagged, which the
 * engines pass as a constant where they know the version. */
FT_FAST_INLINE int
ft_fast_int(PyObject *v, int64_t *x, int tagged)
{
    return v != NULL && ft_type_of(v) == ft_capture_hot.long_t && ft_pylong_read_as(v, x, tagged);
}

/* A call of ci (ci->fast) starts; locals: the frame's fast locals (NULL when they cannot
 * be read: then only a call without parameters is written). A buffer without room for
 * the records is left to the general path (it ships the buffer). The ints are written
 * into the buffer as they are read, but committed only when all of them were ints. */
FT_FAST_INLINE int
ft_record_fast_call(struct ft_thread *t, const struct ft_code_info *ci, PyObject *const *locals,
                    int tagged)
{
    unsigned n = ci->nparams;
    uint64_t w0 = ft_rec_word0(FT_REC_CALL, ci->id), ticks;
    size_t total = n == 0 ? 16 : 24 + 8 * (size_t)n;
    uint8_t *p = t->pos;
    int64_t x;

    if ((size_t)(t->end - p) < total || (n > 0 && locals == NULL)) {
        return 0;
    }
    for (unsigned k = 0; k < n; k++) {
        if (!ft_fast_int(locals[ci->first + k], &x, tagged)) {
            return 0;
        }
        memcpy(p + 24 + 8 * (size_t)k, &x, 8);
    }
    if (n > 0) {
        uint64_t vw0 = ft_rec_word0(FT_REC_ARGS_INTS, 8 * (uint64_t)n);
        memcpy(p + 16, &vw0, 8);
    }
    ticks = ft_clock_ticks(ft_cfg.clock);
    memcpy(p, &w0, 8);
    memcpy(p + 8, &ticks, 8);
    ft_thread_commit(t, p + total);
    return 1;
}

/* A call of ci (ci->fast) returns retval; locals as for the call (a parameter rebound to
 * a mutable value needs the general path's ARGS_AFTER). */
FT_FAST_INLINE int
ft_record_fast_return(struct ft_thread *t, const struct ft_code_info *ci, PyObject *retval,
                      PyObject *const *locals, int tagged)
{
    unsigned n = ci->nparams;
    uint64_t w0 = ft_rec_word0(FT_REC_RETURN, ci->id), vw0, ticks;
    uint8_t *p = t->pos;
    int64_t x;

    if ((size_t)(t->end - p) < 32 || !ft_fast_int(retval, &x, tagged) ||
        (n > 0 && locals == NULL)) {
        return 0;
    }
    for (unsigned k = 0; k < n; k++) {
        PyObject *v = locals[ci->first + k];
        if (v != NULL && ft_type_of(v) != ft_capture_hot.long_t && ft_capture_is_mutable(v)) {
            return 0;
        }
    }
    ticks = ft_clock_ticks(ft_cfg.clock);
    vw0 = ft_rec_word0(FT_REC_RESULT_INT, 8);
    memcpy(p, &w0, 8);
    memcpy(p + 8, &ticks, 8);
    memcpy(p + 16, &vw0, 8);
    memcpy(p + 24, &x, 8);
    ft_thread_commit(t, p + 32);
    return 1;
}

#endif
