/* record.c - engine events -> event records, with the values they carry. */
#define _GNU_SOURCE
#include "record.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "capture_json.h"
#include "config.h"
#include "deflog.h"
#include "emit.h"
#include "lib/clock.h"
#include "log.h"
#include "pylayout.h"
#include "record_fast.h"
#include "units.h"

static int statm_fd = -1;
static long page_size;
static PyObject *get_traced_memory; /* tracemalloc.get_traced_memory, new ref kept */
static PyObject *cfunc_type, *mdescr_type;

/* ---- Setup ---------------------------------------------------------------------------- */

static void
start_tracemalloc(void)
{
    PyObject *(*import)(const char *) =
        (PyObject * (*)(const char *)) dlsym(RTLD_DEFAULT, "PyImport_ImportModule");
    PyObject *mod, *start, *r; /* new refs */

    if (import == NULL || (mod = import("tracemalloc")) == NULL) {
        ft_py.PyErr_Clear();
        return;
    }
    start = ft_py.PyObject_GetAttrString(mod, "start");
    r = start ? ft_py.PyObject_CallObject(start, NULL) : NULL;
    get_traced_memory = ft_py.PyObject_GetAttrString(mod, "get_traced_memory");
    if (r != NULL) {
        ft_py.Py_DecRef(r);
    }
    if (start != NULL) {
        ft_py.Py_DecRef(start);
    }
    ft_py.Py_DecRef(mod);
    ft_py.PyErr_Clear();
}

int ft_record_fast_settings;

void
ft_record_init(void)
{
    if ((!ft_cfg.skip_inputs || !ft_cfg.skip_outputs) && ft_capture_init() != 0) {
        ft_warn("cannot render values in this interpreter; arguments and results are not "
                "captured");
    }
    /* The fast path writes what the general one writes with these settings only. */
    ft_record_fast_settings = ft_capture_ready() && ft_capture_hot.int_direct &&
                              !ft_cfg.skip_inputs && !ft_cfg.skip_outputs && !ft_cfg.memory &&
                              !ft_cfg.flush_every_call && !ft_cfg.manual;
    if (ft_cfg.memory) {
        statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        page_size = sysconf(_SC_PAGESIZE);
        if (ft_cfg.tracemalloc) {
            start_tracemalloc();
        }
    }
    *(void **)&cfunc_type = dlsym(RTLD_DEFAULT, "PyCFunction_Type");
    *(void **)&mdescr_type = dlsym(RTLD_DEFAULT, "PyMethodDescr_Type");
}

/* ---- Values ----------------------------------------------------------------------------- */

/* Parameter i of a call (in the code's locals order), read in place from the fast locals:
 * never through frame.f_locals, which would materialise a dict in the frame that the
 * program can see (IMPORT_NAME passes it to __import__ on 3.11). */
static inline PyObject *
param(const struct ft_code_info *ci, PyObject **locals, unsigned i)
{
    return locals[ci->first + i];
}

/* With --repr, rendering one parameter may run the program's code, which can rebind
 * another parameter (3.13+: through the frame's f_locals) and so free the value read
 * from the fast locals: then the parameters are copied, each held by a reference, and
 * rendered from the copy (as they were at the call). Without --repr no Python code runs
 * and the fast locals are read in place. Returns the array to read, or NULL. */
static PyObject **
hold_params(const struct ft_code_info *ci, PyObject **locals, PyObject **buf)
{
    unsigned n = ci->first + ci->nparams;
    PyObject **held;

    if (!ft_cfg.repr) {
        return locals;
    }
    held = n <= FT_LOCALS_MAX ? buf : calloc(n, sizeof(void *)); /* an array of pointers */
    for (unsigned i = 0; held != NULL && i < n; i++) {
        held[i] = locals[i];
        ft_py.Py_IncRef(held[i]);
    }
    return held;
}

static void
release_params(const struct ft_code_info *ci, PyObject **held, PyObject **fast, PyObject **buf)
{
    if (held == fast || held == NULL) {
        return; /* not held (no --repr) */
    }
    for (unsigned i = 0; i < ci->first + ci->nparams; i++) {
        ft_py.Py_DecRef(held[i]);
    }
    if (held != buf) {
        free(held);
    }
}

