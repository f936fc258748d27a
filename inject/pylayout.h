/* pylayout.h - the raw facts about CPython's memory layout that FlowTrace relies on.
 *
 * FlowTrace reads a few of CPython's structures in place, where the C API would cost
 * too much on the hot path or would change the program (frame.f_locals materialises a
 * dict in the frame on 3.8-3.12, which IMPORT_NAME then passes to __import__). Every
 * such fact is chosen here from the running interpreter's version, never from headers,
 * and is trusted only once it has been checked against the C API: adding a CPython
 * version means editing this module.
 *
 * Frames (sizes and offsets in bytes, 64-bit builds):
 *   3.8-3.10  PyFrameObject holds everything: f_code at 32, the fast locals
 *             (f_localsplus) at type(frame).__basicsize__ - 8 (360 on 3.8/3.9, 352 on 3.10).
 *   3.11+     PyFrameObject.f_frame (24) points to the _PyInterpreterFrame:
 *             3.11       f_code 32, frame_obj 40, prev_instr 56, localsplus 72;
 *             3.12, 3.13 f_code / f_executable 0, frame_obj 48, localsplus 72;
 *             3.14       f_executable 0, frame_obj 48, localsplus 80, as tagged references
 *                        (the low two bits are tags).
 *   The thread state's running frame (the sys.monitoring engine's way to it):
 *             3.12       PyThreadState.cframe (56) -> _PyCFrame.current_frame (0);
 *             3.13, 3.14 PyThreadState.current_frame (72).
 *
 * Checks: at activation (ft_pylayout_init), a generator of FlowTrace's own is created
 * from code compiled privately (its body never runs, nobody else sees it) and its frame
 * read at these offsets: the code, the frame object's back pointer and the arguments must
 * be what the C API says they are (gi_code, gi_frame, f_locals of that private frame).
 * The engines check their per-event reads against the API on the first events too.
 * Anything that disagrees is not used: arguments are then not captured, never read
 * through f_locals.
 */
#ifndef FT_INJECT_PYLAYOUT_H
#define FT_INJECT_PYLAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "pyapi.h"

/* At most this many fast locals are untagged into a caller's array (3.14). */
#define FT_LOCALS_MAX 64

enum ft_frames {
    FT_FRAMES_NONE,   /* unknown layout: frames only through the C API */
    FT_FRAMES_OBJECT, /* 3.8-3.10: the frame object holds code and locals */
    FT_FRAMES_INTERP, /* 3.11+: the frame object points to an interpreter frame */
};

struct ft_pylayout {
    enum ft_frames frames;
    int locals_ok;            /* fast locals read in place: checked */
    size_t frame_code;        /* 3.8-3.10: PyFrameObject.f_code */
    size_t frame_locals;      /* 3.8-3.10: PyFrameObject.f_localsplus */
    size_t frame_iframe;      /* 3.11+: PyFrameObject.f_frame */
    size_t iframe_code;       /* 3.11+: _PyInterpreterFrame's code object */
    size_t iframe_frame_obj;  /* 3.11+: _PyInterpreterFrame.frame_obj */
    size_t iframe_prev_instr; /* 3.11 only (generators' state), else 0 */
    size_t iframe_locals;     /* 3.11+: _PyInterpreterFrame.localsplus */
    uintptr_t ref_mask;       /* applied to every reference read from a frame */
    size_t ts_frame;          /* 3.12+: PyThreadState's way to the running frame */
    int ts_cframe;            /* 3.12: ts_frame leads to a _PyCFrame first */
};

extern struct ft_pylayout ft_pylayout;

/* GIL held, at activation, before any hook is installed: chooses the layout for the
 * running version and checks it (see above). Returns 0 when frames can be read in place
 * (ft_pylayout.frames != FT_FRAMES_NONE), -ENOTSUP otherwise; locals_ok says whether the
 * fast locals can. Never raises, never runs the program's code. */
int ft_pylayout_init(void);

/* 3.11+: the interpreter frame of a frame object. */
static inline char *
ft_iframe_of(PyFrameObject *f)
{
    return *(char **)((char *)f + ft_pylayout.frame_iframe);
}

/* 3.11+: the code object an interpreter frame runs (borrowed). */
static inline PyObject *
ft_iframe_code(const char *iframe)
{
    return (PyObject *)(*(const uintptr_t *)(iframe + ft_pylayout.iframe_code) &
                        ft_pylayout.ref_mask);
}

/* The code object of a frame (borrowed), read in place; frames != FT_FRAMES_NONE. */
static inline PyObject *
ft_frame_code(PyFrameObject *f)
{
    if (ft_pylayout.frames == FT_FRAMES_INTERP) {
        return ft_iframe_code(ft_iframe_of(f));
    }
    return *(PyObject **)((char *)f + ft_pylayout.frame_code);
}

/* The first n fast locals of an interpreter frame (borrowed; a slot may be NULL), or NULL
 * when they cannot be read in place. Tagged references are untagged into tmp, which holds
 * FT_LOCALS_MAX entries. Hot path. */
static inline PyObject **
ft_iframe_locals(char *iframe, unsigned n, PyObject **tmp)
{
    uintptr_t *refs;

    if (!ft_pylayout.locals_ok || iframe == NULL) {
        return NULL;
    }
    refs = (uintptr_t *)(iframe + ft_pylayout.iframe_locals);
    if (ft_pylayout.ref_mask == ~(uintptr_t)0) {
        return (PyObject **)refs;
    }
    if (n > FT_LOCALS_MAX) {
        return NULL;
    }
    for (unsigned i = 0; i < n; i++) {
        tmp[i] = (PyObject *)(refs[i] & ft_pylayout.ref_mask);
    }
    return tmp;
}

/* The first n fast locals of a frame object, as ft_iframe_locals. Hot path. */
static inline PyObject **
ft_frame_locals(PyFrameObject *f, unsigned n, PyObject **tmp)
{
    if (ft_pylayout.frames == FT_FRAMES_INTERP) {
        return ft_iframe_locals(ft_iframe_of(f), n, tmp);
    }
    if (!ft_pylayout.locals_ok) {
        return NULL;
    }
    return (PyObject **)((char *)f + ft_pylayout.frame_locals);
}

/* The identity of a generator's or coroutine's frame, stable for the object's life: its
 * interpreter frame (3.11+, embedded in the object), else the frame object. */
static inline uint64_t
ft_frame_ident(PyFrameObject *f)
{
    if (ft_pylayout.frames == FT_FRAMES_INTERP) {
        return (uint64_t)(uintptr_t)ft_iframe_of(f);
    }
    return (uint64_t)(uintptr_t)f;
}

/* 3.12+: the interpreter frame running on the calling thread, read from its thread state
 * (ts_frame != 0), else NULL. */
static inline char *
ft_ts_iframe(void)
{
    char *ts;

    if (ft_pylayout.ts_frame == 0) {
        return NULL;
    }
    ts = ft_py.PyThreadState_Get();
    if (ft_pylayout.ts_cframe) {
        return **(char ***)(ts + ft_pylayout.ts_frame);
    }
    return *(char **)(ts + ft_pylayout.ts_frame);
}

#endif
