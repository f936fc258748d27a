/* codes.c - code-object interning, scope decisions, parameter layout, definitions log. */
#define _GNU_SOURCE
#include "codes.h"

#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "config.h"
#include "handoff.h"
#include "lib/wire.h"
#include "log.h"
#include "units.h"

#define DEFS_CHUNK     (1u << 20) /* bytes of definitions per DEFS frame, at most */
#define CO_VARARGS     0x0004
#define CO_VARKEYWORDS 0x0008

struct ft_code_info ft_code_skip; /* traced = 0 */
Py_ssize_t ft_code_extra_index = -1;
Py_ssize_t ft_code_extra_offset;

/* PyCodeObject.co_extra in release builds of the running version (measured: 3.11 176,
 * 3.12 184, 3.13 192, 3.14 200). Never read before setting our info on a code object
 * has been seen to store, at that offset, an extras block holding it; checked again on
 * the next EXTRA_CHECKS code objects. Any disagreement leaves the C API in charge for
 * good. */
#define EXTRA_CHECKS 8
static Py_ssize_t extra_offset_guess;
static int extra_checks_left = EXTRA_CHECKS;

static void *
code_word(PyObject *code, Py_ssize_t off)
{
    void *w;

    memcpy(&w, (const char *)code + off, sizeof(w));
    return w;
}

/* After Code_SetExtra(code, ci): whether the guessed word now holds our extras block. */
static void
check_extra_offset(PyObject *code, void *before, const struct ft_code_info *ci)
{
    const char *block = code_word(code, extra_offset_guess);
    Py_ssize_t size;
    void *ours;

    if (block == NULL || block == before) {
        if (block == NULL) {
            extra_offset_guess = 0; /* the extras are somewhere else */
            ft_code_extra_offset = 0;
        }
        return; /* unchanged: the block already existed; this code proves nothing */
    }
    memcpy(&size, block, sizeof(size));
    memcpy(&ours, block + sizeof(size) + sizeof(void *) * (size_t)ft_code_extra_index,
           sizeof(ours));
    if (size <= ft_code_extra_index || ours != ci) {
        ft_debug("code extras layout check failed; looking code objects up through the C API");
        extra_offset_guess = 0;
        ft_code_extra_offset = 0;
        return;
    }
    if (ft_code_extra_offset == 0) {
        ft_debug("code objects looked up in place (extras at offset %zd)", extra_offset_guess);
    }
    extra_checks_left--;
    ft_code_extra_offset = extra_offset_guess;
}

static char stdlib_dir[4096]; /* with a trailing '/' */
static size_t stdlib_len;
static const char *main_source; /* "<string>" for -c, "<stdin>" for stdin, else NULL */
static uint64_t next_id;        /* atomic */

/* Every definition ever made, so a forked child can send them all again. */
static struct {
    pthread_mutex_t lock;
    uint8_t *buf;
    size_t len, cap, sent;
} defs = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0};

static void
info_free(struct ft_code_info *ci)
{
    if (ci != NULL && ci != &ft_code_skip) {
        if (ci->names != NULL) {
            for (uint16_t i = 0; i < ci->nparams; i++) {
                free(ci->names[i]);
            }
            free(ci->names);
        }
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
    switch (ft_py.minor) {
    case 11:
        extra_offset_guess = 176;
        break;
    case 12:
        extra_offset_guess = 184;
        break;
    case 13:
        extra_offset_guess = 192;
        break;
    case 14:
        extra_offset_guess = 200;
        break;
    default:
        extra_offset_guess = 0;
        break;
    }
    /* The directory of os.py is the standard library, in every installation layout. */
    if (os != NULL) {
        ft_py_attr_text(os, "__file__", stdlib_dir, sizeof(stdlib_dir) - 1);
        ft_py.Py_DecRef(os);
    }
    slash = strrchr(stdlib_dir, '/');
    if (slash != NULL) {
        slash[1] = '\0';
        stdlib_len = strlen(stdlib_dir);
    } else {
        stdlib_dir[0] = '\0';
    }
    ft_debug("standard library: %s", stdlib_len ? stdlib_dir : "(unknown)");
    return 0;
}

void
ft_codes_set_main_source(const char *file)
{
    main_source = file;
}

/* ---- Scope -------------------------------------------------------------------------- */

/* `app` matches app and app.x, not apple. */
static int
dotted_prefix(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);

    return strncmp(name, prefix, n) == 0 && (name[n] == '\0' || name[n] == '.');
}

/* A pattern is a glob when it has glob characters, else a dotted prefix; it is matched
 * against the module and against module.qualname (so a class or a function can be
 * named). */
static int
pattern_match(const char *pat, const char *module, const char *full)
{
    if (strpbrk(pat, "*?[") != NULL) {
        return fnmatch(pat, module, 0) == 0 || fnmatch(pat, full, 0) == 0;
    }
    return dotted_prefix(module, pat) || dotted_prefix(full, pat);
}