/* The length word at `at` of the JSON text that follows it (FT_ARG_JSON). */
static void
put_json_len(struct ft_text *o, size_t at)
{
    uint32_t n = (uint32_t)(o->len - at - 4) | FT_ARG_JSON;

    memcpy(o->p + at, &n, 4);
}

/* A value hidden by its name, as format 3 writes it. */
#define REDACTED_JSON "{\"redacted\": true, \"repr\": \"<redacted>\"}"

static void
put_redacted(struct ft_text *o)
{
    memcpy(o->p + o->len, REDACTED_JSON, sizeof(REDACTED_JSON) - 1);
    o->len += sizeof(REDACTED_JSON) - 1;
}

/* ARGS payload: u64 instance, then per parameter u32 length + text. */
static size_t
render_args(struct ft_thread *t, const struct ft_code_info *ci, PyObject **fast)
{
    size_t per = ft_capture_value_cap() + 4;
    struct ft_text o;
    uint64_t inst = 0;
    PyObject *buf[FT_LOCALS_MAX], **locals;

    if (ft_thread_scratch(t, 8 + per * ci->nparams) != 0 ||
        (locals = hold_params(ci, fast, buf)) == NULL) {
        return 0;
    }
    o.p = t->scratch;
    o.len = 8;
    o.cap = t->scratch_cap;
    o.cut = 0;
    o.end = 0;
    if (ci->has_self) {
        inst = (uint64_t)(uintptr_t)locals[0];
    }
    memcpy(o.p, &inst, 8);
    for (unsigned k = 0; k < ci->nparams; k++) {
        unsigned i = ft_code_param_at(ci, k);
        size_t at = o.len;
        o.len += 4;
        if (i < 64 && (ci->redact >> i) & 1) {
            put_redacted(&o);
        } else {
            PyObject *v = param(ci, locals, i);
            int64_t x;
            if (ft_capture_small_int(v, &x)) {
                uint32_t tag = FT_ARG_INT | 8;
                memcpy(o.p + at, &tag, 4);
                memcpy(o.p + o.len, &x, 8);
                o.len += 8;
                continue;
            }
            ft_capture_json(&o, v);
        }
        put_json_len(&o, at);
    }
    release_params(ci, locals, fast, buf);
    return o.len;
}

static void
emit_memory(struct ft_thread *t)
{
    uint64_t m[3] = {UINT64_MAX, UINT64_MAX, UINT64_MAX};

    if (statm_fd >= 0) {
        char buf[128];
        ssize_t n = pread(statm_fd, buf, sizeof(buf) - 1, 0);
        if (n > 0) {
            /* "size resident shared ...", in pages: the second field. */
            char *end;
            buf[n] = '\0';
            strtoul(buf, &end, 10);
            unsigned long resident = strtoul(end, &end, 10);
            if (end != buf && (*end == ' ' || *end == '\n')) {
                m[0] = (uint64_t)resident * (uint64_t)page_size;
            }
        }
    }
    if (get_traced_memory != NULL) {
        struct ft_py_exc saved;
        ft_py_exc_save(&saved);
        PyObject *r = ft_py.PyObject_CallObject(get_traced_memory, NULL); /* new ref */
        if (r != NULL && ft_py.PyTuple_Size(r) == 2) {
            m[1] = (uint64_t)ft_py.PyLong_AsLong(ft_py.PyTuple_GetItem(r, 0));
            m[2] = (uint64_t)ft_py.PyLong_AsLong(ft_py.PyTuple_GetItem(r, 1));
        }
        if (r != NULL) {
            ft_py.Py_DecRef(r);
        }
        ft_py.PyErr_Clear();
        ft_py_exc_restore(&saved);
    }
    ft_emit_values(t, FT_REC_MEMORY, m, sizeof(m));
}

/* ---- Events ----------------------------------------------------------------------------- */

#define FAST_INTS 8 /* parameters a call may have and still take the all-int path */

/* A CALL_INTS record of ci at p: code id, ticks, then ci->nparams ints from x. */
static inline void
put_call_ints(uint8_t *p, const struct ft_code_info *ci, uint64_t ticks, const int64_t *x)
{
    memcpy(p, &ci->w_call, 8);
    memcpy(p + 8, &ci->id, 8);
    memcpy(p + 16, &ticks, 8);
    for (unsigned k = 0; k < ci->nparams; k++) {
        memcpy(p + 24 + 8 * (size_t)k, &x[k], 8); /* stores, not a call */
    }
}

