/* handoff.c - work a unit of work hands to another thread (handoff.h). */
#include "handoff.h"

#include <string.h>

#include "flush.h"
#include "lib/wire.h"
#include "record.h"

/* Outstanding hand-offs: the work's identity (an object's address) and the hand-off's
 * number, which is what the records carry: an address is used again once its object is
 * freed, and the writer sees each thread's records in the order they arrive, not in the
 * order they happened, so only a number used once pairs ADOPT with its HANDOFF. Each
 * identity is looked for in a window of WINDOW slots from its home slot, so a deletion
 * is a plain store of 0. A table too full forgets the oldest of the window: that work is
 * then the thread's own (there were never this many at once). */
#define KEYS   4096u
#define WINDOW 8u

static struct {
    uint64_t key, seq;
} keys[KEYS];
static uint64_t next_seq;
static unsigned evict_next;

static unsigned
home(uint64_t key)
{
    return (unsigned)(((key >> 4) * 0x9e3779b97f4a7c15ull) >> 52) & (KEYS - 1);
}

/* Returns the hand-off's number. */
static uint64_t
remember(uint64_t key)
{
    unsigned h = home(key), slot = KEYS;

    for (unsigned i = 0; i < WINDOW && slot == KEYS; i++) {
        unsigned k = (h + i) & (KEYS - 1);
        if (keys[k].key == key) {
            slot = k; /* its object was freed without being adopted: a new hand-off */
        }
    }
    for (unsigned i = 0; i < WINDOW && slot == KEYS; i++) {
        unsigned k = (h + i) & (KEYS - 1);
        if (keys[k].key == 0) {
            slot = k;
        }
    }
    if (slot == KEYS) {
        slot = (h + evict_next++ % WINDOW) & (KEYS - 1);
    }
    keys[slot].key = key;
    keys[slot].seq = ++next_seq;
    return next_seq;
}

/* The number of key's outstanding hand-off, which is over; 0 if there is none. */
static uint64_t
take(uint64_t key)
{
    unsigned h = home(key);

    for (unsigned i = 0; i < WINDOW; i++) {
        unsigned k = (h + i) & (KEYS - 1);
        if (keys[k].key == key) {
            keys[k].key = 0;
            return keys[k].seq;
        }
    }
    return 0;
}

/* ---- Recording ------------------------------------------------------------------------- */

static void
handoff(struct ft_thread *t, uint64_t key)
{
    if (key == 0 || (t->unit_frames == 0 && !t->adopted)) {
        return; /* not inside a unit: the work stays the other thread's own */
    }
    ft_record_mark(t, FT_REC_HANDOFF, remember(key));
    /* Shipped before the work can start elsewhere: that thread's ADOPT must not reach
     * the writer first (each thread's buffer travels on its own). */
    ft_flush_ship_now(t);
}

static void
adopt_end(struct ft_thread *t)
{
    if (t->adopted) {
        t->adopted = 0;
        ft_record_mark(t, FT_REC_ADOPT_END, 0);
    }
}

static void
adopt(struct ft_thread *t, uint64_t key)
{
    uint64_t seq = key != 0 ? take(key) : 0;

    if (seq != 0) {
        ft_record_mark(t, FT_REC_ADOPT, seq); /* ends the work adopted before, if any */
        t->adopted = 1;
    }
}

/* ---- Probes ---------------------------------------------------------------------------- */

/* The identity of the probe's local at position i (0: self), or 0. */
static uint64_t
local_identity(const struct ft_code_info *ci, PyObject **locals, PyFrameObject *frame, unsigned i)
{
    PyObject *fl, *key, *v = NULL; /* new refs */
    const char *name;
    uint64_t id;

    if (locals != NULL) {
        return (uint64_t)(uintptr_t)locals[i];
    }
    name = i == 0 && ci->has_self ? "self"
           : i >= ci->first && i - ci->first < ci->nparams && ci->names != NULL
               ? ci->names[i - ci->first]
               : NULL;
    if (frame == NULL) {
        frame = ft_py.PyEval_GetFrame(); /* borrowed */
    }
    if (name == NULL || frame == NULL || ft_py.PyUnicode_FromString == NULL ||
        ft_py.PyObject_GetItem == NULL) {
        return 0;
    }
    fl = ft_py.PyObject_GetAttrString((PyObject *)frame, "f_locals");
    key = ft_py.PyUnicode_FromString(name);
    if (fl != NULL && key != NULL) {
        v = ft_py.PyObject_GetItem(fl, key);
    }
    id = (uint64_t)(uintptr_t)v;
    if (v != NULL) {
        ft_py.Py_DecRef(v); /* only its identity is kept: fl keeps it alive meanwhile */
    }
    if (key != NULL) {
        ft_py.Py_DecRef(key);
    }
    if (fl != NULL) {
        ft_py.Py_DecRef(fl);
    }
    ft_py.PyErr_Clear();
    return id;
}

