/* emit.c - events.jsonl lines and tree.json nodes of calls.
 *
 * This is the writer's inner loop (two lines and a node per call), so each piece is
 * written with one bound check: the room a line can take is reserved first, then the
 * parts are copied in with a cursor, constant keys as fixed-size copies. Most calls write
 * a line and its node at the same moment: ft_emit_enter_node and ft_emit_exit_node write
 * both in one pass, the node copying the numbers the line has just written.
 */
#include "emit.h"

#include <errno.h>
#include <stdlib.h>

#include "dec.h"
#include "json.h"

/* Room for a line's fixed keys and numbers (not its texts and fragments). */
#define LINE_FIXED 400

static const char exc_unknown[] = "{\"type\":null,\"module\":null,\"message\":null}";

int
ft_emit_set_run(struct ft_emit *e, uint64_t pid, const char *run_id, int with_run)
{
    struct ft_buf b;

    ft_buf_init(&b);
    ft_buf_puts(&b, ",\"pid\":");
    ft_buf_put_u64(&b, pid);
    if (with_run) {
        ft_buf_puts(&b, ",\"run\":");
        ft_json_put_cstr(&b, run_id);
    }
    if (b.oom) {
        ft_buf_free(&b);
        return -ENOMEM;
    }
    free(e->run_frag);
    e->run_frag = b.p;
    e->run_frag_len = b.len;
    return 0;
}

void
ft_emit_free(struct ft_emit *e)
{
    free(e->run_frag);
    e->run_frag = NULL;
    e->run_frag_len = 0;
}

uint64_t
ft_emit_micros(const struct ft_emit *e, uint64_t ticks)
{
    return ft_clockconv_real_ns(e->clock, ticks) / 1000;
}

/* ---- The cursor: o points into reserved room ------------------------------------------ */

#define PUT_LIT(o, s) (memcpy((o), (s), sizeof(s) - 1), (o) + sizeof(s) - 1)

static inline char *
put_mem(char *o, const void *s, size_t n)
{
    memcpy(o, s, n);
    return o + n;
}

/* n bytes of s copied in whole steps of `step` bytes (a constant where it is inlined, so
 * each step is one fixed-size copy): the source has at least step - 1 readable bytes past
 * its end, and up to step - 1 bytes are written past the output's end, into room reserved
 * with LINE_FIXED to spare. */
static inline __attribute__((always_inline)) char *
put_steps(char *o, const char *s, size_t n, size_t step)
{
    char *end = o + n;

    do {
        memcpy(o, s, step);
        o += step;
        s += step;
    } while (o < end);
    return end;
}

/* A text with FT_TEXT_PAD readable bytes past its end, in 32-byte steps (a line's middle
 * is about 200 bytes: 7 steps, where 16-byte ones took 13 and cost 84 instructions an
 * event on fib). */
static inline char *
put_padded(char *o, const char *s, size_t n)
{
    if (__builtin_expect(n <= 32, 1)) { /* most texts: one step, no loop */
        memcpy(o, s, 32);
        return o + n;
    }
    return put_steps(o, s, n, 32);
}

/* The emitter's own cached middles (allocated with MIDDLE_PAD readable bytes past their
 * end), in 64-byte steps: a middle of ~130 bytes is 3 steps, not 5. */
#define MIDDLE_PAD 64

/* One 16-byte copy of the k-th chunk, and on to the chunk below it. */
#define CHUNK16(k)                                                                                 \
    case (k) + 1:                                                                                  \
        memcpy(o + (size_t)16 * (k), s + (size_t)16 * (k), 16);                                    \
        __attribute__((fallthrough))

/* A cached middle: up to 192 bytes as a jump into a run of 16-byte copies, as many as n
 * needs (a line's middle of ~130 bytes is 9 copies and the jump: 24 instructions where
 * 64-byte steps took 39, 15 an ENTER line on fib), longer ones in 64-byte steps. */