/* The commonest call in call-heavy code passes only ints: its event record and its value
 * record are written straight into the thread's buffer, each int as 8 bytes for the
 * writer to render, with no scratch space and no rendering: ARGS_INTS (8 bytes per
 * parameter) for a function, ARGS with the instance and FT_ARG_INT lengths for a method;
 * when whole (a CALL of a function that nothing else follows: whole_call), one CALL_INTS
 * record instead of CALL + ARGS_INTS. Returns 0, having written nothing, when a parameter
 * is anything else (the general path then handles the call). */
static inline int
enter_ints(struct ft_thread *t, const struct ft_code_info *ci, uint64_t w0, int has_extra,
           uint64_t ident, PyObject **locals, int whole)
{
    unsigned n = ci->nparams;
    size_t fixed = has_extra ? 24 : 16;
    size_t len = ci->has_self ? 8 + 12 * (size_t)n : 8 * (size_t)n;
    size_t total = whole ? FT_CALL_INTS_LEN(n) + 8 : fixed + 8 + FT_PAD8(len);
    int64_t x[FAST_INTS];
    uint64_t vw0, ticks;
    uint32_t tag = FT_ARG_INT | 8;
    uint8_t *p, *q;

    if (locals == NULL || n > FAST_INTS || ci->redact != 0) {
        return 0;
    }
    for (unsigned k = 0; k < n; k++) {
        if (!ft_capture_small_int(locals[ci->first + ft_code_param_at(ci, k)], &x[k])) {
            return 0;
        }
    }
    ticks = ft_clock_ticks(ft_cfg.clock);
    p = ft_thread_reserve_event(t, total);
    if (p == NULL) {
        return 1;
    }
    if (whole) {
        put_call_ints(p, ci, ticks, x);
        ft_thread_commit(t, p + total);
        return 1;
    }
    memcpy(p, &w0, 8);
    memcpy(p + 8, &ticks, 8);
    memcpy(p + 16, &ident, 8); /* overwritten by the value record when there is no extra */
    q = p + fixed;
    if (!ci->has_self) {
        vw0 = ft_rec_word0(FT_REC_ARGS_INTS, len);
        memcpy(q, &vw0, 8);
        for (unsigned k = 0; k < n; k++) {
            memcpy(q + 8 + 8 * (size_t)k, &x[k], 8); /* stores, not a call */
        }
    } else {
        uint64_t inst = (uint64_t)(uintptr_t)locals[0];
        vw0 = ft_rec_word0(FT_REC_ARGS, len);
        memcpy(q + total - fixed - 8, &(uint64_t){0}, 8); /* padding */
        memcpy(q, &vw0, 8);
        memcpy(q + 8, &inst, 8);
        q += 16;
        for (unsigned k = 0; k < n; k++, q += 12) {
            memcpy(q, &tag, 4);
            memcpy(q + 4, &x[k], 8);
        }
    }
    ft_thread_commit(t, p + total);
    return 1;
}

/* A return whose value is an int that fits an int64: RETURN and RESULT_INT, written
 * straight into the thread's buffer; when whole (no value record follows), one RETURN_INT
 * record (code id, ticks, the int) instead. */
static inline void
leave_int(struct ft_thread *t, const struct ft_code_info *ci, uint64_t w0, int64_t x, int whole)
{
    uint64_t ticks = ft_clock_ticks(ft_cfg.clock), vw0 = ft_rec_word0(FT_REC_RESULT_INT, 8);
    uint8_t *p = ft_thread_reserve_event(t, 32);

    if (p == NULL) {
        return;
    }
    if (whole) {
        w0 = ft_rec_word0(FT_REC_RETURN_INT, FT_RETURN_INT_LEN);
        memcpy(p, &w0, 8);
        memcpy(p + 8, &ci->id, 8);
        memcpy(p + 16, &ticks, 8);
    } else {
        memcpy(p, &w0, 8);
        memcpy(p + 8, &ticks, 8);
        memcpy(p + 16, &vw0, 8);
    }
    memcpy(p + 24, &x, 8);
    ft_thread_commit(t, p + 32);
}

