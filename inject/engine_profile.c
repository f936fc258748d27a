/* engine_profile.c - the legacy engine: a native C profile function on every thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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
#include "session.h"
#include "standin.h"
#include "units.h"
#include "tstate.h"

/* Frames are read in place at the running version's offsets (pylayout.h: the API calls
 * cost ~10% of the empty-hook floor on a call-heavy program), and checked against the C
 * API on the first events. */
enum frame_mode { FRAME_API, FRAME_DIRECT };

static int frame_mode = FRAME_API;
static int validate_left;
static int locals_direct; /* fast locals read in place (pylayout.h) */
/* Whether profile_cb may take the fast path (record_fast.h): frames and fast locals are
 * read in place, checked, and the settings allow it; FAST_311 with 3.11's layout, the
 * time-stamp counter as the clock, the first extras index ours and co_extra checked at
 * 3.11's offset (chosen again when that ends: ft_pylayout_changed), which the fast path
 * then reads at constant offsets. */
enum { FAST_OFF, FAST_ANY, FAST_311 };
static int fast_ok;

static void
choose_fast(void)
{
    int direct = ft_pylayout.frames == FT_FRAMES_311 && ft_cfg.clock == FT_CLOCK_TSC &&
                 ft_code_extra_index == 0 && ft_pylayout.code_extra == FT_CODE311_EXTRA;

    fast_ok = validate_left > 0 || !locals_direct || !ft_record_fast_on() ? FAST_OFF
              : direct                                                    ? FAST_311
                                                                          : FAST_ANY;
}
static int threading_hooked;
static int late_threads; /* installed into running threads: they register on first event */

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

/* Hot path. */
static inline PyObject *
code_of(PyFrameObject *f)
{
    return frame_mode == FRAME_DIRECT ? ft_frame_code(f) : code_by_api(f);
}

static PyObject *
validate(PyFrameObject *f, PyObject *fast)
{
    PyObject *slow = code_by_api(f);

    if (slow != fast) {
        ft_debug("frame layout check failed; using the C API for frames");
        frame_mode = FRAME_API;
        locals_direct = 0;
        validate_left = 0;
        fast_ok = FAST_OFF;
        return slow;
    }
    if (--validate_left == 0) {
        choose_fast();
    }
    return fast;
}

/* The fast locals of the frame (the first and the parameters of ci), or NULL: then no
 * argument is captured. */
static inline PyObject **
locals_of(PyFrameObject *f, const struct ft_code_info *ci, PyObject **tmp)
{
    return locals_direct ? ft_frame_locals(f, ci->first + ci->nparams, tmp) : NULL;
}

/* A frame left by an exception: UNWIND, with the line it was at and its locals (read in
 * place, never through f_locals); a unit's call also reads its parameters from them. */
static void
unwind(struct ft_thread *t, struct ft_code_info *ci, PyFrameObject *frame)
{
    PyObject *tmp[FT_LOCALS_MAX], **locals = NULL;
    int line = ft_py.PyFrame_GetLineNumber != NULL ? ft_py.PyFrame_GetLineNumber(frame) : 0;
    unsigned n = 0, need = ci->unit ? ci->first + ci->nparams : 0;

    if (ft_cfg.locals && locals_direct) {
        n = ft_code_local_names(ci, code_of(frame));
    }
    if (locals_direct && (n > 0 || need > 0)) {
        locals = ft_frame_locals(frame, n > need ? n : need, tmp);
    }
    /* Followed for the lines the traceback says (record.c); C_RAISE records unwind too. */
    if (t->nunwound < FT_UNWOUND_MAX && !ft_cfg.c_calls) {
        t->unwound[t->nunwound++] = frame;
    } else {
        t->nunwound = FT_UNWOUND_MAX + 1;
    }
    ft_record_unwind(t, ci, NULL, line, locals, n);
}

/* ---- Exceptions on 3.8-3.11 ---------------------------------------------------------
 * A profile function sees a frame left by an exception as a return with a NULL arg, and
 * nothing more. The frame that receives the exception next reports it to a *trace*
 * function (PyTrace_EXCEPTION with (type, value, traceback)). Keeping a trace function
 * installed costs ~30% of the floor (3.11 then tracks lines on every instruction), so it
 * is armed only when a traced frame unwinds, and disarmed at its first event. */