static inline char *
put_padded64(char *o, const char *s, size_t n)
{
    switch ((n + 15) / 16) {
    default:
        return put_steps(o, s, n, MIDDLE_PAD);
        CHUNK16(11);
        CHUNK16(10);
        CHUNK16(9);
        CHUNK16(8);
        CHUNK16(7);
        CHUNK16(6);
        CHUNK16(5);
        CHUNK16(4);
        CHUNK16(3);
        CHUNK16(2);
        CHUNK16(1);
        CHUNK16(0);
    case 0:
        break;
    }
    return o + n;
}
#undef CHUNK16

static inline char *
put_u64(char *o, uint64_t v)
{
    return o + ft_dec_u64(o, v);
}

/* v / 1000 with exactly three decimals ("12.345"): ns -> us, us -> ms. */
static inline char *
put_milli(char *o, uint64_t v)
{
    /* Mostly microseconds into a run: often past the four digits put_u64 does inline. */
    o += v < 10000000 ? ft_dec_u64(o, v / 1000) : ft_dec_big_inline(o, v / 1000);
    *o = '.';
    return o + 1 + ft_dec_tail(o + 1, (uint32_t)(v % 1000), 3);
}

/* "000" to "999", each with a NUL: a number's last three digits in one load and one store
 * (of four bytes: the text written next covers the fourth). */
#define D1(p) p "0", p "1", p "2", p "3", p "4", p "5", p "6", p "7", p "8", p "9"
#define D2(p)                                                                                      \
    D1(p "0"), D1(p "1"), D1(p "2"), D1(p "3"), D1(p "4"), D1(p "5"), D1(p "6"), D1(p "7"),        \
        D1(p "8"), D1(p "9")
static const char digits3[1000][4] = {D2("0"), D2("1"), D2("2"), D2("3"), D2("4"),
                                      D2("5"), D2("6"), D2("7"), D2("8"), D2("9")};
#undef D2
#undef D1

/* v < 1000 as three digits, leading zeros kept; writes a fourth byte, which the caller
 * writes over (every number is followed by more of its line or node). */
static inline char *
put_3digits(char *o, uint32_t v)
{
    memcpy(o, digits3[v], 4);
    return o + 3;
}

/* The digits of ms (> 0) from its cache, formatted when ms changed (the cache starts
 * at 0, which no ms here is, so its first ms is formatted). */
static inline char *
put_cached_ms(char *o, uint64_t ms, uint64_t *cached, char text[24], uint8_t *len)
{
    if (__builtin_expect(ms != *cached, 0)) {
        *cached = ms;
        *len = (uint8_t)ft_fmt_u64(text, ms);
    }
    memcpy(o, text, 24); /* a fixed-size copy; the room is reserved */
    return o + *len;
}

/* Microseconds since the epoch: successive lines share their milliseconds (a line every
 * few microseconds), so those digits are formatted once per millisecond, the three below
 * each time. */
static inline char *
put_timestamp(struct ft_emit *e, char *o, uint64_t us)
{
    uint64_t ms = us / 1000;

    if (__builtin_expect(ms == 0, 0)) {
        return put_u64(o, us);
    }
    o = put_cached_ms(o, ms, &e->ts_ms, e->ts_text, &e->ts_len);
    return put_3digits(o, (uint32_t)(us - ms * 1000));
}

/* A node's start, ns nanoseconds into the run, in microseconds with three decimals as
 * put_milli writes it: the digits of its milliseconds formatted once per millisecond,
 * then three digits, the point and three more. */
static inline char *
put_start_micros(struct ft_emit *e, char *o, uint64_t ns)
{
    uint64_t us = ns / 1000, ms = us / 1000;

    if (__builtin_expect(ms == 0, 0)) {
        o = put_u64(o, us);
    } else {
        o = put_cached_ms(o, ms, &e->st_ms, e->st_text, &e->st_len);
        o = put_3digits(o, (uint32_t)(us - ms * 1000));
    }
    *o = '.';
    return put_3digits(o + 1, (uint32_t)(ns - us * 1000));
}

