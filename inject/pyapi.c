/* pyapi.c - run-time resolution of the CPython API and small helpers on top of it. */
#define _GNU_SOURCE
#include "pyapi.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ft_pyapi ft_py;
static const char *missing;

/* "3.11.2 (main, ...)" -> 0x030b02f0 (the release level is taken as final). */
static unsigned long
parse_version(const char *s)
{
    char *end;
    unsigned long major = strtoul(s, &end, 10), minor = 0, micro = 0;

    if (*end == '.') {
        minor = strtoul(end + 1, &end, 10);
        if (*end == '.') {
            micro = strtoul(end + 1, &end, 10);
        }
    }
    return (major << 24) | (minor << 16) | (micro << 8) | 0xf0;
}

/* Every function and object of the table, by its CPython name; required ones first.
 * The code-extra functions and the gate's two are resolved apart. */
static const struct symbol {
    size_t field; /* offset in struct ft_pyapi */
    const char *name;
    int required; /* without it the library stays inert */
} symbols[] = {
    {offsetof(struct ft_pyapi, Py_IncRef), "Py_IncRef", 1},
    {offsetof(struct ft_pyapi, Py_DecRef), "Py_DecRef", 1},
    {offsetof(struct ft_pyapi, PyErr_Fetch), "PyErr_Fetch", 1},
    {offsetof(struct ft_pyapi, PyErr_Restore), "PyErr_Restore", 1},
    {offsetof(struct ft_pyapi, PyErr_Clear), "PyErr_Clear", 1},
    {offsetof(struct ft_pyapi, PyErr_Occurred), "PyErr_Occurred", 1},
    {offsetof(struct ft_pyapi, PyEval_SetProfile), "PyEval_SetProfile", 1},
    {offsetof(struct ft_pyapi, PyObject_GetAttrString), "PyObject_GetAttrString", 1},
    {offsetof(struct ft_pyapi, PyObject_CallObject), "PyObject_CallObject", 1},
    {offsetof(struct ft_pyapi, PyObject_Str), "PyObject_Str", 1},
    {offsetof(struct ft_pyapi, PyUnicode_AsUTF8AndSize), "PyUnicode_AsUTF8AndSize", 1},
    {offsetof(struct ft_pyapi, PyUnicode_AsEncodedString), "PyUnicode_AsEncodedString", 1},
    {offsetof(struct ft_pyapi, PyBytes_AsStringAndSize), "PyBytes_AsStringAndSize", 1},
    {offsetof(struct ft_pyapi, PyLong_AsLong), "PyLong_AsLong", 1},
    {offsetof(struct ft_pyapi, PyTuple_New), "PyTuple_New", 1},
    {offsetof(struct ft_pyapi, PyTuple_SetItem), "PyTuple_SetItem", 1},
    {offsetof(struct ft_pyapi, PyTuple_GetItem), "PyTuple_GetItem", 1},
    {offsetof(struct ft_pyapi, PyTuple_Size), "PyTuple_Size", 1},
    {offsetof(struct ft_pyapi, PyDict_GetItemString), "PyDict_GetItemString", 1},
    {offsetof(struct ft_pyapi, PySys_GetObject), "PySys_GetObject", 1},
    {offsetof(struct ft_pyapi, PyCFunction_NewEx), "PyCFunction_NewEx", 1},
    {offsetof(struct ft_pyapi, Py_AtExit), "Py_AtExit", 1},
    {offsetof(struct ft_pyapi, None), "_Py_NoneStruct", 1},
    {offsetof(struct ft_pyapi, PyFrame_GetCode), "PyFrame_GetCode", 0},
    {offsetof(struct ft_pyapi, PyFrame_GetBack), "PyFrame_GetBack", 0},
    {offsetof(struct ft_pyapi, PyFrame_GetGlobals), "PyFrame_GetGlobals", 0},
    {offsetof(struct ft_pyapi, PyEval_GetGlobals), "PyEval_GetGlobals", 0},
    {offsetof(struct ft_pyapi, PyEval_SetTrace), "PyEval_SetTrace", 0},
    {offsetof(struct ft_pyapi, PyImport_GetModule), "PyImport_GetModule", 0},
    {offsetof(struct ft_pyapi, PyUnicode_FromString), "PyUnicode_FromString", 0},
    {offsetof(struct ft_pyapi, Py_IsInitialized), "Py_IsInitialized", 0},
    {offsetof(struct ft_pyapi, PyLong_FromLong), "PyLong_FromLong", 0},
    {offsetof(struct ft_pyapi, PyThreadState_Get), "PyThreadState_Get", 0},
    {offsetof(struct ft_pyapi, PyObject_SetAttrString), "PyObject_SetAttrString", 0},
    {offsetof(struct ft_pyapi, PyEval_GetFrame), "PyEval_GetFrame", 0},
    {offsetof(struct ft_pyapi, PyDict_New), "PyDict_New", 0},
    {offsetof(struct ft_pyapi, PyDict_Update), "PyDict_Update", 0},
    {offsetof(struct ft_pyapi, PyObject_GetItem), "PyObject_GetItem", 0},
    {offsetof(struct ft_pyapi, Py_CompileString), "Py_CompileString", 0},
    {offsetof(struct ft_pyapi, PyEval_EvalCode), "PyEval_EvalCode", 0},
    {offsetof(struct ft_pyapi, PyFunction_GetCode), "PyFunction_GetCode", 0},
    {offsetof(struct ft_pyapi, PyIter_Next), "PyIter_Next", 0},
    {offsetof(struct ft_pyapi, PyMem_GetAllocator), "PyMem_GetAllocator", 0},
    {offsetof(struct ft_pyapi, PyMem_SetAllocator), "PyMem_SetAllocator", 0},
    /* Starting in a running interpreter (control.h): every thread's profile function. */
    {offsetof(struct ft_pyapi, PyInterpreterState_Get), "PyInterpreterState_Get", 0},
    {offsetof(struct ft_pyapi, PyInterpreterState_ThreadHead), "PyInterpreterState_ThreadHead", 0},
    {offsetof(struct ft_pyapi, PyThreadState_Next), "PyThreadState_Next", 0},
    {offsetof(struct ft_pyapi, _PyEval_SetProfile), "_PyEval_SetProfile", 0},
    {offsetof(struct ft_pyapi, PyEval_SetProfileAllThreads), "PyEval_SetProfileAllThreads", 0},
    {offsetof(struct ft_pyapi, Py_AddPendingCall), "Py_AddPendingCall", 0},
};

