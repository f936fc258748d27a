/* pylayout.h - every raw fact about CPython's memory layout that FlowTrace relies on.
 *
 * FlowTrace reads a few of CPython's structures in place, where the C API would cost too
 * much on the hot path or would change the program (frame.f_locals materialises a dict in
 * the frame on 3.8-3.12, which IMPORT_NAME then passes to __import__). Every such fact is
 * chosen here from the running interpreter's version, never from headers, and is trusted
 * only once it has been checked against the C API. A new CPython version means editing
 * this module (pylayout.c's choose()) and nothing else. Offsets are in bytes, for 64-bit
 * builds with the GIL; any other build fails the checks and the C API is used instead.
 *
 *   objects  ob_type at 8 (every version); a type's tp_name at 24.
 *   ints     3.8-3.11: ob_size at 16 is the digit count, negative for a negative int;
 *            3.12+: lv_tag at 16 is digit count << 3 | sign (0 +, 1 zero, 2 -);
 *            30-bit digits, each in a uint32, from 24.
 *   frames   3.8-3.10: PyFrameObject holds everything: f_code at 32, the fast locals
 *            (f_localsplus) at type(frame).__basicsize__ - 8 (360 on 3.8/3.9, 352 on 3.10).
 *            3.11+: PyFrameObject.f_frame (24) points to the _PyInterpreterFrame:
 *              3.11       f_code 32, frame_obj 40, prev_instr 56, localsplus 72;
 *              3.12, 3.13 f_code / f_executable 0, frame_obj 48, localsplus 72;
 *              3.14       f_executable 0, frame_obj 48, localsplus 80, as tagged
 *                         references (the low two bits are tags).
 *            The thread state's running frame: 3.12 PyThreadState.cframe (56) ->
 *            _PyCFrame.current_frame (0); 3.13, 3.14 PyThreadState.current_frame (72).
 *            The calling thread's PyThreadState: PyThreadState_Get(), or, where the
 *            interpreter keeps it in a thread-local of the executable (x86-64: its
 *            PyThreadState_GetUnchecked is `mov %fs:OFFSET,%rax; ret`), read at that
 *            offset from the thread pointer (ts_tls): one load instead of a call.
 *            3.11 generators: the opcode at prev_instr says suspended (YIELD_VALUE, 86)
 *            or started (RESUME with oparg 0). 3.11 PyThreadState.c_profilefunc 64,
 *            c_profileobj 80 (checked when the profile engine installs its function).
 *   code     co_extra (the extras block {Py_ssize_t size; void *extras[size]}): 3.11 176,
 *            3.12 184, 3.13 192, 3.14 200.
 *   tracebacks  PyTracebackObject: tb_next 16, tb_frame 24 (every version).
 *   builtins PyCFunctionObject: m_ml 16, m_self 24. PyMethodDescrObject: d_type 16,
 *            d_method 40. A member descriptor (a __slots__ entry): d_member 40, and a
 *            PyMemberDef is {name, int type at 8, Py_ssize_t offset at 16}.
 *
 * Checks (ft_pylayout_init, at activation): the object header on None and int; tp_name
 * on int; ints on values around every digit boundary, both signs, against
 * PyLong_AsLongLongAndOverflow; frames on a frame of FlowTrace's own (a private two-line
 * function, compiled and run by pylayout.c, calls back into C while it runs, from the
 * except clause of an exception it raised: the code object, the frame object's back
 * pointer, the thread state's frame and both arguments must be what the C API says, the
 * exception's traceback must hold that frame and end there, and its yield must be
 * YIELD_VALUE); builtins on len and
 * list.append; members on slice.start. co_extra is checked where it is first written
 * (ft_pylayout_code_extra_seen). The engines check their per-event reads against the
 * API on their first events too. Anything that disagrees is not used.
 */
#ifndef FT_INJECT_PYLAYOUT_H
#define FT_INJECT_PYLAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pyapi.h"

/* At most this many fast locals are untagged into a caller's array (3.14). */
#define FT_LOCALS_MAX 64

/* The frame layouts known, each read with constant offsets (the hot path's switch on the
 * kind costs what a branch costs; loading offsets from memory cost more, measured). */