/* A number kept as text on the call (at most 24 bytes, copied whole: the room is
 * reserved). */
static inline char *
put_digits(char *o, const char text[24], unsigned len)
{
    memcpy(o, text, 24);
    return o + len;
}

/* A call's duration in microseconds (milli 0) or milliseconds (1), with exactly three
 * decimals as put_milli writes it ("4224.818", "0.010"), from its digits in nanoseconds
 * (dur_text). */
static inline char *
put_scaled(char *o, const struct ft_call *n, int milli)
{
    uint64_t v = milli ? n->dur_ns / 1000 : n->dur_ns; /* in thousandths of the unit */
    const char *digits = n->dur_text;
    unsigned m = n->dur_len - (milli ? 3 : 0); /* its digits */

    if (v < 1000) {
        o = PUT_LIT(o, "0.");
        return put_3digits(o, (uint32_t)v);
    }
    memcpy(o, digits, 24); /* fixed sizes: stores, not calls; the room is reserved */
    o += m - 3;
    *o = '.';
    memcpy(o + 1, digits + m - 3, 4);
    return o + 4;
}

static inline char *
put_text(char *o, const struct ft_text *t)
{
    return put_padded(o, t->p, t->len);
}

/* An int of the stream as a JSON number, or past 2^53 - 1 (where JSON readers lose
 * digits) described: {"type": "int", "repr": "-12..."} (at most 47 bytes). May write
 * one byte past the number, which the caller writes over. */
static inline char *
put_int_text(char *o, int64_t x)
{
    int big;

    if (__builtin_expect((uint64_t)x < 100, 1)) {
        /* Most ints (counts, indexes, flags, small results): one pair of digits, from
         * the digit itself for 0 to 9 (the byte after it is written over next). */
        size_t one = (uint64_t)x < 10;
        memcpy(o, ft_dec_pairs + 2 * (size_t)x + one, 2);
        return o + 2 - one;
    }
    big = x > FT_JSON_INT_MAX || x < -FT_JSON_INT_MAX;
    if (__builtin_expect(big, 0)) {
        o = PUT_LIT(o, "{\"type\": \"int\", \"repr\": \"");
    }
    if (x < 0) {
        *o++ = '-';
    }
    o = put_u64(o, x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x);
    if (__builtin_expect(big, 0)) {
        o = PUT_LIT(o, "\"}");
    }
    return o;
}

/* ,"args":{...} of a call whose arguments are all ints (nints > 0: the code has keys,
 * so its args_head). */
static inline __attribute__((always_inline)) char *
put_args_ints(char *o, const struct ft_call *n)
{
    const struct ft_code *c = n->code;

    o = put_padded(o, c->args_head, c->args_head_len);
    o = put_int_text(o, n->ints[0]);
    for (unsigned i = 1; i < n->nints; i++) {
        *o++ = ',';
        o = put_padded(o, c->keys[i], c->keylens[i]);
        o = put_int_text(o, n->ints[i]);
    }
    *o++ = '}';
    return o;
}

/* Keeps the duration and the tail an EXIT line just wrote for the node tail that follows
 * it (the same text). */
static inline void
keep_tail(struct ft_emit *e, const struct ft_call *n, const char *dur, size_t dur_len,
          const char *tail, size_t len)
{
    e->tail_id = 0;
    if (dur_len + len <= FT_EMIT_TAIL_KEPT) {
        /* In 32-byte steps: the line's room is reserved past its end, and tail_text has
         * 32 bytes to spare. */
        memcpy(e->tail_text, dur, 32); /* at most 28 bytes */
        put_padded(e->tail_text + dur_len, tail, len);
        e->tail_dur_len = (uint32_t)dur_len;
        e->tail_len = (uint32_t)len;
        e->tail_id = n->id;
    }
}

