/* codes.c - code-object interning, scope decisions, parameter layout, definitions log. */
#define _GNU_SOURCE
#include "codes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "config.h"
#include "deflog.h"
#include "lib/wire.h"
#include "log.h"
#include "scope.h"
#include "srclog.h"
#include "units.h"

#define CO_VARARGS     0x0004
#define CO_VARKEYWORDS 0x0008

struct ft_code_info ft_code_skip; /* traced = 0 */
Py_ssize_t ft_code_extra_index = -1;

static char stdlib_dir[4096];   /* with a trailing '/', or "" */
static const char *main_source; /* "<string>" for -c, "<stdin>" for stdin, else NULL */

static void
info_free(struct ft_code_info *ci)
{
    if (ci != NULL && ci != &ft_code_skip) {
        for (unsigned i = 0; ci->local_names != NULL && i < ci->nlocals; i++) {
            free(ci->local_names[i]);
        }
        free(ci->local_names);
        free(ci);
    }
}

/* Called by CPython when a code object is freed: no frame of it runs any more. */
static void
slot_free(void *extra)
{
    info_free(extra);
}

int
ft_codes_init(void)
{
    PyObject *os = ft_py_module("os"); /* new ref */
    char *slash;

    ft_code_extra_index = ft_py.RequestCodeExtraIndex(slot_free);
    if (ft_code_extra_index < 0) {
        ft_py.PyErr_Clear();
        return -ENOENT;
    }
    /* The directory of os.py is the standard library, in every installation layout. */
    if (os != NULL) {
        ft_py_attr_text(os, "__file__", stdlib_dir, sizeof(stdlib_dir) - 1);
        ft_py.Py_DecRef(os);
    }
    slash = strrchr(stdlib_dir, '/');
    if (slash != NULL) {
        slash[1] = '\0';
    } else {
        stdlib_dir[0] = '\0';
    }
    ft_debug("standard library: %s", stdlib_dir[0] ? stdlib_dir : "(unknown)");
    return 0;
}

void
ft_codes_set_main_source(const char *file)
{
    main_source = file;
}

/* ---- Scope -------------------------------------------------------------------------- */

static int
in_scope(const char *module, const char *name, const char *file, long co_flags)
{
    const struct ft_scope scope = {
        .include = &ft_cfg.include,
        .exclude = &ft_cfg.exclude,
        .include_path = &ft_cfg.include_path,
        .exclude_path = &ft_cfg.exclude_path,
        .all = ft_cfg.all,
        .stdlib_dir = stdlib_dir,
        .main_source = main_source,
    };

    return ft_scope_in(&scope, module, name, file, (co_flags & CO_NEWLOCALS) != 0);
}

/* Functions the compiler wrote, not the program. Like class bodies they only add noise,
 * and they would make the same program's trees differ by version (--all keeps them):
 * - up to 3.11, list, dict and set comprehensions run as functions of their own; 3.12
 *   inlines them (PEP 709), so their calls are left out here too (calls made inside them
 *   go to the enclosing function, as from 3.12);
 * - 3.14's __annotate__(format, /) (PEP 649), run when annotations are read. */
static int
generated(PyObject *code, const char *qualname)
{
    const char *dot = strrchr(qualname, '.');
    const char *name = dot != NULL ? dot + 1 : qualname;

    if (ft_cfg.all) {
        return 0;
    }
    if (ft_py.minor <= 11) {
        return strcmp(name, "<listcomp>") == 0 || strcmp(name, "<dictcomp>") == 0 ||
               strcmp(name, "<setcomp>") == 0;
    }
    return ft_py.minor >= 14 && strcmp(name, "__annotate__") == 0 &&
           ft_py_attr_long(code, "co_posonlyargcount", 0) == 1;
}

/* ---- Parameters ----------------------------------------------------------------------- */

/* The names of parameters first..total-1 (locals order), strdup'ed into a new array of
 * ci->nparams entries; sets ci->redact. NULL when out of memory. */
static char **
param_names(struct ft_code_info *ci, PyObject *names, long total)
{
    char name[128], **pnames = calloc(ci->nparams ? ci->nparams : 1, sizeof(char *));

    for (long i = ci->first; i < total && pnames != NULL; i++) {
        uint16_t k = (uint16_t)(i - ci->first);
        ft_py_text(ft_py.PyTuple_GetItem(names, i), name, sizeof(name));
        pnames[k] = strdup(name);
        if (k < 64 && ft_capture_is_secret(name)) {
            ci->redact |= 1ull << k;
        }
    }
    return pnames;
}