enum ft_frames {
    FT_FRAMES_NONE, /* unknown layout: frames only through the C API */
    FT_FRAMES_38,   /* 3.8-3.10: the frame object holds code and locals */
    FT_FRAMES_311,  /* 3.11: the frame object points to an interpreter frame */
    FT_FRAMES_312,  /* 3.12, 3.13 */
    FT_FRAMES_314,  /* 3.14: tagged references */
};

/* The offsets of each kind (bytes). */
enum {
    FT_F38_CODE = 32,            /* PyFrameObject.f_code, 3.8-3.10 */
    FT_F_IFRAME = 24,            /* PyFrameObject.f_frame, 3.11+ */
    FT_IF311_FUNC = 0,           /* _PyInterpreterFrame.f_func */
    FT_IF311_CODE = 32,          /* _PyInterpreterFrame.f_code */
    FT_IF311_FRAME_OBJ = 40,     /* .frame_obj */
    FT_IF311_PREV_INSTR = 56,    /* .prev_instr */
    FT_IF311_LOCALS = 72,        /* .localsplus */
    FT_IF312_CODE = 0,           /* .f_code (3.12), .f_executable (3.13, 3.14) */
    FT_IF312_FUNC = 16,          /* .f_funcobj (tagged on 3.14) */
    FT_IF312_FRAME_OBJ = 48,     /* .frame_obj */
    FT_IF312_LOCALS = 72,        /* .localsplus (3.12, 3.13) */
    FT_IF314_LOCALS = 80,        /* .localsplus (3.14), tagged */
    FT_TS312_CFRAME = 56,        /* PyThreadState.cframe -> _PyCFrame.current_frame (0) */
    FT_TS313_CURRENT_FRAME = 72, /* PyThreadState.current_frame (3.13, 3.14) */
    FT_OP311_YIELD_VALUE = 86,   /* opcode.opmap["YIELD_VALUE"] on 3.11 */
    FT_TB_NEXT = 16,             /* PyTracebackObject.tb_next (every version) */
    FT_TB_FRAME = 24,            /* PyTracebackObject.tb_frame */
    FT_TS311_PROFILEFUNC = 64,   /* PyThreadState.c_profilefunc on 3.11 */
    FT_TS311_PROFILEOBJ = 80,    /* PyThreadState.c_profileobj on 3.11 */
    FT_CODE311_EXTRA = 176,      /* PyCodeObject.co_extra: 3.11 (the guess, checked) */
    FT_CODE312_EXTRA = 184,      /* 3.12 */
    FT_CODE313_EXTRA = 192,      /* 3.13 */
    FT_CODE314_EXTRA = 200,      /* 3.14 */
};

#define FT_REF_TAGS ((uintptr_t)3) /* 3.14's tag bits */

struct ft_pylayout {
    int header_ok;         /* ob_type and tp_name read in place: checked */
    int int_tagged;        /* 3.12+ lv_tag */
    int int_ok;            /* ints read in place: checked */
    enum ft_frames frames; /* how frames are read; FT_FRAMES_NONE: not at all */
    int locals_ok;         /* fast locals read in place: checked */
    size_t frame_locals;   /* 3.8-3.10: PyFrameObject.f_localsplus (from the frame type) */
    int ts_frame;          /* the thread state's running frame: 0 no, 312 cframe, 313 */
    long ts_tls;           /* the thread state's thread-local slot: offset from the thread
                            * pointer (x86-64 %fs), checked; 0: PyThreadState_Get() */
    int gen_state;         /* 3.11 generators' state read from prev_instr: checked */
    Py_ssize_t code_extra; /* PyCodeObject.co_extra once checked, else 0 */
    int builtins_ok;       /* builtin functions and method descriptors: checked */
    int members_ok;        /* member descriptors: checked */
    int ts_profile;        /* 3.11: a thread state's profile function and object: checked */
    int tb_ok;             /* traceback objects' tb_next and tb_frame: checked */
    int func_ok;           /* 3.11+: an interpreter frame's function object: checked */
};

/* Hidden (the library's own): read with one instruction on the hot path, not through the
 * GOT. */
extern struct ft_pylayout ft_pylayout __attribute__((visibility("hidden")));