static inline size_t
args_room(const struct ft_call *n)
{
    return n->args.len + (n->nints > 0 ? n->code->keys_room : 0);
}

static size_t
tail_room(const struct ft_call *n)
{
    return n->result.len + n->after.len + n->exc.len + sizeof(exc_unknown) + n->exc_site.len +
           n->locals.len + 32 /* ,"leftAt":N,"locals": */ +
           (n->incomplete ? 2 * strlen(n->incomplete) + 16 : 0);
}

/* ,"result":.. */
static inline char *
put_result(char *o, const struct ft_call *n)
{
    if (n->has_result_int) {
        o = PUT_LIT(o, ",\"result\":");
        o = put_int_text(o, n->result_int);
    } else if (n->result.p != NULL) {
        o = PUT_LIT(o, ",\"result\":");
        o = put_text(o, &n->result);
    }
    return o;
}

/* ,"result":..,"argsAfter":..,"closed"/"exception",generators' counts,"incomplete" */
static char *
put_rare_tail(struct ft_emit *e, struct ft_buf *b, char *o, const struct ft_call *n)
{
    o = put_result(o, n);
    if (n->after.p != NULL) {
        o = PUT_LIT(o, ",\"argsAfter\":");
        o = put_text(o, &n->after);
    }
    if (ft_call_closed_by_caller(n)) {
        o = PUT_LIT(o, ",\"closed\":true");
    } else if (n->unwound) {
        /* null: the exception was taken by native code before its details could be read
         * (or FLOWTRACE_EXCEPTIONS=0). */
        o = PUT_LIT(o, ",\"exception\":");
        o = n->exc.p ? put_text(o, &n->exc) : PUT_LIT(o, exc_unknown);
        if (n->exc_site.p != NULL) {
            o = put_text(o, &n->exc_site);
        }
        if (n->left_at != 0) {
            o = PUT_LIT(o, ",\"leftAt\":");
            o = put_u64(o, n->left_at);
        }
        if (n->locals.p != NULL) {
            o = PUT_LIT(o, ",\"locals\":");
            o = put_text(o, &n->locals);
        }
    }
    if (n->gen) {
        /* A close() that only unwound the frame is not a resumption: from 3.12 CPython
         * does not even run a frame without a handler at its yield to close it, so
         * counting it would make the same program's trees differ by version. */
        unsigned resumes = n->resumes - (ft_call_closed_by_caller(n) && n->unwound && n->idle_end);
        o = PUT_LIT(o, ",\"resumes\":");
        o = put_u64(o, resumes);
        o = PUT_LIT(o, ",\"activeMicros\":");
        o = put_milli(o, ft_clockconv_span_ns(e->clock, 0, n->active));
    }
    if (n->incomplete != NULL) {
        b->len = (size_t)(o - b->p);
        ft_buf_puts(b, ",\"incomplete\":");
        ft_json_put_cstr(b, n->incomplete);
        o = b->p + b->len;
    }
    return o;
}

/* The tail of an EXIT line or node: most calls returned, with a result at most. */
static inline char *
put_common_tail(struct ft_emit *e, struct ft_buf *b, char *o, const struct ft_call *n)
{
    if (!n->unwound && !n->gen && n->after.p == NULL && n->incomplete == NULL) {
        return put_result(o, n);
    }
    return put_rare_tail(e, b, o, n);
}

/* The middle of an ENTER line (exit 0): ,<thread>,<code>,"pid":P<dest>,"id":, or of an
 * EXIT or EXCEPTION line (exit 1), which names the code without its file and line
 * (format 4: the ENTER line with the same id says them). run_frag has "run" only when
 * lines are copied where several processes' lines meet (--logfile, --stdout). */
static char *
put_middle(const struct ft_emit *e, char *o, const struct ft_cthread *t, const struct ft_call *n,
           int exit)
{
    const struct ft_code *c = n->code;

    *o++ = ',';
    o = put_mem(o, t->frag, t->frag_len);
    *o++ = ',';
    o = put_mem(o, c->frag, exit ? c->name_len : c->frag_len);
    o = put_mem(o, e->run_frag, e->run_frag_len);
    if (n->dest != NULL) {
        o = put_mem(o, n->dest->frag, n->dest->frag_len);
    }
    return PUT_LIT(o, ",\"id\":");
}

