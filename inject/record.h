/* record.h - what an engine reports about traced code, turned into event records.
 *
 * Every engine (profile hook, sys.monitoring) calls these, so every interpreter produces
 * the same records. All run on the hot path with the GIL held, for a thread registered
 * in ft_self and code in scope. Without capture they write one 16-byte record; with it
 * they render the values (capture.h) into the thread's scratch space and write the
 * values' record in the same commit as the event it belongs to.
 *
 * `locals` is the frame's fast-locals array when the engine can reach it cheaply, else
 * NULL and `frame` is used (slower: through frame.f_locals).
 */
#ifndef FT_INJECT_RECORD_H
#define FT_INJECT_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "codes.h"
#include "pyapi.h"
#include "tstate.h"

/* Sets up what recording needs once per process (capture types, memory probes). GIL. */
void ft_record_init(void);

/* First sight of code with parameters: whether the fast locals an engine reads directly
 * hold what frame.f_locals says (a parameter captured by a closure is a cell there).
 * Returns 0, or -1 on a mismatch (then the engine should stop reading them). GIL. */
int ft_record_check_locals(const struct ft_code_info *ci, PyObject **locals, PyFrameObject *frame);

/* A call of ci starts (kind FT_REC_CALL), or a generator/coroutine starts (FT_REC_START)
 * or resumes (FT_REC_RESUME) with `ident` its frame identity. Arguments are captured on
 * CALL and START. */
void ft_record_enter(struct ft_thread *t, const struct ft_code_info *ci, unsigned kind,
                     uint64_t ident, PyObject **locals, PyFrameObject *frame);

/* The call returns retval (FT_REC_RETURN), or the generator suspends (FT_REC_YIELD). */
void ft_record_leave(struct ft_thread *t, const struct ft_code_info *ci, unsigned kind,
                     PyObject *retval, PyObject **locals, PyFrameObject *frame);

/* The call ends by an exception; exc (borrowed) when the engine knows it, else NULL and
 * the engine reports it later with ft_record_exception(). locals/frame as for enter, for
 * a unit's call only (else NULL). */
void ft_record_unwind(struct ft_thread *t, const struct ft_code_info *ci, PyObject *exc,
                      PyObject **locals, PyFrameObject *frame);

/* The exception that unwound the preceding UNWIND records of this thread. */
void ft_record_exception(struct ft_thread *t, PyObject *exc);

/* The current call created a coroutine (an asyncio task) whose frame identity is ident:
 * when it runs it nests under this call. */
void ft_record_spawn(struct ft_thread *t, uint64_t ident);

/* A bookkeeping record of kind (HANDOFF, ADOPT: extra is the work's key; ADOPT_END). */
void ft_record_mark(struct ft_thread *t, unsigned kind, uint64_t extra);

/* create_task(coro) is being called: records SPAWN for coro's frame (a coroutine's frame
 * is embedded in it, so its identity is stable for its whole life). */
void ft_record_task(struct ft_thread *t, PyObject *coro);

/* The identity of a generator's or coroutine's frame, given its frame object: the
 * address of the interpreter frame it points to (PyFrameObject.f_frame, at offset 24 in
 * 3.11-3.14). */
static inline uint64_t
ft_frame_ident(PyFrameObject *f)
{
    return (uint64_t)(uintptr_t) * (void **)((char *)f + 24);
}

/* A value record of vkind on its own, attached by the writer to what precedes it (units.c's
 * UNIT, UNIT_END and STATUS records). */
void ft_record_values(struct ft_thread *t, unsigned vkind, const void *data, size_t len);

/* A builtin call from traced code (--c-calls): kind FT_REC_C_CALL/C_RETURN/C_RAISE. */
void ft_record_c(struct ft_thread *t, unsigned kind, PyObject *cfunc);

#endif