/* GIL held, at activation, before any hook is installed: chooses the layouts for the
 * running version and checks them (see above). Never raises, never runs the program's
 * code. Returns 0 when frames can be read in place, -ENOTSUP otherwise. */
int ft_pylayout_init(void);

/* ---- Objects ---------------------------------------------------------------------- */

/* An object's type (borrowed). Every version's header: checked (header_ok). */
static inline PyObject *
ft_type_of(PyObject *o)
{
    return *(PyObject **)((char *)o + 8);
}

/* A type's tp_name (borrowed from the type). */
static inline const char *
ft_type_name(PyObject *type)
{
    return *(const char **)((char *)type + 24);
}

/* ---- Ints ------------------------------------------------------------------------- */

/* An int of at most two digits (|x| < 2**60) read from its digits; 0 when it has more
 * (then the C API must be asked). v must be an exact int; int_ok must be set; tagged:
 * int_tagged, a constant where the caller knows the version (record_fast.h). */
static inline int
ft_pylong_read_as(PyObject *v, int64_t *x, int tagged)
{
    const uint32_t *d = (const uint32_t *)((const char *)v + 24);
    uint64_t head, n, m;
    int neg;

    memcpy(&head, (const char *)v + 16, 8);
    /* At most one digit: the sign times digit 0 (3.12+ always allocate digit 0, also
     * for zero, as CPython's own compact reads assume; 3.8-3.11 may not). */
    if (tagged) {
        if (__builtin_expect(head < 2 << 3, 1)) {
            /* (1 - sign) * digit, written digit - sign * digit (sign 1 is zero, whose
             * digit is 0): an imul and a sub. The empty asm keeps the compiler from
             * folding it back into the first form, which costs a register and a mov. */
            int64_t d0 = d[0], sign = (int64_t)(head & 3);
            __asm__("" : "+r"(sign));
            *x = d0 - sign * d0;
            return 1;
        }
        n = head >> 3;
        neg = (head & 3) == 2;
    } else {
        if (__builtin_expect(head + 1 <= 2, 1)) {
            *x = head == 0 ? 0 : (int64_t)head * (int64_t)d[0];
            return 1;
        }
        neg = (int64_t)head < 0;
        n = neg ? 0 - head : head;
    }
    if (n != 2) {
        return 0;
    }
    m = d[0] | (uint64_t)d[1] << 30;
    *x = neg ? -(int64_t)m : (int64_t)m;
    return 1;
}

static inline int
ft_pylong_read(PyObject *v, int64_t *x)
{
    return ft_pylong_read_as(v, x, ft_pylayout.int_tagged);
}

/* ---- Frames ----------------------------------------------------------------------- */

/* 3.11+: the interpreter frame of a frame object. */
static inline char *
ft_iframe_of(PyFrameObject *f)
{
    return *(char **)((char *)f + FT_F_IFRAME);
}

/* 3.11+: an object reference of an interpreter frame at off311 (3.11) or off312 (3.12+,
 * tagged on 3.14), borrowed. */
static inline PyObject *
ft_iframe_ref(const char *iframe, size_t off311, size_t off312)
{
    switch (ft_pylayout.frames) {
    case FT_FRAMES_311:
        return *(PyObject *const *)(iframe + off311);
    case FT_FRAMES_314:
        return (PyObject *)(*(const uintptr_t *)(iframe + off312) & ~FT_REF_TAGS);
    default:
        return *(PyObject *const *)(iframe + off312);
    }
}

/* 3.11+: the code object an interpreter frame runs (borrowed). */
static inline PyObject *
ft_iframe_code(const char *iframe)
{
    return ft_iframe_ref(iframe, FT_IF311_CODE, FT_IF312_CODE);
}

/* 3.11+ (func_ok): the function object an interpreter frame runs (borrowed). */
static inline PyObject *
ft_iframe_func(const char *iframe)
{
    return ft_iframe_ref(iframe, FT_IF311_FUNC, FT_IF312_FUNC);
}