/* Whether a CALL of ci is a whole event (CALL_INTS: its ints inside, wire 1.9): a function
 * (no self) whose call nothing else follows (no MEMORY, not a unit's, not a framework
 * boundary's, whose values are not recorded). */
static inline int
whole_call(const struct ft_code_info *ci, unsigned kind)
{
    return kind == FT_REC_CALL && !ci->has_self && !ft_cfg.memory && ci->unit == 0 &&
           !(ci->flags & FT_DEF_BOUNDARY);
}

void
ft_record_call_alone(struct ft_thread *t, const struct ft_code_info *ci)
{
    uint64_t ticks = ft_clock_ticks(ft_cfg.clock);
    uint8_t *p;

    if (ci->nparams > 0 || !whole_call(ci, FT_REC_CALL)) {
        ft_emit(t, ft_rec_word0(FT_REC_CALL, ci->id), ticks);
        return;
    }
    if ((p = ft_thread_reserve_event(t, FT_CALL_INTS_LEN(0) + 8)) != NULL) {
        put_call_ints(p, ci, ticks, NULL);
        ft_thread_commit(t, p + 24);
    }
}

void
ft_record_enter(struct ft_thread *t, const struct ft_code_info *ci, unsigned kind, uint64_t ident,
                PyObject **locals)
{
    uint64_t w0 = ft_rec_word0(kind, ci->id);
    int has_extra = kind >= 0x20;
    size_t len = 0;

    /* A request's framework code (FT_DEF_BOUNDARY) has no level in its tree, so its values
     * would never be written: the request's own fields (units.h) say what it was. */
    if (kind != FT_REC_RESUME && !ft_cfg.skip_inputs && (ci->nparams > 0 || ci->has_self) &&
        locals != NULL && !(ci->flags & FT_DEF_BOUNDARY) && ft_capture_ready()) {
        if (enter_ints(t, ci, w0, has_extra, ident, locals, whole_call(ci, kind))) {
            goto written;
        }
        len = render_args(t, ci, locals);
    } else if (kind == FT_REC_CALL && ci->nparams == 0) {
        ft_record_call_alone(t, ci); /* CALL_INTS without ints when nothing follows */
        goto written;
    }
    if (len > 0) {
        ft_emit_with(t, w0, has_extra, ident, FT_REC_ARGS, t->scratch, len);
    } else {
        ft_emit_with(t, w0, has_extra, ident, 0, NULL, 0);
    }
written:
    if (ft_cfg.memory && kind != FT_REC_RESUME) {
        emit_memory(t);
    }
    if (__builtin_expect(ci->unit != 0, 0)) {
        t->unit_frames++; /* inside a unit: work handed off from here is its (handoff.h) */
        if (kind != FT_REC_RESUME) {
            ft_unit_enter(t, ci, locals);
        }
    }
    ft_emit_done(t);
}

/* Whether a parameter may have changed in place (an exact list, dict, set, bytearray).
 * The common case, none: decided inline, without setup. */
static inline int
any_mutable(const struct ft_code_info *ci, PyObject **fast)
{
    for (unsigned m = 0; m < ci->nparams; m++) {
        if (ft_capture_is_mutable(fast[ci->first + m])) {
            return 1;
        }
    }
    return 0;
}

/* Arguments that may have changed in place, re-read at return: the writer keeps those
 * that differ from the call. */
static __attribute__((noinline)) void
emit_args_after(struct ft_thread *t, const struct ft_code_info *ci, PyObject **fast)
{
    size_t per;
    struct ft_text o;
    PyObject *buf[FT_LOCALS_MAX], **locals;

    per = ft_capture_value_cap() + 8;
    if (ft_thread_scratch(t, per * ci->nparams) != 0 ||
        (locals = hold_params(ci, fast, buf)) == NULL) {
        return;
    }
    o.p = t->scratch;
    o.len = 0;
    o.cap = t->scratch_cap;
    o.cut = 0;
    o.end = 0;
    for (unsigned k = 0; k < ci->nparams; k++) {
        unsigned i = ft_code_param_at(ci, k);
        PyObject *v = param(ci, locals, i);
        uint32_t idx = k; /* in signature order, as the definition lists names */
        if (!ft_capture_is_mutable(v) || (i < 64 && (ci->redact >> i) & 1)) {
            continue;
        }
        memcpy(o.p + o.len, &idx, 4);
        o.len += 4;
        size_t at = o.len;
        o.len += 4;
        ft_capture_json(&o, v);
        put_json_len(&o, at);
    }
    release_params(ci, locals, fast, buf);
    if (o.len > 0) {
        ft_emit_values(t, FT_REC_ARGS_AFTER, o.p, o.len);
    }
}

