/* engine_monitor.c - the sys.monitoring engine (PEP 669), Python 3.12+.
 *
 * Callbacks are builtin functions (METH_FASTCALL) registered under a tool id of our own,
 * for every thread of the interpreter at once. Code outside the scope answers DISABLE
 * at each of its locations, so after its first call it costs nothing more. Unwinds carry
 * their exception, so exceptions need no trace-function trick here.
 *
 * Frames: a callback gets the code object, not the frame. The frame executing it (for
 * arguments, and for the identity of a generator) is read from the thread state
 * (pylayout.h), checked against PyEval_GetFrame() on the first events; on a mismatch
 * PyEval_GetFrame() gives it. Arguments are read in place from its fast locals, never
 * through frame.f_locals.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "capture.h"
#include "codes.h"
#include "config.h"
#include "emit.h"
#include "engine.h"
#include "handoff.h"
#include "lib/clock.h"
#include "log.h"
#include "pyapi.h"
#include "pylayout.h"
#include "record.h"
#include "record_fast.h"
#include "units.h"
#include "tstate.h"

enum mon_event {
    E_START,
    E_RESUME,
    E_RETURN,
    E_YIELD,
    E_UNWIND,
    E_THROW,
    E_CALL,
    E_C_RETURN,
    E_C_RAISE,
    E_COUNT
};

static const char *const event_names[E_COUNT] = {
    "PY_START", "PY_RESUME", "PY_RETURN", "PY_YIELD", "PY_UNWIND",
    "PY_THROW", "CALL",      "C_RETURN",  "C_RAISE",
};

enum frame_mode { FRAME_API, FRAME_DIRECT };

static int tool = -1;
static PyObject *disable; /* sys.monitoring.DISABLE (a reference kept) */
static int frame_mode = FRAME_API;
static int validate_left;
/* Whether the callbacks may take the fast path (record_fast.h): the running frame and its
 * fast locals are read in place, checked, and the settings allow it. FAST_313 and
 * FAST_314: 3.13's or 3.14's layout, the thread state read from its thread-local
 * (pylayout.h's ts_tls), the time-stamp counter as the clock, the first extras index
 * ours (no other tool asked for one before) and co_extra checked at that version's offset
 * (chosen again when that check ends: ft_pylayout_changed): the callbacks read
 * everything at constant offsets and call nothing, so they save no registers; FAST_ANY:
 * through pylayout.h's switches, out of the callbacks' line. */
enum { FAST_OFF, FAST_ANY, FAST_313, FAST_314 };
static int fast_ok;

static void
choose_fast(void)
{
    const struct ft_pylayout *l = &ft_pylayout;
    int direct = l->ts_frame == 313 && l->ts_tls != 0 && l->int_tagged &&
                 ft_cfg.clock == FT_CLOCK_TSC && ft_code_extra_index == 0;

    fast_ok =
        frame_mode != FRAME_DIRECT || validate_left > 0 || !l->locals_ok || !ft_record_fast_on()
            ? FAST_OFF
        : direct && l->frames == FT_FRAMES_312 && l->code_extra == FT_CODE313_EXTRA ? FAST_313
        : direct && l->frames == FT_FRAMES_314 && l->code_extra == FT_CODE314_EXTRA ? FAST_314
                                                                                    : FAST_ANY;
}

/* ---- Frames ------------------------------------------------------------------------- */

/* Through the API: the frame object's interpreter frame, or, where that layout is not
 * known, the frame object itself (then only an identity: no locals are read from it). */
static char *
iframe_by_api(void)
{
    PyFrameObject *f = ft_py.PyEval_GetFrame(); /* borrowed */

    if (f == NULL) {
        return NULL;
    }
    return ft_pylayout.frames >= FT_FRAMES_311 ? ft_iframe_of(f) : (char *)f;
}

/* The interpreter frame running on this thread (the one the event is about). */
static inline char *
current_iframe(void)
{
    return frame_mode == FRAME_DIRECT ? ft_ts_iframe() : iframe_by_api();
}

/* The first events: the direct read must agree with the API, and the frame must be
 * running the code the event names. */
static void
validate(const PyObject *code)
{
    char *fast = current_iframe(), *slow = iframe_by_api();

    if (fast != slow || slow == NULL || ft_iframe_code(slow) != code) {
        ft_debug("frame layout check failed; using PyEval_GetFrame");
        frame_mode = FRAME_API;
        validate_left = 0;
        fast_ok = FAST_OFF;
        return;
    }
    if (--validate_left == 0) {
        choose_fast();
    }
}

