/* hook_profile.c - the legacy engine: a native C profile function on every thread. */
#include <stdio.h>
#include <string.h>

#include "codes.h"
#include "config.h"
#include "hook.h"
#include "lib/clock.h"
#include "log.h"
#include "pyapi.h"
#include "tstate.h"

/* How to get a frame's code object. CPython's layouts are fixed within a minor version,
 * so the direct reads are chosen from the running version, and checked against the
 * API on the first calls before they are trusted. */
enum frame_mode { FRAME_API, FRAME_PY38, FRAME_PY311 };

static int frame_mode = FRAME_API;
static int validate_left;
static int threading_hooked;

/* The code of a frame through the C API (3.9+) or f_code (3.8). Borrowed: the frame
 * holds a reference for as long as the callback runs. */
static PyObject *
code_by_api(PyFrameObject *f)
{
    PyObject *c; /* new ref, dropped at once */

    if (ft_py.PyFrame_GetCode != NULL) {
        c = ft_py.PyFrame_GetCode(f);
    } else {
        c = ft_py.PyObject_GetAttrString((PyObject *)f, "f_code");
        if (c == NULL) {
            ft_py.PyErr_Clear();
            return NULL;
        }
    }
    ft_py.Py_DecRef(c);
    return c;
}

/* Hot path. 3.11: PyFrameObject.f_frame (offset 24) -> _PyInterpreterFrame.f_code
 * (offset 32). 3.8-3.10: PyFrameObject.f_code at offset 32 (after the var-object head
 * and f_back). */
static inline PyObject *
code_of(PyFrameObject *f)
{
    switch (frame_mode) {
    case FRAME_PY311:
        return *(PyObject **)(*(char **)((char *)f + 24) + 32);
    case FRAME_PY38:
        return *(PyObject **)((char *)f + 32);
    default:
        return code_by_api(f);
    }
}

static PyObject *
validate(PyFrameObject *f, PyObject *fast)
{
    PyObject *slow = code_by_api(f);

    if (slow != fast) {
        ft_debug("frame layout check failed; using the C API for frames");
        frame_mode = FRAME_API;
        validate_left = 0;
        return slow;
    }
    validate_left--;
    return fast;
}

static void hook_threading(void);

/* A code object seen for the first time. Also the moment to notice that the program has
 * imported threading: 3.11 has no audit event for thread starts, and Thread.start()'s
 * code is always seen before the first thread starts. */
static uintptr_t
first_sight(PyObject *code, PyFrameObject *frame)
{
    if (!threading_hooked) {
        hook_threading();
    }
    return ft_code_intern(code, frame);
}

static int
profile_cb(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    struct ft_thread *t = ft_self;
    PyObject *code;
    uintptr_t slot;
    unsigned kind;

    (void)obj;
    if (what != PyTrace_CALL && what != PyTrace_RETURN) {
        return 0;
    }
    if (__builtin_expect(t == NULL, 0)) {
        return 0;
    }
    code = code_of(frame);
    if (__builtin_expect(validate_left > 0, 0)) {
        code = validate(frame, code);
    }
    if (__builtin_expect(code == NULL, 0)) {
        return 0;
    }
    slot = ft_code_lookup(code);
    if (__builtin_expect(slot == 0, 0)) {
        slot = first_sight(code, frame);
    }
    if (!FT_CODE_TRACED(slot)) {
        return 0;
    }
    /* A C profile function sees a NULL arg when a frame is left by an exception, and
     * the returned value (never NULL) otherwise. */
    kind = what == PyTrace_CALL ? FT_REC_CALL : arg == NULL ? FT_REC_UNWIND : FT_REC_RETURN;
    ft_emit(t, ft_rec_word0(kind, FT_CODE_ID(slot)), ft_clock_ticks(ft_cfg.clock));
    return 0;
}

/* threading.current_thread().name, or "Thread" (GIL held; runs Python code once per
 * thread, never on the hot path). */