static size_t
middle_len(const struct ft_emit *e, const struct ft_cthread *t, const struct ft_call *n, int exit)
{
    return 2 + t->frag_len + (exit ? n->code->name_len : n->code->frag_len) + e->run_frag_len +
           (n->dest ? n->dest->frag_len : 0) + sizeof(",\"id\":") - 1;
}

/* Both middles of a code's lines, kept on the code, rebuilt when the thread, its name
 * (a thread renamed: its name_key changed) or the destination changes; NULL if they
 * cannot be. */
static inline const struct ft_code *
line_frag(struct ft_emit *e, const struct ft_cthread *t, const struct ft_call *n)
{
    struct ft_code *c = (struct ft_code *)n->code; /* the cache is the emitter's */
    size_t enter_len, exit_len;
    char *p;

    /* A destination's id is read only when there is one (most calls have none: its
     * line_dest_id was stored as 0 with line_dest NULL). A thread's name_key is never 0,
     * a code's line_key is 0 until its middles are made. */
    if (__builtin_expect(c->line_key == t->name_key && c->line_dest == n->dest &&
                             (n->dest == NULL || c->line_dest_id == n->dest->id),
                         1)) {
        return c;
    }
    enter_len = middle_len(e, t, n, 0);
    exit_len = middle_len(e, t, n, 1);
    if ((p = realloc(c->line_frag, enter_len + exit_len + MIDDLE_PAD)) == NULL) {
        return NULL;
    }
    c->line_frag = p;
    put_middle(e, put_middle(e, p, t, n, 0), t, n, 1);
    c->line_frag_len = enter_len;
    c->exit_frag_at = enter_len;
    c->exit_frag_len = exit_len;
    c->line_key = t->name_key;
    c->line_dest = n->dest;
    c->line_dest_id = n->dest != NULL ? n->dest->id : 0;
    return c;
}

/* The room of a line but its tail's texts: an ENTER line's arguments and memory, or an
 * EXIT line's memory; c is the line's cached middle, or NULL. */
static inline size_t
line_room(const struct ft_emit *e, const struct ft_cthread *t, const struct ft_call *n,
          const struct ft_code *c, int exit)
{
    size_t middle =
        c != NULL ? (exit ? c->exit_frag_len : c->line_frag_len) : middle_len(e, t, n, exit);

    return LINE_FIXED + middle + (exit ? n->mem_after.len : args_room(n) + n->mem_before.len);
}

/* After the line's kind and "timestamp":, its time, middle and id (c the cached
 * middle, or NULL), and for an ENTER line ,"parent":Q */
static char *
put_line_head(struct ft_emit *e, char *o, const struct ft_cthread *t, const struct ft_call *n,
              const struct ft_code *c, uint64_t micros, int exit)
{
    const struct ft_call *p;

    o = put_timestamp(e, o, micros);
    if (c == NULL) {
        o = put_middle(e, o, t, n, exit);
    } else if (exit) {
        o = put_padded64(o, c->line_frag + c->exit_frag_at, c->exit_frag_len);
    } else {
        o = put_padded64(o, c->line_frag, c->line_frag_len);
    }
    o = put_digits(o, n->id_text, n->id_len);
    if (exit) {
        return o;
    }
    o = PUT_LIT(o, ",\"parent\":");
    if ((p = ft_call_visible_parent(n)) == NULL) {
        return PUT_LIT(o, "null");
    }
    return put_digits(o, p->id_text, p->id_len);
}

