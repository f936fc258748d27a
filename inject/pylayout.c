/* pylayout.c - CPython layout facts per version, and their checks against the C API. */
#define _GNU_SOURCE
#include "pylayout.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "log.h"

struct ft_pylayout ft_pylayout;

#define PY_FILE_INPUT 257 /* Py_file_input, the same in every CPython 3 */

/* ---- The facts, per version ---------------------------------------------------------- */

static Py_ssize_t code_extra_guess; /* co_extra for the running version, until checked */
static int code_extra_checks = 8;   /* code objects on which it is checked again */

static void
choose_frames(struct ft_pylayout *l, int minor)
{
    l->frames = minor >= 8 && minor <= 10    ? FT_FRAMES_38
                : minor == 11                ? FT_FRAMES_311
                : minor == 12 || minor == 13 ? FT_FRAMES_312
                : minor == 14                ? FT_FRAMES_314
                                             : FT_FRAMES_NONE;
    l->frame_locals = 0; /* 3.8-3.10: type(frame).__basicsize__ - 8, read from the probe */
    l->gen_state = minor == 11;
    l->ts_frame = minor == 12 ? 312 : minor == 13 || minor == 14 ? 313 : 0;
    if (ft_py.PyThreadState_Get == NULL) {
        l->ts_frame = 0;
    }
}

static void
choose(void)
{
    int minor = ft_py.minor;

    ft_pylayout.int_tagged = minor >= 12;
    choose_frames(&ft_pylayout, minor);
    code_extra_guess = minor == 11   ? FT_CODE311_EXTRA
                       : minor == 12 ? FT_CODE312_EXTRA
                       : minor == 13 ? FT_CODE313_EXTRA
                       : minor == 14 ? FT_CODE314_EXTRA
                                     : 0;
}

/* ---- Objects and ints -------------------------------------------------------------------- */

static void *
sym(const char *name)
{
    return dlsym(RTLD_DEFAULT, name);
}

static void
check_header(void)
{
    PyObject *none_t = sym("_PyNone_Type"), *type_t = sym("PyType_Type");
    PyObject *long_t = sym("PyLong_Type");

    ft_pylayout.header_ok = none_t != NULL && type_t != NULL && long_t != NULL &&
                            ft_type_of(ft_py.None) == none_t && ft_type_of(long_t) == type_t &&
                            ft_type_name(long_t) != NULL &&
                            strcmp(ft_type_name(long_t), "int") == 0;
}

/* Values at every digit boundary, both signs: read in place and through the API. */
static void
check_ints(void)
{
    static const long long probe_values[] = {0,
                                             1,
                                             -1,
                                             7,
                                             -7,
                                             (1LL << 30) - 1,
                                             1LL << 30,
                                             -(1LL << 30),
                                             (1LL << 30) + 5,
                                             (1LL << 60) - 1,
                                             -((1LL << 60) - 1),
                                             1LL << 60,
                                             INT64_MAX,
                                             INT64_MIN};
    PyObject *(*from)(long long) = (PyObject * (*)(long long)) sym("PyLong_FromLongLong");
    long long (*as)(PyObject *, int *) =
        (long long (*)(PyObject *, int *))sym("PyLong_AsLongLongAndOverflow");
    int ok = from != NULL && as != NULL && ft_pylayout.header_ok;

    for (size_t i = 0; ok && i < sizeof(probe_values) / sizeof(probe_values[0]); i++) {
        PyObject *v = from(probe_values[i]); /* new ref */
        int64_t direct = 0;
        int overflow = 0;
        if (v == NULL) {
            ok = 0;
            break;
        }
        long long api = as(v, &overflow);
        int small = ft_pylong_read(v, &direct);
        /* Two digits or fewer must be read exactly; more must be declined. */
        int expect_small = api > -(1LL << 60) && api < (1LL << 60);
        ok = overflow == 0 && api == probe_values[i] && small == expect_small &&
             (!small || direct == api);
        ft_py.Py_DecRef(v);
    }
    ft_pylayout.int_ok = ok;
}

/* ---- Frames: the private probe --------------------------------------------------------- */

