/* capture.c - bounded, exception-safe rendering of Python values (see capture.h). */
#define _GNU_SOURCE
#include "capture.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "capture_int.h"
#include "config.h"
#include "lib/clock.h"
#include "lib/pyfmt.h"
#include "log.h"

#define MARKER_ROOM  48 /* "…[truncated from 18446744073709551615 items]" */
#define SLOW_REPR_NS 50000000u

/* The C API beyond ft_py (capture_int.h). */
struct ft_capture_api ft_capi;

#define Py_TPFLAGS_HEAPTYPE (1UL << 9)
#define Py_TPFLAGS_BASE_EXC (1UL << 30) /* a BaseException subclass */

/* Until capture is ready no object matches a type here, whatever its header holds (a
 * free-threaded build's word at offset 8 may well be 0). */
static const char no_type;
#define NO_TYPE ((PyObject *)(uintptr_t)&no_type)
struct ft_capture_hot ft_capture_hot = {NO_TYPE, NO_TYPE, NO_TYPE, NO_TYPE, NO_TYPE, 0, 0};

/* What ft_capture_init looks up into ft_capi, by CPython name: all needed. */
static const struct {
    size_t field; /* offset in ft_capi */
    const char *name;
} symbols[] = {
    {offsetof(struct ft_capture_api, long_t), "PyLong_Type"},
    {offsetof(struct ft_capture_api, float_t), "PyFloat_Type"},
    {offsetof(struct ft_capture_api, str_t), "PyUnicode_Type"},
    {offsetof(struct ft_capture_api, bytes_t), "PyBytes_Type"},
    {offsetof(struct ft_capture_api, bytearray_t), "PyByteArray_Type"},
    {offsetof(struct ft_capture_api, bool_t), "PyBool_Type"},
    {offsetof(struct ft_capture_api, list_t), "PyList_Type"},
    {offsetof(struct ft_capture_api, tuple_t), "PyTuple_Type"},
    {offsetof(struct ft_capture_api, dict_t), "PyDict_Type"},
    {offsetof(struct ft_capture_api, set_t), "PySet_Type"},
    {offsetof(struct ft_capture_api, frozenset_t), "PyFrozenSet_Type"},
    {offsetof(struct ft_capture_api, none_t), "_PyNone_Type"},
    {offsetof(struct ft_capture_api, cell_t), "PyCell_Type"},
    {offsetof(struct ft_capture_api, func_t), "PyFunction_Type"},
    {offsetof(struct ft_capture_api, type_t), "PyType_Type"},
    {offsetof(struct ft_capture_api, module_t), "PyModule_Type"},
    {offsetof(struct ft_capture_api, true_o), "_Py_TrueStruct"},
    {offsetof(struct ft_capture_api, false_o), "_Py_FalseStruct"},
    {offsetof(struct ft_capture_api, PyLong_AsLongLongAndOverflow), "PyLong_AsLongLongAndOverflow"},
    {offsetof(struct ft_capture_api, PyFloat_AsDouble), "PyFloat_AsDouble"},
    {offsetof(struct ft_capture_api, PyUnicode_GetLength), "PyUnicode_GetLength"},
    {offsetof(struct ft_capture_api, PyByteArray_AsString), "PyByteArray_AsString"},
    {offsetof(struct ft_capture_api, PyByteArray_Size), "PyByteArray_Size"},
    {offsetof(struct ft_capture_api, PyList_Size), "PyList_Size"},
    {offsetof(struct ft_capture_api, PyList_GetItem), "PyList_GetItem"},
    {offsetof(struct ft_capture_api, PyDict_Next), "PyDict_Next"},
    {offsetof(struct ft_capture_api, PyDict_Size), "PyDict_Size"},
    {offsetof(struct ft_capture_api, PySet_Size), "PySet_Size"},
    {offsetof(struct ft_capture_api, PyObject_Repr), "PyObject_Repr"},
    {offsetof(struct ft_capture_api, PyCell_Get), "PyCell_Get"},
    {offsetof(struct ft_capture_api, PyModule_GetName), "PyModule_GetName"},
    {offsetof(struct ft_capture_api, PyType_GetFlags), "PyType_GetFlags"},
};

int
ft_capture_init(void)
{
    for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
        void *p = dlsym(RTLD_DEFAULT, symbols[i].name);
        if (p == NULL) {
            ft_debug("capture off: %s not found", symbols[i].name);
            return -ENOENT;
        }
        memcpy((char *)&ft_capi + symbols[i].field, &p, sizeof(p));
    }
    *(void **)&ft_capi._PySet_NextEntry = dlsym(RTLD_DEFAULT, "_PySet_NextEntry");
    *(void **)&ft_capi.PyObject_GenericGetDict = dlsym(RTLD_DEFAULT, "PyObject_GenericGetDict");
    /* The object header layout is checked, not assumed: free-threaded builds differ. */
    if (!ft_pylayout.header_ok) {
        ft_debug("capture off: unexpected object layout");
        return -ENOENT;
    }
    ft_capi.ready = 1;
    ft_capture_hot.long_t = ft_capi.long_t;
    ft_capture_hot.int_direct = ft_pylayout.int_ok;
    ft_capture_hot.list_t = ft_capi.list_t;
    ft_capture_hot.dict_t = ft_capi.dict_t;
    ft_capture_hot.set_t = ft_capi.set_t;
    ft_capture_hot.bytearray_t = ft_capi.bytearray_t;
    ft_capture_hot.ready = 1;
    return 0;
}

