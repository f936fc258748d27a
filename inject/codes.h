/* codes.h - code objects: interned on first sight, in scope or not, defined once.
 *
 * The first time a code object is seen its scope is decided (the program's own code,
 * not the standard library, site-/dist-packages, frozen or <...> code, unless
 * FLOWTRACE_ALL), and the decision is stored in the code object's extra slot. A traced
 * code object also gets an id and a definition (module, qualified name, file, first
 * line) appended to the definitions log, which the flusher sends before any event that
 * uses the id. After that, looking a code object up is one slot read.
 */
#ifndef FT_INJECT_CODES_H
#define FT_INJECT_CODES_H

#include <stddef.h>
#include <stdint.h>

#include "pyapi.h"

/* Slot values: 0 = not seen yet, FT_CODE_SKIP = out of scope, else (id << 2) | 1. */
#define FT_CODE_SKIP  ((uintptr_t)2)
#define FT_CODE_TRACED(x) (((x) & 1u) != 0)
#define FT_CODE_ID(x) ((uint64_t)(x) >> 2)

extern Py_ssize_t ft_code_extra_index;

/* GIL held, once: reserves the extra slot and learns where the standard library is.
 * Returns 0 or -ENOENT. */
int ft_codes_init(void);

/* The main program's code has this <...> file name ("<string>" with -c, "<stdin>"). */
void ft_codes_set_main_source(const char *file);

/* Hot path: the slot value for code (borrowed). */
static inline uintptr_t
ft_code_lookup(PyObject *code)
{
    void *extra = NULL;

    ft_py.Code_GetExtra(code, ft_code_extra_index, &extra);
    return (uintptr_t)extra;
}

/* First sight (GIL held, may allocate and call the C API, never raises): decides scope,
 * defines the code, stores and returns the slot value. frame (borrowed, may be NULL)
 * gives the module name through its globals. */
uintptr_t ft_code_intern(PyObject *code, PyFrameObject *frame);

/* Flusher: passes every definition not yet sent to send(), in chunks of whole entries.
 * Stops at the first error and returns it. */
int ft_codes_send(int (*send)(const uint8_t *p, size_t n, void *arg), void *arg);

/* In a forked child: every definition must be sent again on the new connection. */
void ft_codes_atfork_child(void);

#endif
