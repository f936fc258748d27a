/* handoff.h - work a unit of work hands to another thread, followed into that thread.
 *
 * A unit (a test, a request) often has part of its work done by other threads: a sync
 * endpoint runs in an AnyIO worker thread, asyncio.to_thread() and run_in_executor() in
 * an executor's, Django's sync_to_async in a single-thread executor, a test in the
 * threads it starts. That work belongs to the unit, under the call that handed it over.
 *
 * When a thread inside a unit (a unit's frames are executing there, or it runs work a
 * unit handed over) hands work off, it records HANDOFF with a number for the hand-off,
 * and ships its buffer at once, so that the writer has it before the ADOPT of the thread
 * that picks the work up. That thread finds the number from the work's key (the identity
 * of the object that carries the work), records ADOPT with it when it starts the work and
 * ADOPT_END when it is done (shipped at once too: the unit ends in the writer only when
 * its work has, and a pool's thread may then sit idle); the writer puts the calls made in
 * between under the handing call (lib/calls.c). The hand-offs recognised, each by a probe (out-of-scope code whose
 * calls are watched, not traced; enum ft_probe in codeinfo.h, found by units.c):
 *
 *   concurrent.futures  _WorkItem.__init__ (key: the work item), _WorkItem.run: every
 *                       ThreadPoolExecutor, so loop.run_in_executor, asyncio.to_thread
 *                       and asgiref's sync_to_async too;
 *   threading           Thread.start (key: the Thread); the new thread adopts it when it
 *                       registers, and its end ends the work;
 *   anyio               Queue.put_nowait called by run_sync_in_worker_thread (key: the
 *                       item tuple), and Queue.get returning it in WorkerThread.run, up
 *                       to that worker's next Queue.get: Starlette's run_in_threadpool.
 *
 * Keys are remembered while outstanding, in a small table (GIL held), so that a thread
 * records ADOPT only for work a unit handed off; a number is never used twice, where an
 * address is as soon as its object is freed. Outside units nothing is recorded: a
 * thread's calls stay its own. GIL held throughout.
 */
#ifndef FT_INJECT_HANDOFF_H
#define FT_INJECT_HANDOFF_H

#include <stdint.h>

#include "codeinfo.h"
#include "pyapi.h"
#include "tstate.h"

/* Whether probes of this kind are told the return too (ft_handoff_return). */
static inline int
ft_handoff_wants_return(int probe)
{
    return probe == FT_PROBE_ADOPT_SELF || probe == FT_PROBE_ADOPT_ITEM ||
           probe == FT_PROBE_THREAD_NAME;
}

/* Whether the code only marks a caller: its own calls need no probe. */
static inline int
ft_handoff_is_mark(int probe)
{
    return probe == FT_PROBE_ANYIO_SUBMIT || probe == FT_PROBE_ANYIO_WORKER;
}

/* A probe (ci->probe >= FT_PROBE_HANDOFF_SELF) is called. locals as record.h says
 * (NULL: the work is not known); frame is the probe's frame, or NULL for the current one. */
void ft_handoff_call(struct ft_thread *t, const struct ft_code_info *ci, PyObject **locals,
                     PyFrameObject *frame);

/* A probe that wants it returns retval (borrowed). Thread.name's setter is one: the
 * calling thread's name is read again and, if it changed, announced (ft_ship_rename). */
void ft_handoff_return(struct ft_thread *t, const struct ft_code_info *ci, PyObject *retval,
                       PyFrameObject *frame);

/* The calling thread has just registered as t; thread is its threading.Thread's identity
 * (0 if none): if a unit started it, the thread's work is that unit's. */
void ft_handoff_thread_started(struct ft_thread *t, uint64_t thread);

/* In a forked child: no hand-off of the parent's is outstanding. */
void ft_handoff_atfork_child(void);

#endif