size_t
ft_capture_value_cap(void)
{
    /* A value's JSON (at most the limit), or its rendering escaped (at most twice the
     * rendering) with the rendering itself as work room (ft_capture_json). */
    return 3 * ((ft_cfg.max_arg_length ? ft_cfg.max_arg_length : FT_CAPTURE_UNLIMITED) +
                MARKER_ROOM) +
           256;
}

/* ---- Output ---------------------------------------------------------------------- */

/* ---- Type names (cached per type object) --------------------------------------------- */

#define TYPE_CACHE 1024

static struct {
    PyObject *type;
    const char *tp_name; /* to notice a type freed and another allocated at its address */
    int slow_repr;
    size_t name_len;
    size_t qual_at;   /* where Qualname starts in name */
    char name[168];   /* module.Qualname, or Qualname for builtins */
    char module[128]; /* type.__module__ ("builtins" when it has none) */
} types[TYPE_CACHE];

static const char *
tp_name(PyObject *type)
{
    return ft_type_name(type);
}

static int
type_slot(PyObject *type)
{
    uintptr_t h = ((uintptr_t)type >> 4) * 0x9e3779b97f4a7c15ull;
    int i = (int)(h >> 54) & (TYPE_CACHE - 1);
    char mod[sizeof(types[0].module)], qual[100];
    int n;

    if (types[i].type == type && types[i].tp_name == tp_name(type)) {
        return i;
    }
    /* First sight of this type (or a collision: the newer type wins the slot). Reading
     * __module__ and __qualname__ of a type runs no Python code for ordinary classes. */
    ft_py_attr_text(type, "__module__", mod, sizeof(mod));
    ft_py_attr_text(type, "__qualname__", qual, sizeof(qual));
    if (qual[0] == '\0') {
        snprintf(qual, sizeof(qual), "%s", tp_name(type));
    }
    if (mod[0] == '\0' || strcmp(mod, "builtins") == 0) {
        snprintf(mod, sizeof(mod), "builtins");
        n = snprintf(types[i].name, sizeof(types[i].name), "%s", qual);
        types[i].qual_at = 0;
    } else {
        n = snprintf(types[i].name, sizeof(types[i].name), "%s.%s", mod, qual);
        types[i].qual_at = strlen(mod) + 1;
    }
    memcpy(types[i].module, mod, sizeof(mod));
    types[i].name_len = n < 0                               ? 0
                        : (size_t)n < sizeof(types[i].name) ? (size_t)n
                                                            : sizeof(types[i].name) - 1;
    if (types[i].qual_at > types[i].name_len) {
        types[i].qual_at = types[i].name_len;
    }
    types[i].type = type;
    types[i].tp_name = tp_name(type);
    types[i].slow_repr = 0;
    return i;
}

const char *
ft_capture_type_name(PyObject *v, size_t *len)
{
    int slot = type_slot(ft_type_of(v));

    *len = types[slot].name_len;
    return types[slot].name;
}

/* ---- Rendering --------------------------------------------------------------------- */

/* Python's quote choice: ' unless the text has ' and no ". */
static char
pick_quote(const unsigned char *s, size_t n)
{
    int single = 0, dbl = 0;

    for (size_t i = 0; i < n && !(single && dbl); i++) {
        single |= s[i] == '\'';
        dbl |= s[i] == '"';
    }
    return single && !dbl ? '"' : '\'';
}

/* Bytes that need more than a copy between single quotes: the quote itself, the
 * backslash and control characters; in bytes also those >= 0x80. */
static const unsigned char plain_not[2][256] = {
    {[0 ... 0x1f] = 1, ['\''] = 1, ['\\'] = 1, [0x7f] = 1},
    {[0 ... 0x1f] = 1, ['\''] = 1, ['\\'] = 1, [0x7f ... 0xff] = 1},
};

/* Escapes as repr() does for ASCII; bytes >= 0x80 are kept (str: UTF-8 text) or
 * escaped (bytes). */
static void
put_quoted(struct ft_text *o, const unsigned char *s, size_t n, int is_bytes)
{
    char q;
    size_t start = 0, i;

    if (n + 2 <= o->cap - o->len) {
        /* The common case, text with nothing to escape that fits: one scan, one copy. */
        const unsigned char *special = plain_not[is_bytes != 0];
        for (i = 0; i < n && !special[s[i]]; i++) {
        }
        if (i == n) {
            ft_put(o, "'", 1);
            ft_put(o, s, n);
            ft_put(o, "'", 1);
            return;
        }
    }
    q = pick_quote(s, n < o->cap ? n : o->cap);

    ft_put(o, &q, 1);
    for (i = 0; i < n && !o->cut; i++) {
        unsigned c = s[i];
        const char *esc = NULL;
        char hex[5];
        if (c == '\\') {
            esc = "\\\\";
        } else if (c == (unsigned char)q) {
            esc = q == '\'' ? "\\'" : "\\\"";
        } else if (c == '\n') {
            esc = "\\n";
        } else if (c == '\r') {
            esc = "\\r";
        } else if (c == '\t') {
            esc = "\\t";
        } else if (c < 0x20 || c == 0x7f || (is_bytes && c >= 0x80)) {
            snprintf(hex, sizeof(hex), "\\x%02x", c);
            esc = hex;
        }
        if (esc == NULL) {
            if (i + 1 - start >= o->cap - o->len) {
                i++; /* the output is full: the rest of a long string is never read */
                break;
            }
            continue;
        }
        ft_put(o, s + start, i - start);
        start = i + 1;
        ft_puts(o, esc);
    }
    ft_put(o, s + start, i - start);
    if (i < n) {
        o->cut = 1;
    }
    ft_put(o, &q, 1);
}