/* A generator function of FlowTrace's own that calls back into C with its frame running,
 * then yields: the frame is read in place and through the API while it runs, and its
 * suspension point once it has yielded. */
static const char probe_src[] = "def _flowtrace_probe(alpha, beta, check):\n"
                                "    try:\n"
                                "        raise KeyError(alpha)\n"
                                "    except KeyError as e:\n"
                                "        yield check(e)\n";

static struct {
    PyObject *a, *b, *code; /* the arguments passed, the probe's code (borrowed) */
    PyObject *fn;           /* the probe's function (borrowed, alive while it runs) */
    PyFrameObject *frame;   /* the probe's frame (a reference held), once it has run */
} probe;

/* The value of name in the frame's f_locals (a dict, or 3.13+'s proxy), borrowed from
 * the frame (which holds it), or NULL. Only ever asked of the probe's own frame. */
static PyObject *
probe_local(PyObject *frame, const char *name)
{
    PyObject *fl = ft_py.PyObject_GetAttrString(frame, "f_locals"); /* new refs */
    PyObject *key = ft_py.PyUnicode_FromString ? ft_py.PyUnicode_FromString(name) : NULL;
    PyObject *v = NULL;

    if (fl != NULL && key != NULL && ft_py.PyObject_GetItem != NULL) {
        v = ft_py.PyObject_GetItem(fl, key);
    }
    if (v != NULL) {
        ft_py.Py_DecRef(v); /* the frame keeps it alive */
    }
    if (key != NULL) {
        ft_py.Py_DecRef(key);
    }
    if (fl != NULL) {
        ft_py.Py_DecRef(fl);
    }
    return v;
}

/* Where 3.8-3.10 keep the fast locals: at the end of the frame object's fixed part. */
static size_t
object_frame_locals(PyObject *frame)
{
    long size = ft_py_attr_long(ft_type_of(frame), "__basicsize__", 0);

    return size > 64 ? (size_t)size - sizeof(void *) : 0;
}

/* Reads the running probe's frame at the chosen offsets; what the API says must match. */
static void
check_running_frame(PyFrameObject *frame)
{
    struct ft_pylayout *l = &ft_pylayout;
    PyObject *tmp[3], **locals;

    if (frame == NULL || (l->frames == FT_FRAMES_38 &&
                          (l->frame_locals = object_frame_locals((PyObject *)frame)) == 0)) {
        l->frames = FT_FRAMES_NONE;
        return;
    }
    if (ft_frame_code(frame) != probe.code ||
        (l->frames != FT_FRAMES_38 && ft_iframe_frame_obj(ft_iframe_of(frame)) != frame)) {
        l->frames = FT_FRAMES_NONE;
        return;
    }
    if (l->ts_frame != 0 && ft_ts_iframe() != ft_iframe_of(frame)) {
        l->ts_frame = 0;
    }
    l->func_ok = l->frames != FT_FRAMES_38 && ft_iframe_func(ft_iframe_of(frame)) == probe.fn;
    l->locals_ok = 1;
    locals = ft_frame_locals(frame, 2, tmp);
    l->locals_ok = locals != NULL && locals[0] == probe.a && locals[1] == probe.b &&
                   probe_local((PyObject *)frame, "alpha") == probe.a &&
                   probe_local((PyObject *)frame, "beta") == probe.b;
    ft_py.Py_IncRef((PyObject *)frame);
    probe.frame = frame;
}

/* The exception the probe raised and caught in its own frame: its traceback has one
 * entry, that frame. */
static void
check_traceback(const PyFrameObject *frame, PyObject *exc)
{
    PyObject *(*get_tb)(PyObject *) = (PyObject * (*)(PyObject *)) sym("PyException_GetTraceback");
    PyObject *tb = get_tb != NULL ? get_tb(exc) : NULL; /* new ref */

    ft_pylayout.tb_ok = tb != NULL && frame != NULL && ft_pylayout.header_ok &&
                        strcmp(ft_type_name(ft_type_of(tb)), "traceback") == 0 &&
                        ft_tb_frame(tb) == frame && ft_tb_next(tb) == NULL;
    if (tb != NULL) {
        ft_py.Py_DecRef(tb);
    }
}