/* An absolute pattern is a path prefix; any other a path suffix (`tests/conftest.py`,
 * `_pb2.py`). */
static int
path_match(const char *pat, const char *file)
{
    size_t n = strlen(pat), f = strlen(file);

    if (pat[0] == '/') {
        return strncmp(file, pat, n) == 0;
    }
    return f >= n && strcmp(file + f - n, pat) == 0;
}

static int
any(const struct ft_list *l, int (*match)(const char *, const char *, const char *), const char *a,
    const char *b)
{
    for (int i = 0; i < l->n; i++) {
        if (match(l->item[i], a, b)) {
            return 1;
        }
    }
    return 0;
}

static int
path_match3(const char *pat, const char *file, const char *unused)
{
    (void)unused;
    return path_match(pat, file);
}

/* The program's own code: not the standard library, installed packages, frozen modules
 * or generated <...> code (except the main program's, read from -c or stdin). */
static int
default_scope(const char *module, const char *file)
{
    if (file[0] == '<') {
        return main_source != NULL && strcmp(module, "__main__") == 0 &&
               strcmp(file, main_source) == 0;
    }
    if (stdlib_len > 0 && strncmp(file, stdlib_dir, stdlib_len) == 0) {
        return 0;
    }
    return strstr(file, "/site-packages/") == NULL && strstr(file, "/dist-packages/") == NULL;
}