/* Whether text (n bytes) may hold a secret (lib/redact.h): a secret's name, an HTTP
 * credential, a URL's password. Nothing is redacted with FLOWTRACE_REDACT=none. */
int
ft_capture_may_hold_secret(const void *text, size_t n)
{
    return ft_cfg.redact.n > 0 && ft_redact_text_may(&ft_cfg.redact, text, n);
}

/* put_quoted() of text whose secrets are first replaced by <redacted>: the redacted text
 * is written to the upper half of the output's room, then quoted into the lower half
 * (never overlapping it: escaping only grows text). */
static void
put_quoted_redacted(struct ft_text *o, const unsigned char *s, size_t n, int is_bytes)
{
    size_t cap = o->cap, mid = o->len + (cap - o->len) / 2, room = cap - mid, len;

    len = ft_redact_text(&ft_cfg.redact, (const char *)s, n, o->p + mid, room, NULL);
    o->cap = mid;
    put_quoted(o, (const unsigned char *)o->p + mid, len, is_bytes);
    o->cap = cap;
    if (len + FT_REDACTED_LEN >= room) {
        o->cut = 1; /* the redacted text may have been cut short: say so */
    }
}

/* Text shown quoted, secrets redacted: only what can be shown (at most the room left: no
 * byte is written shorter than it is) and what decides it are looked at. */
static void
put_text_quoted(struct ft_text *o, const unsigned char *s, size_t n, int is_bytes)
{
    size_t span = ft_redact_span((const char *)s, n, o->cap - o->len);

    if (ft_capture_may_hold_secret(s, span)) {
        put_quoted_redacted(o, s, span, is_bytes);
        if (span < n) {
            o->cut = 1;
        }
    } else {
        put_quoted(o, s, n, is_bytes);
    }
}

static void
render_str(struct ft_text *o, PyObject *v)
{
    Py_ssize_t n;
    const char *s = ft_py.PyUnicode_AsUTF8AndSize(v, &n);

    if (s == NULL) {
        /* Lone surrogates cannot be UTF-8: show what they are rather than fail. */
        ft_py.PyErr_Clear();
        ft_puts(o, "<str with surrogates>");
        return;
    }
    put_text_quoted(o, (const unsigned char *)s, (size_t)n, 0);
}

static void
render_bytes(struct ft_text *o, const char *s, size_t n, int bytearray)
{
    if (bytearray) {
        ft_puts(o, "bytearray(");
    }
    ft_put(o, "b", 1);
    put_text_quoted(o, (const unsigned char *)s, n, 1);
    if (bytearray) {
        ft_put(o, ")", 1);
    }
}

void
ft_capture_render_int(struct ft_text *o, PyObject *v)
{
    int64_t x;
    char buf[24], *p = buf + sizeof(buf);

    if (ft_capture_small_int(v, &x)) {
        /* Digits right to left: snprintf's generality is most of a small call's cost. */
        unsigned long long u = x < 0 ? 0 - (unsigned long long)x : (unsigned long long)x;
        do {
            *--p = (char)('0' + u % 10);
            u /= 10;
        } while (u != 0);
        if (x < 0) {
            *--p = '-';
        }
        ft_put(o, p, (size_t)(buf + sizeof(buf) - p));
        return;
    }
    ft_py.PyErr_Clear();
    /* int.__str__ is C code; past sys.get_int_max_str_digits() it raises. */
    PyObject *s = ft_py.PyObject_Str(v); /* new ref */
    if (s == NULL) {
        ft_py.PyErr_Clear();
        ft_puts(o, "<int too large to render>");
        return;
    }
    Py_ssize_t n;
    const char *t = ft_py.PyUnicode_AsUTF8AndSize(s, &n);
    if (t != NULL) {
        ft_put(o, t, (size_t)n);
    }
    ft_py.PyErr_Clear();
    ft_py.Py_DecRef(s);
}

/* Whether k, a dict key or the first of a pair, names a secret (a str or bytes). */
int
ft_capture_secret_key(PyObject *k)
{
    PyObject *t = ft_type_of(k);
    Py_ssize_t n = 0;
    char *s = NULL;

    if (ft_cfg.redact.n == 0) {
        return 0;
    }
    if (t == ft_capi.str_t) {
        s = (char *)ft_py.PyUnicode_AsUTF8AndSize(k, &n);
    } else if (t == ft_capi.bytes_t && ft_py.PyBytes_AsStringAndSize(k, &s, &n) != 0) {
        s = NULL;
    }
    if (s == NULL) {
        ft_py.PyErr_Clear();
        return 0;
    }
    return ft_redact_name(&ft_cfg.redact, s, (size_t)n);
}

/* With --repr, rendering an item may run the program's code (a __repr__), which can
 * change or free the container being rendered, or the item itself: then every item is
 * held by a reference while it is rendered, sizes are read again after each one, and a
 * container whose size changed is cut with a marker. Without --repr no Python code
 * runs during a rendering, and borrowed items are safe. */
#define CHANGED "…[changed while rendered]"

static inline void
render_item(struct ft_text *o, PyObject *it, int depth)
{
    ft_capture_hold(it);
    ft_capture_render(o, it, depth);
    ft_capture_release(it);
}

