/* codes.h - code objects: interned on first sight, in scope or not, defined once.
 *
 * The first time a code object is seen its scope is decided (the program's own code by
 * default; --include/--exclude/--include-path/--exclude-path/--all), its parameters are
 * laid out for capture, and the result is stored in the code object's extra slot as a
 * pointer to a struct ft_code_info (codeinfo.h). A traced code object also gets an id
 * and a definition (module, qualified name, file, first line, parameter names) in the
 * definitions log (deflog.h), which is sent before any event that uses the id. After
 * that, looking a code object up is one slot read.
 */
#ifndef FT_INJECT_CODES_H
#define FT_INJECT_CODES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codeinfo.h"
#include "pyapi.h"
#include "pylayout.h"

/* The slot value of code outside the scope. */
extern struct ft_code_info ft_code_skip;

/* Hidden, as ft_pylayout. */
extern Py_ssize_t ft_code_extra_index __attribute__((visibility("hidden")));

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

    if (__builtin_expect(ft_pylayout.code_extra != 0, 1)) {
        /* A read instead of a call: 40 instructions less per event. */
        return (struct ft_code_info *)ft_code_extra_get(code, ft_code_extra_index);
    }
    ft_py.Code_GetExtra(code, ft_code_extra_index, &extra);
    return (struct ft_code_info *)extra;
}

/* The names of the fast locals of code (ci's code object), in the frame's order (3.11+:
 * co_varnames, then the co_cellvars that are not among them, then co_freevars), learnt
 * once and kept in ci. Returns their number (ci->local_names), 0 when unknown. GIL held,
 * on the exception path only. */
unsigned ft_code_local_names(struct ft_code_info *ci, PyObject *code);

/* First sight (GIL held, may allocate and call the C API, never raises): decides scope,
 * defines the code, stores and returns its info. frame (borrowed, may be NULL) gives the
 * module name through its globals; without it the current frame's globals are used. */
struct ft_code_info *ft_code_intern(PyObject *code, PyFrameObject *frame);

#endif