static PyObject *
probe_check(PyObject *self, PyObject *exc)
{
    PyFrameObject *frame = ft_py.PyEval_GetFrame(); /* borrowed */

    (void)self;
    check_running_frame(frame);
    check_traceback(frame, exc);
    ft_py.Py_IncRef(ft_py.None);
    return ft_py.None;
}

static PyMethodDef probe_check_def = {"_flowtrace_probe_check", (void *)probe_check, METH_O, NULL};

/* A new reference to the probe generator, called with (a, b, probe_check), or NULL. */
static PyObject *
make_probe(void)
{
    PyObject *code, *globals = NULL, *r = NULL, *args = NULL, *cb = NULL, *gen = NULL; /* new */
    PyObject *fn; /* borrowed */

    code = ft_py.Py_CompileString(probe_src, "<flowtrace>", PY_FILE_INPUT);
    globals = code != NULL ? ft_py.PyDict_New() : NULL;
    r = globals != NULL ? ft_py.PyEval_EvalCode(code, globals, globals) : NULL;
    fn = r != NULL ? ft_py.PyDict_GetItemString(globals, "_flowtrace_probe") : NULL;
    cb = fn != NULL ? ft_py.PyCFunction_NewEx(&probe_check_def, NULL, NULL) : NULL;
    args = cb != NULL ? ft_py.PyTuple_New(3) : NULL;
    if (args != NULL) {
        probe.code = ft_py.PyFunction_GetCode(fn); /* the generator's frame holds it */
        probe.fn = fn;
        ft_py.Py_IncRef(probe.a);
        ft_py.PyTuple_SetItem(args, 0, probe.a); /* steals the new reference */
        ft_py.Py_IncRef(probe.b);
        ft_py.PyTuple_SetItem(args, 1, probe.b);
        ft_py.Py_IncRef(cb);
        ft_py.PyTuple_SetItem(args, 2, cb);
        gen = ft_py.PyObject_CallObject(fn, args);
    }
    PyObject *drop[] = {args, cb, r, globals, code};
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
        if (drop[i] != NULL) {
            ft_py.Py_DecRef(drop[i]);
        }
    }
    return gen;
}

long
ft_pylayout_tls_of(const unsigned char *code, size_t n)
{
#if defined(__x86_64__)
    static const unsigned char endbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};
    static const unsigned char mov_fs_rax[] = {0x64, 0x48, 0x8b, 0x04, 0x25}; /* disp32 */
    size_t at = 0;
    int32_t disp;

    if (n >= sizeof(endbr64) && memcmp(code, endbr64, sizeof(endbr64)) == 0) {
        at = sizeof(endbr64);
    }
    if (n < at + sizeof(mov_fs_rax) + 4 + 1 ||
        memcmp(code + at, mov_fs_rax, sizeof(mov_fs_rax)) != 0 ||
        code[at + sizeof(mov_fs_rax) + 4] != 0xc3) {
        return 0;
    }
    memcpy(&disp, code + at + sizeof(mov_fs_rax), 4);
    return disp;
#else
    (void)code;
    (void)n;
    return 0;
#endif
}

const unsigned char *
ft_pylayout_tls_index_of(const unsigned char *code, size_t n)
{
#if defined(__x86_64__)
    static const unsigned char endbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};
    static const unsigned char sub8_rsp[] = {0x48, 0x83, 0xec, 0x08};
    static const unsigned char lea_rdi[] = {0x66, 0x48, 0x8d, 0x3d}; /* disp32(%rip) */
    static const unsigned char call[] = {0x66, 0x66, 0x48, 0xe8};    /* rel32 */
    static const unsigned char load[] = {0x48, 0x8b, 0x00};          /* mov (%rax),%rax */
    size_t at = 0;
    int32_t disp;

    if (n >= sizeof(endbr64) && memcmp(code, endbr64, sizeof(endbr64)) == 0) {
        at = sizeof(endbr64);
    }
    if (n >= at + sizeof(sub8_rsp) && memcmp(code + at, sub8_rsp, sizeof(sub8_rsp)) == 0) {
        at += sizeof(sub8_rsp);
    }
    if (n < at + 16 + sizeof(load) || memcmp(code + at, lea_rdi, sizeof(lea_rdi)) != 0 ||
        memcmp(code + at + 8, call, sizeof(call)) != 0 ||
        memcmp(code + at + 16, load, sizeof(load)) != 0) {
        return NULL;
    }
    memcpy(&disp, code + at + 4, 4);
    return code + at + 8 + disp; /* relative to the next instruction */