/* Looks name up into the table's field at off. Returns 0, or -ENOENT when required. */
static int
resolve(size_t off, const char *name, int required)
{
    void *p = dlsym(RTLD_DEFAULT, name);

    memcpy((char *)&ft_py + off, &p, sizeof(p));
    if (p == NULL && required) {
        missing = name;
        return -ENOENT;
    }
    return 0;
}

int
ft_pyapi_resolve(void)
{
    const unsigned long *py_version;
    int v12;

    memset(&ft_py, 0, sizeof(ft_py));
    /* The audit-hook API is the cheapest sign of a CPython >= 3.8: check it first so a
     * shell or compiler pays for one failed lookup only. */
    if (resolve(offsetof(struct ft_pyapi, PySys_AddAuditHook), "PySys_AddAuditHook", 1) != 0 ||
        resolve(offsetof(struct ft_pyapi, Py_GetVersion), "Py_GetVersion", 1) != 0) {
        return -ENOENT;
    }
    py_version = dlsym(RTLD_DEFAULT, "Py_Version");
    ft_py.version = py_version ? *py_version : parse_version(ft_py.Py_GetVersion());
    ft_py.minor = (int)((ft_py.version >> 16) & 0xff);
    if ((ft_py.version >> 24) != 3 || ft_py.minor < 8) {
        missing = "Python >= 3.8";
        return -ENOENT;
    }
    for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
        if (resolve(symbols[i].field, symbols[i].name, symbols[i].required) != 0) {
            return -ENOENT;
        }
    }
    /* Code-object extra slots: _PyCode_* up to 3.11, PyUnstable_* from 3.12. */
    v12 = ft_py.minor >= 12;
    if (resolve(offsetof(struct ft_pyapi, RequestCodeExtraIndex),
                v12 ? "PyUnstable_Eval_RequestCodeExtraIndex" : "_PyEval_RequestCodeExtraIndex",
                1) != 0 ||
        resolve(offsetof(struct ft_pyapi, Code_GetExtra),
                v12 ? "PyUnstable_Code_GetExtra" : "_PyCode_GetExtra", 1) != 0 ||
        resolve(offsetof(struct ft_pyapi, Code_SetExtra),
                v12 ? "PyUnstable_Code_SetExtra" : "_PyCode_SetExtra", 1) != 0) {
        return -ENOENT;
    }
    return 0;
}

const char *
ft_pyapi_missing(void)
{
    return missing ? missing : "";
}

void
ft_py_exc_save(struct ft_py_exc *e)
{
    ft_py.PyErr_Fetch(&e->t, &e->v, &e->tb);
}

