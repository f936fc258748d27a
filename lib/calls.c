/* calls.c - per-thread call stacks: each event record becomes a JSONL line and a piece
 * of the thread's streamed call tree. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
#include "run_int.h"

#define LINE_SLACK 256 /* room for the fixed keys and numbers of one line */

void
ft__run_note_write_err(struct ft_run *r, int err)
{
    if (err != 0 && r->write_err == 0) {
        r->write_err = err;
    }
}

void
ft__rthread_free(struct ft_rthread *t)
{
    if (t == NULL) {
        return;
    }
    if (t->tree_open) {
        ft_sink_close(&t->tree);
    }
    if (t->tree_path != NULL) {
        unlink(t->tree_path);
    }
    free(t->tree_path);
    free(t->name);
    free(t->frag);
    free(t->stack);
    free(t);
}

static int
open_tree_part(struct ft_run *r, struct ft_rthread *t)
{
    char path[4096];
    int err;

    snprintf(path, sizeof(path), "%s/.thread-%u.part", r->path, t->idx);
    t->tree_path = strdup(path);
    if (t->tree_path == NULL) {
        return -ENOMEM;
    }
    err = ft_sink_open(&t->tree, path, 1);
    if (err != 0) {
        return err;
    }
    t->tree_open = 1;
    return 0;
}

static uint64_t
micros_since_epoch(const struct ft_run *r, uint64_t ticks)
{
    return ft_clockconv_real_ns(&r->clock, ticks) / 1000;
}

/* Appends: {"event":"KIND","timestamp":T,<thread>,<code>,"pid":P,"run":"R","id":I,"parent":Q */
static void
put_line_head(struct ft_run *r, struct ft_rthread *t, const struct ft_rframe *f,
              const char *kind, uint64_t ticks, uint64_t parent)
{
    struct ft_buf *b = &r->jsonl.b;

    if (ft_buf_reserve(b, LINE_SLACK + t->frag_len + f->code->frag_len + r->run_frag_len) != 0) {
        return;
    }
    ft_buf_puts(b, "{\"event\":\"");
    ft_buf_puts(b, kind);
    ft_buf_puts(b, "\",\"timestamp\":");
    ft_buf_put_u64(b, micros_since_epoch(r, ticks));
    ft_buf_putc(b, ',');
    ft_buf_put(b, t->frag, t->frag_len);
    ft_buf_putc(b, ',');
    ft_buf_put(b, f->code->frag, f->code->frag_len);
    ft_buf_put(b, r->run_frag, r->run_frag_len);
    ft_buf_puts(b, ",\"id\":");
    ft_buf_put_u64(b, f->call_id);
    ft_buf_puts(b, ",\"parent\":");
    if (parent != 0) {
        ft_buf_put_u64(b, parent);
    } else {
        ft_buf_puts(b, "null");
    }
}

static int
push_frame(struct ft_rthread *t)
{
    if (t->depth == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct ft_rframe *ns = realloc(t->stack, cap * sizeof(*ns));
        if (ns == NULL) {
            return -ENOMEM;
        }
        t->stack = ns;
        t->cap = cap;
    }
    t->depth++;
    return 0;
}

static int
on_call(struct ft_run *r, struct ft_rthread *t, const struct ft_code *code, uint64_t ticks)
{
    struct ft_rframe *parent, *f;
    struct ft_buf *tb;
    int err;

    if (!t->tree_open && (err = open_tree_part(r, t)) != 0) {
        return err;
    }
    if ((err = push_frame(t)) != 0) {
        return err;
    }
    f = &t->stack[t->depth - 1];
    parent = t->depth > 1 ? &t->stack[t->depth - 2] : NULL;
    f->call_id = ++r->next_call_id;
    f->code_id = code->id;
    f->code = code;
    f->start_ticks = ticks;
    f->has_children = 0;
    r->calls++;

    put_line_head(r, t, f, "ENTER", ticks, parent ? parent->call_id : 0);
    ft_buf_puts(&r->jsonl.b, "}\n");
    ft_sink_maybe_flush(&r->jsonl);

    /* Tree node head; the tail is written when the call ends. */
    tb = &t->tree.b;
    if (parent != NULL ? parent->has_children : t->top_has_children) {
        ft_buf_putc(tb, ',');
    }
    if (parent != NULL) {
        parent->has_children = 1;
    } else {
        t->top_has_children = 1;
    }
    ft_buf_puts(tb, "{\"id\":");
    ft_buf_put_u64(tb, f->call_id);
    ft_buf_putc(tb, ',');
    ft_buf_put(tb, code->frag, code->frag_len);
    ft_buf_puts(tb, ",\"startMicros\":");
    ft_buf_put_milli(tb, ft_clockconv_span_ns(&r->clock, r->start_ticks, ticks));
    ft_buf_puts(tb, ",\"children\":[");
    ft_sink_maybe_flush(&t->tree);
    return 0;
}