/* Whether the code calling the probe (frame, or the current frame) is marked mark. */
static int
called_from(PyFrameObject *frame, int mark)
{
    PyFrameObject *back;   /* new ref */
    PyObject *code = NULL; /* new ref */
    struct ft_code_info *ci = NULL;

    if (frame == NULL) {
        frame = ft_py.PyEval_GetFrame(); /* borrowed */
    }
    if (frame == NULL || ft_py.PyFrame_GetBack == NULL || ft_py.PyFrame_GetCode == NULL) {
        return 0;
    }
    back = ft_py.PyFrame_GetBack(frame);
    if (back != NULL) {
        code = ft_py.PyFrame_GetCode(back);
        ft_py.Py_DecRef((PyObject *)back);
    }
    if (code != NULL) {
        ci = ft_code_lookup(code);
        ft_py.Py_DecRef(code);
    }
    return ci != NULL && ci->probe == mark;
}

void
ft_handoff_call(struct ft_thread *t, const struct ft_code_info *ci, PyObject **locals,
                PyFrameObject *frame)
{
    struct ft_py_exc exc;

    ft_py_exc_save(&exc);
    switch (ci->probe) {
    case FT_PROBE_HANDOFF_SELF:
        handoff(t, local_identity(ci, locals, frame, 0));
        break;
    case FT_PROBE_ADOPT_SELF:
        adopt(t, local_identity(ci, locals, frame, 0));
        break;
    case FT_PROBE_HANDOFF_ITEM:
        if ((t->unit_frames > 0 || t->adopted) && called_from(frame, FT_PROBE_ANYIO_SUBMIT)) {
            handoff(t, local_identity(ci, locals, frame, ci->first));
        }
        break;
    case FT_PROBE_ADOPT_ITEM:
        if (t->adopted && called_from(frame, FT_PROBE_ANYIO_WORKER)) {
            adopt_end(t); /* the worker is back for its next item */
        }
        break;
    default:
        break;
    }
    ft_py_exc_restore(&exc);
}

void
ft_handoff_return(struct ft_thread *t, const struct ft_code_info *ci, PyObject *retval,
                  PyFrameObject *frame)
{
    struct ft_py_exc exc;

    ft_py_exc_save(&exc);
    if (ci->probe == FT_PROBE_ADOPT_SELF) {
        adopt_end(t);
    } else if (ci->probe == FT_PROBE_ADOPT_ITEM && retval != NULL &&
               called_from(frame, FT_PROBE_ANYIO_WORKER)) {
        adopt(t, (uint64_t)(uintptr_t)retval);
    }
    ft_py_exc_restore(&exc);
}

void
ft_handoff_thread_started(struct ft_thread *t, uint64_t thread)
{
    if (t != NULL && thread != 0) {
        adopt(t, thread);
    }
}

void
ft_handoff_atfork_child(void)
{
    memset(keys, 0, sizeof(keys));
}

/* ---- First sight ----------------------------------------------------------------------- */

int
ft_handoff_classify(const char *module, const char *qualname)
{
    static const struct {
        const char *module, *qualname;
        int probe;
    } table[] = {
        {"concurrent.futures.thread", "_WorkItem.__init__", FT_PROBE_HANDOFF_SELF},
        {"concurrent.futures.thread", "_WorkItem.run", FT_PROBE_ADOPT_SELF},
        {"threading", "Thread.start", FT_PROBE_HANDOFF_SELF},
        {"threading", "Thread.run", FT_PROBE_THREAD_RUN},
        {"queue", "Queue.put_nowait", FT_PROBE_HANDOFF_ITEM},
        {"queue", "Queue.get", FT_PROBE_ADOPT_ITEM},
        {"anyio._backends._asyncio", "run_sync_in_worker_thread", FT_PROBE_ANYIO_SUBMIT},
        {"anyio._backends._asyncio", "AsyncIOBackend.run_sync_in_worker_thread",
         FT_PROBE_ANYIO_SUBMIT},
        {"anyio._backends._asyncio", "WorkerThread.run", FT_PROBE_ANYIO_WORKER},
    };

    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(module, table[i].module) == 0 && strcmp(qualname, table[i].qualname) == 0) {
            return table[i].probe;
        }
    }
    return 0;
}