static int settrace_seen;   /* a trace function was set by someone else (GIL held) */
static int setprofile_ours; /* our own PyEval_SetProfile is running */
/* Our sys.setprofile (below) is setting the program's function: it looks for itself. */
static __thread int setprofile_direct __attribute__((tls_model("initial-exec")));
static int settrace_ours; /* our own PyEval_SetTrace is running */

void
ft_engine_trace_set(void)
{
    if (!settrace_ours) {
        settrace_seen = 1;
    }
}

static void
set_trace(Py_tracefunc f)
{
    settrace_ours = 1;
    ft_py.PyEval_SetTrace(f, NULL);
    settrace_ours = 0;
}

/* Our profile function (or none) on this thread, not seen as the program's own. */
static void
set_profile(Py_tracefunc f, PyObject *obj)
{
    setprofile_ours++;
    ft_py.PyEval_SetProfile(f, obj);
    setprofile_ours--;
}

static void check_profile(struct ft_thread *t);

static void
disarm(struct ft_thread *t)
{
    t->exc_armed = 0;
    t->nunwound = 0;
    if (!t->profile_check) {
        set_trace(NULL);
    }
}

static int
exc_trace_cb(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    struct ft_thread *t = ft_self;

    (void)obj;
    (void)frame;
    if (t == NULL || (!t->exc_armed && !t->profile_check)) {
        set_trace(NULL); /* ours, left over from before a stop */
        return 0;
    }
    if (t->profile_check) {
        /* The first event after the program set a profile function (below). */
        t->profile_check = 0;
        check_profile(t);
        if (!t->exc_armed) {
            set_trace(NULL);
            return 0;
        }
    }
    if (what == PyTrace_EXCEPTION && arg != NULL) {
        ft_record_exception(t, ft_py.PyTuple_GetItem(arg, 1), ft_py.PyTuple_GetItem(arg, 2));
        ft_py.PyErr_Clear();
    }
    /* Whatever it was (an exception event, or other code running first), we are done. */
    disarm(t);
    return 0;
}

/* Another tracer (a debugger, coverage) owns the trace function: then we leave it be.
 * Only asked (a Python call, ~600 instructions per exception) once someone else has set
 * a trace function, which the audit hook tells. */
static int
foreign_tracer(void)
{
    PyObject *gettrace, *r; /* borrowed, new ref */
    int foreign;

    if (!settrace_seen) {
        return 0;
    }
    gettrace = ft_py.PySys_GetObject("gettrace");

    if (gettrace == NULL) {
        ft_py.PyErr_Clear();
        return 1;
    }
    r = ft_py.PyObject_CallObject(gettrace, NULL);
    foreign = r == NULL || r != ft_py.None;
    if (r != NULL) {
        ft_py.Py_DecRef(r);
    }
    ft_py.PyErr_Clear();
    return foreign;
}

static void
arm(struct ft_thread *t)
{
    if (!ft_cfg.exceptions || ft_py.PyEval_SetTrace == NULL || t->exc_armed) {
        return;
    }
    if (!foreign_tracer()) {
        t->exc_armed = 1;
        if (!t->profile_check) {
            set_trace(exc_trace_cb);
        }
    }
}

/* ---- The profile function ----------------------------------------------------------- */

static void hook_threading(void);

/* A code object seen for the first time. Also the moment to notice that the program has
 * imported threading: 3.11 has no audit event for thread starts, and Thread.start()'s
 * code is always seen before the first thread starts. */
static struct ft_code_info *
first_sight(PyObject *code, PyFrameObject *frame)
{
    if (!threading_hooked) {
        hook_threading();
    }
    return ft_code_intern(code, frame);
}

/* 3.11 generators and coroutines: at a call event the frame stands at the RESUME being
 * executed (a first start), or at the YIELD_VALUE it was suspended at when resumed by
 * throw(); at a return event, at the instruction that left it: YIELD_VALUE suspends,
 * RETURN_VALUE ends (pylayout.h). */