/* The names in signature order, NUL-separated, into params (no NUL after the last). */
static void
put_params(const struct ft_code_info *ci, char **pnames, char *params, size_t cap, size_t *plen)
{
    *plen = 0;
    for (unsigned k = 0; k < ci->nparams; k++) {
        const char *nm = pnames[ft_code_param_at(ci, k)];
        size_t n = nm != NULL ? strlen(nm) : 0;
        if (*plen + n + 1 <= cap) {
            memcpy(params + *plen, nm != NULL ? nm : "", n + 1);
            *plen += n + 1;
        }
    }
    if (*plen > 0) {
        (*plen)--;
    }
}

/* self or cls as the first parameter of a method: not captured, but noted. */
static void
first_param(struct ft_code_info *ci, PyObject *names, long argc, const char *qualname)
{
    char name[128];

    ft_py_text(ft_py.PyTuple_GetItem(names, 0), name, sizeof(name));
    if (argc > 0 && strchr(qualname, '.') != NULL &&
        (strcmp(name, "self") == 0 || strcmp(name, "cls") == 0)) {
        ci->first = 1;
        ci->flags |= FT_DEF_METHOD;
        /* The instance a method ran on groups its calls; a class method's class does not. */
        ci->has_self = name[0] == 's';
    }
}

/* Whether ci's calls may take the fast path (record_fast.h): a plain traced function (not
 * a method: no self or cls) whose parameters are the first nparams fast locals, in
 * signature order. Decided once the rest of ci is. */
static uint8_t
fast_eligible(const struct ft_code_info *ci)
{
    return ci->traced && !ci->is_gen && !ci->unit && ci->probe == 0 &&
           !(ci->flags & FT_DEF_BOUNDARY) && ci->first == 0 && ci->redact == 0 &&
           ci->nparams <= FT_FAST_PARAMS && ci->varargs == FT_NO_PARAM && ci->varkw == FT_NO_PARAM;
}

/* ci's code id, and the head of its calls' CALL_INTS records. */
static void
set_id(struct ft_code_info *ci, uint64_t id)
{
    ci->id = id;
    ci->w_call = ft_rec_word0(FT_REC_CALL_INTS, FT_CALL_INTS_LEN((uint64_t)ci->nparams));
}

/* Reads co_varnames and lays out the parameters to capture; writes their names, NUL-
 * separated in signature order, to params. */
static void
layout_params(struct ft_code_info *ci, PyObject *code, const char *qualname, char *params,
              size_t cap, size_t *plen)
{
    long argc = ft_py_attr_long(code, "co_argcount", 0);
    long kwonly = ft_py_attr_long(code, "co_kwonlyargcount", 0);
    long flags = ft_py_attr_long(code, "co_flags", 0);
    long total = argc + kwonly + ((flags & CO_VARARGS) != 0) + ((flags & CO_VARKEYWORDS) != 0);
    PyObject *names = ft_py.PyObject_GetAttrString(code, "co_varnames"); /* new ref */
    char name[128], **pnames = NULL;                                     /* in locals order */

    ci->varargs = ci->varkw = FT_NO_PARAM;
    *plen = 0;
    if (names == NULL || total <= 0 || total > 512) {
        goto out;
    }
    ft_py_text(ft_py.PyTuple_GetItem(names, 0), name, sizeof(name));
    if (name[0] == '.') {
        goto out; /* a comprehension's implicit iterator (.0): nothing the user wrote */
    }
    first_param(ci, names, argc, qualname);
    ci->nparams = (uint16_t)(total - ci->first);
    ci->npos = (uint16_t)(argc - ci->first);
    if (flags & CO_VARARGS) {
        ci->varargs = (uint16_t)(argc + kwonly - ci->first);
    }
    if (flags & CO_VARKEYWORDS) {
        ci->varkw = (uint16_t)(argc + kwonly - ci->first + ((flags & CO_VARARGS) != 0));
    }
    pnames = param_names(ci, names, total);
    if (pnames == NULL) {
        ci->nparams = 0; /* out of memory: the calls are traced without arguments */
        goto out;
    }
    put_params(ci, pnames, params, cap, plen);
    for (unsigned k = 0; k < ci->nparams; k++) {
        free(pnames[k]);
    }
    free(pnames);
out:
    if (names != NULL) {
        ft_py.Py_DecRef(names);
    }
    ft_py.PyErr_Clear();
    ci->fast = fast_eligible(ci);
}

/* ---- Definitions ---------------------------------------------------------------------- */

