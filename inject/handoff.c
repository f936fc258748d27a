/* handoff.c - work a unit of work hands to another thread (handoff.h). */
#include "handoff.h"

#include <string.h>

#include "codes.h"
#include "pyapi.h"
#include "lib/wire.h"
#include "record.h"
#include "ship.h"

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
    ft_thread_ship_now(t);
}

static void
adopt_end(struct ft_thread *t)
{
    if (t->adopted) {
        t->adopted = 0;
        ft_record_mark(t, FT_REC_ADOPT_END, 0);
        /* The unit that handed the work over ends in the writer only once it has this:
         * a pool's thread may sit idle until the next flush. */
        ft_thread_ship_now(t);
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
local_identity(PyObject **locals, unsigned i)
{
    return locals != NULL ? (uint64_t)(uintptr_t)locals[i] : 0;
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
        handoff(t, local_identity(locals, 0));
        break;
    case FT_PROBE_ADOPT_SELF:
        adopt(t, local_identity(locals, 0));
        break;
    case FT_PROBE_HANDOFF_ITEM:
        if ((t->unit_frames > 0 || t->adopted) && called_from(frame, FT_PROBE_ANYIO_SUBMIT)) {
            handoff(t, local_identity(locals, ci->first));
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
    } else if (ci->probe == FT_PROBE_THREAD_NAME) {
        /* A Thread's name was set: the calling thread's, or another one's (which keeps its
         * name until it sets its own). */
        char name[sizeof(t->name)];
        ft_py_thread_name(name, sizeof(name));
        ft_ship_rename(t, name);
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