#else
    (void)code;
    (void)n;
    return NULL;
#endif
}

/* A shared libpython's thread state thread-local (general dynamic): its tls_index and
 * __tls_get_addr, to check each new thread (ft_pylayout_thread_started); NULL when ts_tls
 * did not come from them. */
static const unsigned char *ts_tls_index;
static void *(*ts_tls_get)(const void *);

/* The calling thread's pointer (x86-64: %fs:0 holds it). */
static char *
thread_pointer(void)
{
    char *tp = NULL;

#if defined(__x86_64__)
    __asm__("movq %%fs:0, %0" : "=r"(tp));
#endif
    return tp;
}

/* The offset from the thread pointer of the thread-local that code (a general-dynamic
 * access, ft_pylayout_tls_index_of) reads, in the calling thread; 0 if code is not one. */
static long
tls_by_index(const unsigned char *code)
{
    const unsigned char *index = ft_pylayout_tls_index_of(code, 32);
    void *get = index != NULL ? sym("__tls_get_addr") : NULL;
    long off;

    if (get == NULL) {
        return 0;
    }
    memcpy(&ts_tls_get, &get, sizeof(get));
    off = (long)((char *)ts_tls_get(index) - thread_pointer());
    /* Static thread-locals lie just below the thread pointer (x86-64); a block allocated
     * apart (a libpython loaded later) is taken for none, so that no thread reads it. */
    if (off >= 0 || off < -(1L << 20)) {
        ts_tls_get = NULL;
        return 0;
    }
    ts_tls_index = index;
    return off;
}

/* 3.12+: the thread state's thread-local, found in PyThreadState_GetUnchecked's code
 * (the executable's, or a shared libpython's); the slot must hold what
 * PyThreadState_Get() returns. The executable's thread-locals, and those of libraries
 * loaded with it, are at the same offset from every thread's pointer; for a libpython
 * loaded later each thread is checked (ft_pylayout_thread_started). */
static void
check_ts_tls(void)
{
    const unsigned char *code = sym("PyThreadState_GetUnchecked");
    long tls;

    ft_pylayout.ts_tls = 0;
    ts_tls_index = NULL;
    ts_tls_get = NULL;
    if (code == NULL) {
        code = sym("_PyThreadState_UncheckedGet"); /* 3.12 */
    }
    if (ft_py.minor < 12 || code == NULL || ft_py.PyThreadState_Get == NULL) {
        return;
    }
    tls = ft_pylayout_tls_of(code, 14);
    if (tls == 0) {
        tls = tls_by_index(code);
    }
    if (tls != 0 && ft_ts_at_tls(tls) == (char *)ft_py.PyThreadState_Get()) {
        ft_pylayout.ts_tls = tls;
    }
}

void
ft_pylayout_thread_started(void)
{
    if (ts_tls_get == NULL || ft_pylayout.ts_tls == 0 ||
        (char *)ts_tls_get(ts_tls_index) == thread_pointer() + ft_pylayout.ts_tls) {
        return;
    }
    ft_debug("the thread state's thread-local is elsewhere in this thread: read through the "
             "C API from now on");
    ft_pylayout.ts_tls = 0;
    if (ft_pylayout_changed != NULL) {
        ft_pylayout_changed();
    }
}