static int
in_scope(const char *module, const char *name, const char *file, long co_flags)
{
    char full[1600];

    snprintf(full, sizeof(full), "%s.%s", module, name);
    if (any(&ft_cfg.exclude, pattern_match, module, full) ||
        any(&ft_cfg.exclude_path, path_match3, file, NULL)) {
        return 0;
    }
    /* Class bodies run once, at definition, and only add noise. */
    if (!ft_cfg.all && !(co_flags & CO_NEWLOCALS) && strcmp(name, "<module>") != 0) {
        return 0;
    }
    if (ft_cfg.include.n > 0 || ft_cfg.include_path.n > 0) {
        /* An explicit include selects code even from the standard library; the main
         * program stays in (as with the seed agent's package prefix). */
        return any(&ft_cfg.include, pattern_match, module, full) ||
               any(&ft_cfg.include_path, path_match3, file, NULL) ||
               (strcmp(module, "__main__") == 0 && default_scope(module, file));
    }
    return ft_cfg.all || default_scope(module, file);
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

/* Reads co_varnames and lays out the parameters to capture; appends their names, NUL-
 * separated, to params. */
static void
layout_params(struct ft_code_info *ci, PyObject *code, const char *qualname, char *params,
              size_t cap, size_t *plen)
{
    long argc = ft_py_attr_long(code, "co_argcount", 0);
    long kwonly = ft_py_attr_long(code, "co_kwonlyargcount", 0);
    long flags = ft_py_attr_long(code, "co_flags", 0);
    long total = argc + kwonly + ((flags & CO_VARARGS) != 0) + ((flags & CO_VARKEYWORDS) != 0);
    PyObject *names = ft_py.PyObject_GetAttrString(code, "co_varnames"); /* new ref */
    char name[128];

    ci->varargs = ci->varkw = FT_NO_PARAM;
    *plen = 0;
    if (names == NULL || total <= 0 || total > 512) {
        ft_py.PyErr_Clear();
        goto out;
    }
    ft_py_text(ft_py.PyTuple_GetItem(names, 0), name, sizeof(name));
    if (name[0] == '.') {
        goto out; /* a comprehension's implicit iterator (.0): nothing the user wrote */
    }
    if (argc > 0 && strchr(qualname, '.') != NULL &&
        (strcmp(name, "self") == 0 || strcmp(name, "cls") == 0)) {
        ci->first = 1;
        ci->flags |= FT_DEF_METHOD;
        /* The instance a method ran on groups its calls; a class method's class does not. */
        ci->has_self = name[0] == 's';
    }
    ci->nparams = (uint16_t)(total - ci->first);
    ci->npos = (uint16_t)(argc - ci->first);
    if (flags & CO_VARARGS) {
        ci->varargs = (uint16_t)(argc + kwonly - ci->first);
    }
    if (flags & CO_VARKEYWORDS) {
        ci->varkw = (uint16_t)(argc + kwonly - ci->first + ((flags & CO_VARARGS) != 0));
    }
    ci->names = calloc(ci->nparams ? ci->nparams : 1, sizeof(char *));
    if (ci->names == NULL) {
        ci->nparams = 0; /* out of memory: the calls are traced without arguments */
    }
    for (long i = ci->first; i < total && ci->names != NULL; i++) {
        uint16_t k = (uint16_t)(i - ci->first);
        ft_py_text(ft_py.PyTuple_GetItem(names, i), name, sizeof(name));
        ci->names[k] = strdup(name);
        if (k < 64 && ft_capture_is_secret(name)) {
            ci->redact |= 1ull << k;
        }
    }
    for (unsigned k = 0; k < ci->nparams && ci->names != NULL; k++) {
        const char *nm = ci->names[ft_code_param_at(ci, k)];
        size_t n = nm != NULL ? strlen(nm) : 0;
        if (*plen + n + 1 <= cap) {
            memcpy(params + *plen, nm != NULL ? nm : "", n + 1);
            *plen += n + 1;
        }
    }
out:
    if (names != NULL) {
        ft_py.Py_DecRef(names);
    }
    ft_py.PyErr_Clear();
    if (*plen > 0) {
        (*plen)--; /* no NUL after the last name */
    }
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

static int
log_append(const struct ft_def_view *v)
{
    size_t need = ft_def_size(v->module_len, v->name_len, v->file_len, v->params_len);
    int err = 0;

    pthread_mutex_lock(&defs.lock);
    if (defs.cap - defs.len < need) {
        size_t cap = defs.cap ? defs.cap * 2 : 65536;
        while (cap - defs.len < need) {
            cap *= 2;
        }
        uint8_t *nb = realloc(defs.buf, cap);
        if (nb == NULL) {
            err = -ENOMEM;
            goto out;
        }
        defs.buf = nb;
        defs.cap = cap;
    }
    err = ft_put_def(defs.buf, defs.cap, &defs.len, v);
out:
    pthread_mutex_unlock(&defs.lock);
    return err;
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

static int
define(struct ft_def_view *v)
{
    v->id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
    v->module_len = (uint32_t)strlen(v->module);
    v->name_len = (uint32_t)strlen(v->name);
    v->file_len = (uint32_t)strlen(v->file);
    return log_append(v);
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
    } else if (probe == 0 && unit == 0) {
        probe = ft_handoff_classify(module, name);
    }
    if (probe != 0 && unit == 0 && (ci = calloc(1, sizeof(*ci))) != NULL) {
        /* Not traced, but watched: it says which call created each task, or a response's
         * status (even with --all, where it would be in scope). */
        ci->probe = (uint8_t)probe;
        layout_params(ci, code, name, params, sizeof(params), &plen);
    } else if (scope && (unit != 0 || !generated(code, name)) &&
               (ci = calloc(1, sizeof(*ci))) != NULL) {
        ci->traced = 1;
        ci->unit = unit != FT_UNITS_TRACE ? (uint8_t)unit : 0;
        ci->flags = def_flags(co_flags) | (boundary ? FT_DEF_BOUNDARY : 0);
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
        if (define(&v) == 0) {
            ci->id = v.id;
        } else {
            info_free(ci);
            ci = &ft_code_skip;
        }
    } else if (ci == NULL) {
        ci = &ft_code_skip;
    }
    void *before = extra_offset_guess ? code_word(code, extra_offset_guess) : NULL;
    if (ft_py.Code_SetExtra(code, ft_code_extra_index, ci) != 0) {
        ft_py.PyErr_Clear();
    } else if (extra_offset_guess != 0 && extra_checks_left > 0) {
        check_extra_offset(code, before, ci);
    }
    ft_py_exc_restore(&exc);
    return ci;
}

uint64_t
ft_code_define_cfunc(const void *key, const char *module, const char *name)
{
    struct ft_def_view v;

    (void)key;
    memset(&v, 0, sizeof(v));
    v.flags = FT_DEF_CFUNC;
    v.module = module;
    v.name = name;
    v.file = "<builtin>";
    return define(&v) == 0 ? v.id : 0;
}

int
ft_codes_send(int (*send)(const uint8_t *p, size_t n, void *arg), void *arg)
{
    int err = 0;

    pthread_mutex_lock(&defs.lock);
    while (defs.sent < defs.len) {
        size_t end = defs.sent, pos;
        struct ft_def_view v;
        /* Cut at entry boundaries so every frame holds whole definitions. */
        while (end < defs.len && end - defs.sent < DEFS_CHUNK) {
            pos = end;
            if (ft_def_next(defs.buf, defs.len, &pos, &v) != 1) {
                break;
            }
            end = pos;
        }
        if (end == defs.sent || (err = send(defs.buf + defs.sent, end - defs.sent, arg)) != 0) {
            break;
        }
        defs.sent = end;
    }
    pthread_mutex_unlock(&defs.lock);
    return err;
}

void
ft_codes_atfork_child(void)
{
    pthread_mutex_init(&defs.lock, NULL);
    defs.sent = 0;
}

void
ft_codes_resend(void)
{
    pthread_mutex_lock(&defs.lock);
    defs.sent = 0;
    pthread_mutex_unlock(&defs.lock);
}
