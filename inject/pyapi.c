/* pyapi.c - run-time resolution of the CPython API and small helpers on top of it. */
#define _GNU_SOURCE
#include "pyapi.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ft_pyapi ft_py;
static const char *missing;

#define REQUIRE(field, sym)                                                                        \
    do {                                                                                           \
        *(void **)&ft_py.field = dlsym(RTLD_DEFAULT, sym);                                         \
        if (ft_py.field == NULL) {                                                                 \
            missing = sym;                                                                         \
            return -ENOENT;                                                                        \
        }                                                                                          \
    } while (0)

#define OPTIONAL(field, sym) (*(void **)&ft_py.field = dlsym(RTLD_DEFAULT, sym))

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

/* What starting in a running interpreter needs (control.h): every thread's profile. */
static void
resolve_running(void)
{
    OPTIONAL(PyInterpreterState_Get, "PyInterpreterState_Get");
    OPTIONAL(PyInterpreterState_ThreadHead, "PyInterpreterState_ThreadHead");
    OPTIONAL(PyThreadState_Next, "PyThreadState_Next");
    OPTIONAL(_PyEval_SetProfile, "_PyEval_SetProfile");
    OPTIONAL(PyEval_SetProfileAllThreads, "PyEval_SetProfileAllThreads");
}

int
ft_pyapi_resolve(void)
{
    const unsigned long *py_version;

    memset(&ft_py, 0, sizeof(ft_py));
    /* The audit-hook API is the cheapest sign of a CPython >= 3.8: check it first so a
     * shell or compiler pays for one failed lookup only. */
    REQUIRE(PySys_AddAuditHook, "PySys_AddAuditHook");
    REQUIRE(Py_GetVersion, "Py_GetVersion");
    py_version = dlsym(RTLD_DEFAULT, "Py_Version");
    ft_py.version = py_version ? *py_version : parse_version(ft_py.Py_GetVersion());
    ft_py.minor = (int)((ft_py.version >> 16) & 0xff);
    if ((ft_py.version >> 24) != 3 || ft_py.minor < 8) {
        missing = "Python >= 3.8";
        return -ENOENT;
    }
    REQUIRE(Py_IncRef, "Py_IncRef");
    REQUIRE(Py_DecRef, "Py_DecRef");
    REQUIRE(PyErr_Fetch, "PyErr_Fetch");
    REQUIRE(PyErr_Restore, "PyErr_Restore");
    REQUIRE(PyErr_Clear, "PyErr_Clear");
    REQUIRE(PyErr_Occurred, "PyErr_Occurred");
    REQUIRE(PyEval_SetProfile, "PyEval_SetProfile");
    REQUIRE(PyObject_GetAttrString, "PyObject_GetAttrString");
    REQUIRE(PyObject_CallObject, "PyObject_CallObject");
    REQUIRE(PyObject_Str, "PyObject_Str");
    REQUIRE(PyUnicode_AsUTF8AndSize, "PyUnicode_AsUTF8AndSize");
    REQUIRE(PyUnicode_AsEncodedString, "PyUnicode_AsEncodedString");
    REQUIRE(PyBytes_AsStringAndSize, "PyBytes_AsStringAndSize");
    REQUIRE(PyLong_AsLong, "PyLong_AsLong");
    REQUIRE(PyTuple_New, "PyTuple_New");
    REQUIRE(PyTuple_SetItem, "PyTuple_SetItem");
    REQUIRE(PyTuple_GetItem, "PyTuple_GetItem");
    REQUIRE(PyTuple_Size, "PyTuple_Size");
    REQUIRE(PyDict_GetItemString, "PyDict_GetItemString");
    REQUIRE(PySys_GetObject, "PySys_GetObject");
    REQUIRE(PyCFunction_NewEx, "PyCFunction_NewEx");
    REQUIRE(Py_AtExit, "Py_AtExit");
    REQUIRE(None, "_Py_NoneStruct");
    if (ft_py.minor >= 12) {
        REQUIRE(RequestCodeExtraIndex, "PyUnstable_Eval_RequestCodeExtraIndex");
        REQUIRE(Code_GetExtra, "PyUnstable_Code_GetExtra");
        REQUIRE(Code_SetExtra, "PyUnstable_Code_SetExtra");
    } else {
        REQUIRE(RequestCodeExtraIndex, "_PyEval_RequestCodeExtraIndex");
        REQUIRE(Code_GetExtra, "_PyCode_GetExtra");
        REQUIRE(Code_SetExtra, "_PyCode_SetExtra");
    }
    OPTIONAL(PyFrame_GetCode, "PyFrame_GetCode");
    OPTIONAL(PyFrame_GetBack, "PyFrame_GetBack");
    OPTIONAL(PyFrame_GetGlobals, "PyFrame_GetGlobals");
    OPTIONAL(PyEval_GetGlobals, "PyEval_GetGlobals");
    OPTIONAL(PyEval_SetTrace, "PyEval_SetTrace");
    OPTIONAL(PyImport_GetModule, "PyImport_GetModule");
    OPTIONAL(PyUnicode_FromString, "PyUnicode_FromString");
    OPTIONAL(Py_IsInitialized, "Py_IsInitialized");
    OPTIONAL(PyLong_FromLong, "PyLong_FromLong");
    OPTIONAL(PyThreadState_Get, "PyThreadState_Get");
    OPTIONAL(PyEval_GetFrame, "PyEval_GetFrame");
    OPTIONAL(PyDict_New, "PyDict_New");
    OPTIONAL(PyDict_Update, "PyDict_Update");
    OPTIONAL(PyObject_GetItem, "PyObject_GetItem");
    resolve_running();
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
    PyObject *str /* new ref */, *bytes /* new ref */;
    const char *s;
    char *bs;
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
        ft_py.PyErr_Clear();
        bytes = ft_py.PyUnicode_AsEncodedString(str, "utf-8", "replace");
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
        identity = (uint64_t)(uintptr_t)th;
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