static char *
put_instance(char *o, uint64_t instance)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[16];
    int k = 0;

    o = PUT_LIT(o, ",\"instance\":\"0x");
    do {
        tmp[k++] = hex[instance & 15];
        instance >>= 4;
    } while (instance != 0);
    while (k > 0) {
        *o++ = tmp[--k];
    }
    *o++ = '"';
    return o;
}

void
ft_emit_enter(struct ft_emit *e, struct ft_buf *b, const struct ft_cthread *t,
              const struct ft_call *n)
{
    const struct ft_code *c = line_frag(e, t, n);
    char *o;

    if (ft_buf_reserve(b, line_room(e, t, n, c, 0)) != 0) {
        return;
    }
    o = PUT_LIT(b->p + b->len, "{\"event\":\"ENTER\",\"timestamp\":");
    o = put_line_head(e, o, t, n, c, n->start_real / 1000, 0);
    if (n->nints > 0) {
        o = put_args_ints(o, n);
    } else if (n->args.p != NULL) {
        o = PUT_LIT(o, ",\"args\":");
        o = put_text(o, &n->args);
    }
    if (n->instance != 0) {
        o = put_instance(o, n->instance);
    }
    if (n->mem_before.p != NULL) {
        o = PUT_LIT(o, ",\"memory\":");
        o = put_text(o, &n->mem_before);
    }
    o = PUT_LIT(o, "}\n");
    b->len = (size_t)(o - b->p);
}

void
ft_emit_exit(struct ft_emit *e, struct ft_buf *b, const struct ft_cthread *t,
             const struct ft_call *n)
{
    const struct ft_code *c = line_frag(e, t, n);
    int exc = n->unwound && !ft_call_closed_by_caller(n);
    char *o, *dur, *tail;
    size_t dur_len;

    if (ft_buf_reserve(b, line_room(e, t, n, c, 1) + tail_room(n)) != 0) {
        return;
    }
    o = b->p + b->len;
    o = exc ? PUT_LIT(o, "{\"event\":\"EXCEPTION\",\"timestamp\":")
            : PUT_LIT(o, "{\"event\":\"EXIT\",\"timestamp\":");
    /* The end's time is the start's plus the duration (one conversion a call, not two). */
    o = put_line_head(e, o, t, n, c, (n->start_real + n->dur_ns) / 1000, 1);
    o = PUT_LIT(o, ",\"durationMicros\":");
    dur = o;
    o = put_scaled(o, n, 0);
    dur_len = (size_t)(o - dur);
    o = PUT_LIT(o, ",\"durationMillis\":");
    o = put_scaled(o, n, 1);
    tail = o;
    o = put_common_tail(e, b, o, n);
    if (n->incomplete == NULL) { /* else the tail moved the buffer (ft_buf_puts) */
        keep_tail(e, n, dur, dur_len, tail, (size_t)(o - tail));
    }
    if (n->mem_after.p != NULL) {
        o = PUT_LIT(o, ",\"memory\":");
        o = put_text(o, &n->mem_after);
    }
    o = PUT_LIT(o, "}\n");
    b->len = (size_t)(o - b->p);
}