static void
on_c_event(struct ft_thread *t, PyFrameObject *frame, int what, PyObject *arg)
{
    struct ft_code_info *ci = ft_code_lookup(code_of(frame));

    /* Only builtins called from traced code. */
    if (ci == NULL || !ci->traced) {
        return;
    }
    ft_record_c(t,
                what == PyTrace_C_CALL     ? FT_REC_C_CALL
                : what == PyTrace_C_RETURN ? FT_REC_C_RETURN
                                           : FT_REC_C_RAISE,
                arg);
}

static void
on_generator(struct ft_thread *t, struct ft_code_info *ci, PyFrameObject *frame, int what,
             PyObject *arg)
{
    uint64_t ident = ft_frame_ident(frame);
    PyObject *tmp[FT_LOCALS_MAX];

    if (what == PyTrace_CALL) {
        ft_record_enter(t, ci, ft_gen_started(frame) ? FT_REC_START : FT_REC_RESUME, ident,
                        locals_of(frame, ci, tmp));
        if (ft_gen_suspended(frame)) {
            /* Resumed by throw() or close(): the frame reports the exception to a trace
             * function first, and if it ends by it, often no other frame will (close()
             * swallows GeneratorExit). */
            arm(t);
        }
    } else if (arg == NULL) {
        unwind(t, ci, frame);
        arm(t);
    } else {
        ft_record_leave(t, ci, ft_gen_suspended(frame) ? FT_REC_YIELD : FT_REC_RETURN, arg,
                        locals_of(frame, ci, tmp));
    }
}

/* create_task(self, coro, ...): the task about to be created nests under this call; a
 * response's status (units.h); work handed to another thread (handoff.h). what and arg
 * are the profile event's. */
static void
probe(struct ft_thread *t, const struct ft_code_info *ci, PyFrameObject *frame, int what,
      PyObject *arg)
{
    static const struct ft_code_info self_and_coro = {.nparams = 2};
    PyObject *tmp[FT_LOCALS_MAX], **locals;

    if (ci->probe >= FT_PROBE_HANDOFF_SELF) {
        if (what == PyTrace_CALL) {
            ft_handoff_call(t, ci, locals_of(frame, ci, tmp), frame);
        } else if (ft_handoff_wants_return(ci->probe)) {
            ft_handoff_return(t, ci, arg, frame);
        }
        return;
    }
    if (what != PyTrace_CALL) {
        return;
    }
    locals = locals_of(frame, ci->probe == FT_PROBE_SPAWN ? &self_and_coro : ci, tmp);
    if (ci->probe == FT_PROBE_SPAWN && locals != NULL && locals[1] != NULL) {
        ft_record_task(t, locals[1]);
    } else if (ci->probe != FT_PROBE_SPAWN) {
        ft_unit_probe(t, ci, locals);
    }
}

/* A thread that was running before recording started in a running interpreter
 * (control.h), on its first event. */
static struct ft_thread *
late_thread(void)
{
    char name[128];

    if (!late_threads || ft_tstate_detached()) {
        return NULL;
    }
    uint64_t thread = ft_py_thread_name(name, sizeof(name));
    struct ft_thread *t = ft_thread_register(name);
    ft_handoff_thread_started(t, thread);
    return t;
}

/* Every event the fast path does not take (below). It takes profile_cb's own arguments,
 * obj unused, so that profile_cb's tail calls pass them on in the registers they came in;
 * noipa: GCC would drop obj (IPA-SRA) and profile_cb would move the others on every
 * event. */