static void
current_thread_name(char *out, size_t cap)
{
    PyObject *threading = ft_py_module("threading"); /* new ref */
    PyObject *fn = NULL, *th = NULL;                 /* new refs */

    snprintf(out, cap, "Thread");
    if (threading == NULL) {
        return;
    }
    fn = ft_py.PyObject_GetAttrString(threading, "current_thread");
    if (fn != NULL) {
        th = ft_py.PyObject_CallObject(fn, NULL);
    }
    if (th != NULL) {
        ft_py_attr_text(th, "name", out, cap);
    }
    ft_py.PyErr_Clear();
    if (th != NULL) {
        ft_py.Py_DecRef(th);
    }
    if (fn != NULL) {
        ft_py.Py_DecRef(fn);
    }
    ft_py.Py_DecRef(threading);
}

/* Given to threading.setprofile(): runs once in each new thread, on its first event,
 * through the Python-level profile trampoline. It registers the thread, replaces itself
 * with the native profile function, and records the event if it was a call. */
static PyObject *
bootstrap(PyObject *self, PyObject *args)
{
    PyObject *frame, *event; /* borrowed */
    struct ft_py_exc exc;
    const char *ev;
    char name[128];

    (void)self;
    ft_py_exc_save(&exc);
    if (ft_self == NULL && !ft_tstate_detached()) {
        current_thread_name(name, sizeof(name));
        ft_thread_register(name);
    }
    ft_py.PyEval_SetProfile(profile_cb, NULL);
    frame = ft_py.PyTuple_GetItem(args, 0);
    event = ft_py.PyTuple_GetItem(args, 1);
    ev = event ? ft_py.PyUnicode_AsUTF8AndSize(event, NULL) : NULL;
    if (frame != NULL && ev != NULL && strcmp(ev, "call") == 0) {
        profile_cb(NULL, (PyFrameObject *)frame, PyTrace_CALL, NULL);
    }
    ft_py.PyErr_Clear();
    ft_py_exc_restore(&exc);
    ft_py.Py_IncRef(ft_py.None);
    return ft_py.None;
}

static PyMethodDef bootstrap_def = {"_flowtrace_thread_bootstrap", (void *)bootstrap, METH_VARARGS,
                                    NULL};

/* threading.setprofile(bootstrap), once threading is imported. We never import it
 * ourselves: that would change the program (gevent must patch before it is imported). */
static void
hook_threading(void)
{
    PyObject *threading, *setprofile = NULL, *fn = NULL, *args = NULL, *r = NULL; /* new refs */
    struct ft_py_exc exc;

    if (threading_hooked) {
        return;
    }
    threading = ft_py_module("threading");
    if (threading == NULL) {
        return;
    }
    ft_py_exc_save(&exc);
    /* While threading is being imported, setprofile may not exist yet: try again later. */
    setprofile = ft_py.PyObject_GetAttrString(threading, "setprofile");
    fn = ft_py.PyCFunction_NewEx(&bootstrap_def, NULL, NULL);
    args = ft_py.PyTuple_New(1);
    if (setprofile != NULL && fn != NULL && args != NULL) {
        ft_py.Py_IncRef(fn);
        ft_py.PyTuple_SetItem(args, 0, fn); /* steals the extra reference */
        r = ft_py.PyObject_CallObject(setprofile, args);
    }
    if (r != NULL) {
        threading_hooked = 1;
        ft_py.Py_DecRef(r);
        ft_debug("threading.setprofile installed");
    }
    if (args != NULL) {
        ft_py.Py_DecRef(args);
    }
    if (fn != NULL) {
        ft_py.Py_DecRef(fn);
    }
    if (setprofile != NULL) {
        ft_py.Py_DecRef(setprofile);
    }
    ft_py.Py_DecRef(threading);
    ft_py.PyErr_Clear();
    ft_py_exc_restore(&exc);
}

static int
profile_install(void)
{
    if (ft_py.minor == 11) {
        frame_mode = FRAME_PY311;
    } else if (ft_py.minor >= 8 && ft_py.minor <= 10) {
        frame_mode = FRAME_PY38;
    }
    validate_left = frame_mode == FRAME_API ? 0 : 64;
    ft_py.PyEval_SetProfile(profile_cb, NULL);
    hook_threading();
    return 0;
}

const struct ft_engine ft_engine_profile = {
    .name = "profile",
    .install = profile_install,
    .thread_starting = hook_threading,
};

const struct ft_engine *
ft_engine_select(void)
{
    return &ft_engine_profile;
}
