/* codes.c - code-object interning, scope decisions and the definitions log. */
#define _GNU_SOURCE
#include "codes.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lib/wire.h"
#include "log.h"

#define DEFS_CHUNK (1u << 20) /* bytes of definitions per DEFS frame, at most */

Py_ssize_t ft_code_extra_index = -1;

static char stdlib_dir[4096]; /* with a trailing '/' */
static const char *main_source;  /* "<string>" for -c, "<stdin>" for stdin, else NULL */
static size_t stdlib_len;
static uint64_t next_id; /* atomic */

/* Every definition ever made, so a forked child can send them all again. */
static struct {
    pthread_mutex_t lock;
    uint8_t *buf;
    size_t len, cap, sent;
} defs = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0};

static void
slot_free(void *extra)
{
    (void)extra; /* slot values are plain integers */
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

/* The program's own code: not the standard library, installed packages, frozen
 * modules or generated <...> code (except the main program's, read from -c or stdin),
 * and not class bodies (they run once, at definition, and only add noise). */
static int
in_scope(const char *module, const char *name, const char *file, long co_flags)
{
    if (ft_cfg.all) {
        return 1;
    }
    if (!(co_flags & CO_NEWLOCALS) && strcmp(name, "<module>") != 0) {
        return 0;
    }
    if (file[0] == '<') {
        return main_source != NULL && strcmp(module, "__main__") == 0 &&
               strcmp(file, main_source) == 0;
    }
    if (stdlib_len > 0 && strncmp(file, stdlib_dir, stdlib_len) == 0) {
        return 0;
    }
    if (strstr(file, "/site-packages/") != NULL || strstr(file, "/dist-packages/") != NULL) {
        return 0;
    }
    return 1;
}

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
    size_t need = ft_def_size(v->module_len, v->name_len, v->file_len);
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

uintptr_t
ft_code_intern(PyObject *code, PyFrameObject *frame)
{
    static char module[512], name[1024], file[4096];
    struct ft_py_exc exc;
    struct ft_def_view v;
    uintptr_t slot = FT_CODE_SKIP;
    long co_flags;

    /* Runs under the GIL, so the static scratch space is not shared. */
    ft_py_exc_save(&exc);
    ft_py_attr_text(code, "co_filename", file, sizeof(file));
    ft_py_attr_text(code, ft_py.minor >= 11 ? "co_qualname" : "co_name", name, sizeof(name));
    module_of(frame, module, sizeof(module));
    co_flags = ft_py_attr_long(code, "co_flags", 0);
    if (in_scope(module, name, file, co_flags)) {
        memset(&v, 0, sizeof(v));
        v.id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
        v.flags = def_flags(co_flags);
        v.line = (uint32_t)ft_py_attr_long(code, "co_firstlineno", 0);
        v.module = module;
        v.module_len = (uint32_t)strlen(module);
        v.name = name;
        v.name_len = (uint32_t)strlen(name);
        v.file = file;
        v.file_len = (uint32_t)strlen(file);
        if (log_append(&v) == 0) {
            slot = ((uintptr_t)v.id << 2) | 1u;
        }
    }
    if (ft_py.Code_SetExtra(code, ft_code_extra_index, (void *)slot) != 0) {
        ft_py.PyErr_Clear();
    }
    ft_py_exc_restore(&exc);
    return slot;
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