static __attribute__((noipa)) int
profile_general(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj;
    struct ft_thread *t = ft_self;
    struct ft_code_info *ci;
    PyObject *code, *tmp[FT_LOCALS_MAX];

    if (__builtin_expect(t == NULL, 0) && (t = late_thread()) == NULL) {
        return 0;
    }
    /* FLOWTRACE_START=manual: nothing outside the thread's regions (region.h). */
    if (__builtin_expect(ft_cfg.manual, 0) && t->region == 0) {
        return 0;
    }
    if (__builtin_expect(t->exc_armed, 0)) {
        disarm(t); /* the exception never reached a Python frame (a builtin took it) */
    }
    if (what != PyTrace_CALL && what != PyTrace_RETURN) {
        if (ft_cfg.c_calls && what >= PyTrace_C_CALL) {
            on_c_event(t, frame, what, arg);
        }
        return 0;
    }
    code = code_of(frame);
    if (__builtin_expect(validate_left > 0, 0)) {
        code = validate(frame, code);
    }
    if (__builtin_expect(code == NULL, 0)) {
        return 0;
    }
    ci = ft_code_lookup(code);
    if (__builtin_expect(ci == NULL, 0)) {
        ci = first_sight(code, frame);
    }
    if (!ci->traced) {
        if (__builtin_expect(ci->probe != 0, 0)) {
            probe(t, ci, frame, what, arg);
        }
        return 0;
    }
    if (ci->is_gen && frame_mode == FRAME_DIRECT && ft_pylayout.gen_state) {
        on_generator(t, ci, frame, what, arg);
    } else if (what == PyTrace_CALL) {
        if (((ci->nparams == 0 && !ci->has_self) || ft_cfg.skip_inputs) && !ci->unit) {
            /* The common fast path: one record. */
            if (!ft_cfg.memory && !ft_cfg.flush_every_call) {
                ft_record_call_alone(t, ci);
                return 0;
            }
        }
        ft_record_enter(t, ci, FT_REC_CALL, 0, locals_of(frame, ci, tmp));
    } else if (arg == NULL) {
        /* Left by an exception: its details come from the frame that receives it. */
        unwind(t, ci, frame);
        arm(t);
    } else {
        if (ft_cfg.skip_outputs && (ci->nparams == 0 || ft_cfg.skip_inputs) && !ft_cfg.memory &&
            !ft_cfg.flush_every_call && !ci->unit) {
            ft_emit(t, ft_rec_word0(FT_REC_RETURN, ci->id), ft_clock_ticks(ft_cfg.clock));
            return 0;
        }
        ft_record_leave(t, ci, FT_REC_RETURN, arg, locals_of(frame, ci, tmp));
    }
    return 0;
}

/* A call or return of ci (ci->fast), a plain function taking and giving small ints (or
 * nothing), written by the fast path (record_fast.h); 0 when it cannot be. v311: 3.11's
 * layout, a constant. */
FT_FAST_INLINE int
fast_event(struct ft_thread *t, PyFrameObject *frame, const struct ft_code_info *ci, int what,
           PyObject *arg, int v311)
{
    const uintptr_t *refs;
    struct ft_fast_how how;
    int tagged = 0;

    refs = v311 ? (const uintptr_t *)(ft_iframe_of(frame) + FT_IF311_LOCALS)
                : ft_frame_refs(frame, &tagged);
    if (!v311 && ci->nparams > 0 && refs == NULL) {
        return 0;
    }
    how.refs_tagged = v311 ? 0 : tagged;
    how.ints_tagged = v311 ? 0 : ft_pylayout.int_tagged;
    how.clock = v311 ? FT_CLOCK_TSC : ft_cfg.clock; /* FAST_311: the counter (choose_fast) */
    how.result_given = 1; /* profile_cb passes only returns with a value */
    if (what == PyTrace_CALL) {
        return ft_record_fast_call(t, ci, refs, how);
    }
    return ft_record_fast_return(t, ci, arg, refs, how);
}

/* ci->fast: the fast path's records, or the general path when they cannot be written.
 * Out of profile_cb's line, so that the registers the records need are saved only for
 * these calls, not for every event profile_cb answers itself; one function per layout,
 * and for 3.11 one per event (a call's, a return's), each holding only its own path and
 * calling nothing but the general path (a tail call, with the event's constants: obj and
 * what need no register), so that the return's saves no register and the call's one.
 * profile_cb's arguments first, as they came (noipa: see profile_general), then t, ci. */
static __attribute__((noipa)) int
fast_call_or_general_311(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg,
                         struct ft_thread *t, const struct ft_code_info *ci)
{
    (void)obj;
    (void)what; /* PyTrace_CALL */
    if (fast_event(t, frame, ci, PyTrace_CALL, arg, 1)) {
        return 0;
    }
    return profile_general(NULL, frame, PyTrace_CALL, arg);
}

