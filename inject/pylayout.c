/* pylayout.c - CPython layout facts per version, and their checks against the C API. */
#include "pylayout.h"

#include <errno.h>
#include <string.h>

#include "log.h"

struct ft_pylayout ft_pylayout = {.ref_mask = ~(uintptr_t)0};

#define PY_FILE_INPUT 257 /* Py_file_input, the same in every CPython 3 */

/* The private probe: a function of FlowTrace's own that calls back into C with its
 * frame running, so that the frame can be read both in place and through the API. */
static const char probe_src[] = "def _flowtrace_probe(alpha, beta, check):\n    return check()\n";

static struct {
    PyObject *a, *b, *code; /* the arguments passed, the probe's code (borrowed) */
} probe;

static void
choose(void)
{
    struct ft_pylayout *l = &ft_pylayout;

    l->ref_mask = ~(uintptr_t)0;
    if (ft_py.minor >= 8 && ft_py.minor <= 10) {
        l->frames = FT_FRAMES_OBJECT;
        l->frame_code = 32;
        l->frame_locals = 0; /* type(frame).__basicsize__ - 8, read from the probe */
    } else if (ft_py.minor >= 11 && ft_py.minor <= 14) {
        l->frames = FT_FRAMES_INTERP;
        l->frame_iframe = 24;
        l->iframe_code = ft_py.minor == 11 ? 32 : 0;
        l->iframe_frame_obj = ft_py.minor == 11 ? 40 : 48;
        l->iframe_prev_instr = ft_py.minor == 11 ? 56 : 0;
        l->iframe_locals = ft_py.minor == 14 ? 80 : 72;
        if (ft_py.minor == 14) {
            l->ref_mask = ~(uintptr_t)3;
        }
        if (ft_py.minor >= 12 && ft_py.PyThreadState_Get != NULL) {
            l->ts_frame = ft_py.minor == 12 ? 56 : 72;
            l->ts_cframe = ft_py.minor == 12;
        }
    } else {
        l->frames = FT_FRAMES_NONE;
    }
}

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
    PyObject *type = *(PyObject **)((char *)frame + 8); /* ob_type, borrowed */
    long size = ft_py_attr_long(type, "__basicsize__", 0);

    return size > 64 ? (size_t)size - sizeof(void *) : 0;
}

/* Reads the running probe's frame at the chosen offsets; what the API says must match. */
static void
check(PyFrameObject *frame)
{
    struct ft_pylayout *l = &ft_pylayout;
    PyObject *tmp[2], **locals;

    if (frame == NULL || (l->frames == FT_FRAMES_OBJECT &&
                          (l->frame_locals = object_frame_locals((PyObject *)frame)) == 0)) {
        l->frames = FT_FRAMES_NONE;
        return;
    }
    if (ft_frame_code(frame) != probe.code ||
        (l->frames == FT_FRAMES_INTERP &&
         *(PyFrameObject **)(ft_iframe_of(frame) + l->iframe_frame_obj) != frame)) {
        l->frames = FT_FRAMES_NONE;
        return;
    }
    if (l->ts_frame != 0 && ft_ts_iframe() != ft_iframe_of(frame)) {
        l->ts_frame = 0;
    }
    l->locals_ok = 1;
    locals = ft_frame_locals(frame, 2, tmp);
    l->locals_ok = locals != NULL && locals[0] == probe.a && locals[1] == probe.b &&
                   probe_local((PyObject *)frame, "alpha") == probe.a &&
                   probe_local((PyObject *)frame, "beta") == probe.b;
}

static PyObject *
probe_check(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    check(ft_py.PyEval_GetFrame());
    ft_py.Py_IncRef(ft_py.None);
    return ft_py.None;
}

static PyMethodDef probe_check_def = {"_flowtrace_probe_check", (void *)probe_check, METH_NOARGS,
                                      NULL};

/* Compiles the probe and runs it with (a, b, probe_check): 0, or -1 if it could not run. */
static int
run_probe(void)
{
    PyObject *code = NULL, *globals = NULL, *r = NULL, *args = NULL, *cb = NULL; /* new */
    PyObject *fn, *drop[5];                                                      /* borrowed */
    int ok = 0;

    if (ft_py.Py_CompileString == NULL || ft_py.PyEval_EvalCode == NULL ||
        ft_py.PyFunction_GetCode == NULL || ft_py.PyDict_New == NULL ||
        ft_py.PyEval_GetFrame == NULL) {
        return -1;
    }
    code = ft_py.Py_CompileString(probe_src, "<flowtrace>", PY_FILE_INPUT);
    globals = code != NULL ? ft_py.PyDict_New() : NULL;
    r = globals != NULL ? ft_py.PyEval_EvalCode(code, globals, globals) : NULL;
    fn = r != NULL ? ft_py.PyDict_GetItemString(globals, "_flowtrace_probe") : NULL;
    cb = fn != NULL ? ft_py.PyCFunction_NewEx(&probe_check_def, NULL, NULL) : NULL;
    args = cb != NULL ? ft_py.PyTuple_New(3) : NULL;
    if (args != NULL) {
        probe.code = ft_py.PyFunction_GetCode(fn);
        ft_py.Py_IncRef(probe.a);
        ft_py.PyTuple_SetItem(args, 0, probe.a); /* steals the new reference */
        ft_py.Py_IncRef(probe.b);
        ft_py.PyTuple_SetItem(args, 1, probe.b);
        ft_py.Py_IncRef(cb);
        ft_py.PyTuple_SetItem(args, 2, cb);
        PyObject *res = ft_py.PyObject_CallObject(fn, args); /* new ref */
        if (res != NULL) {
            ok = 1;
            ft_py.Py_DecRef(res);
        }
    }
    drop[0] = args, drop[1] = cb, drop[2] = r, drop[3] = globals, drop[4] = code;
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
        if (drop[i] != NULL) {
            ft_py.Py_DecRef(drop[i]);
        }
    }
    return ok ? 0 : -1;
}

int
ft_pylayout_init(void)
{
    struct ft_py_exc exc;

    ft_py_exc_save(&exc);
    choose();
    if (ft_pylayout.frames != FT_FRAMES_NONE) {
        /* Two objects nobody else holds: found in the frame, they can only be ours. */
        probe.a = ft_py.PyDict_New ? ft_py.PyDict_New() : NULL;
        probe.b = ft_py.PyDict_New ? ft_py.PyDict_New() : NULL;
        if (probe.a == NULL || probe.b == NULL || run_probe() != 0) {
            ft_pylayout.frames = FT_FRAMES_NONE;
        }
        if (probe.a != NULL) {
            ft_py.Py_DecRef(probe.a);
        }
        if (probe.b != NULL) {
            ft_py.Py_DecRef(probe.b);
        }
        memset(&probe, 0, sizeof(probe));
    }
    if (ft_pylayout.frames == FT_FRAMES_NONE) {
        ft_pylayout.locals_ok = 0;
        ft_pylayout.ts_frame = 0;
    }
    ft_py.PyErr_Clear();
    ft_py_exc_restore(&exc);
    ft_debug("frames %s, fast locals %s, thread state's frame %s",
             ft_pylayout.frames == FT_FRAMES_NONE ? "through the C API" : "read in place",
             ft_pylayout.locals_ok ? "read in place" : "not readable (arguments not captured)",
             ft_pylayout.ts_frame ? "read in place" : "not used");
    return ft_pylayout.frames == FT_FRAMES_NONE ? -ENOTSUP : 0;
}