void
ft_py_exc_restore(struct ft_py_exc *e)
{
    ft_py.PyErr_Restore(e->t, e->v, e->tb);
}

static size_t
copy_out(const char *s, size_t n, char *out, size_t cap)
{
    if (cap == 0) {
        return 0;
    }
    if (n >= cap) {
        n = cap - 1;
        /* Do not cut a UTF-8 sequence in half. */
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) {
            n--;
        }
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return n;
}

size_t
ft_py_text(PyObject *o, char *out, size_t cap)
{
    PyObject *str; /* new ref */
    const char *s;
    Py_ssize_t n;
    size_t len = 0;

    if (cap > 0) {
        out[0] = '\0';
    }
    if (o == NULL) {
        return 0;
    }
    str = ft_py.PyObject_Str(o);
    if (str == NULL) {
        ft_py.PyErr_Clear();
        return 0;
    }
    s = ft_py.PyUnicode_AsUTF8AndSize(str, &n);
    if (s != NULL) {
        len = copy_out(s, (size_t)n, out, cap);
    } else {
        /* Lone surrogates (undecodable file names) cannot be UTF-8: replace them. */
        char *bs;
        ft_py.PyErr_Clear();
        PyObject *bytes = ft_py.PyUnicode_AsEncodedString(str, "utf-8", "replace"); /* new */
        if (bytes != NULL && ft_py.PyBytes_AsStringAndSize(bytes, &bs, &n) == 0) {
            len = copy_out(bs, (size_t)n, out, cap);
        }
        ft_py.PyErr_Clear();
        if (bytes != NULL) {
            ft_py.Py_DecRef(bytes);
        }
    }
    ft_py.Py_DecRef(str);
    return len;
}

size_t
ft_py_attr_text(PyObject *o, const char *name, char *out, size_t cap)
{
    PyObject *v = ft_py.PyObject_GetAttrString(o, name); /* new ref */
    size_t n;

    if (v == NULL) {
        ft_py.PyErr_Clear();
        if (cap > 0) {
            out[0] = '\0';
        }
        return 0;
    }
    n = ft_py_text(v, out, cap);
    ft_py.Py_DecRef(v);
    return n;
}

long
ft_py_attr_long(PyObject *o, const char *name, long dflt)
{
    PyObject *v = ft_py.PyObject_GetAttrString(o, name); /* new ref */
    long r;

    if (v == NULL) {
        ft_py.PyErr_Clear();
        return dflt;
    }
    r = ft_py.PyLong_AsLong(v);
    if (r == -1 && ft_py.PyErr_Occurred() != NULL) {
        ft_py.PyErr_Clear();
        r = dflt;
    }
    ft_py.Py_DecRef(v);
    return r;
}

PyObject *
ft_py_module(const char *name)
{
    PyObject *modules = ft_py.PySys_GetObject("modules"); /* borrowed */
    PyObject *m;                                          /* borrowed */

    if (modules == NULL) {
        ft_py.PyErr_Clear();
        return NULL;
    }
    m = ft_py.PyDict_GetItemString(modules, name);
    if (m == NULL) {
        return NULL;
    }
    ft_py.Py_IncRef(m);
    return m;
}

static void
xdecref(PyObject *o)
{
    if (o != NULL) {
        ft_py.Py_DecRef(o);
    }
}

uint64_t
ft_py_thread_name(char *out, size_t cap)
{
    PyObject *threading = ft_py_module("threading");                       /* new ref */
    PyObject *active = NULL, *get_ident = NULL, *ident = NULL, *th = NULL; /* new refs */
    struct ft_py_exc exc;
    uint64_t identity = 0;

    snprintf(out, cap, "Thread");
    if (threading == NULL) {
        return 0;
    }
    ft_py_exc_save(&exc);
    active = ft_py.PyObject_GetAttrString(threading, "_active");
    get_ident = ft_py.PyObject_GetAttrString(threading, "get_ident");
    if (active != NULL && get_ident != NULL && ft_py.PyObject_GetItem != NULL) {
        ident = ft_py.PyObject_CallObject(get_ident, NULL);
    }
    if (ident != NULL) {
        th = ft_py.PyObject_GetItem(active, ident);
    }
    if (th != NULL) {
        ft_py_attr_text(th, "name", out, cap);
        identity = (uint64_t)(uintptr_t)th; /* threading._active keeps it alive */
    }
    ft_py.PyErr_Clear();
    ft_py_exc_restore(&exc);
    xdecref(th);
    xdecref(ident);
    xdecref(get_ident);
    xdecref(active);
    xdecref(threading);
    return identity;
}