static __attribute__((noipa)) int
fast_return_or_general_311(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg,
                           struct ft_thread *t, const struct ft_code_info *ci)
{
    (void)obj;
    (void)what; /* PyTrace_RETURN */
    if (fast_event(t, frame, ci, PyTrace_RETURN, arg, 1)) {
        return 0;
    }
    return profile_general(NULL, frame, PyTrace_RETURN, arg);
}

static __attribute__((noipa)) int
fast_or_general_any(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg,
                    struct ft_thread *t, const struct ft_code_info *ci)
{
    if (fast_event(t, frame, ci, what, arg, 0)) {
        return 0;
    }
    return profile_general(obj, frame, what, arg);
}

/* The code information of frame's code read in place, or NULL (not seen yet, or co_extra
 * not read in place: the general path asks). */
FT_FAST_INLINE const struct ft_code_info *
code_in_place(PyFrameObject *frame)
{
    if (fast_ok == FAST_311) {
        /* co_extra at 3.11's offset, our index 0 (every extras block has it): choose_fast
         * chose FAST_311 only so, and runs again when code_extra changes. */
        return (const struct ft_code_info *)ft_code_extra_get0(
            *(PyObject **)(ft_iframe_of(frame) + FT_IF311_CODE), FT_CODE311_EXTRA);
    }
    if (__builtin_expect(ft_pylayout.code_extra == 0, 0)) {
        return NULL;
    }
    return (const struct ft_code_info *)ft_code_extra_get(ft_frame_code(frame),
                                                          ft_code_extra_index);
}

/* The profile function. Calls and returns of code out of the scope, and builtins' C
 * events, are answered here: nothing to record, and no register to save (every call
 * from here is a tail call). */
static int
profile_cb(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    struct ft_thread *t = ft_self;
    const struct ft_code_info *ci;

    if (__builtin_expect(fast_ok == FAST_OFF, 0) || t == NULL || t->exc_armed) {
        return profile_general(obj, frame, what, arg);
    }
    if (what != PyTrace_CALL && (what != PyTrace_RETURN || arg == NULL)) {
        /* A builtin's call or return is not recorded. */
        return what >= PyTrace_C_CALL && !ft_cfg.c_calls ? 0
                                                         : profile_general(obj, frame, what, arg);
    }
    ci = code_in_place(frame);
    if (ci == NULL) {
        return profile_general(obj, frame, what, arg);
    }
    if (ci->fast) {
        if (fast_ok != FAST_311) {
            return fast_or_general_any(obj, frame, what, arg, t, ci);
        }
        return what == PyTrace_CALL ? fast_call_or_general_311(obj, frame, what, arg, t, ci)
                                    : fast_return_or_general_311(obj, frame, what, arg, t, ci);
    }
    if (!ci->traced && ci->probe == 0) {
        return 0; /* out of scope: nothing to record */
    }
    return profile_general(obj, frame, what, arg);
}

/* ---- A profiler of the program's own (3.11) ---------------------------------------------
 * A thread has one profile function: a program that calls sys.setprofile (cProfile,
 * yappi, pyinstrument, coverage tools), or starts threads with threading.setprofile,
 * replaces FlowTrace's. The audit hook tells when anyone sets one ("sys.setprofile",
 * raised in the thread, before it is set); FlowTrace then arms its trace function on that
 * thread (as it does for an exception), whose first event comes right after the setting,
 * and looks at what is set now (pylayout.h, ts_profile): another's function is chained
 * behind ours (FlowTrace's function first, then theirs with their object, which stays the
 * thread's profile object, so sys.getprofile() answers as before); none at all (the
 * other profiler stopped) gets ours back. Only when that cannot be done (a tracer of the
 * program's owns the trace function, an unchecked layout) does FlowTrace say, once per
 * thread, that it records no more of that thread's calls. */

static int installed;                    /* the engine is installed (GIL held) */
static PyObject *bootstrap_fn;           /* threading's hook for new threads (below), held */
static struct ft_standin sys_setprofile; /* our sys.setprofile (below) */

static int
chain_cb(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    struct ft_thread *t = ft_self;
    Py_tracefunc f = t != NULL ? t->their_profile : NULL;

    profile_cb(NULL, frame, what, arg);
    if (__builtin_expect(t != NULL && t->profile_skip, 0)) {
        /* Right after sys.setprofile chained theirs: the interpreter now reports that
         * call's return, because ours was set when it began; untraced, none was. */
        t->profile_skip = 0;
        if (what == PyTrace_C_RETURN && arg == sys_setprofile.ours) {
            return 0;
        }
    }
    return f != NULL ? f(obj, frame, what, arg) : 0;
}

