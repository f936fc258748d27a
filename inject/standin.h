/* standin.h - a function of a Python module replaced, while FlowTrace is installed, by one
 * of FlowTrace's that looks the same: same name, module, signature (inspect.signature) and
 * doc; only its identity differs. The profile engine stands in for sys.setprofile and
 * threading.setprofile this way (engine_profile.c), to see them at once rather than at the
 * next event. GIL held for everything here.
 */
#ifndef FT_INJECT_STANDIN_H
#define FT_INJECT_STANDIN_H

#include "pyapi.h"

struct ft_standin {
    const char *module;    /* the module's name: "sys" */
    const char *signature; /* a Python function's, as __text_signature__ says it: "(func)" */
    int bound;             /* a builtin of the module (its __self__ is the module) */
    PyMethodDef def;       /* the name and FlowTrace's function (METH_O or METH_NOARGS) */
    PyObject *orig;        /* the module's own, held from the first ft_standin_put */
    PyObject *ours;
};

/* Puts ours in the module (made at the first call, kept). Returns 0, or -1 when the
 * module is not imported or anything is missing (then nothing changed). Never raises. */
int ft_standin_put(struct ft_standin *s);

/* Puts the module's own back, if ours is there. Never raises. */
void ft_standin_take_back(struct ft_standin *s);

/* Calls the module's own with arg (none if NULL): a new reference, or NULL with the
 * exception set. */
PyObject *ft_standin_call(struct ft_standin *s, PyObject *arg);

#endif