static uint32_t
def_flags(long co_flags)
{
    uint32_t f = 0;

    if (co_flags & CO_GENERATOR) {
        f |= FT_DEF_GENERATOR;
    }
    if (co_flags & (CO_COROUTINE | CO_ITERABLE_COROUTINE)) {
        f |= FT_DEF_COROUTINE;
    }
    if (co_flags & CO_ASYNC_GENERATOR) {
        f |= FT_DEF_ASYNCGEN;
    }
    return f;
}

/* The module a code object runs in: its frame's globals' __name__. */
static void
module_of(PyFrameObject *frame, char *out, size_t cap)
{
    PyObject *globals = NULL; /* new ref */
    PyObject *name;           /* borrowed */

    out[0] = '\0';
    if (frame != NULL && ft_py.PyFrame_GetGlobals != NULL) {
        globals = ft_py.PyFrame_GetGlobals(frame);
    } else if (frame != NULL) {
        globals = ft_py.PyObject_GetAttrString((PyObject *)frame, "f_globals");
    } else if (ft_py.PyEval_GetGlobals != NULL && (globals = ft_py.PyEval_GetGlobals()) != NULL) {
        ft_py.Py_IncRef(globals); /* borrowed from the current frame */
    }
    if (globals == NULL) {
        ft_py.PyErr_Clear();
        return;
    }
    name = ft_py.PyDict_GetItemString(globals, "__name__");
    if (name != NULL) {
        ft_py_text(name, out, cap);
    }
    ft_py.Py_DecRef(globals);
}

/* Code generated at run time (attrs' and dataclasses' methods, exec'd text), not the main
 * program read from -c or stdin. */
static int
is_generated(const char *module, const char *file)
{
    return ft_scope_generated_file(file) &&
           !(main_source != NULL && strcmp(module, "__main__") == 0 &&
             strcmp(file, main_source) == 0);
}

/* Generated code is named by the function that runs it: libraries set its __qualname__
 * (attrs and dataclasses: Class.__init__), while the code keeps the name it was compiled
 * under (__init__, __create_fn__.<locals>.__init__). The function is read from the
 * frame in place (func_ok) and checked to run this code; name is kept otherwise. */
static void
name_by_function(const PyObject *code, PyFrameObject *frame, char *name, size_t cap)
{
    char *iframe;
    PyObject *fn; /* borrowed */
    char qualname[1024];

    if (!ft_pylayout.func_ok) {
        return;
    }
    iframe = frame != NULL ? ft_iframe_of(frame) : ft_ts_iframe();
    if (iframe == NULL || ft_iframe_code(iframe) != code || (fn = ft_iframe_func(iframe)) == NULL) {
        return;
    }
    if (ft_py.PyFunction_GetCode(fn) != code) {
        ft_py.PyErr_Clear(); /* not a function */
        return;
    }
    if (ft_py_attr_text(fn, "__qualname__", qualname, sizeof(qualname)) > 0) {
        snprintf(name, cap, "%s", qualname);
    }
}