/* 3.11+: the frame object an interpreter frame has (borrowed), or NULL. */
static inline PyFrameObject *
ft_iframe_frame_obj(const char *iframe)
{
    size_t off = ft_pylayout.frames == FT_FRAMES_311 ? FT_IF311_FRAME_OBJ : FT_IF312_FRAME_OBJ;

    return *(PyFrameObject *const *)(iframe + off);
}

/* The code object of a frame (borrowed), read in place; frames != FT_FRAMES_NONE. */
static inline PyObject *
ft_frame_code(PyFrameObject *f)
{
    if (ft_pylayout.frames == FT_FRAMES_38) {
        return *(PyObject **)((char *)f + FT_F38_CODE);
    }
    return ft_iframe_code(ft_iframe_of(f));
}

/* The first n fast locals of an interpreter frame (borrowed; a slot may be NULL), or NULL
 * when they cannot be read in place. Tagged references are untagged into tmp, which holds
 * FT_LOCALS_MAX entries. Hot path. */
static inline PyObject **
ft_iframe_locals(char *iframe, unsigned n, PyObject **tmp)
{
    const uintptr_t *refs;

    if (!ft_pylayout.locals_ok || iframe == NULL) {
        return NULL;
    }
    switch (ft_pylayout.frames) {
    case FT_FRAMES_311:
        return (PyObject **)(iframe + FT_IF311_LOCALS);
    case FT_FRAMES_312:
        return (PyObject **)(iframe + FT_IF312_LOCALS);
    default:
        break;
    }
    if (n > FT_LOCALS_MAX) {
        return NULL;
    }
    refs = (const uintptr_t *)(iframe + FT_IF314_LOCALS);
    for (unsigned i = 0; i < n; i++) {
        tmp[i] = (PyObject *)(refs[i] & ~FT_REF_TAGS);
    }
    return tmp;
}

/* The fast locals of an interpreter frame in place (3.11+: locals_ok), each read with
 * ft_ref_at(refs, i, *tagged); NULL when they cannot be read in place. Hot path. */
static inline const uintptr_t *
ft_iframe_refs(char *iframe, int *tagged)
{
    *tagged = ft_pylayout.frames == FT_FRAMES_314;
    if (!ft_pylayout.locals_ok || iframe == NULL) {
        return NULL;
    }
    switch (ft_pylayout.frames) {
    case FT_FRAMES_311:
        return (const uintptr_t *)(iframe + FT_IF311_LOCALS);
    case FT_FRAMES_312:
        return (const uintptr_t *)(iframe + FT_IF312_LOCALS);
    case FT_FRAMES_314:
        return (const uintptr_t *)(iframe + FT_IF314_LOCALS);
    default:
        return NULL;
    }
}

/* Fast local i of refs (ft_iframe_refs, ft_frame_refs), borrowed, maybe NULL; tagged:
 * 3.14's tagged references (a constant where the caller knows the version). */
static inline __attribute__((always_inline)) PyObject *
ft_ref_at(const uintptr_t *refs, unsigned i, int tagged)
{
    return (PyObject *)(tagged ? refs[i] & ~FT_REF_TAGS : refs[i]);
}

/* The first n fast locals of a frame object, as ft_iframe_locals. Hot path. */
static inline PyObject **
ft_frame_locals(PyFrameObject *f, unsigned n, PyObject **tmp)
{
    if (ft_pylayout.frames == FT_FRAMES_38) {
        return ft_pylayout.locals_ok ? (PyObject **)((char *)f + ft_pylayout.frame_locals) : NULL;
    }
    return ft_iframe_locals(ft_iframe_of(f), n, tmp);
}

/* The fast locals of a frame object in place, as ft_iframe_refs. Hot path. */
static inline const uintptr_t *
ft_frame_refs(PyFrameObject *f, int *tagged)
{
    if (ft_pylayout.frames == FT_FRAMES_38) {
        *tagged = 0;
        return ft_pylayout.locals_ok ? (const uintptr_t *)((char *)f + ft_pylayout.frame_locals)
                                     : NULL;
    }
    return ft_iframe_refs(ft_iframe_of(f), tagged);
}

/* The identity of a generator's or coroutine's frame, stable for the object's life: its
 * interpreter frame (3.11+, embedded in the object), else the frame object. */