/* Runs the probe to its yield (the check runs inside), then checks where it stopped. */
static void
check_frames(void)
{
    PyObject *gen, *y; /* new refs */

    if (ft_py.Py_CompileString == NULL || ft_py.PyEval_EvalCode == NULL ||
        ft_py.PyFunction_GetCode == NULL || ft_py.PyDict_New == NULL ||
        ft_py.PyEval_GetFrame == NULL || ft_py.PyIter_Next == NULL) {
        ft_pylayout.frames = FT_FRAMES_NONE;
        return;
    }
    /* Two objects nobody else holds: found in the frame, they can only be ours. */
    probe.a = ft_py.PyDict_New();
    probe.b = ft_py.PyDict_New();
    gen = probe.a != NULL && probe.b != NULL ? make_probe() : NULL;
    y = gen != NULL ? ft_py.PyIter_Next(gen) : NULL;
    if (y == NULL || probe.frame == NULL) {
        ft_pylayout.frames = FT_FRAMES_NONE;
    } else if (ft_pylayout.gen_state && !ft_gen_suspended(probe.frame)) {
        /* The probe stands at its yield: the opcode there must be YIELD_VALUE. */
        ft_pylayout.gen_state = 0;
    }
    PyObject *drop[] = {y, gen, (PyObject *)probe.frame, probe.a, probe.b};
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
        if (drop[i] != NULL) {
            ft_py.Py_DecRef(drop[i]);
        }
    }
    memset(&probe, 0, sizeof(probe));
    if (ft_pylayout.frames == FT_FRAMES_NONE) {
        /* Without YIELD_VALUE known, 3.11 generators are traced as plain calls. */
        ft_pylayout.gen_state = 0;
        ft_pylayout.locals_ok = 0;
        ft_pylayout.func_ok = 0;
        ft_pylayout.ts_frame = 0;
    }
}

/* ---- Builtins and members ----------------------------------------------------------------- */

/* len: a builtin function bound to the builtins module; list.append: a method descriptor
 * of list. */
static void
check_builtins(void)
{
    PyObject *cfunc_t = sym("PyCFunction_Type"), *mdescr_t = sym("PyMethodDescr_Type");
    PyObject *list_t = sym("PyList_Type");
    PyObject *builtins = ft_py_module("builtins"); /* new refs */
    PyObject *len = builtins ? ft_py.PyObject_GetAttrString(builtins, "len") : NULL;
    PyObject *append = list_t ? ft_py.PyObject_GetAttrString(list_t, "append") : NULL;
    const PyMethodDef *ml;
    int ok = ft_pylayout.header_ok && len != NULL && append != NULL && cfunc_t != NULL &&
             mdescr_t != NULL && ft_type_of(len) == cfunc_t && ft_type_of(append) == mdescr_t;

    ok = ok && (ml = ft_cfunc_def(len)) != NULL && ml->ml_name != NULL &&
         strcmp(ml->ml_name, "len") == 0 && ft_cfunc_self(len) == builtins;
    ok = ok && (ml = ft_mdescr_def(append)) != NULL && ml->ml_name != NULL &&
         strcmp(ml->ml_name, "append") == 0 && ft_mdescr_type(append) == list_t;
    ft_pylayout.builtins_ok = ok;
    PyObject *drop[] = {append, len, builtins};
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
        if (drop[i] != NULL) {
            ft_py.Py_DecRef(drop[i]);
        }
    }
}

/* slice.start: an object member; in slice(a, b) it holds a. */
static void
check_members(void)
{
    PyObject *slice_t = sym("PySlice_Type");
    PyObject *(*slice_new)(PyObject *, PyObject *, PyObject *) =
        (PyObject * (*)(PyObject *, PyObject *, PyObject *)) sym("PySlice_New");
    PyObject *desc = slice_t ? ft_py.PyObject_GetAttrString(slice_t, "start") : NULL; /* new */
    PyObject *a = ft_py.PyDict_New ? ft_py.PyDict_New() : NULL;                       /* new */
    PyObject *s = a != NULL && slice_new != NULL ? slice_new(a, ft_py.None, NULL) : NULL;
    Py_ssize_t off;
    int ok = ft_pylayout.header_ok && desc != NULL && s != NULL &&
             strcmp(ft_type_name(ft_type_of(desc)), "member_descriptor") == 0;

    ok = ok && (off = ft_member_object_offset(desc)) > 0 && *(PyObject **)((char *)s + off) == a;
    ft_pylayout.members_ok = ok;
    PyObject *drop[] = {s, a, desc};
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
        if (drop[i] != NULL) {
            ft_py.Py_DecRef(drop[i]);
        }
    }
}