void
ft_record_leave(struct ft_thread *t, const struct ft_code_info *ci, unsigned kind, PyObject *retval,
                PyObject **locals)
{
    uint64_t w0 = ft_rec_word0(kind, ci->id);
    int values = kind == FT_REC_RETURN && !(ci->flags & FT_DEF_BOUNDARY); /* as at entry */
    int after = values && !ft_cfg.skip_inputs && ci->nparams > 0 && locals != NULL &&
                ft_capture_ready() && any_mutable(ci, locals);
    struct ft_text o;
    int64_t x;

    if (values && !ft_cfg.skip_outputs && ft_capture_small_int(retval, &x)) {
        leave_int(t, ci, w0, x, !after && !ft_cfg.memory && ci->unit == 0);
    } else if (values && !ft_cfg.skip_outputs && ft_capture_ready() &&
               ft_thread_scratch(t, ft_capture_value_cap()) == 0) {
        o.p = t->scratch;
        o.len = 0;
        o.cap = t->scratch_cap;
        o.cut = 0;
        o.end = 0;
        ft_capture_json(&o, retval);
        ft_emit_with(t, w0, 0, 0, FT_REC_RESULT_JSON, o.p, o.len);
    } else {
        ft_emit_with(t, w0, 0, 0, 0, NULL, 0);
    }
    if (after) {
        emit_args_after(t, ci, locals);
    }
    if (ft_cfg.memory && kind == FT_REC_RETURN) {
        emit_memory(t);
    }
    if (__builtin_expect(ci->unit != 0, 0)) {
        t->unit_frames -= t->unit_frames > 0;
        if (kind == FT_REC_RETURN) {
            ft_unit_leave(t, ci, retval, locals);
        }
    }
    ft_emit_done(t);
}

/* LOCALS: the frame's local variables as the exception left it, rendered as arguments are
 * (bounded, secret-looking names redacted, no Python code unless --repr), unbound ones
 * left out. */
static void
emit_locals(struct ft_thread *t, const struct ft_code_info *ci, PyObject **fast, unsigned n)
{
    size_t per = ft_capture_value_cap() + 8;
    PyObject *held[FT_LOCALS_MAX];
    struct ft_text o;
    uint32_t count = 0;

    if (n > FT_LOCALS_MAX || ft_thread_scratch(t, 4 + n * (per + 4 + 256)) != 0) {
        return;
    }
    /* With --repr, rendering one may run code that rebinds another: render a held copy. */
    for (unsigned i = 0; i < n; i++) {
        held[i] = fast[i];
        if (ft_cfg.repr) {
            ft_py.Py_IncRef(held[i]);
        }
    }
    o.p = t->scratch;
    o.len = 4;
    o.cap = t->scratch_cap;
    o.cut = 0;
    o.end = 0;
    for (unsigned i = 0; i < n; i++) {
        const char *name = ci->local_names[i];
        uint32_t nlen = (uint32_t)strlen(name);
        int64_t x;
        size_t at;
        if (held[i] == NULL || nlen > 255) {
            continue; /* unbound */
        }
        memcpy(o.p + o.len, &nlen, 4);
        memcpy(o.p + o.len + 4, name, nlen);
        o.len += 4 + nlen;
        at = o.len;
        o.len += 4;
        count++;
        if (ft_capture_is_secret(name)) {
            put_redacted(&o);
        } else if (ft_capture_small_int(held[i], &x)) {
            uint32_t tag = FT_ARG_INT | 8;
            memcpy(o.p + at, &tag, 4);
            memcpy(o.p + o.len, &x, 8);
            o.len += 8;
            continue;
        } else {
            ft_capture_json(&o, held[i]);
        }
        put_json_len(&o, at);
    }
    for (unsigned i = 0; ft_cfg.repr && i < n; i++) {
        ft_py.Py_DecRef(held[i]);
    }
    memcpy(o.p, &count, 4);
    if (count > 0) {
        ft_emit_values(t, FT_REC_LOCALS, o.p, o.len);
    }
}