/* The first n fast locals of iframe, or NULL. */
static inline PyObject **
locals_of_n(char *iframe, unsigned n, PyObject **tmp)
{
    return ft_iframe_locals(iframe, n, tmp);
}

/* The fast locals of iframe (the first and the parameters of ci), or NULL: then no
 * argument is captured. */
static inline PyObject **
locals_of(char *iframe, const struct ft_code_info *ci, PyObject **tmp)
{
    return ft_iframe_locals(iframe, ci->first + ci->nparams, tmp);
}

/* ---- Thread and code ----------------------------------------------------------------- */

/* sys.monitoring reports every thread, also those started before tracing or without
 * threading: a thread gets its state at its first event in scope. */
static inline struct ft_thread *
this_thread(void)
{
    struct ft_thread *t = ft_self;

    if (__builtin_expect(t == NULL, 0)) {
        char name[128];
        if (ft_tstate_detached()) {
            return NULL;
        }
        uint64_t thread = ft_py_thread_name(name, sizeof(name));
        t = ft_thread_register(name);
        ft_handoff_thread_started(t, thread);
    }
    /* FLOWTRACE_START=manual: nothing outside the thread's regions (region.h). The
     * callers then return None, never DISABLE: the code may run in a region later. */
    if (__builtin_expect(ft_cfg.manual, 0) && t != NULL && t->region == 0) {
        return NULL;
    }
    return t;
}

static struct ft_code_info *
first_sight(PyObject *code)
{
    struct ft_code_info *ci = ft_code_intern(code, NULL);

    if (ci->traced && validate_left > 0) {
        validate(code);
    }
    return ci;
}

static inline struct ft_code_info *
code_info(PyObject *code)
{
    struct ft_code_info *ci = ft_code_lookup(code);

    return __builtin_expect(ci != NULL, 1) ? ci : first_sight(code);
}

/* None is immortal from 3.12: a new reference to it needs no count. */
static PyObject *none; /* ft_py.None, at hand (install) */
#define RETURN_NONE return none

static PyObject *
disable_location(void)
{
    ft_py.Py_IncRef(disable);
    return disable;
}

/* ---- Callbacks (GIL held; args[0] is the code object) ------------------------------------ */

/* A call (PY_START: ret 0) or return (PY_RETURN: ret 1, retval) of a plain function
 * taking and giving small ints (or nothing), written by the fast path; 0 when it is not
 * one. v: FAST_313, FAST_314 (a constant: the frame and its fast locals at that version's
 * offsets) or FAST_ANY. ret is a constant too: a callback holds only its own event's path
 * (a return's with the call's inline saved four registers more). */
FT_FAST_INLINE int
fast_event(struct ft_thread *t, PyObject *code, int ret, PyObject *retval, int v)
{
    struct ft_fast_how how = {.refs_tagged = v == FAST_314,
                              .ints_tagged = v == FAST_ANY ? ft_pylayout.int_tagged : 1,
                              .clock = v == FAST_ANY ? ft_cfg.clock : FT_CLOCK_TSC,
                              .result_given = 1};
    struct ft_code_info *ci;
    const uintptr_t *refs = NULL;

    if (v == FAST_ANY) {
        ci = ft_code_lookup(code);
    } else {
        /* co_extra at the version's offset, our index 0: choose_fast chose v only so, and
         * runs again when code_extra changes. */
        ci = (struct ft_code_info *)ft_code_extra_get0(code, v == FAST_314 ? FT_CODE314_EXTRA
                                                                           : FT_CODE313_EXTRA);
    }
    if (ci == NULL || !ci->fast) {
        return 0;
    }
    if (ci->nparams > 0) {
        if (v == FAST_ANY) {
            refs = ft_iframe_refs(current_iframe(), &how.refs_tagged);
        } else {
            char *ts = ft_ts_at_tls(ft_pylayout.ts_tls);
            char *iframe = *(char **)(ts + FT_TS313_CURRENT_FRAME);
            if (iframe != NULL) {
                refs = (const uintptr_t *)(iframe +
                                           (v == FAST_314 ? FT_IF314_LOCALS : FT_IF312_LOCALS));
            }
        }
        if (refs == NULL) {
            return 0;
        }
    }
    return ret ? ft_record_fast_return(t, ci, retval, refs, how)
               : ft_record_fast_call(t, ci, refs, how);
}