static void
render_seq(struct ft_text *o, PyObject *v, int depth, int is_list)
{
    Py_ssize_t n = is_list ? ft_capi.PyList_Size(v) : ft_py.PyTuple_Size(v);

    ft_put(o, is_list ? "[" : "(", 1);
    if (depth >= FT_CAPTURE_MAX_DEPTH && n > 0) {
        ft_puts(o, "...");
    } else {
        for (Py_ssize_t i = 0; i < n && !o->cut; i++) {
            if (is_list && ft_cfg.repr && ft_capi.PyList_Size(v) != n) {
                ft_puts(o, CHANGED);
                break;
            }
            /* Borrowed; i is within the size just read. */
            PyObject *it = is_list ? ft_capi.PyList_GetItem(v, i) : ft_py.PyTuple_GetItem(v, i);
            if (i > 0) {
                ft_put(o, ", ", 2);
            }
            /* A (name, value) pair, as in an ASGI scope's headers: a secret's name hides
             * its value. */
            if (i == 1 && n == 2 &&
                ft_capture_secret_key(is_list ? ft_capi.PyList_GetItem(v, 0)
                                              : ft_py.PyTuple_GetItem(v, 0))) {
                ft_puts(o, FT_REDACTED);
                continue;
            }
            render_item(o, it, depth + 1);
        }
        if (!is_list && n == 1) {
            ft_put(o, ",", 1);
        }
    }
    ft_put(o, is_list ? "]" : ")", 1);
}

static void
render_dict(struct ft_text *o, PyObject *v, int depth)
{
    Py_ssize_t pos = 0, n = ft_capi.PyDict_Size(v);
    PyObject *k, *val; /* borrowed */

    ft_put(o, "{", 1);
    if (depth >= FT_CAPTURE_MAX_DEPTH && n > 0) {
        ft_puts(o, "...");
    } else {
        int first = 1;
        /* PyDict_Next reads the dict's current table at each step: safe after a change. */
        while (!o->cut && ft_capi.PyDict_Next(v, &pos, &k, &val)) {
            if (!first) {
                ft_put(o, ", ", 2);
            }
            first = 0;
            ft_capture_hold(k);
            ft_capture_hold(val);
            ft_capture_render(o, k, depth + 1);
            ft_put(o, ": ", 2);
            if (ft_capture_secret_key(k)) {
                ft_puts(o, FT_REDACTED); /* by its key, at any depth */
            } else {
                ft_capture_render(o, val, depth + 1);
            }
            ft_capture_release(val);
            ft_capture_release(k);
            if (ft_cfg.repr && ft_capi.PyDict_Size(v) != n) {
                ft_puts(o, CHANGED);
                break;
            }
        }
    }
    ft_put(o, "}", 1);
}

static void
render_set(struct ft_text *o, PyObject *v, int depth, int frozen)
{
    Py_ssize_t n = ft_capi.PySet_Size(v), pos = 0;
    PyObject *k; /* borrowed */
    long hash;

    if (n == 0) {
        ft_puts(o, frozen ? "frozenset()" : "set()");
        return;
    }
    ft_puts(o, frozen ? "frozenset({" : "{");
    if (depth >= FT_CAPTURE_MAX_DEPTH || ft_capi._PySet_NextEntry == NULL) {
        ft_puts(o, "...");
    } else {
        int first = 1;
        /* _PySet_NextEntry reads the set's current table at each step. */
        while (!o->cut && ft_capi._PySet_NextEntry(v, &pos, &k, &hash)) {
            if (!first) {
                ft_put(o, ", ", 2);
            }
            first = 0;
            render_item(o, k, depth + 1);
            if (ft_cfg.repr && ft_capi.PySet_Size(v) != n) {
                ft_puts(o, CHANGED);
                break;
            }
        }
    }
    ft_puts(o, frozen ? "})" : "}");
}

/* repr(v) by calling it (--repr): user code may raise, recurse or be slow. */
static void
render_repr(struct ft_text *o, PyObject *v, int slot)
{
    struct ft_py_exc saved;
    PyObject *r, *t, *val, *tb; /* new refs */
    uint64_t t0 = ft_clock_ns(CLOCK_MONOTONIC), dt;

    ft_py_exc_save(&saved);
    r = ft_capi.PyObject_Repr(v);
    dt = ft_clock_ns(CLOCK_MONOTONIC) - t0;
    if (r != NULL) {
        Py_ssize_t n;
        const char *s = ft_py.PyUnicode_AsUTF8AndSize(r, &n);
        if (s != NULL && ft_capture_may_hold_secret(s, (size_t)n)) {
            /* The program's own text: a request's URL, a headers object's items. */
            o->len +=
                ft_redact_text(&ft_cfg.redact, s, (size_t)n, o->p + o->len, o->cap - o->len, NULL);
        } else if (s != NULL) {
            ft_put(o, s, (size_t)n);
        }
        ft_py.Py_DecRef(r);
        ft_py.PyErr_Clear();
    } else {
        char msg[200];
        ft_py.PyErr_Fetch(&t, &val, &tb);
        ft_py_attr_text(t, "__name__", msg, sizeof(msg));
        ft_putf(o, "<repr() of %s object raised %s", types[slot].name, msg);
        if (val != NULL && ft_py_text(val, msg, sizeof(msg)) > 0) {
            ft_putf(o, ": %s", msg);
        }
        ft_put(o, ">", 1);
        ft_py.PyErr_Restore(t, val, tb);
        ft_py.PyErr_Clear();
    }
    if (dt > SLOW_REPR_NS) {
        /* Never pay that again for this type. */
        types[slot].slow_repr = 1;
        ft_putf(o, " <repr() took %.0f ms: not called again for %s>", (double)dt / 1e6,
                types[slot].name);
    }
    ft_py_exc_restore(&saved);
}