void
ft_emit_node_head(struct ft_emit *e, struct ft_buf *b, const struct ft_call *n)
{
    const struct ft_call *p;
    char *o;

    if (ft_buf_reserve(b, LINE_FIXED + n->code->frag_len + args_room(n)) != 0) {
        return;
    }
    o = PUT_LIT(b->p + b->len, "{\"id\":");
    o = put_digits(o, n->id_text, n->id_len);
    o = put_padded64(o, n->code->node_frag, n->code->node_frag_len);
    /* The run's start is converted once (HELLO), each call's start once (open). */
    o = put_start_micros(e, o, n->start_real > e->start_real ? n->start_real - e->start_real : 0);
    /* A node's caller is its parent's function; only the first call of a destination (a
     * unit's, alone in its own tree) says whose call it was. */
    if (n->dest_root && (p = ft_call_visible_parent(n)) != NULL) {
        b->len = (size_t)(o - b->p);
        ft_buf_puts(b, ",\"caller\":");
        ft_json_put_cstr(b, p->code->name);
        ft_buf_reserve(b, LINE_FIXED + args_room(n));
        o = b->p + b->len;
    }
    if (n->parent != NULL && n->parent->adoption != NULL && n->parent->adoption->thread != NULL) {
        /* Work handed over: the thread that ran it, under the call that handed it. */
        const char *name = n->parent->adoption->thread->name;
        b->len = (size_t)(o - b->p);
        ft_buf_puts(b, ",\"thread\":");
        ft_json_put_cstr(b, name != NULL ? name : "Thread");
        ft_buf_reserve(b, LINE_FIXED + args_room(n));
        o = b->p + b->len;
    }
    if (n->task) {
        /* An asyncio task: under the call that created it, but running on its own. */
        o = PUT_LIT(o, ",\"task\":true");
    }
    if (n->instance != 0) {
        o = put_instance(o, n->instance);
    }
    if (n->nints > 0) {
        o = put_args_ints(o, n);
    } else if (n->args.p != NULL) {
        o = PUT_LIT(o, ",\"args\":");
        o = put_text(o, &n->args);
    }
    o = PUT_LIT(o, ",\"children\":[");
    b->len = (size_t)(o - b->p);
}

void
ft_emit_node_tail(struct ft_emit *e, struct ft_buf *b, const struct ft_call *n)
{
    char *o;

    if (ft_buf_reserve(b, LINE_FIXED + tail_room(n) + n->mem_before.len + n->mem_after.len) != 0) {
        return;
    }
    o = PUT_LIT(b->p + b->len, "],\"durationMicros\":");
    if (e->tail_id == n->id) { /* as its EXIT line wrote them */
        o = put_padded(o, e->tail_text, e->tail_dur_len);
        o = put_padded(o, e->tail_text + e->tail_dur_len, e->tail_len);
    } else {
        o = put_scaled(o, n, 0);
        o = put_common_tail(e, b, o, n);
    }
    if (n->mem_before.p != NULL || n->mem_after.p != NULL) {
        o = PUT_LIT(o, ",\"memory\":{\"before\":");
        o = n->mem_before.p ? put_text(o, &n->mem_before) : PUT_LIT(o, "null");
        o = PUT_LIT(o, ",\"after\":");
        o = n->mem_after.p ? put_text(o, &n->mem_after) : PUT_LIT(o, "null");
        *o++ = '}';
    }
    *o++ = '}';
    b->len = (size_t)(o - b->p);
}

/* ---- A call's line and node in one pass --------------------------------------------------- */

/* Whether n's ENTER line and node head are written by ft_emit_enter_node's one pass: no
 * destination, memory, instance, task or hand-over (their fields differ between the two),
 * a cached middle, two buffers. */
static inline int
plain_enter(const struct ft_call *n, const struct ft_code *c, const struct ft_buf *lines,
            const struct ft_buf *tree)
{
    /* One test of what most calls lack (each is 0 or NULL on a plain call). */
    uint64_t extra = (uint64_t)(uintptr_t)n->dest | (uint64_t)(uintptr_t)n->mem_before.p |
                     n->instance | n->dest_root | n->task;

    return c != NULL && lines != tree && extra == 0 &&
           (n->parent == NULL || n->parent->adoption == NULL);
}