void
ft_record_unwind(struct ft_thread *t, const struct ft_code_info *ci, PyObject *exc, int line,
                 PyObject **locals, unsigned nlocals)
{
    ft_emit_with(t, ft_rec_word0(FT_REC_UNWIND, ci->id), 0, 0, 0, NULL, 0);
    if (line > 0) {
        uint32_t l = (uint32_t)line;
        ft_emit_values(t, FT_REC_LEFT_AT, &l, sizeof(l));
    }
    if (locals != NULL && nlocals > 0 && ft_cfg.locals && ft_capture_ready()) {
        emit_locals(t, ci, locals, nlocals);
    }
    if (__builtin_expect(ci->unit != 0, 0)) {
        t->unit_frames -= t->unit_frames > 0;
        ft_unit_leave(t, ci, NULL, locals); /* before EXC, which ends the unwinding */
    }
    if (exc != NULL) {
        ft_record_exception(t, exc, NULL);
    }
    if (ft_cfg.memory) {
        emit_memory(t);
    }
    if (__builtin_expect(ci->unit != 0, 0)) {
        ft_unit_raised(t, ci); /* its EXC too */
    }
    ft_emit_done(t);
}

/* 3.8-3.11: the line the exception passed in each frame of the preceding UNWIND records
 * (t->unwound, innermost first), from its traceback, which lists them outermost first
 * among other frames: FT_EXC_LEFT, appended to o. Nothing when one is not found. */
static void
put_left_lines(struct ft_text *o, struct ft_thread *t, PyObject *tb)
{
    unsigned k = t->nunwound;
    char *lines;

    if (k == 0 || k > FT_UNWOUND_MAX || tb == NULL || !ft_pylayout.tb_ok ||
        o->cap - o->len < 8 + 4 * (size_t)k) {
        return;
    }
    lines = o->p + o->len + 8;
    for (; tb != NULL && tb != ft_py.None && k > 0; tb = ft_tb_next(tb)) {
        if ((void *)ft_tb_frame(tb) == t->unwound[k - 1]) {
            long line = ft_py_attr_long(tb, "tb_lineno", 0);
            uint32_t l = line > 0 ? (uint32_t)line : 0;
            memcpy(lines + 4 * (size_t)(k - 1), &l, 4);
            k--;
        }
    }
    if (k == 0) {
        uint32_t hdr[2] = {FT_EXC_LEFT, 4 * t->nunwound};
        memcpy(o->p + o->len, hdr, 8);
        o->len += 8 + 4 * (size_t)t->nunwound;
    }
}

void
ft_record_exception(struct ft_thread *t, PyObject *exc, PyObject *tb)
{
    struct ft_text o;

    /* Three texts and the raise site (4 KiB each at most), the chain (3.3 KiB a link),
     * the lines left at. */
    if (!ft_capture_ready() ||
        ft_thread_scratch(t, 5 * 4200 + 8 * 3500 + 8 + 4 * FT_UNWOUND_MAX) != 0) {
        t->nunwound = 0;
        return;
    }
    o.p = t->scratch;
    o.len = 0;
    o.cap = t->scratch_cap;
    o.cut = 0;
    o.end = 0;
    ft_capture_exception(&o, exc, tb);
    put_left_lines(&o, t, tb);
    t->nunwound = 0;
    ft_emit_values(t, FT_REC_EXC, o.p, o.len);
}

void
ft_record_spawn(struct ft_thread *t, uint64_t ident)
{
    ft_emit_with(t, ft_rec_word0(FT_REC_SPAWN, 0), 1, ident, 0, NULL, 0);
}

void
ft_record_mark(struct ft_thread *t, unsigned kind, uint64_t extra)
{
    ft_emit_with(t, ft_rec_word0(kind, 0), kind > FT_REC_FIXED_MAX, extra, 0, NULL, 0);
}

/* Whether the coroutine running in frame f is traced. A task of code outside the scope
 * never starts in the trace: its SPAWN would stay unmatched until another coroutine
 * happened to reuse its frame's address, and would then be taken for that one's. */