/* An address as %p writes it: 0x and lowercase hex digits. */
static void
put_address(struct ft_text *o, const void *p)
{
    char buf[18], *end = buf + sizeof(buf), *q = end;
    uintptr_t x = (uintptr_t)p;

    do {
        *--q = "0123456789abcdef"[x & 15];
        x >>= 4;
    } while (x != 0);
    *--q = 'x';
    *--q = '0';
    ft_put(o, q, (size_t)(end - q));
}

static void
render_other(struct ft_text *o, PyObject *v, PyObject *type)
{
    int slot;

    if (type == ft_capi.func_t) {
        char name[160];
        ft_py_attr_text(v, "__qualname__", name, sizeof(name));
        ft_putf(o, "<function %s at %p>", name, (void *)v);
        return;
    }
    if (type == ft_capi.module_t) {
        const char *n = ft_capi.PyModule_GetName(v);
        ft_py.PyErr_Clear();
        ft_putf(o, "<module '%s'>", n ? n : "?");
        return;
    }
    slot = type_slot(type == ft_capi.type_t ? v : type);
    if (type == ft_capi.type_t) {
        ft_putf(o, "<class '%s'>", types[slot].name);
        return;
    }
    if (ft_cfg.repr && !types[slot].slow_repr) {
        render_repr(o, v, slot);
        return;
    }
    /* What object.__repr__ writes, without printf: every call with an object argument
     * comes here. */
    ft_put(o, "<", 1);
    ft_put(o, types[slot].name, types[slot].name_len);
    ft_put(o, " object at ", 11);
    put_address(o, v);
    ft_put(o, ">", 1);
}

void
ft_capture_render(struct ft_text *o, PyObject *v, int depth)
{
    PyObject *t;

    if (o->cut) {
        return;
    }
    if (v == NULL) {
        ft_puts(o, "<NULL>");
        return;
    }
    t = ft_type_of(v);
    if (v == ft_py.None) {
        ft_puts(o, "None");
    } else if (t == ft_capi.bool_t) {
        ft_puts(o, v == ft_capi.true_o ? "True" : "False");
    } else if (t == ft_capi.long_t) {
        ft_capture_render_int(o, v);
    } else if (t == ft_capi.float_t) {
        char buf[FT_PYFLOAT_MAX];
        ft_put(o, buf, ft_fmt_pyfloat(ft_capi.PyFloat_AsDouble(v), buf));
    } else if (t == ft_capi.str_t) {
        render_str(o, v);
    } else if (t == ft_capi.bytes_t) {
        char *s;
        Py_ssize_t n;
        if (ft_py.PyBytes_AsStringAndSize(v, &s, &n) == 0) {
            render_bytes(o, s, (size_t)n, 0);
        }
    } else if (t == ft_capi.bytearray_t) {
        render_bytes(o, ft_capi.PyByteArray_AsString(v), (size_t)ft_capi.PyByteArray_Size(v), 1);
    } else if (t == ft_capi.list_t || t == ft_capi.tuple_t) {
        render_seq(o, v, depth, t == ft_capi.list_t);
    } else if (t == ft_capi.dict_t) {
        render_dict(o, v, depth);
    } else if (t == ft_capi.set_t || t == ft_capi.frozenset_t) {
        render_set(o, v, depth, t == ft_capi.frozenset_t);
    } else if (t == ft_capi.cell_t) {
        /* A parameter captured by a closure: render what the cell holds. */
        PyObject *c = ft_capi.PyCell_Get(v); /* new ref */
        ft_capture_render(o, c, depth);
        if (c != NULL) {
            ft_py.Py_DecRef(c);
        }
        ft_py.PyErr_Clear();
    } else {
        render_other(o, v, t);
    }
}

/* The size of v in its natural unit, for the truncation marker; returns it. */
static long long
marker(struct ft_text *o, PyObject *v)
{
    PyObject *t = ft_type_of(v);
    long long n;
    const char *unit = "items";

    if (t == ft_capi.str_t) {
        n = (long long)ft_capi.PyUnicode_GetLength(v);
        unit = "chars";
    } else if (t == ft_capi.bytes_t) {
        char *s;
        Py_ssize_t bn = 0;
        ft_py.PyBytes_AsStringAndSize(v, &s, &bn);
        n = bn;
        unit = "bytes";
    } else if (t == ft_capi.bytearray_t) {
        n = (long long)ft_capi.PyByteArray_Size(v);
        unit = "bytes";
    } else if (t == ft_capi.list_t) {
        n = ft_capi.PyList_Size(v);
    } else if (t == ft_capi.tuple_t) {
        n = ft_py.PyTuple_Size(v);
    } else if (t == ft_capi.dict_t) {
        n = ft_capi.PyDict_Size(v);
    } else if (t == ft_capi.set_t || t == ft_capi.frozenset_t) {
        n = ft_capi.PySet_Size(v);
    } else {
        n = (long long)o->len;
        unit = "chars";
    }
    ft_py.PyErr_Clear();
    o->cut = 0;
    ft_putf(o, "…[truncated from %lld %s]", n, unit);
    return n;
}