static inline uint64_t
ft_frame_ident(PyFrameObject *f)
{
    if (ft_pylayout.frames == FT_FRAMES_NONE || ft_pylayout.frames == FT_FRAMES_38) {
        return (uint64_t)(uintptr_t)f;
    }
    return (uint64_t)(uintptr_t)ft_iframe_of(f);
}

/* 3.11 (gen_state): whether a generator's frame, at a call event, starts for the first
 * time (RESUME with oparg 0, not resumed by throw() at its YIELD_VALUE), and, at a return
 * event, whether it suspends (left by YIELD_VALUE). */
static inline const unsigned char *
ft_frame_prev_instr(PyFrameObject *f)
{
    return *(const unsigned char **)(ft_iframe_of(f) + FT_IF311_PREV_INSTR);
}

static inline int
ft_gen_started(PyFrameObject *f)
{
    const unsigned char *ins = ft_frame_prev_instr(f);

    return ins[0] != FT_OP311_YIELD_VALUE && ins[1] == 0;
}

static inline int
ft_gen_suspended(PyFrameObject *f)
{
    return ft_frame_prev_instr(f)[0] == FT_OP311_YIELD_VALUE;
}

/* The calling thread's PyThreadState, read from the thread-local at tls (ts_tls) from the
 * thread pointer. Hot path: one load. */
static inline __attribute__((always_inline)) char *
ft_ts_at_tls(long tls)
{
    char *ts = NULL;

#if defined(__x86_64__)
    __asm__("movq %%fs:(%1), %0" : "=r"(ts) : "r"(tls));
#else
    (void)tls;
#endif
    return ts;
}

/* The calling thread's PyThreadState (GIL held: never NULL). */
static inline __attribute__((always_inline)) char *
ft_ts_current(void)
{
    long tls = ft_pylayout.ts_tls;

    return tls != 0 ? ft_ts_at_tls(tls) : (char *)ft_py.PyThreadState_Get();
}

/* The offset from the thread pointer that a function's machine code reads the thread
 * state from, if it is x86-64's `[endbr64;] mov %fs:disp32,%rax; ret` (what
 * PyThreadState_GetUnchecked compiles to when the thread state is a thread-local of the
 * executable), else 0. Pure: code is the function's first bytes (at least n). */
long ft_pylayout_tls_of(const unsigned char *code, size_t n);

/* The tls_index a function's machine code asks __tls_get_addr about and returns the
 * pointer it finds there, if it is x86-64's general-dynamic access `[endbr64;] [sub
 * $8,%rsp;] data16 lea disp32(%rip),%rdi; data16 data16 rex.W call rel32; mov
 * (%rax),%rax` (PyThreadState_GetUnchecked in a shared libpython), else NULL. Pure: code
 * is the function's first bytes (at least n). */
const unsigned char *ft_pylayout_tls_index_of(const unsigned char *code, size_t n);

/* The calling thread was registered (tstate.h's thread_started hook; GIL held): when
 * ts_tls was found through __tls_get_addr (a shared libpython), whether the thread state's
 * thread-local is at that offset from this thread's pointer too, as it is when libpython
 * was loaded with the program (static TLS); if not, ts_tls is 0 from now on (the API
 * call) and ft_pylayout_changed is told. */
void ft_pylayout_thread_started(void);

/* 3.12+: the interpreter frame running on the calling thread, read from its thread state
 * (ts_frame), else NULL. */
static inline char *
ft_ts_iframe(void)
{
    char *ts;

    if (ft_pylayout.ts_frame == 0) {
        return NULL;
    }
    ts = ft_ts_current();
    if (ft_pylayout.ts_frame == 312) {
        return **(char ***)(ts + FT_TS312_CFRAME);
    }
    return *(char **)(ts + FT_TS313_CURRENT_FRAME);
}

/* 3.11 (ts_profile): the profile function and object of a thread state (borrowed). */
static inline Py_tracefunc
ft_ts_profilefunc(void *ts)
{
    Py_tracefunc f;

    memcpy(&f, (char *)ts + FT_TS311_PROFILEFUNC, sizeof(f));
    return f;
}

static inline PyObject *
ft_ts_profileobj(void *ts)
{
    return *(PyObject **)((char *)ts + FT_TS311_PROFILEOBJ);
}

