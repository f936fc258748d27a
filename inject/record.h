/* record.h - what an engine reports about traced code, turned into event records.
 *
 * Every engine (profile hook, sys.monitoring) calls these, so every interpreter produces
 * the same records. All run on the hot path with the GIL held, for a thread registered
 * in ft_self and code in scope. Without capture they write one 16-byte record; with it
 * they render the values (capture.h) into the thread's scratch space and write the
 * values' record in the same commit as the event it belongs to.
 *
 * `locals` is the frame's fast-locals array (pylayout.h), or NULL when it cannot be read
 * in place: then no argument is captured. Values are never read through frame.f_locals,
 * which would change the frame (a materialised f_locals dict is what IMPORT_NAME passes
 * to __import__ on 3.8-3.12).
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

/* A call of ci starts (kind FT_REC_CALL), or a generator/coroutine starts (FT_REC_START)
 * or resumes (FT_REC_RESUME) with `ident` its frame identity. Arguments are captured on
 * CALL and START. */
void ft_record_enter(struct ft_thread *t, const struct ft_code_info *ci, unsigned kind,
                     uint64_t ident, PyObject **locals);

/* A call of ci starts whose arguments are not recorded (it has none, or values are
 * skipped), when nothing else follows it (no --memory, not a unit's call): one record,
 * CALL_INTS without ints for a function without parameters (a whole event, which the
 * writer need not hold for values), else CALL. */
void ft_record_call_alone(struct ft_thread *t, const struct ft_code_info *ci);

/* The call returns retval (FT_REC_RETURN), or the generator suspends (FT_REC_YIELD). */
void ft_record_leave(struct ft_thread *t, const struct ft_code_info *ci, unsigned kind,
                     PyObject *retval, PyObject **locals);

/* The call ends by an exception; exc (borrowed) when the engine knows it, else NULL and
 * the engine reports it later with ft_record_exception(). line: the line the frame was at
 * when the exception left it (0: unknown); locals: the frame's first nlocals fast locals
 * (named in ci->local_names, codes.h), also those a unit's call reads as at its entry
 * (first + nparams of them), or NULL. */
void ft_record_unwind(struct ft_thread *t, const struct ft_code_info *ci, PyObject *exc, int line,
                      PyObject **locals, unsigned nlocals);

/* The exception that unwound the preceding UNWIND records of this thread; tb its
 * traceback when the engine has it apart (else NULL: exc.__traceback__). */
void ft_record_exception(struct ft_thread *t, PyObject *exc, PyObject *tb);

/* The current call created a coroutine (an asyncio task) whose frame identity is ident:
 * when it runs it nests under this call. */
void ft_record_spawn(struct ft_thread *t, uint64_t ident);

/* A bookkeeping record of kind (HANDOFF, ADOPT: extra is the hand-off's number;
 * ADOPT_END). */
void ft_record_mark(struct ft_thread *t, unsigned kind, uint64_t extra);

/* create_task(coro) is being called: records SPAWN for coro's frame (a coroutine's frame
 * is embedded in it, so its identity is stable for its whole life). */
void ft_record_task(struct ft_thread *t, PyObject *coro);

/* A builtin call from traced code (--c-calls): kind FT_REC_C_CALL/C_RETURN/C_RAISE. */
void ft_record_c(struct ft_thread *t, unsigned kind, PyObject *cfunc);

#endif