/* ft_capture_value; returns N of its truncation marker, or -1 when it was not cut. */
long long
ft_capture_render_bounded(struct ft_text *out, PyObject *o)
{
    long long truncated = -1;
    size_t limit = ft_cfg.max_arg_length ? ft_cfg.max_arg_length : FT_CAPTURE_UNLIMITED;
    size_t start = out->len, cap = out->cap;

    /* Render into at most `limit` bytes; keep MARKER_ROOM for the marker. */
    if (out->cap - out->len > limit) {
        out->cap = out->len + limit;
    } else if (out->cap - out->len > MARKER_ROOM) {
        out->cap -= MARKER_ROOM;
    }
    out->cut = 0;
    /* With --repr the program's code may run, and drop the last reference the caller
     * borrowed (3.13+ frames' f_locals write through to the fast locals). */
    ft_capture_hold(o);
    ft_capture_render(out, o, 0);
    out->cap = cap;
    if (out->cut) {
        /* Do not end in the middle of a UTF-8 sequence. */
        while (out->len > start && ((unsigned char)out->p[out->len - 1] & 0xc0) == 0x80) {
            out->len--;
        }
        if (out->len > start && (unsigned char)out->p[out->len - 1] >= 0xc0) {
            out->len--;
        }
        truncated = marker(out, o);
    }
    ft_capture_release(o);
    return truncated;
}

void
ft_capture_value(struct ft_text *out, PyObject *o)
{
    ft_capture_render_bounded(out, o);
}

int
ft_capture_is_secret(const char *name)
{
    return ft_redact_name(&ft_cfg.redact, name, strlen(name));
}

const char *
ft_capture_str(PyObject *v, size_t *len)
{
    Py_ssize_t n = 0;
    const char *s;

    if (v == NULL || !ft_capi.ready || ft_type_of(v) != ft_capi.str_t) {
        return NULL;
    }
    s = ft_py.PyUnicode_AsUTF8AndSize(v, &n);
    if (s == NULL) {
        ft_py.PyErr_Clear(); /* lone surrogates */
        return NULL;
    }
    *len = (size_t)n;
    /* cppcheck-suppress returnDanglingLifetime ; s is the str's own UTF-8, n its length */
    return s;
}

const char *
ft_capture_bytes(PyObject *v, size_t *len)
{
    char *s = NULL;
    Py_ssize_t n = 0;

    if (v == NULL || !ft_capi.ready || ft_type_of(v) != ft_capi.bytes_t ||
        ft_py.PyBytes_AsStringAndSize(v, &s, &n) != 0) {
        return NULL;
    }
    *len = (size_t)n;
    return s;
}

int
ft_capture_long(PyObject *v, long *out)
{
    int64_t x;

    if (!ft_capture_small_int(v, &x)) {
        return 0;
    }
    *out = (long)x; /* 64-bit: the object layouts read here are */
    return 1;
}

Py_ssize_t
ft_capture_seq_len(PyObject *v)
{
    if (v == NULL || !ft_capi.ready) {
        return -1;
    }
    if (ft_type_of(v) == ft_capi.list_t) {
        return ft_capi.PyList_Size(v);
    }
    return ft_type_of(v) == ft_capi.tuple_t ? ft_py.PyTuple_Size(v) : -1;
}

PyObject *
ft_capture_seq_item(PyObject *v, Py_ssize_t i)
{
    return ft_type_of(v) == ft_capi.list_t ? ft_capi.PyList_GetItem(v, i)
                                           : ft_py.PyTuple_GetItem(v, i);
}

PyObject *
ft_capture_dict_get(PyObject *d, const char *key)
{
    PyObject *v;

    if (d == NULL || !ft_capi.ready || ft_type_of(d) != ft_capi.dict_t) {
        return NULL;
    }
    v = ft_py.PyDict_GetItemString(d, key);
    ft_py.PyErr_Clear();
    return v;
}

PyObject *
ft_capture_instance_dict(PyObject *o)
{
    PyObject *d; /* new ref */

    if (o == NULL || !ft_capi.ready || ft_capi.PyObject_GenericGetDict == NULL) {
        return NULL;
    }
    d = ft_capi.PyObject_GenericGetDict(o, NULL);
    if (d == NULL) {
        ft_py.PyErr_Clear();
        return NULL;
    }
    /* The object keeps its dict alive: a borrowed reference is safe while o lives. */
    ft_py.Py_DecRef(d);
    return ft_type_of(d) == ft_capi.dict_t ? d : NULL;
}

static PyObject *
slot_value(PyObject *o, const char *name)
{
    PyObject *desc = ft_py.PyObject_GetAttrString(ft_type_of(o), name); /* new ref */
    PyObject *v = NULL;
    const char *tn;

    if (desc == NULL) {
        ft_py.PyErr_Clear();
        return NULL;
    }
    tn = tp_name(ft_type_of(desc));
    if (ft_pylayout.members_ok && tn != NULL && strcmp(tn, "member_descriptor") == 0) {
        Py_ssize_t off = ft_member_object_offset(desc);
        if (off > 0) {
            v = *(PyObject **)((char *)o + off); /* borrowed from o */
        }
    }
    ft_py.Py_DecRef(desc);
    return v;
}

PyObject *
ft_capture_plain_attr(PyObject *o, const char *name)
{
    PyObject *v;

    if (o == NULL || !ft_capi.ready) {
        return NULL;
    }
    v = ft_capture_dict_get(ft_capture_instance_dict(o), name);
    return v != NULL ? v : slot_value(o, name);
}

