/* capture.h - rendering Python values as bounded text, without running Python code.
 *
 * Exact built-in values (None, bool, int, float, str, bytes, bytearray, and list, tuple,
 * dict, set, frozenset of them) are rendered as repr() would write them, up to a length
 * limit (FLOWTRACE_MAX_ARG_LENGTH, default 1000; 0 = no limit) and a nesting depth, with
 * an explicit marker "…[truncated from N chars|bytes|items]" where they are cut. Any
 * other object is rendered from its type alone ("<module.Class object at 0x...>"),
 * unless FLOWTRACE_REPR=1 opts in to calling repr(): then an exception, a recursion or a
 * slow repr() is caught and described in the text, never propagated. Everything here
 * runs with the GIL held and leaves the pending exception as it found it.
 */
#ifndef FT_INJECT_CAPTURE_H
#define FT_INJECT_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pyapi.h"
#include "pylayout.h"
#include "text.h"

/* Looks up the type objects the renderer recognises. Returns 0 or -ENOENT (capture
 * then stays off). GIL held, once. */
int ft_capture_init(void);

/* Appends the rendering of o (borrowed; NULL renders as "<NULL>"). Secrets are rendered
 * as <redacted> (lib/redact.h): the value of a dict key or of a (name, value) pair whose
 * name is a secret's, at any depth, and in text (str, bytes, repr() with --repr) the
 * values after secret names (query strings, "--password=x"), HTTP credentials ("Bearer
 * ...") and URL passwords. */
void ft_capture_value(struct ft_text *out, PyObject *o);

/* Whether a parameter or keyword name looks like a secret (FLOWTRACE_REDACT fragments,
 * case-insensitive). */
int ft_capture_is_secret(const char *name);

/* Whether v is a cell (a parameter captured by a closure, in the fast locals). */
int ft_capture_is_cell(PyObject *v);

/* What the hot path needs from capture, read inline: the exact types it tests for. Set up
 * by ft_capture_init; every type is an address no object's type can be until capture is
 * ready. */
struct ft_capture_hot {
    PyObject *long_t, *list_t, *dict_t, *set_t, *bytearray_t;
    int ready;
    int int_direct; /* ints read in place (pylayout.h) */
};
/* Hidden (the library's own): read with one instruction on the hot path, not through the
 * GOT. */
extern struct ft_capture_hot ft_capture_hot __attribute__((visibility("hidden")));

/* Whether ft_capture_init succeeded. */
static inline int
ft_capture_ready(void)
{
    return ft_capture_hot.ready;
}

/* ft_capture_small_int for what the direct read does not cover. */
int ft_capture_small_int_api(PyObject *v, int64_t *x);

/* Whether v is exactly an int that fits an int64; stores it in *x. Never leaves an
 * exception set. Ints of up to two digits (|x| < 2**60) are read in place. */
static inline int
ft_capture_small_int(PyObject *v, int64_t *x)
{
    if (v == NULL || ft_type_of(v) != ft_capture_hot.long_t) {
        return 0;
    }
    if (__builtin_expect(ft_capture_hot.int_direct, 1) && ft_pylong_read(v, x)) {
        return 1;
    }
    return ft_capture_small_int_api(v, x);
}

/* Whether v is an exact list, dict, set or bytearray (may change in place). */
static inline int
ft_capture_is_mutable(PyObject *v)
{
    PyObject *t;

    if (v == NULL) {
        return 0;
    }
    t = ft_type_of(v);
    return t == ft_capture_hot.list_t || t == ft_capture_hot.dict_t || t == ft_capture_hot.set_t ||
           t == ft_capture_hot.bytearray_t;
}

/* v is exactly a dict. */
int ft_capture_is_dict(PyObject *v);

/* Peeking at built-in values without running Python code (units.c reads requests and
 * test reports with these). Each returns 0/NULL when v is not of the exact type. */

/* An exact str: its UTF-8 text and length (borrowed from the object). */
const char *ft_capture_str(PyObject *v, size_t *len);

/* An exact bytes object: its bytes and length (borrowed). */
const char *ft_capture_bytes(PyObject *v, size_t *len);

/* An exact int that fits a long: 1 with *out set, else 0. */
int ft_capture_long(PyObject *v, long *out);

/* An exact list or tuple: its length (-1 otherwise) and its items (borrowed). */
Py_ssize_t ft_capture_seq_len(PyObject *v);
PyObject *ft_capture_seq_item(PyObject *v, Py_ssize_t i);

/* d[key] for an exact dict d and a str key (borrowed), or NULL. */
PyObject *ft_capture_dict_get(PyObject *d, const char *key);

/* The instance dict of o (borrowed: vars(o) read through the C API, never through a
 * descriptor of o's class), or NULL. */
PyObject *ft_capture_instance_dict(PyObject *o);

/* o.name when it is a plain value: in o's instance dict, or in a __slots__ slot (read at
 * its offset), never through a property or __getattr__. Borrowed, or NULL. */
PyObject *ft_capture_plain_attr(PyObject *o, const char *name);

/* type(o).__module__ and type(o).__qualname__, read from the type's own dict. */
void ft_capture_type_names(PyObject *o, char *module, size_t mcap, char *qualname, size_t qcap);

/* Appends the payload of an EXC record: the exception's type name, its module and its
 * message, each as a u32 length and bytes, then its optional fields (lib/wire.h: where it
 * was raised, the chain of its causes). exc is the exception instance; tb its traceback
 * when the caller has it (3.11's trace event gives it before exc.__traceback__ is set),
 * else NULL. */
void ft_capture_exception(struct ft_text *out, PyObject *exc, PyObject *tb);

/* The line of the first entry of the exception's traceback (the frame it is leaving, at
 * an unwind), or 0. */
int ft_capture_tb_line(PyObject *exc);

/* Bytes an output area needs for one value at the configured limit (the limit plus the
 * truncation marker); the caller sizes scratch space with it. */
size_t ft_capture_value_cap(void);

#endif