enum close_kind { CLOSE_RETURN, CLOSE_UNWIND, CLOSE_INCOMPLETE };

/* Ends the top frame of t at ticks: writes its EXIT/EXCEPTION line and node tail. */
static void
close_top(struct ft_run *r, struct ft_rthread *t, uint64_t ticks, enum close_kind kind,
          const char *reason)
{
    struct ft_rframe *f = &t->stack[t->depth - 1];
    uint64_t parent = t->depth > 1 ? t->stack[t->depth - 2].call_id : 0;
    uint64_t ns = ft_clockconv_span_ns(&r->clock, f->start_ticks, ticks);
    struct ft_buf *b = &r->jsonl.b;
    struct ft_buf *tb = &t->tree.b;

    put_line_head(r, t, f, kind == CLOSE_UNWIND ? "EXCEPTION" : "EXIT", ticks, parent);
    ft_buf_puts(b, ",\"durationMicros\":");
    ft_buf_put_milli(b, ns);
    ft_buf_puts(b, ",\"durationMillis\":");
    ft_buf_put_milli(b, ns / 1000);
    if (kind == CLOSE_UNWIND) {
        ft_buf_puts(b, ",\"exception\":{\"type\":null,\"message\":null}");
    } else if (kind == CLOSE_INCOMPLETE) {
        ft_buf_puts(b, ",\"incomplete\":");
        ft_json_put_cstr(b, reason);
    }
    ft_buf_puts(b, "}\n");
    ft_sink_maybe_flush(&r->jsonl);

    ft_buf_puts(tb, "],\"durationMicros\":");
    ft_buf_put_milli(tb, ns);
    if (kind == CLOSE_UNWIND) {
        ft_buf_puts(tb, ",\"exception\":{\"type\":null,\"message\":null}");
    } else if (kind == CLOSE_INCOMPLETE) {
        ft_buf_puts(tb, ",\"incomplete\":");
        ft_json_put_cstr(tb, reason);
    }
    ft_buf_putc(tb, '}');
    ft_sink_maybe_flush(&t->tree);
    t->depth--;
}

/* A return for code_id: normally the top frame. If the top is another code object, a
 * return was missed (the program swapped the profile function for a while, say); close
 * the frames above the matching one as incomplete. A return with no matching frame
 * belongs to a call that started before tracing did, and is ignored. */
static void
on_return(struct ft_run *r, struct ft_rthread *t, uint64_t code_id, uint64_t ticks, int unwind)
{
    size_t i = t->depth;

    while (i > 0 && t->stack[i - 1].code_id != code_id) {
        i--;
    }
    if (i == 0) {
        return;
    }
    while (t->depth > i) {
        close_top(r, t, ticks, CLOSE_INCOMPLETE, "return not seen");
    }
    close_top(r, t, ticks, unwind ? CLOSE_UNWIND : CLOSE_RETURN, NULL);
}

void
ft__run_close_open_calls(struct ft_run *r, struct ft_rthread *t, const char *reason)
{
    while (t->depth > 0) {
        close_top(r, t, r->last_ticks, CLOSE_INCOMPLETE, reason);
    }
}

int
ft__run_events(struct ft_run *r, struct ft_rthread *t, const uint8_t *p, size_t n)
{
    size_t pos = 0;
    struct ft_rec rec;
    int rc, err;

    while ((rc = ft_rec_next(p, n, &pos, &rec)) == 1) {
        const struct ft_code *code;

        r->records++;
        if (rec.kind <= FT_REC_EXTRA_MAX && rec.ticks > r->last_ticks) {
            r->last_ticks = rec.ticks;
        }
        switch (rec.kind) {
        case FT_REC_CALL:
            code = ft_codetab_get(&r->codes, rec.payload);
            if (code == NULL) {
                return FT_EUNDEFCODE;
            }
            if ((err = on_call(r, t, code, rec.ticks)) != 0) {
                return err;
            }
            break;
        case FT_REC_RETURN:
        case FT_REC_UNWIND:
            on_return(r, t, rec.payload, rec.ticks, rec.kind == FT_REC_UNWIND);
            break;
        default:
            /* Kinds this reader does not render yet are skipped whole: the record
             * sizes are self-describing. */
            break;
        }
    }
    if (r->jsonl.b.oom || (t->tree_open && t->tree.b.oom)) {
        return -ENOMEM;
    }
    return rc;
}