void
ft_emit_enter_node(struct ft_emit *e, struct ft_buf *lines, struct ft_buf *tree,
                   const struct ft_cthread *t, const struct ft_call *n, int comma)
{
    const struct ft_code *c = line_frag(e, t, n);
    const struct ft_call *p;
    size_t room = args_room(n), args_len;
    char *o, *args;

    if (!plain_enter(n, c, lines, tree) ||
        ft_buf_reserve(lines, LINE_FIXED + c->line_frag_len + room) != 0 ||
        ft_buf_reserve(tree, LINE_FIXED + n->code->frag_len + room) != 0) {
        ft_emit_enter(e, lines, t, n);
        if (comma) {
            ft_buf_putc(tree, ',');
        }
        ft_emit_node_head(e, tree, n);
        return;
    }
    o = PUT_LIT(lines->p + lines->len, "{\"event\":\"ENTER\",\"timestamp\":");
    o = put_timestamp(e, o, n->start_real / 1000);
    o = put_padded64(o, c->line_frag, c->line_frag_len);
    o = put_digits(o, n->id_text, n->id_len);
    o = PUT_LIT(o, ",\"parent\":");
    p = ft_call_visible_parent(n);
    o = p == NULL ? PUT_LIT(o, "null") : put_digits(o, p->id_text, p->id_len);
    args = o;
    if (n->nints > 0) {
        o = put_args_ints(o, n);
    } else if (n->args.p != NULL) {
        o = PUT_LIT(o, ",\"args\":");
        o = put_text(o, &n->args);
    }
    args_len = (size_t)(o - args);
    o = PUT_LIT(o, "}\n");
    lines->len = (size_t)(o - lines->p);

    /* The node head: the same id and arguments, copied (the line's room is past them). */
    o = tree->p + tree->len;
    *o = ',';
    o = PUT_LIT(o + (comma != 0), "{\"id\":");
    o = put_digits(o, n->id_text, n->id_len);
    o = put_padded64(o, n->code->node_frag, n->code->node_frag_len);
    o = put_start_micros(e, o, n->start_real > e->start_real ? n->start_real - e->start_real : 0);
    o = put_padded(o, args, args_len);
    o = PUT_LIT(o, ",\"children\":[");
    tree->len = (size_t)(o - tree->p);
}

void
ft_emit_exit_node(struct ft_emit *e, struct ft_buf *lines, struct ft_buf *tree,
                  const struct ft_cthread *t, const struct ft_call *n)
{
    const struct ft_code *c = line_frag(e, t, n);
    int exc = n->unwound && !ft_call_closed_by_caller(n);
    size_t room = tail_room(n), dur_len, tail_len;
    char *o, *dur, *tail;

    if (c == NULL || lines == tree ||
        ((uintptr_t)n->incomplete | (uintptr_t)n->mem_before.p | (uintptr_t)n->mem_after.p) != 0 ||
        ft_buf_reserve(lines, LINE_FIXED + c->exit_frag_len + room) != 0 ||
        ft_buf_reserve(tree, LINE_FIXED + room) != 0) {
        ft_emit_exit(e, lines, t, n);
        ft_emit_node_tail(e, tree, n);
        return;
    }
    o = lines->p + lines->len;
    o = exc ? PUT_LIT(o, "{\"event\":\"EXCEPTION\",\"timestamp\":")
            : PUT_LIT(o, "{\"event\":\"EXIT\",\"timestamp\":");
    o = put_timestamp(e, o, (n->start_real + n->dur_ns) / 1000);
    o = put_padded64(o, c->line_frag + c->exit_frag_at, c->exit_frag_len);
    o = put_digits(o, n->id_text, n->id_len);
    o = PUT_LIT(o, ",\"durationMicros\":");
    dur = o;
    o = put_scaled(o, n, 0);
    dur_len = (size_t)(o - dur);
    o = PUT_LIT(o, ",\"durationMillis\":");
    o = put_scaled(o, n, 1);
    tail = o;
    o = put_common_tail(e, lines, o, n);
    tail_len = (size_t)(o - tail);
    o = PUT_LIT(o, "}\n");
    lines->len = (size_t)(o - lines->p);

    /* The node tail: the same duration (at most 28 bytes: one fixed-size copy; the line's
     * room is reserved past its end, and the node's past its own) and tail, copied. */
    o = PUT_LIT(tree->p + tree->len, "],\"durationMicros\":");
    memcpy(o, dur, 32);
    o = put_padded(o + dur_len, tail, tail_len);
    *o++ = '}';
    tree->len = (size_t)(o - tree->p);
}