int
ft_pylayout_init(void)
{
    struct ft_py_exc exc;

    ft_py_exc_save(&exc);
    choose();
    check_header();
    check_ints();
    check_ts_tls();
    if (ft_pylayout.frames != FT_FRAMES_NONE) {
        check_frames();
    }
    check_builtins();
    check_members();
    ft_py.PyErr_Clear();
    ft_py_exc_restore(&exc);
    ft_debug("layouts: objects %s, ints %s, frames %s, fast locals %s, thread state's frame "
             "%s, generators' state %s, builtins %s, members %s, tracebacks %s, functions %s",
             ft_pylayout.header_ok ? "ok" : "no", ft_pylayout.int_ok ? "ok" : "no",
             ft_pylayout.frames == FT_FRAMES_NONE ? "no" : "ok",
             ft_pylayout.locals_ok ? "ok" : "no",
             ft_py.minor < 12        ? "n/a"
             : !ft_pylayout.ts_frame ? "no"
             : ft_pylayout.ts_tls    ? "ok, in place"
                                     : "ok",
             ft_py.minor != 11       ? "n/a"
             : ft_pylayout.gen_state ? "ok"
                                     : "no",
             ft_pylayout.builtins_ok ? "ok" : "no", ft_pylayout.members_ok ? "ok" : "no",
             ft_pylayout.tb_ok ? "ok" : "no", ft_pylayout.func_ok ? "ok" : "no");
    return ft_pylayout.frames == FT_FRAMES_NONE ? -ENOTSUP : 0;
}

void
ft_pylayout_check_profile(Py_tracefunc f)
{
    void *ts = ft_py.minor == 11 && ft_py.PyThreadState_Get ? ft_py.PyThreadState_Get() : NULL;

    ft_pylayout.ts_profile =
        ts != NULL && ft_ts_profilefunc(ts) == f && ft_ts_profileobj(ts) == NULL;
}

/* ---- Code objects' extras ------------------------------------------------------------------ */

void *
ft_pylayout_code_extra_before(PyObject *code)
{
    void *w = NULL;

    if (code_extra_guess != 0 && code_extra_checks > 0) {
        memcpy(&w, (const char *)code + code_extra_guess, sizeof(w));
    }
    return w;
}

void (*ft_pylayout_changed)(void);

static void
set_code_extra(Py_ssize_t off)
{
    if (ft_pylayout.code_extra != off) {
        ft_pylayout.code_extra = off;
        if (ft_pylayout_changed != NULL) {
            ft_pylayout_changed();
        }
    }
}

static void
code_extra_wrong(void)
{
    ft_debug("code extras layout check failed; looking code objects up through the C API");
    code_extra_guess = 0;
    set_code_extra(0);
}

void
ft_pylayout_code_extra_seen(PyObject *code, void *before, Py_ssize_t index, const void *value)
{
    const char *block;
    Py_ssize_t size;
    void *ours;

    if (code_extra_guess == 0 || code_extra_checks <= 0) {
        return;
    }
    memcpy(&block, (const char *)code + code_extra_guess, sizeof(block));
    if (block == NULL) {
        code_extra_wrong(); /* the extras are somewhere else */
        return;
    }
    if (block == before) {
        return; /* unchanged: the block already existed; this code proves nothing */
    }
    memcpy(&size, block, sizeof(size));
    memcpy(&ours, block + sizeof(size) + sizeof(void *) * (size_t)index, sizeof(ours));
    if (size <= index || ours != value) {
        code_extra_wrong();
        return;
    }
    if (ft_pylayout.code_extra == 0) {
        ft_debug("code objects looked up in place (extras at offset %zd)", code_extra_guess);
    }
    code_extra_checks--;
    set_code_extra(code_extra_guess);
}