/* Hot path: whether the fast path recorded this PY_START (ret 0) or PY_RETURN (ret 1,
 * retval) at the constant offsets of v (FAST_313, FAST_314). */
FT_FAST_INLINE int
fast_path(PyObject *code, int ret, PyObject *retval, int v)
{
    struct ft_thread *t = ft_self;

    return __builtin_expect(fast_ok == v, 1) && t != NULL && fast_event(t, code, ret, retval, v);
}

/* The fast path through pylayout.h's switches (FAST_ANY: 3.12, or a layout read without
 * the thread-local). */
static int
fast_path_any(PyObject *code, int ret, PyObject *retval)
{
    struct ft_thread *t = ft_self;

    return fast_ok == FAST_ANY && t != NULL && fast_event(t, code, ret, retval, FAST_ANY);
}

/* PY_START, when the fast path did not take it. */
static __attribute__((noinline)) PyObject *
start_general(PyObject *code)
{
    struct ft_code_info *ci;
    struct ft_thread *t;
    PyObject *tmp[FT_LOCALS_MAX], **locals;
    char *iframe;

    if (fast_path_any(code, 0, NULL)) {
        RETURN_NONE;
    }
    ci = code_info(code);
    if (!ci->traced) {
        if (__builtin_expect(ci->probe == FT_PROBE_SPAWN, 0) && (t = this_thread()) != NULL) {
            /* BaseEventLoop.create_task(self, coro, ...): the task nests here. */
            static const struct ft_code_info self_and_coro = {.nparams = 2};
            locals = locals_of(current_iframe(), &self_and_coro, tmp);
            if (locals != NULL && locals[1] != NULL) {
                ft_record_task(t, locals[1]);
            }
            RETURN_NONE;
        }
        if (__builtin_expect(ci->probe >= FT_PROBE_HANDOFF_SELF, 0)) {
            /* Work handed to another thread, or taken up here (handoff.h); a mark is
             * never needed again once seen. */
            if (ft_handoff_is_mark(ci->probe)) {
                return disable_location();
            }
            if ((t = this_thread()) != NULL) {
                locals = locals_of(current_iframe(), ci, tmp);
                ft_handoff_call(t, ci, locals, NULL);
            }
            RETURN_NONE;
        }
        if (__builtin_expect(ci->probe != 0, 0) && (t = this_thread()) != NULL) {
            /* A WSGI start_response or an ASGI send: the response's status. */
            locals = locals_of(current_iframe(), ci, tmp);
            ft_unit_probe(t, ci, locals);
            RETURN_NONE;
        }
        return disable_location();
    }
    if ((t = this_thread()) == NULL) {
        RETURN_NONE;
    }
    if (__builtin_expect(validate_left > 0, 0)) {
        validate(code);
    }
    if (!ci->is_gen && ((ci->nparams == 0 && !ci->has_self) || ft_cfg.skip_inputs) &&
        !ft_cfg.memory && !ft_cfg.flush_every_call && !ci->unit) {
        /* The common fast path: one record. */
        ft_record_call_alone(t, ci);
        RETURN_NONE;
    }
    iframe = current_iframe();
    locals = locals_of(iframe, ci, tmp);
    ft_record_enter(t, ci, ci->is_gen ? FT_REC_START : FT_REC_CALL, (uint64_t)(uintptr_t)iframe,
                    locals);
    RETURN_NONE;
}

static PyObject *
on_start(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    (void)nargs;
    return start_general(args[0]);
}

/* PY_START on 3.13 and 3.14 (chosen at installation): the fast path at that version's
 * offsets, inline. One function each: sharing one, both paid for the registers the other
 * needs. */
static PyObject *
on_start_313(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    (void)nargs;
    if (fast_path(args[0], 0, NULL, FAST_313)) {
        RETURN_NONE;
    }
    return start_general(args[0]);
}

static PyObject *
on_start_314(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    (void)nargs;
    if (fast_path(args[0], 0, NULL, FAST_314)) {
        RETURN_NONE;
    }
    return start_general(args[0]);
}

/* PY_RESUME (next/send) and PY_THROW (throw/close): a generator or coroutine goes on. */
static PyObject *
resume(PyObject *code, PyObject *thrown)
{
    struct ft_code_info *ci = code_info(code);
    struct ft_thread *t;

    if (!ci->traced || (t = this_thread()) == NULL) {
        if (thrown == NULL && !ci->traced) {
            return disable_location();
        }
        RETURN_NONE;
    }
    ft_record_enter(t, ci, FT_REC_RESUME, (uint64_t)(uintptr_t)current_iframe(), NULL);
    if (thrown != NULL) {
        /* Kept on the generator in case it ends by it (close(): GeneratorExit). */
        ft_record_exception(t, thrown, NULL);
    }
    RETURN_NONE;
}