struct ft_code_info *
ft_code_intern(PyObject *code, PyFrameObject *frame)
{
    static char module[512], name[1024], file[4096], params[8192];
    struct ft_code_info *ci = &ft_code_skip;
    struct ft_py_exc exc;
    struct ft_def_view v;
    size_t plen = 0;
    long co_flags;
    int unit, probe = 0, scope, boundary;

    /* Runs under the GIL, so the static scratch space is not shared. */
    ft_py_exc_save(&exc);
    ft_py_attr_text(code, "co_filename", file, sizeof(file));
    ft_py_attr_text(code, ft_py.minor >= 11 ? "co_qualname" : "co_name", name, sizeof(name));
    module_of(frame, module, sizeof(module));
    co_flags = ft_py_attr_long(code, "co_flags", 0);
    unit = ft_units_classify(code, module, name, co_flags, &probe);
    scope = in_scope(module, name, file, co_flags);
    /* A server's or framework's app outside the scope, traced only because it delimits a
     * request: inside one the writer gives it no level (FT_DEF_BOUNDARY). */
    boundary = !scope && (unit == FT_UNIT_WSGI || unit == FT_UNIT_ASGI);
    scope = scope || unit != 0;
    if (strcmp(module, "asyncio.base_events") == 0 &&
        strcmp(name, "BaseEventLoop.create_task") == 0) {
        probe = FT_PROBE_SPAWN;
    }
    if (probe != 0 && unit == 0 && (ci = calloc(1, sizeof(*ci))) != NULL) {
        /* Not traced, but watched: it says which call created each task, a response's
         * status, or work handed to another thread (even with --all, where it would be in
         * scope). */
        ci->probe = (uint8_t)probe;
        layout_params(ci, code, name, params, sizeof(params), &plen);
    } else if (scope && (unit != 0 || !generated(code, name)) &&
               (ci = calloc(1, sizeof(*ci))) != NULL) {
        ci->traced = 1;
        ci->unit = unit != FT_UNITS_TRACE ? (uint8_t)unit : 0;
        ci->flags = def_flags(co_flags) | (boundary ? FT_DEF_BOUNDARY : 0);
        if (is_generated(module, file)) {
            ci->flags |= FT_DEF_GENERATED;
            name_by_function(code, frame, name, sizeof(name));
        }
        ci->is_gen = (ci->flags & (FT_DEF_GENERATOR | FT_DEF_COROUTINE | FT_DEF_ASYNCGEN)) != 0;
        layout_params(ci, code, name, params, sizeof(params), &plen);
        memset(&v, 0, sizeof(v));
        v.flags = ci->flags;
        v.line = (uint32_t)ft_py_attr_long(code, "co_firstlineno", 0);
        v.module = module;
        v.name = name;
        v.file = file;
        v.params = params;
        v.params_len = (uint32_t)plen;
        if (ft_deflog_define(&v) == 0) {
            set_id(ci, v.id);
            if (!(ci->flags & FT_DEF_GENERATED)) {
                ft_srclog_note(file); /* its text goes with the run, once */
            }
        } else {
            info_free(ci);
            ci = &ft_code_skip;
        }
    } else if (ci == NULL) {
        ci = &ft_code_skip;
    }
    void *before = ft_pylayout_code_extra_before(code);
    if (ft_py.Code_SetExtra(code, ft_code_extra_index, ci) != 0) {
        ft_py.PyErr_Clear();
    } else {
        ft_pylayout_code_extra_seen(code, before, ft_code_extra_index, ci);
    }
    ft_py_exc_restore(&exc);
    return ci;
}

/* ---- Local variables, for the frames an exception leaves ----------------------------- */

static int
in_tuple(PyObject *tuple, const char *name)
{
    char other[256];
    Py_ssize_t n = ft_py.PyTuple_Size(tuple);

    for (Py_ssize_t i = 0; i < n; i++) {
        ft_py_text(ft_py.PyTuple_GetItem(tuple, i), other, sizeof(other));
        if (strcmp(other, name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Appends the names of tuple attribute attr of code (skipping those in `skip`). */
static unsigned
add_names(char **out, unsigned k, unsigned max, PyObject *code, const char *attr, PyObject *skip)
{
    PyObject *names = ft_py.PyObject_GetAttrString(code, attr); /* new ref */
    char name[256];
    Py_ssize_t n;

    if (names == NULL) {
        ft_py.PyErr_Clear();
        return k;
    }
    n = ft_py.PyTuple_Size(names);
    for (Py_ssize_t i = 0; i < n && k < max; i++) {
        ft_py_text(ft_py.PyTuple_GetItem(names, i), name, sizeof(name));
        if (skip == NULL || !in_tuple(skip, name)) {
            out[k++] = strdup(name);
        }
    }
    ft_py.Py_DecRef(names);
    ft_py.PyErr_Clear();
    return k;
}

#define LOCALS_MAX 64 /* locals rendered per frame, at most */

unsigned
ft_code_local_names(struct ft_code_info *ci, PyObject *code)
{
    PyObject *varnames; /* new ref */
    char **names;
    unsigned k;

    if (ci->locals_known) {
        return ci->nlocals;
    }
    ci->locals_known = 1;
    /* 3.8-3.10 keep cells apart from the fast locals: their locals are not read. */
    if (ft_py.minor < 11 || (names = calloc(LOCALS_MAX, sizeof(char *))) == NULL) {
        return 0;
    }
    varnames = ft_py.PyObject_GetAttrString(code, "co_varnames");
    k = add_names(names, 0, LOCALS_MAX, code, "co_varnames", NULL);
    k = add_names(names, k, LOCALS_MAX, code, "co_cellvars", varnames);
    k = add_names(names, k, LOCALS_MAX, code, "co_freevars", NULL);
    if (varnames != NULL) {
        ft_py.Py_DecRef(varnames);
    }
    ft_py.PyErr_Clear();
    ci->local_names = names;
    ci->nlocals = (uint16_t)k;
    return k;
}