static int
traced_coroutine(PyFrameObject *f)
{
    PyObject *code = ft_py.PyFrame_GetCode != NULL ? ft_py.PyFrame_GetCode(f) : NULL; /* new */
    const struct ft_code_info *ci;

    if (code == NULL) {
        ft_py.PyErr_Clear();
        return 1; /* cannot tell: as before */
    }
    ci = ft_code_lookup(code);
    if (ci == NULL) {
        ci = ft_code_intern(code, f); /* first sight now rather than at its start */
    }
    ft_py.Py_DecRef(code);
    return ci->traced;
}

void
ft_record_task(struct ft_thread *t, PyObject *coro)
{
    PyObject *cf; /* new ref */
    struct ft_py_exc exc;

    ft_py_exc_save(&exc);
    cf = ft_py.PyObject_GetAttrString(coro, "cr_frame");
    if (cf != NULL && cf != ft_py.None && traced_coroutine((PyFrameObject *)cf)) {
        ft_record_spawn(t, ft_frame_ident((PyFrameObject *)cf));
    }
    if (cf != NULL) {
        ft_py.Py_DecRef(cf);
    }
    ft_py.PyErr_Clear();
    ft_py_exc_restore(&exc);
}

/* ---- Builtin calls (--c-calls) ---------------------------------------------------------- */

#define CFUNCS 4096

static struct {
    const PyMethodDef *key;
    uint64_t id;
} cfuncs[CFUNCS];

/* The builtin's PyMethodDef, and what owns it (a module or an instance; NULL for a method
 * descriptor, whose type is passed instead), read in place (pylayout.h). A bound method (3.11's profile events: `l.append`) and the unbound descriptor that
 * 3.12+'s CALL event passes (`list.append`, self as the first argument) name the same
 * builtin alike: `list` owns `append` either way. */
static uint64_t
cfunc_id(PyObject *f, int descr)
{
    const PyMethodDef *ml = descr ? ft_mdescr_def(f) : ft_cfunc_def(f);
    PyObject *self = descr ? NULL : ft_cfunc_self(f);
    PyObject *dtype = descr ? ft_mdescr_type(f) : NULL;
    uintptr_t h = ((uintptr_t)ml >> 3) * 0x9e3779b97f4a7c15ull;
    unsigned i = (unsigned)(h >> 52) & (CFUNCS - 1);
    char owner[160], name[256];
    const char *ml_name;

    for (unsigned probe = 0; probe < 8; probe++, i = (i + 1) & (CFUNCS - 1)) {
        if (cfuncs[i].key == ml) {
            return cfuncs[i].id;
        }
        if (cfuncs[i].key == NULL) {
            break;
        }
    }
    /* First sight of this builtin: name it after its owner (module or type). */
    ml_name = ml->ml_name;
    owner[0] = '\0';
    if (dtype != NULL) {
        ft_py_attr_text(dtype, "__qualname__", owner, sizeof(owner));
        ft_py.PyErr_Clear();
    } else if (self != NULL && self != ft_py.None) {
        PyObject *mod = ft_py.PyObject_GetAttrString(f, "__module__"); /* new ref */
        if (mod != NULL && mod != ft_py.None) {
            ft_py_text(mod, owner, sizeof(owner));
        } else {
            PyObject *type = ft_type_of(self);
            ft_py_attr_text(type, "__qualname__", owner, sizeof(owner));
        }
        if (mod != NULL) {
            ft_py.Py_DecRef(mod);
        }
        ft_py.PyErr_Clear();
    }
    snprintf(name, sizeof(name), "%s", ml_name ? ml_name : "?");
    uint64_t id = ft_deflog_define_cfunc(owner[0] ? owner : "builtins", name);
    if (cfuncs[i].key == NULL || cfuncs[i].key == ml) {
        cfuncs[i].key = ml;
        cfuncs[i].id = id;
    }
    return id;
}

void
ft_record_c(struct ft_thread *t, unsigned kind, PyObject *cfunc)
{
    PyObject *type = cfunc != NULL ? ft_type_of(cfunc) : NULL;

    if (!ft_pylayout.builtins_ok || type == NULL || (type != cfunc_type && type != mdescr_type)) {
        return; /* only builtin functions and methods */
    }
    ft_emit_with(t, ft_rec_word0(kind, cfunc_id(cfunc, type == mdescr_type)), 0, 0, 0, NULL, 0);
}