static PyObject *
on_resume(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    (void)nargs;
    return resume(args[0], NULL);
}

static PyObject *
on_throw(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    return resume(args[0], nargs > 2 ? args[2] : ft_py.None);
}

/* PY_RETURN and PY_YIELD: args[2] is the value. */
static __attribute__((noinline)) PyObject *
leave(PyObject *const *args, unsigned kind)
{
    PyObject *code = args[0];
    struct ft_code_info *ci;
    struct ft_thread *t;
    PyObject *tmp[FT_LOCALS_MAX], **locals = NULL;

    if (kind == FT_REC_RETURN && fast_path_any(code, 1, args[2])) {
        RETURN_NONE;
    }
    ci = code_info(code);
    if (!ci->traced) {
        if (__builtin_expect(ft_handoff_wants_return(ci->probe), 0)) {
            if (kind == FT_REC_RETURN && (t = this_thread()) != NULL) {
                ft_handoff_return(t, ci, args[2], NULL);
            }
            RETURN_NONE;
        }
        return disable_location();
    }
    if ((t = this_thread()) == NULL) {
        RETURN_NONE;
    }
    if (kind == FT_REC_RETURN && ft_cfg.skip_outputs && (ci->nparams == 0 || ft_cfg.skip_inputs) &&
        !ft_cfg.memory && !ft_cfg.flush_every_call && !ci->unit) {
        ft_emit(t, ft_rec_word0(FT_REC_RETURN, ci->id), ft_clock_ticks(ft_cfg.clock));
        RETURN_NONE;
    }
    if (kind == FT_REC_RETURN && ((!ft_cfg.skip_inputs && ci->nparams > 0) || ci->unit)) {
        /* For arguments changed in place; a request's route (units.h). */
        locals = locals_of(current_iframe(), ci, tmp);
    }
    ft_record_leave(t, ci, kind, args[2], locals);
    RETURN_NONE;
}

static PyObject *
on_return(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    (void)nargs;
    return leave(args, FT_REC_RETURN);
}

/* PY_RETURN on 3.13 and 3.14, as on_start_313/314. */
static PyObject *
on_return_313(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    (void)nargs;
    if (fast_path(args[0], 1, args[2], FAST_313)) {
        RETURN_NONE;
    }
    return leave(args, FT_REC_RETURN);
}

static PyObject *
on_return_314(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    (void)nargs;
    if (fast_path(args[0], 1, args[2], FAST_314)) {
        RETURN_NONE;
    }
    return leave(args, FT_REC_RETURN);
}

static PyObject *
on_yield(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    (void)nargs;
    return leave(args, FT_REC_YIELD);
}

/* PY_UNWIND cannot be disabled (DISABLE would be an error): out-of-scope code costs a
 * lookup per unwinding frame. */
static PyObject *
on_unwind(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    struct ft_code_info *ci = code_info(args[0]);
    struct ft_thread *t;

    (void)self;
    if (ci->traced && (t = this_thread()) != NULL) {
        PyObject *tmp[FT_LOCALS_MAX], **locals = NULL;
        int64_t offset = 0;
        int line = 0;
        unsigned n = 0, need = ci->unit ? ci->first + ci->nparams : 0;
        /* args[1]: the offset of the instruction the exception left the frame at (the
         * line of cleanup code can be unknown: then the exception's traceback, whose
         * first entry is this frame's, says it). */
        if (nargs > 1 && ft_capture_small_int(args[1], &offset) && ft_py.PyCode_Addr2Line) {
            line = ft_py.PyCode_Addr2Line(args[0], (int)offset);
        }
        if (line <= 0 && nargs > 2) {
            line = ft_capture_tb_line(args[2]);
        }
        if (ft_cfg.locals) {
            n = ft_code_local_names(ci, args[0]);
        }
        if (n > 0 || need > 0) {
            /* Its locals; a unit's call also reads its parameters from them. */
            locals = locals_of_n(current_iframe(), n > need ? n : need, tmp);
        }
        ft_record_unwind(t, ci, nargs > 2 ? args[2] : NULL, line, locals, n);
    } else if (ci->probe == FT_PROBE_ADOPT_SELF && (t = this_thread()) != NULL) {
        ft_handoff_return(t, ci, NULL, NULL); /* the work is over, however it ended */
    }
    RETURN_NONE;
}

