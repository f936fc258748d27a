/* standin.c - a module's function replaced by FlowTrace's, looking the same (standin.h). */
#include "standin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* NAME SIGNATURE "\n--\n\n" DOC: how a builtin's doc carries its signature, so that
 * __text_signature__, inspect.signature() and help() answer as for the module's own: a
 * builtin's own signature (none in some builds), or for a Python function the one given. */
static const char *
doc_of(const struct ft_standin *s)
{
    PyObject *doc = ft_py.PyObject_GetAttrString(s->orig, "__doc__"); /* new refs */
    PyObject *sig = ft_py.PyObject_GetAttrString(s->orig, "__text_signature__");
    const char *d =
        doc != NULL && doc != ft_py.None ? ft_py.PyUnicode_AsUTF8AndSize(doc, NULL) : NULL;
    const char *g = sig == NULL         ? s->signature
                    : sig != ft_py.None ? ft_py.PyUnicode_AsUTF8AndSize(sig, NULL)
                                        : NULL;
    size_t n =
        strlen(s->def.ml_name) + (g != NULL ? strlen(g) : 0) + (d != NULL ? strlen(d) : 0) + 8;
    char *out = malloc(n); /* kept for the process's life, as the function is */

    if (out != NULL && g != NULL) {
        snprintf(out, n, "%s%s\n--\n\n%s", s->def.ml_name, g, d != NULL ? d : "");
    } else if (out != NULL) {
        snprintf(out, n, "%s", d != NULL ? d : "");
    }
    if (doc != NULL) {
        ft_py.Py_DecRef(doc);
    }
    if (sig != NULL) {
        ft_py.Py_DecRef(sig);
    }
    ft_py.PyErr_Clear();
    return out;
}

static void
make(struct ft_standin *s, PyObject *module)
{
    PyObject *name; /* new ref */

    if ((s->orig = ft_py.PyObject_GetAttrString(module, s->def.ml_name)) == NULL) {
        return;
    }
    s->def.ml_doc = doc_of(s);
    if ((name = ft_py.PyUnicode_FromString(s->module)) != NULL) {
        s->ours = ft_py.PyCFunction_NewEx(&s->def, s->bound ? module : NULL, name);
        ft_py.Py_DecRef(name);
    }
}

static int
set(struct ft_standin *s, int ours)
{
    PyObject *module = ft_py_module(s->module); /* new ref */
    struct ft_py_exc exc;
    int rc = -1;

    if (module == NULL || ft_py.PyObject_SetAttrString == NULL ||
        ft_py.PyUnicode_FromString == NULL) {
        if (module != NULL) {
            ft_py.Py_DecRef(module);
        }
        return -1;
    }
    ft_py_exc_save(&exc);
    if (s->ours == NULL && ours) {
        make(s, module);
    }
    if (s->ours != NULL) {
        rc = ft_py.PyObject_SetAttrString(module, s->def.ml_name, ours ? s->ours : s->orig);
    }
    ft_py.Py_DecRef(module);
    ft_py.PyErr_Clear();
    ft_py_exc_restore(&exc);
    return rc == 0 ? 0 : -1;
}

int
ft_standin_put(struct ft_standin *s)
{
    return set(s, 1);
}

void
ft_standin_take_back(struct ft_standin *s)
{
    if (s->ours != NULL) {
        set(s, 0);
    }
}

PyObject *
ft_standin_call(struct ft_standin *s, PyObject *arg)
{
    PyObject *args = ft_py.PyTuple_New(arg != NULL ? 1 : 0), *r; /* new refs */

    if (args == NULL) {
        return NULL;
    }
    if (arg != NULL) {
        ft_py.Py_IncRef(arg);
        ft_py.PyTuple_SetItem(args, 0, arg); /* steals the extra reference */
    }
    r = ft_py.PyObject_CallObject(s->orig, args);
    ft_py.Py_DecRef(args);
    return r;
}