/* Right after the program set a profile function on t's thread: what is set now? */
static void
check_profile(struct ft_thread *t)
{
    void *ts = ft_py.PyThreadState_Get();
    Py_tracefunc f = ft_ts_profilefunc(ts);
    PyObject *obj; /* borrowed from the thread state */

    if (!installed || f == profile_cb || f == chain_cb) {
        return;
    }
    obj = ft_ts_profileobj(ts);
    if (f != NULL && obj != NULL && obj == bootstrap_fn) {
        return; /* threading's hook for FlowTrace: it puts ours in its place */
    }
    if (f == NULL) {
        /* The program's profiler stopped: ours again, alone. */
        t->their_profile = NULL;
        set_profile(profile_cb, NULL);
        ft_debug("thread %s: the program's profile function was removed", t->name);
        return;
    }
    t->their_profile = f;
    /* PyEval_SetProfile drops the old object before it takes the new one (3.11): the
     * same object must be held across, or the thread's only reference is dropped. */
    ft_py.Py_IncRef(obj);
    set_profile(chain_cb, obj);
    ft_py.Py_DecRef(obj);
    ft_debug("thread %s: the program's profile function is chained after FlowTrace's", t->name);
}

/* The calling thread, registered if it started without our bootstrap: a thread started
 * with threading.setprofile(the program's) is recorded from the moment it sets that. */
static struct ft_thread *
this_thread(void)
{
    char name[128];
    uint64_t thread;
    struct ft_thread *t;

    if (ft_self != NULL) {
        return ft_self;
    }
    thread = ft_py_thread_name(name, sizeof(name));
    t = ft_thread_register(name);
    ft_handoff_thread_started(t, thread);
    return t;
}

void
ft_engine_profile_set(void)
{
    struct ft_thread *t;

    if (setprofile_ours || setprofile_direct || !installed || ft_tstate_detached() ||
        (t = this_thread()) == NULL) {
        return;
    }
    if (t->profile_lost || t->profile_check) {
        return;
    }
    if (ft_pylayout.ts_profile && ft_py.PyEval_SetTrace != NULL && !foreign_tracer()) {
        t->profile_check = 1;
        if (!t->exc_armed) {
            set_trace(exc_trace_cb);
        }
        return;
    }
    t->profile_lost = 1;
    char line[300];
    snprintf(line, sizeof(line),
             "the program set a profile function of its own (sys.setprofile: a profiler?) "
             "in thread %s; FlowTrace records no more of that thread's calls",
             t->name);
    ft_warn("%s", line);
    ft_session_notice(t->idx, line); /* and the run says so */
}

/* sys.setprofile, stood in for while the engine is installed (standin.h): the
 * interpreter's does the setting, then the program's function is chained at once, and the
 * c_return of this very call, which the interpreter reports to the function set now
 * because ours was set when the call began, is not passed on (untraced there is none: the
 * stdlib's profile module fails an assertion on it). Only on 3.11 (ts_profile); elsewhere
 * it only keeps threading's hook for FlowTrace from being taken for the program's. C
 * profilers (cProfile, yappi) set theirs with PyEval_SetProfile: the audit hook's way. */
static PyObject *our_setprofile(PyObject *self, PyObject *func);

static struct ft_standin sys_setprofile = {
    .module = "sys",
    .bound = 1,
    .def = {"setprofile", (void *)our_setprofile, METH_O, NULL},
};

static PyObject *
our_setprofile(PyObject *self, PyObject *func)
{
    void *ts = ft_py.PyThreadState_Get();
    int chain = ft_pylayout.ts_profile && func != bootstrap_fn && installed;
    Py_tracefunc before = chain ? ft_ts_profilefunc(ts) : NULL;
    /* Registered first: naming a thread runs Python code, not theirs to see. */
    struct ft_thread *t = chain && !ft_tstate_detached() ? this_thread() : NULL;
    PyObject *r;

    (void)self;
    setprofile_direct = func == bootstrap_fn || ft_pylayout.ts_profile;
    r = ft_standin_call(&sys_setprofile, func);
    setprofile_direct = 0;
    if (r != NULL && t != NULL) {
        t->profile_lost = 0;
        check_profile(t);
        t->profile_skip = before == profile_cb && ft_ts_profilefunc(ts) == chain_cb;
    }
    return r;
}