/* CALL, C_RETURN, C_RAISE (--c-calls): args[2] is the callable. Only builtins called
 * from code in scope are recorded; CALL is disabled at call sites out of scope. */
static PyObject *
c_event(PyObject *const *args, Py_ssize_t nargs, unsigned kind)
{
    struct ft_code_info *ci = code_info(args[0]);
    struct ft_thread *t;

    if (!ci->traced) {
        return kind == FT_REC_C_CALL ? disable_location() : ft_py.None;
    }
    if (nargs > 2 && (t = this_thread()) != NULL) {
        ft_record_c(t, kind, args[2]);
    }
    RETURN_NONE;
}

static PyObject *
on_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    return c_event(args, nargs, FT_REC_C_CALL);
}

static PyObject *
on_c_return(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    return c_event(args, nargs, FT_REC_C_RETURN);
}

static PyObject *
on_c_raise(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    return c_event(args, nargs, FT_REC_C_RAISE);
}

static PyMethodDef callbacks[E_COUNT] = {
    {"_flowtrace_py_start", (void *)on_start, METH_FASTCALL, NULL},
    {"_flowtrace_py_resume", (void *)on_resume, METH_FASTCALL, NULL},
    {"_flowtrace_py_return", (void *)on_return, METH_FASTCALL, NULL},
    {"_flowtrace_py_yield", (void *)on_yield, METH_FASTCALL, NULL},
    {"_flowtrace_py_unwind", (void *)on_unwind, METH_FASTCALL, NULL},
    {"_flowtrace_py_throw", (void *)on_throw, METH_FASTCALL, NULL},
    {"_flowtrace_call", (void *)on_call, METH_FASTCALL, NULL},
    {"_flowtrace_c_return", (void *)on_c_return, METH_FASTCALL, NULL},
    {"_flowtrace_c_raise", (void *)on_c_raise, METH_FASTCALL, NULL},
};

/* ---- Installation ---------------------------------------------------------------------- */

/* monitoring.name(*ints, extra): a new reference, or NULL with the error cleared. */
static PyObject *
call(PyObject *monitoring, const char *name, long a, long b, PyObject *extra)
{
    PyObject *fn = ft_py.PyObject_GetAttrString(monitoring, name); /* new refs */
    PyObject *args = NULL, *r = NULL;
    int n = b >= 0 ? 2 : 1;

    if (fn == NULL || (args = ft_py.PyTuple_New(n + (extra != NULL))) == NULL) {
        goto out;
    }
    ft_py.PyTuple_SetItem(args, 0, ft_py.PyLong_FromLong(a));
    if (b >= 0) {
        ft_py.PyTuple_SetItem(args, 1, ft_py.PyLong_FromLong(b));
    }
    if (extra != NULL) {
        ft_py.Py_IncRef(extra);
        ft_py.PyTuple_SetItem(args, n, extra); /* steals the new reference */
    }
    r = ft_py.PyObject_CallObject(fn, args);
out:
    if (r == NULL) {
        ft_py.PyErr_Clear();
    }
    if (args != NULL) {
        ft_py.Py_DecRef(args);
    }
    if (fn != NULL) {
        ft_py.Py_DecRef(fn);
    }
    return r;
}

static PyObject *
monitoring_ns(void)
{
    PyObject *m = ft_py.PySys_GetObject("monitoring"); /* borrowed */

    if (m == NULL) {
        ft_py.PyErr_Clear();
    }
    return m;
}

/* A tool id nobody uses. Only 3 and 4: the others are promised to debuggers (0),
 * coverage tools (1), profilers such as cProfile (2) and optimizers (5), which would fail
 * to start if we held theirs. Returns the id or -1. */
static int
free_tool_id(PyObject *monitoring)
{
    static const int ids[] = {4, 3};

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        PyObject *r = call(monitoring, "get_tool", ids[i], -1, NULL);
        int free_ = r == ft_py.None;
        if (r != NULL) {
            ft_py.Py_DecRef(r);
        }
        if (free_) {
            return ids[i];
        }
    }
    return -1;
}

int
ft_engine_monitor_usable(void)
{
    PyObject *m;

    if (ft_py.minor < 12 || ft_py.PyLong_FromLong == NULL || ft_py.PyThreadState_Get == NULL ||
        ft_py.PyEval_GetFrame == NULL || (m = monitoring_ns()) == NULL) {
        return 0;
    }
    return free_tool_id(m) >= 0;
}