void
ft_capture_type_names(PyObject *o, char *module, size_t mcap, char *qualname, size_t qcap)
{
    PyObject *type = ft_type_of(o);
    PyObject *d = ft_py.PyObject_GetAttrString(type, "__dict__"); /* new ref: a proxy */
    PyObject *m = NULL;                                           /* new ref */
    size_t n;
    const char *s;

    module[0] = qualname[0] = '\0';
    if (d != NULL) {
        PyObject *key =
            ft_py.PyUnicode_FromString ? ft_py.PyUnicode_FromString("__module__") : NULL;
        m = key != NULL ? ft_py.PyObject_GetItem(d, key) : NULL;
        if (key != NULL) {
            ft_py.Py_DecRef(key);
        }
        ft_py.Py_DecRef(d);
    }
    if ((s = ft_capture_str(m, &n)) != NULL) {
        snprintf(module, mcap, "%.*s", (int)n, s);
    }
    if (m != NULL) {
        ft_py.Py_DecRef(m);
    }
    ft_py.PyErr_Clear();
    /* A heap type's qualified name is a C-level slot (ht_qualname) behind a getset. */
    ft_py_attr_text(type, "__qualname__", qualname, qcap);
}

int
ft_capture_is_cell(PyObject *v)
{
    return v != NULL && ft_capi.ready && ft_type_of(v) == ft_capi.cell_t;
}

int
ft_capture_small_int_api(PyObject *v, int64_t *x)
{
    int overflow = 0;

    if (v == NULL || !ft_capi.ready || ft_type_of(v) != ft_capi.long_t) {
        return 0;
    }
    *x = (int64_t)ft_capi.PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow || (*x == -1 && ft_py.PyErr_Occurred() != NULL)) {
        ft_py.PyErr_Clear();
        return 0;
    }
    return 1;
}

int
ft_capture_is_dict(PyObject *v)
{
    return v != NULL && ft_capi.ready && ft_type_of(v) == ft_capi.dict_t;
}

static void
put_field(struct ft_text *o, const char *s, size_t n)
{
    uint32_t len = (uint32_t)n;

    ft_put(o, &len, sizeof(len));
    ft_put(o, s, n);
}

/* str(exc): built-in exception types format their message in C (OSError, KeyError...). */
static void
message_by_str(struct ft_text *msg, PyObject *exc)
{
    struct ft_py_exc saved;
    PyObject *s; /* new ref */

    ft_py_exc_save(&saved);
    s = ft_py.PyObject_Str(exc);
    if (s != NULL) {
        Py_ssize_t n;
        const char *t = ft_py.PyUnicode_AsUTF8AndSize(s, &n);
        if (t != NULL) {
            ft_put(msg, t, (size_t)n);
        }
        ft_py.Py_DecRef(s);
    }
    ft_py.PyErr_Clear();
    ft_py_exc_restore(&saved);
}

/* A class of the program's: its args rendered as BaseException.__str__ would, without
 * calling a __str__ it may define. */
static void
message_from_args(struct ft_text *msg, PyObject *exc)
{
    PyObject *args = ft_py.PyObject_GetAttrString(exc, "args"); /* new ref */
    PyObject *a0;                                               /* borrowed */
    Py_ssize_t n, len;
    const char *t;

    if (args == NULL || ft_type_of(args) != ft_capi.tuple_t) {
        goto out;
    }
    n = ft_py.PyTuple_Size(args);
    a0 = n == 1 ? ft_py.PyTuple_GetItem(args, 0) : NULL;
    if (a0 != NULL && ft_type_of(a0) == ft_capi.str_t) {
        t = ft_py.PyUnicode_AsUTF8AndSize(a0, &len);
        if (t != NULL) {
            ft_put(msg, t, (size_t)len);
        }
    } else if (n == 1) {
        ft_capture_render(msg, a0, 0);
    } else if (n > 1) {
        ft_capture_render(msg, args, 0);
    }
out:
    if (args != NULL) {
        ft_py.Py_DecRef(args);
    }
    ft_py.PyErr_Clear();
}

/* An exception's message, with what looks like a secret in it redacted. */
static void
put_message(struct ft_text *out, const char *msg, size_t n)
{
    if (ft_capture_may_hold_secret(msg, n)) {
        char clean[4096 + 256];
        put_field(out, clean, ft_redact_text(&ft_cfg.redact, msg, n, clean, sizeof(clean), NULL));
    } else {
        put_field(out, msg, n);
    }
}

/* type, module, message: three u32-length-prefixed fields, the message at most mcap. */
static void
exception_fields(struct ft_text *out, PyObject *exc, char *buf, size_t mcap)
{
    PyObject *type = ft_type_of(exc); /* borrowed */
    int slot = type_slot(type);
    struct ft_text msg = {buf, 0, mcap, 0, 0};

    /* The qualified name without the module (the module is its own field). */
    put_field(out, types[slot].name + types[slot].qual_at,
              types[slot].name_len - types[slot].qual_at);
    put_field(out, types[slot].module, strlen(types[slot].module));
    if (ft_cfg.repr || !(ft_capi.PyType_GetFlags(type) & Py_TPFLAGS_HEAPTYPE)) {
        message_by_str(&msg, exc);
    } else {
        message_from_args(&msg, exc);
    }
    put_message(out, buf, msg.len);
}

