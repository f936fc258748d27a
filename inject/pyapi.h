/* pyapi.h - the CPython C API as FlowTrace uses it, resolved at run time.
 *
 * libflowtrace.so never links libpython and never includes Python.h: the interpreter
 * may be a static executable (Debian's python3.11) or use a shared libpython (pyenv),
 * and its version is only known at run time. Every function is looked up with
 * dlsym(RTLD_DEFAULT) into ft_py, under its CPython name, so `git grep PyEval_SetProfile`
 * finds every use. Per-version decisions are made here from the running interpreter's
 * version (Py_Version, else Py_GetVersion()), never from headers.
 */
#ifndef FT_INJECT_PYAPI_H
#define FT_INJECT_PYAPI_H

#include <stddef.h>
#include <stdint.h>

/* Opaque to us: we only pass these pointers back to CPython. */
typedef struct ft_opaque_object PyObject;
typedef struct ft_opaque_frame PyFrameObject;
typedef intptr_t Py_ssize_t;

typedef int (*Py_tracefunc)(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg);
typedef int (*Py_AuditHookFunction)(const char *event, PyObject *args, void *data);
typedef PyObject *(*PyCFunction)(PyObject *self, PyObject *args);
typedef void (*freefunc)(void *);

/* Stable since 3.5 (cpython/pymem.h). */
typedef struct {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr);
} PyMemAllocatorEx;

#define PYMEM_DOMAIN_RAW 0

/* Stable ABI layout (unchanged since Python 2). */
typedef struct PyMethodDef {
    const char *ml_name;
    void *ml_meth;
    int ml_flags;
    const char *ml_doc;
} PyMethodDef;

#define METH_VARARGS  0x0001
#define METH_NOARGS   0x0004
#define METH_O        0x0008
#define METH_FASTCALL 0x0080

#define PyTrace_CALL        0
#define PyTrace_EXCEPTION   1
#define PyTrace_LINE        2
#define PyTrace_RETURN      3
#define PyTrace_C_CALL      4
#define PyTrace_C_EXCEPTION 5
#define PyTrace_C_RETURN    6

#define CO_NEWLOCALS          0x0002
#define CO_GENERATOR          0x0020
#define CO_COROUTINE          0x0080
#define CO_ITERABLE_COROUTINE 0x0100
#define CO_ASYNC_GENERATOR    0x0200

struct ft_pyapi {
    unsigned long version; /* PY_VERSION_HEX of the running interpreter, e.g. 0x030b02f0 */
    int minor;             /* 3.<minor> */

    /* Required: without these the library stays inert. */
    int (*PySys_AddAuditHook)(Py_AuditHookFunction hook, void *data);
    const char *(*Py_GetVersion)(void);
    void (*Py_IncRef)(PyObject *o);
    void (*Py_DecRef)(PyObject *o);
    void (*PyErr_Fetch)(PyObject **t, PyObject **v, PyObject **tb);
    void (*PyErr_Restore)(PyObject *t, PyObject *v, PyObject *tb);
    void (*PyErr_Clear)(void);
    PyObject *(*PyErr_Occurred)(void);
    void (*PyEval_SetProfile)(Py_tracefunc func, PyObject *obj);
    PyObject *(*PyObject_GetAttrString)(PyObject *o, const char *name);
    PyObject *(*PyObject_CallObject)(PyObject *callable, PyObject *args);
    PyObject *(*PyObject_Str)(PyObject *o);
    const char *(*PyUnicode_AsUTF8AndSize)(PyObject *o, Py_ssize_t *size);
    PyObject *(*PyUnicode_AsEncodedString)(PyObject *o, const char *enc, const char *errors);
    int (*PyBytes_AsStringAndSize)(PyObject *o, char **s, Py_ssize_t *len);
    long (*PyLong_AsLong)(PyObject *o);
    PyObject *(*PyTuple_New)(Py_ssize_t n);
    int (*PyTuple_SetItem)(PyObject *t, Py_ssize_t i, PyObject *o);
    PyObject *(*PyTuple_GetItem)(PyObject *t, Py_ssize_t i);
    Py_ssize_t (*PyTuple_Size)(PyObject *t);
    PyObject *(*PyDict_GetItemString)(PyObject *d, const char *key);
    PyObject *(*PySys_GetObject)(const char *name);
    PyObject *(*PyCFunction_NewEx)(PyMethodDef *ml, PyObject *self, PyObject *module);
    int (*Py_AtExit)(void (*func)(void));
    PyObject *None; /* &_Py_NoneStruct */