static void
choose_frame_mode(void)
{
    frame_mode = ft_pylayout.ts_frame != 0 ? FRAME_DIRECT : FRAME_API;
    validate_left = frame_mode != FRAME_API ? 64 : 0;
}

static long ev[E_COUNT]; /* the events' numbers, once installed */
static int nev;          /* how many of them have a callback */

static int
monitor_install(void)
{
    PyObject *monitoring = monitoring_ns(), *events, *r, *fn;
    long mask = 0;
    int n = ft_cfg.c_calls ? E_COUNT : E_CALL;

    none = ft_py.None;
    if (monitoring == NULL || (tool = free_tool_id(monitoring)) < 0) {
        return -EBUSY;
    }
    events = ft_py.PyObject_GetAttrString(monitoring, "events");
    disable = ft_py.PyObject_GetAttrString(monitoring, "DISABLE");
    if (events == NULL || disable == NULL) {
        ft_py.PyErr_Clear();
        return -ENOENT;
    }
    for (int i = 0; i < E_COUNT; i++) {
        ev[i] = ft_py_attr_long(events, event_names[i], -1);
    }
    ft_py.Py_DecRef(events);
    fn = ft_py.PyUnicode_FromString("flowtrace");
    r = fn != NULL ? call(monitoring, "use_tool_id", tool, -1, fn) : NULL;
    if (fn != NULL) {
        ft_py.Py_DecRef(fn);
    }
    if (r == NULL) {
        return -EBUSY;
    }
    ft_py.Py_DecRef(r);
    choose_frame_mode();
    ft_record_init();
    ft_pylayout_changed = choose_fast;
    choose_fast();
    /* The fast path's callbacks for the layouts it reads at constant offsets. */
    callbacks[E_START].ml_meth = (void *)(ft_pylayout.frames == FT_FRAMES_312   ? on_start_313
                                          : ft_pylayout.frames == FT_FRAMES_314 ? on_start_314
                                                                                : on_start);
    callbacks[E_RETURN].ml_meth = (void *)(ft_pylayout.frames == FT_FRAMES_312   ? on_return_313
                                           : ft_pylayout.frames == FT_FRAMES_314 ? on_return_314
                                                                                 : on_return);
    for (int i = 0; i < n; i++) {
        if (ev[i] <= 0) {
            return -ENOENT;
        }
        fn = ft_py.PyCFunction_NewEx(&callbacks[i], NULL, NULL);
        r = fn != NULL ? call(monitoring, "register_callback", tool, ev[i], fn) : NULL;
        if (fn != NULL) {
            ft_py.Py_DecRef(fn);
        }
        if (r == NULL) {
            return -ENOENT;
        }
        ft_py.Py_DecRef(r);
        mask |= ev[i];
        nev = i + 1;
    }
    r = call(monitoring, "set_events", tool, mask, NULL);
    if (r == NULL) {
        return -ENOENT;
    }
    ft_py.Py_DecRef(r);
    ft_debug("sys.monitoring tool id %d, frames %s", tool,
             frame_mode == FRAME_API ? "through PyEval_GetFrame" : "read directly");
    return 0;
}

static void
monitor_thread_starting(void)
{
    /* Every thread is monitored already. */
}

static int
monitor_install_running(void)
{
    return 0; /* events are the interpreter's: every thread is monitored already */
}

/* No events, no callbacks, the tool id given back: as if FlowTrace had never used it. */
static void
monitor_uninstall(void)
{
    PyObject *monitoring = monitoring_ns(), *r;

    if (monitoring == NULL || tool < 0) {
        return;
    }
    r = call(monitoring, "set_events", tool, 0, NULL);
    if (r != NULL) {
        ft_py.Py_DecRef(r);
    }
    for (int i = 0; i < nev; i++) {
        r = call(monitoring, "register_callback", tool, ev[i], ft_py.None);
        if (r != NULL) {
            ft_py.Py_DecRef(r);
        }
    }
    r = call(monitoring, "free_tool_id", tool, -1, NULL);
    if (r != NULL) {
        ft_py.Py_DecRef(r);
    }
    tool = -1;
    nev = 0;
    ft_pylayout_changed = NULL;
}

const struct ft_engine ft_engine_monitor = {
    .name = "monitoring",
    .install = monitor_install,
    .thread_starting = monitor_thread_starting,
    .install_running = monitor_install_running,
    .uninstall = monitor_uninstall,
};