/* ---- Threads ------------------------------------------------------------------------- */

/* Given to threading.setprofile(): runs once in each new thread, on its first event,
 * through the Python-level profile trampoline. It registers the thread, replaces itself
 * with the native profile function, and records the event if it was a call. */
static PyObject *
bootstrap(PyObject *self, PyObject *args)
{
    PyObject *frame, *event; /* borrowed */
    struct ft_py_exc exc;
    const char *ev;

    (void)self;
    ft_py_exc_save(&exc);
    if (ft_self == NULL && !ft_tstate_detached()) {
        char name[128];
        uint64_t thread = ft_py_thread_name(name, sizeof(name));
        ft_handoff_thread_started(ft_thread_register(name), thread);
    }
    set_profile(profile_cb, NULL);
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

/* threading.setprofile, stood in for once threading is hooked: the program's
 * threading.setprofile(None) (yappi.stop(), a profiler's stop) would take our hook away
 * too, and the threads started from then on would go unrecorded, silently (3.11 has no
 * audit event for thread starts): ours is put back. */
static PyObject *our_threading_setprofile(PyObject *self, PyObject *func);

static struct ft_standin threading_setprofile_standin = {
    .module = "threading",
    .signature = "(func)",
    .def = {"setprofile", (void *)our_threading_setprofile, METH_O, NULL},
};

static PyObject *
our_threading_setprofile(PyObject *self, PyObject *func)
{
    PyObject *r = ft_standin_call(&threading_setprofile_standin, func);

    (void)self;
    if (r != NULL && func == ft_py.None && threading_hooked && bootstrap_fn != NULL) {
        ft_py.Py_DecRef(r);
        ft_debug("threading.setprofile(None) by the program: ours put back");
        r = ft_standin_call(&threading_setprofile_standin, bootstrap_fn);
    }
    return r;
}

/* threading.getprofile (3.10+), stood in for with threading.setprofile: our hook is not
 * the program's to see (None, as untraced). */
static PyObject *our_threading_getprofile(PyObject *self, PyObject *unused);

static struct ft_standin threading_getprofile_standin = {
    .module = "threading",
    .signature = "()",
    .def = {"getprofile", (void *)our_threading_getprofile, METH_NOARGS, NULL},
};

static PyObject *
our_threading_getprofile(PyObject *self, PyObject *unused)
{
    PyObject *r = ft_standin_call(&threading_getprofile_standin, NULL);

    (void)self;
    (void)unused;
    if (r != NULL && r == bootstrap_fn) {
        ft_py.Py_DecRef(r);
        ft_py.Py_IncRef(ft_py.None);
        r = ft_py.None;
    }
    return r;
}

/* threading.setprofile(fn) (a new reference, or None). Returns 0 or -1 (threading not
 * imported, or setprofile not there yet: while threading is being imported). Never
 * raises. */
static int
threading_setprofile(PyObject *fn)
{
    if (threading_setprofile_standin.ours != NULL) {
        PyObject *r = ft_standin_call(&threading_setprofile_standin, fn);
        if (r != NULL) {
            ft_py.Py_DecRef(r);
        }
        ft_py.PyErr_Clear();
        return r != NULL ? 0 : -1;
    }

    PyObject *threading = ft_py_module("threading"); /* new refs */
    PyObject *setprofile = NULL, *args = NULL, *r = NULL;
    struct ft_py_exc exc;

    if (threading == NULL || fn == NULL) {
        if (threading != NULL) {
            ft_py.Py_DecRef(threading);
        }
        return -1;
    }
    ft_py_exc_save(&exc);
    setprofile = ft_py.PyObject_GetAttrString(threading, "setprofile");
    args = ft_py.PyTuple_New(1);
    if (setprofile != NULL && args != NULL) {
        ft_py.Py_IncRef(fn);
        ft_py.PyTuple_SetItem(args, 0, fn); /* steals the extra reference */
        r = ft_py.PyObject_CallObject(setprofile, args);
    }
    if (r != NULL) {
        ft_py.Py_DecRef(r);
    }
    if (args != NULL) {
        ft_py.Py_DecRef(args);
    }
    if (setprofile != NULL) {
        ft_py.Py_DecRef(setprofile);
    }
    ft_py.Py_DecRef(threading);
    ft_py.PyErr_Clear();
    ft_py_exc_restore(&exc);
    return r != NULL ? 0 : -1;
}

/* threading.setprofile(bootstrap), once threading is imported. We never import it
 * ourselves: that would change the program (gevent must patch before it is imported). */
static void
hook_threading(void)
{
    if (threading_hooked) {
        return;
    }
    if (bootstrap_fn == NULL) {
        bootstrap_fn = ft_py.PyCFunction_NewEx(&bootstrap_def, NULL, NULL); /* kept */
    }
    if (threading_setprofile(bootstrap_fn) == 0) {
        threading_hooked = 1;
        ft_standin_put(&threading_setprofile_standin);
        ft_standin_put(&threading_getprofile_standin);
        ft_debug("threading.setprofile installed");
    }
}

static int
profile_install(void)
{
    frame_mode = ft_pylayout.frames != FT_FRAMES_NONE ? FRAME_DIRECT : FRAME_API;
    locals_direct = frame_mode == FRAME_DIRECT && ft_pylayout.locals_ok;
    /* 3.8 has no PyFrame_GetCode, and reading f_code raises an audit event the program
     * could see: there the activation check (pylayout.c) is the only one. */
    validate_left = frame_mode == FRAME_API || ft_py.PyFrame_GetCode == NULL ? 0 : 64;
    ft_record_init();
    ft_pylayout_changed = choose_fast;
    choose_fast();
    set_profile(profile_cb, NULL);
    ft_pylayout_check_profile(profile_cb);
    installed = 1;
    ft_standin_put(&sys_setprofile);
    hook_threading();
    return 0;
}

/* Sets (or clears) the profile function of every thread of the interpreter: 3.12+ has
 * an API for it; up to 3.11 each thread state is set as PyEval_SetProfile sets the
 * current one. GIL held: the other threads are not running Python code. */
static int
set_all_threads(Py_tracefunc f)
{
    void *ts;

    setprofile_ours++;
    if (ft_py.PyEval_SetProfileAllThreads != NULL) {
        ft_py.PyEval_SetProfileAllThreads(f, NULL);
        setprofile_ours--;
        return 0;
    }
    if (ft_py._PyEval_SetProfile == NULL || ft_py.PyInterpreterState_Get == NULL ||
        ft_py.PyInterpreterState_ThreadHead == NULL || ft_py.PyThreadState_Next == NULL) {
        setprofile_ours--;
        return -ENOSYS;
    }
    ts = ft_py.PyInterpreterState_ThreadHead(ft_py.PyInterpreterState_Get());
    for (; ts != NULL; ts = ft_py.PyThreadState_Next(ts)) {
        ft_py._PyEval_SetProfile(ts, f, NULL);
    }
    setprofile_ours--;
    ft_py.PyErr_Clear();
    return 0;
}

static int
profile_install_running(void)
{
    late_threads = 1;
    ft_standin_put(&sys_setprofile);
    return set_all_threads(profile_cb);
}

/* threading.setprofile(None): threads started from now on are not recorded. */
static void
unhook_threading(void)
{
    threading_hooked = 0;
    threading_setprofile(ft_py.None);
    ft_standin_take_back(&threading_setprofile_standin);
    ft_standin_take_back(&threading_getprofile_standin);
}

static void
profile_uninstall(void)
{
    late_threads = 0;
    installed = 0;
    ft_pylayout_changed = NULL;
    ft_standin_take_back(&sys_setprofile);
    unhook_threading();
    if (set_all_threads(NULL) != 0) {
        set_profile(NULL, NULL);
    }
}

const struct ft_engine ft_engine_profile = {
    .name = "profile",
    .install = profile_install,
    .thread_starting = hook_threading,
    .install_running = profile_install_running,
    .uninstall = profile_uninstall,
};
