/* capture_int.h - what the two renderers share: capture.c (values as Python writes
 * them, bounded and redacted) and capture_json.c (format-3 JSON, which describes what is
 * not plain JSON with capture.c's rendering). Only those two include it; capture_json.c
 * calls into capture.c, never the other way.
 */
#ifndef FT_INJECT_CAPTURE_INT_H
#define FT_INJECT_CAPTURE_INT_H

#include "config.h"
#include "pyapi.h"
#include "text.h"

#define FT_CAPTURE_MAX_DEPTH 4          /* containers nested deeper render as [...] */
#define FT_CAPTURE_UNLIMITED (1u << 20) /* what "no limit" means: one MiB of text per value */

/* Type objects and functions we need beyond ft_py (all optional in pyapi terms: if one
 * is missing, capture stays off). Set by ft_capture_init. */
struct ft_capture_api {
    PyObject *long_t, *float_t, *str_t, *bytes_t, *bytearray_t, *bool_t, *list_t, *tuple_t, *dict_t,
        *set_t, *frozenset_t, *none_t, *cell_t, *func_t, *type_t, *module_t;
    PyObject *true_o, *false_o;
    long long (*PyLong_AsLongLongAndOverflow)(PyObject *, int *);
    double (*PyFloat_AsDouble)(PyObject *);
    Py_ssize_t (*PyUnicode_GetLength)(PyObject *);
    char *(*PyByteArray_AsString)(PyObject *);
    Py_ssize_t (*PyByteArray_Size)(PyObject *);
    Py_ssize_t (*PyList_Size)(PyObject *);
    PyObject *(*PyList_GetItem)(PyObject *, Py_ssize_t);
    int (*PyDict_Next)(PyObject *, Py_ssize_t *, PyObject **, PyObject **);
    Py_ssize_t (*PyDict_Size)(PyObject *);
    Py_ssize_t (*PySet_Size)(PyObject *);
    int (*_PySet_NextEntry)(PyObject *, Py_ssize_t *, PyObject **, long *);
    PyObject *(*PyObject_Repr)(PyObject *);
    PyObject *(*PyCell_Get)(PyObject *);
    const char *(*PyModule_GetName)(PyObject *);
    unsigned long (*PyType_GetFlags)(PyObject *);
    PyObject *(*PyObject_GenericGetDict)(PyObject *, void *);
    int ready;
};
extern struct ft_capture_api ft_capi __attribute__((visibility("hidden")));

/* Appends v's rendering (ft_capture_value's, unbounded but by o), nested at depth. */
void ft_capture_render(struct ft_text *o, PyObject *v, int depth);

/* Appends an int's digits (v an exact int). */
void ft_capture_render_int(struct ft_text *o, PyObject *v);

/* ft_capture_value; returns N of its truncation marker, or -1 when it was not cut. */
long long ft_capture_render_bounded(struct ft_text *out, PyObject *o);

/* The name of v's type as renderings write it (module.Qualname, Qualname for builtins),
 * its length in *len; cached per type. */
const char *ft_capture_type_name(PyObject *v, size_t *len);

/* Whether k, a dict key or the first of a pair, names a secret (a str or bytes). */
int ft_capture_secret_key(PyObject *k);

/* Whether text (n bytes) may hold a secret (lib/redact.h): a secret's name, an HTTP
 * credential, a URL's password. Nothing is redacted with FLOWTRACE_REDACT=none. */
int ft_capture_may_hold_secret(const void *text, size_t n);

/* With --repr, rendering an item may run the program's code (a __repr__), which can
 * change or free the container being rendered, or the item itself: then every item is
 * held by a reference while it is rendered. Without --repr no Python code runs during a
 * rendering, and borrowed items are safe. */
static inline void
ft_capture_hold(PyObject *v)
{
    if (ft_cfg.repr) {
        ft_py.Py_IncRef(v);
    }
}

static inline void
ft_capture_release(PyObject *v)
{
    if (ft_cfg.repr) {
        ft_py.Py_DecRef(v);
    }
}

#endif