static int
is_exception(PyObject *o)
{
    return o != NULL && o != ft_py.None &&
           (ft_capi.PyType_GetFlags(ft_type_of(o)) & Py_TPFLAGS_BASE_EXC);
}

/* The innermost entry of the exception's traceback (the frame where it was raised, or
 * the Python frame that called into C where it was): its file, into file, and its line;
 * 0 when there is none. No Python code runs: tb_frame is read in place (pylayout.h). */
static long
raise_site(PyObject *exc, PyObject *given_tb, char *file, size_t cap)
{
    PyObject *tb, *last, *next, *code; /* new, borrowed, borrowed, new */
    long line;

    file[0] = '\0';
    if (!ft_pylayout.tb_ok || ft_py.PyFrame_GetCode == NULL) {
        return 0;
    }
    if (given_tb != NULL && given_tb != ft_py.None) {
        tb = given_tb;
        ft_py.Py_IncRef(tb);
    } else if (ft_py.PyException_GetTraceback == NULL ||
               (tb = ft_py.PyException_GetTraceback(exc)) == NULL) {
        return 0;
    }
    for (last = tb; (next = ft_tb_next(last)) != NULL && next != ft_py.None;) {
        last = next;
    }
    code = ft_py.PyFrame_GetCode(ft_tb_frame(last));
    ft_py_attr_text(code, "co_filename", file, cap);
    line = ft_py_attr_long(last, "tb_lineno", 0);
    ft_py.Py_DecRef(code);
    ft_py.Py_DecRef(tb);
    ft_py.PyErr_Clear();
    return line;
}

int
ft_capture_tb_line(PyObject *exc)
{
    PyObject *tb; /* new ref */
    long line;

    if (!is_exception(exc) || ft_py.PyException_GetTraceback == NULL ||
        (tb = ft_py.PyException_GetTraceback(exc)) == NULL) {
        return 0;
    }
    line = ft_py_attr_long(tb, "tb_lineno", 0);
    ft_py.Py_DecRef(tb);
    ft_py.PyErr_Clear();
    return (int)line;
}

static void
put_tag(struct ft_text *out, uint32_t tag, const void *p, size_t n)
{
    uint32_t len = (uint32_t)n;

    ft_put(out, &tag, 4);
    ft_put(out, &len, 4);
    ft_put(out, p, n);
}

/* The exception's __cause__, else its __context__ unless suppressed (a new reference),
 * or NULL; *via says which (1, 2). */
static PyObject *
chained(PyObject *exc, uint8_t *via)
{
    PyObject *next = ft_py.PyException_GetCause(exc); /* new ref */

    *via = 1;
    if (next != NULL && next != ft_py.None) {
        return next;
    }
    if (next != NULL) {
        ft_py.Py_DecRef(next);
    }
    if (ft_py_attr_long(exc, "__suppress_context__", 0)) {
        return NULL;
    }
    *via = 2;
    next = ft_py.PyException_GetContext(exc);
    if (next != NULL && next == ft_py.None) {
        ft_py.Py_DecRef(next);
        next = NULL;
    }
    return next;
}

#define CHAIN_MAX 8

/* FT_EXC_CAUSE fields: the chain of exceptions behind exc, nearest first, at most
 * CHAIN_MAX, stopping at a loop. */
static void
put_chain(struct ft_text *out, PyObject *exc)
{
    PyObject *seen[CHAIN_MAX + 1]; /* new refs, but for seen[0] */
    char buf[1024], file[1024];
    static uint8_t rec[3 * 1100 + 2048];
    int n = 0;

    if (ft_py.PyException_GetCause == NULL || ft_py.PyException_GetContext == NULL) {
        return;
    }
    seen[n++] = exc;
    while (n <= CHAIN_MAX) {
        uint8_t via;
        PyObject *next = chained(seen[n - 1], &via);
        int loop = 0;
        for (int i = 0; i < n && next != NULL; i++) {
            loop |= seen[i] == next;
        }
        if (next == NULL || loop || !is_exception(next)) {
            if (next != NULL) {
                ft_py.Py_DecRef(next);
            }
            break;
        }
        seen[n++] = next;
        struct ft_text r = {(char *)rec, 0, sizeof(rec), 0, 0};
        uint32_t line = (uint32_t)raise_site(next, NULL, file, sizeof(file));
        ft_put(&r, &via, 1);
        ft_put(&r, &line, 4);
        exception_fields(&r, next, buf, sizeof(buf));
        put_field(&r, file, strlen(file));
        if (!r.cut) {
            put_tag(out, FT_EXC_CAUSE, rec, r.len);
        }
    }
    for (int i = 1; i < n; i++) {
        ft_py.Py_DecRef(seen[i]);
    }
    ft_py.PyErr_Clear();
}

void
ft_capture_exception(struct ft_text *out, PyObject *exc, PyObject *tb)
{
    char buf[4096], file[4096];
    uint32_t line;

    if (exc == NULL || !is_exception(exc)) {
        put_field(out, "", 0);
        put_field(out, "", 0);
        put_field(out, "", 0);
        return;
    }
    exception_fields(out, exc, buf, sizeof(buf));
    line = (uint32_t)raise_site(exc, tb, file, sizeof(file));
    if (line > 0) {
        put_tag(out, FT_EXC_RAISE_FILE, file, strlen(file));
        put_tag(out, FT_EXC_RAISE_LINE, &line, 4);
    }
    put_chain(out, exc);
}