    /* Code-object extra slots: _PyCode_* up to 3.11, PyUnstable_* from 3.12. */
    Py_ssize_t (*RequestCodeExtraIndex)(freefunc f);
    int (*Code_GetExtra)(PyObject *code, Py_ssize_t index, void **extra);
    int (*Code_SetExtra)(PyObject *code, Py_ssize_t index, void *extra);

    /* Optional: a missing one switches off the feature that needs it. */
    PyObject *(*PyFrame_GetCode)(PyFrameObject *f);      /* 3.9+ */
    PyFrameObject *(*PyFrame_GetBack)(PyFrameObject *f); /* 3.9+, new reference */
    PyObject *(*PyFrame_GetGlobals)(PyFrameObject *f);   /* 3.11+ */
    PyObject *(*PyEval_GetGlobals)(void);                /* borrowed */
    void (*PyEval_SetTrace)(Py_tracefunc func, PyObject *obj);
    PyObject *(*PyImport_GetModule)(PyObject *name); /* 3.7+ */
    PyObject *(*PyUnicode_FromString)(const char *s);
    int (*Py_IsInitialized)(void);
    PyObject *(*PyLong_FromLong)(long v);
    void *(*PyThreadState_Get)(void);        /* PyThreadState * */
    PyFrameObject *(*PyEval_GetFrame)(void); /* borrowed */
    PyObject *(*PyDict_New)(void);
    int (*PyDict_Update)(PyObject *a, PyObject *b);
    PyObject *(*PyObject_GetItem)(PyObject *o, PyObject *key);
    PyObject *(*Py_CompileString)(const char *src, const char *file, int start);
    PyObject *(*PyEval_EvalCode)(PyObject *code, PyObject *globals, PyObject *locals);
    PyObject *(*PyFunction_GetCode)(PyObject *fn); /* borrowed */
    PyObject *(*PyIter_Next)(PyObject *it);
    void (*PyMem_GetAllocator)(int domain, PyMemAllocatorEx *allocator);
    void (*PyMem_SetAllocator)(int domain, PyMemAllocatorEx *allocator);
    /* Starting in a running interpreter (control.h): every thread's profile function. */
    void *(*PyInterpreterState_Get)(void);                /* PyInterpreterState * */
    void *(*PyInterpreterState_ThreadHead)(void *interp); /* PyThreadState * */
    void *(*PyThreadState_Next)(void *tstate);            /* PyThreadState * */
    int (*_PyEval_SetProfile)(void *tstate, Py_tracefunc func, PyObject *obj); /* -3.11 */
    void (*PyEval_SetProfileAllThreads)(Py_tracefunc func, PyObject *obj);     /* 3.12+ */
    int (*Py_AddPendingCall)(int (*func)(void *), void *arg);
    int (*PyObject_SetAttrString)(PyObject *o, const char *name, PyObject *v);
};

extern struct ft_pyapi ft_py;

/* Resolves the table. Returns 0 if every required symbol is there (this is a CPython
 * process FlowTrace can trace), or -ENOENT. Cheap: a few dozen dlsym calls. Must not
 * call into Python (the interpreter is not initialised when the constructor runs). */
int ft_pyapi_resolve(void);

/* The name of the first missing required symbol after a failed resolve, for debugging. */
const char *ft_pyapi_missing(void);

/* ---- Small helpers built on the table (GIL held) ---------------------------------- */

/* Copies str(o) (or o itself if it is a str) as UTF-8 into out (cap bytes, always
 * NUL-terminated), replacing unencodable characters. Returns the length written.
 * Any Python error is cleared. */
size_t ft_py_text(PyObject *o, char *out, size_t cap);

/* o.name as text into out, as ft_py_text; returns 0 if the attribute is missing. */
size_t ft_py_attr_text(PyObject *o, const char *name, char *out, size_t cap);

/* o.name as a C long, or dflt if missing. Errors are cleared. */
long ft_py_attr_long(PyObject *o, const char *name, long dflt);

/* sys.modules[name] as a new reference, or NULL (never raises). */
PyObject *ft_py_module(const char *name);

/* The calling thread's threading.Thread name, from threading._active (no Thread object
 * is created for a thread threading does not know), else "Thread". Returns the Thread
 * object's identity (its address; 0 if there is none). Never raises. */
uint64_t ft_py_thread_name(char *out, size_t cap);

/* Saves and restores the pending exception around code that may raise. */
struct ft_py_exc {
    PyObject *t, *v, *tb;
};
void ft_py_exc_save(struct ft_py_exc *e);
void ft_py_exc_restore(struct ft_py_exc *e);

#endif