/* Called by the profile engine right after PyEval_SetProfile(f, NULL) on this thread: on
 * 3.11, reading the thread state's profile function is trusted if it reads f and NULL. */
void ft_pylayout_check_profile(Py_tracefunc f);

/* ---- Tracebacks (tb_ok) ----------------------------------------------------------------
 * Read in place: the attribute tb_frame raises an audit event the program could see. */

static inline PyObject *
ft_tb_next(PyObject *tb)
{
    return *(PyObject **)((char *)tb + FT_TB_NEXT);
}

static inline PyFrameObject *
ft_tb_frame(PyObject *tb)
{
    return *(PyFrameObject **)((char *)tb + FT_TB_FRAME);
}

/* ---- Code objects' extras -------------------------------------------------------------- */

/* Hot path (code_extra != 0): the extra slot `index` of a code object, read in place. */
static inline void *
ft_code_extra_get(PyObject *code, Py_ssize_t index)
{
    const char *block = *(const char *const *)((const char *)code + ft_pylayout.code_extra);
    Py_ssize_t size;
    void *extra;

    if (block == NULL) {
        return NULL;
    }
    memcpy(&size, block, sizeof(size));
    if (index >= size) {
        return NULL;
    }
    memcpy(&extra, block + sizeof(size) + sizeof(void *) * (size_t)index, sizeof(extra));
    return extra;
}

/* Hot path: extra slot 0 of a code object, read in place at co_extra's offset off
 * (code_extra, or the constant it was checked to be): an extras block has a slot for every
 * index requested before it was made, so at least this one. */
static inline __attribute__((always_inline)) void *
ft_code_extra_get0(PyObject *code, Py_ssize_t off)
{
    const char *block = *(const char *const *)((const char *)code + off);
    void *extra;

    if (block == NULL) {
        return NULL;
    }
    memcpy(&extra, block + sizeof(Py_ssize_t), sizeof(extra));
    return extra;
}

/* Around the C API's Code_SetExtra(code, index, value): the word at the guessed co_extra
 * before it, then whether the guess now holds an extras block with value at index. The
 * first agreement makes code_extra the guess; any disagreement ends reading in place. */
void *ft_pylayout_code_extra_before(PyObject *code);
void ft_pylayout_code_extra_seen(PyObject *code, void *before, Py_ssize_t index, const void *value);

/* Called (GIL held) right after a fact the engines choose their paths by changed:
 * ft_pylayout.code_extra (set once checked, 0 once a check failed) or ts_tls (0 once a
 * thread's check failed, ft_pylayout_thread_started). An engine that reads them at
 * constant offsets is told here when that ends (engine_monitor.c). NULL: nobody. */
extern void (*ft_pylayout_changed)(void) __attribute__((visibility("hidden")));

/* ---- Builtins ------------------------------------------------------------------------ */

/* A builtin function object's PyMethodDef, and what it is bound to (a module or an
 * instance; borrowed). builtins_ok. */
static inline const PyMethodDef *
ft_cfunc_def(PyObject *f)
{
    return *(const PyMethodDef **)((char *)f + 16);
}

static inline PyObject *
ft_cfunc_self(PyObject *f)
{
    return *(PyObject **)((char *)f + 24);
}

/* A method descriptor's type (borrowed) and PyMethodDef. builtins_ok. */
static inline PyObject *
ft_mdescr_type(PyObject *d)
{
    return *(PyObject **)((char *)d + 16);
}

static inline const PyMethodDef *
ft_mdescr_def(PyObject *d)
{
    return *(const PyMethodDef **)((char *)d + 40);
}

/* A member descriptor's slot: where an object-valued member sits in an instance, or -1
 * when it is not an object member (T_OBJECT, T_OBJECT_EX). members_ok, and desc is
 * exactly a member_descriptor. */
static inline Py_ssize_t
ft_member_object_offset(PyObject *desc)
{
    const char *def = *(const char **)((char *)desc + 40);
    int type;
    Py_ssize_t off;

    memcpy(&type, def + 8, sizeof(type));
    memcpy(&off, def + 16, sizeof(off));
    return (type == 6 || type == 16) && off > 0 ? off : -1;
}

#endif
