/* codes.h - code objects: interned on first sight, in scope or not, defined once.
 *
 * The first time a code object is seen its scope is decided (the program's own code by
 * default; --include/--exclude/--include-path/--exclude-path/--all), its parameters are
 * laid out for capture, and the result is stored in the code object's extra slot as a
 * pointer to a struct ft_code_info. A traced code object also gets an id and a
 * definition (module, qualified name, file, first line, parameter names) appended to the
 * definitions log, which the flusher sends before any event that uses the id. After
 * that, looking a code object up is one slot read.
 */
#ifndef FT_INJECT_CODES_H
#define FT_INJECT_CODES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pyapi.h"

#define FT_NO_PARAM 0xffffu

struct ft_code_info {
    uint64_t id;    /* code id on the wire; 0 when not traced */
    uint32_t flags; /* FT_DEF_* */
    uint8_t traced;
    uint8_t is_gen;   /* generator, coroutine or async generator */
    uint8_t probe;    /* FT_PROBE_*: out-of-scope code whose calls tell us something */
    uint8_t unit;     /* enum ft_unit_kind: each call is a unit of work (units.h), or 0 */
    uint16_t first;   /* index of the first captured local (1 after self/cls) */
    uint8_t has_self; /* the first local is self: its identity is the call's instance */
    uint16_t nparams; /* parameters captured (self/cls excluded) */
    uint16_t npos;    /* positional ones among them */
    uint16_t varargs; /* position of *args among them, or FT_NO_PARAM */
    uint16_t varkw;   /* position of **kwargs among them, or FT_NO_PARAM */
    uint64_t redact;  /* bit i: parameter i's name looks like a secret */
    char **names;     /* parameter names (for interpreters without fast-locals access) */
};

/* Positions above are in the code's locals order (positional, keyword-only, *args,
 * **kwargs); definitions and records list parameters in signature order (positional,
 * *args, keyword-only, **kwargs). Returns the locals position of the k-th in signature
 * order. */
static inline unsigned
ft_code_param_at(const struct ft_code_info *ci, unsigned k)
{
    if (ci->varargs == FT_NO_PARAM || k < ci->npos) {
        return k;
    }
    if (k == ci->npos) {
        return ci->varargs;
    }
    return k <= ci->varargs ? k - 1 : k;
}

/* asyncio's BaseEventLoop.create_task(coro): the current call creates that task. */
#define FT_PROBE_SPAWN 1
/* 2 and 3: a response's status (units.h); 4 and up: work handed to threads (handoff.h). */

/* The slot value of code outside the scope. */
extern struct ft_code_info ft_code_skip;

extern Py_ssize_t ft_code_extra_index;

/* Where PyCodeObject keeps its extras block ({Py_ssize_t size; void *extras[size]}, the
 * same since 3.6), or 0 while that is not known: then lookups go through the C API. */
extern Py_ssize_t ft_code_extra_offset;

/* GIL held, once: reserves the extra slot and learns where the standard library is.
 * Returns 0 or -ENOENT. */
int ft_codes_init(void);

/* The main program's code has this <...> file name ("<string>" with -c, "<stdin>"). */
void ft_codes_set_main_source(const char *file);

/* Hot path: the code's info, or NULL when it has not been seen yet. */
static inline struct ft_code_info *
ft_code_lookup(PyObject *code)
{
    void *extra = NULL;

    if (__builtin_expect(ft_code_extra_offset != 0, 1)) {
        /* A read instead of a call: 40 instructions less per event. */
        const char *block = *(const char *const *)((const char *)code + ft_code_extra_offset);
        Py_ssize_t size;
        if (block == NULL) {
            return NULL;
        }
        memcpy(&size, block, sizeof(size));
        if (ft_code_extra_index >= size) {
            return NULL;
        }
        memcpy(&extra, block + sizeof(size) + sizeof(void *) * (size_t)ft_code_extra_index,
               sizeof(extra));
        return (struct ft_code_info *)extra;
    }
    ft_py.Code_GetExtra(code, ft_code_extra_index, &extra);
    return (struct ft_code_info *)extra;
}

/* First sight (GIL held, may allocate and call the C API, never raises): decides scope,
 * defines the code, stores and returns its info. frame (borrowed, may be NULL) gives the
 * module name through its globals; without it the current frame's globals are used. */
struct ft_code_info *ft_code_intern(PyObject *code, PyFrameObject *frame);

/* Defines a builtin (C) function for --c-calls; key identifies it (its PyMethodDef).
 * Returns its id. GIL held. */
uint64_t ft_code_define_cfunc(const void *key, const char *module, const char *name);

/* Flusher: passes every definition not yet sent to send(), in chunks of whole entries.
 * Stops at the first error and returns it. */
int ft_codes_send(int (*send)(const uint8_t *p, size_t n, void *arg), void *arg);

/* In a forked child: every definition must be sent again on the new connection. */
void ft_codes_atfork_child(void);

/* The same in this process, for its next connection (control.h). */
void ft_codes_resend(void);

#endif
