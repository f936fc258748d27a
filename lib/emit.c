/* emit.c - events.jsonl lines and tree.json nodes of calls. */
#include "emit.h"

#include <errno.h>
#include <stdlib.h>

#include "json.h"

#define LINE_SLACK 512 /* room for the fixed keys and numbers of one line */

int
ft_emit_set_run(struct ft_emit *e, uint64_t pid, const char *run_id)
{
    struct ft_buf b;

    ft_buf_init(&b);
    ft_buf_puts(&b, ",\"pid\":");
    ft_buf_put_u64(&b, pid);
    ft_buf_puts(&b, ",\"run\":");
    ft_json_put_cstr(&b, run_id);
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

static void
put_common_tail(const struct ft_emit *e, struct ft_buf *b, const struct ft_call *n)
{
    if (n->result != NULL) {
        ft_buf_puts(b, ",\"result\":");
        ft_buf_puts(b, n->result);
    }
    if (n->after != NULL) {
        ft_buf_puts(b, ",\"argsAfter\":");
        ft_buf_puts(b, n->after);
    }
    if (ft_call_closed_by_caller(n)) {
        ft_buf_puts(b, ",\"closed\":true");
    } else if (n->unwound) {
        /* null: the exception was taken by native code before its details could be read
         * (or FLOWTRACE_EXCEPTIONS=0). */
        ft_buf_puts(b, ",\"exception\":");
        ft_buf_puts(b, n->exc ? n->exc : "{\"type\":null,\"module\":null,\"message\":null}");
        if (n->exc_site != NULL) {
            ft_buf_puts(b, n->exc_site);
        }
        if (n->left_at != 0) {
            ft_buf_puts(b, ",\"leftAt\":");
            ft_buf_put_u64(b, n->left_at);
        }
        if (n->locals != NULL) {
            ft_buf_puts(b, ",\"locals\":");
            ft_buf_puts(b, n->locals);
        }
    }
    if (n->gen) {
        /* A close() that only unwound the frame is not a resumption: from 3.12 CPython
         * does not even run a frame without a handler at its yield to close it, so
         * counting it would make the same program's trees differ by version. */
        unsigned resumes = n->resumes - (ft_call_closed_by_caller(n) && n->unwound && n->idle_end);
        ft_buf_printf(b, ",\"resumes\":%u,\"activeMicros\":", resumes);
        ft_buf_put_milli(b, ft_clockconv_span_ns(e->clock, 0, n->active));
    }
    if (n->incomplete != NULL) {
        ft_buf_puts(b, ",\"incomplete\":");
        ft_json_put_cstr(b, n->incomplete);
    }
}

/* {"event":"KIND","timestamp":T,<thread>,<code>,"pid":P,"run":"R"<dest>,"id":I,"parent":Q */
static void
put_line_head(const struct ft_emit *e, struct ft_buf *b, const struct ft_cthread *t,
              const struct ft_call *n, const char *kind, uint64_t ticks)
{
    const struct ft_dest *d = n->dest;

    if (ft_buf_reserve(b, LINE_SLACK + t->frag_len + n->code->frag_len + e->run_frag_len +
                              (d ? d->frag_len : 0)) != 0) {
        return;
    }
    ft_buf_puts(b, "{\"event\":\"");
    ft_buf_puts(b, kind);
    ft_buf_puts(b, "\",\"timestamp\":");
    ft_buf_put_u64(b, ft_emit_micros(e, ticks));
    ft_buf_putc(b, ',');
    ft_buf_put(b, t->frag, t->frag_len);
    ft_buf_putc(b, ',');
    ft_buf_put(b, n->code->frag, n->code->frag_len);
    ft_buf_put(b, e->run_frag, e->run_frag_len);
    if (d != NULL) {
        ft_buf_put(b, d->frag, d->frag_len);
    }
    ft_buf_puts(b, ",\"id\":");
    ft_buf_put_u64(b, n->id);
    ft_buf_puts(b, ",\"parent\":");
    if (n->parent != NULL) {
        ft_buf_put_u64(b, n->parent->id);
    } else {
        ft_buf_puts(b, "null");
    }
}

void
ft_emit_enter(const struct ft_emit *e, struct ft_buf *b, const struct ft_cthread *t,
              const struct ft_call *n)
{
    put_line_head(e, b, t, n, "ENTER", n->start);
    if (n->args != NULL) {
        ft_buf_puts(b, ",\"args\":");
        ft_buf_puts(b, n->args);
    }
    if (n->instance != 0) {
        ft_buf_printf(b, ",\"instance\":\"0x%llx\"", (unsigned long long)n->instance);
    }
    if (n->mem_before != NULL) {
        ft_buf_puts(b, ",\"memory\":");
        ft_buf_puts(b, n->mem_before);
    }
    ft_buf_puts(b, "}\n");
}

void
ft_emit_exit(const struct ft_emit *e, struct ft_buf *b, const struct ft_cthread *t,
             const struct ft_call *n)
{
    uint64_t ns = ft_clockconv_span_ns(e->clock, n->start, n->end);

    put_line_head(e, b, t, n, n->unwound && !ft_call_closed_by_caller(n) ? "EXCEPTION" : "EXIT",
                  n->end);
    ft_buf_puts(b, ",\"durationMicros\":");
    ft_buf_put_milli(b, ns);
    ft_buf_puts(b, ",\"durationMillis\":");
    ft_buf_put_milli(b, ns / 1000);
    put_common_tail(e, b, n);
    if (n->mem_after != NULL) {
        ft_buf_puts(b, ",\"memory\":");
        ft_buf_puts(b, n->mem_after);
    }
    ft_buf_puts(b, "}\n");
}

void
ft_emit_node_head(const struct ft_emit *e, struct ft_buf *b, const struct ft_call *n)
{
    ft_buf_puts(b, "{\"id\":");
    ft_buf_put_u64(b, n->id);
    ft_buf_putc(b, ',');
    ft_buf_put(b, n->code->frag, n->code->frag_len);
    ft_buf_puts(b, ",\"startMicros\":");
    ft_buf_put_milli(b, ft_clockconv_span_ns(e->clock, e->start_ticks, n->start));
    ft_buf_puts(b, ",\"caller\":");
    if (n->parent != NULL) {
        ft_json_put_cstr(b, n->parent->code->name);
    } else {
        ft_buf_puts(b, "null");
    }
    if (n->instance != 0) {
        ft_buf_printf(b, ",\"instance\":\"0x%llx\"", (unsigned long long)n->instance);
    }
    if (n->args != NULL) {
        ft_buf_puts(b, ",\"args\":");
        ft_buf_puts(b, n->args);
    }
    ft_buf_puts(b, ",\"children\":[");
}

void
ft_emit_node_tail(const struct ft_emit *e, struct ft_buf *b, const struct ft_call *n)
{
    ft_buf_puts(b, "],\"durationMicros\":");
    ft_buf_put_milli(b, ft_clockconv_span_ns(e->clock, n->start, n->end));
    put_common_tail(e, b, n);
    if (n->mem_before != NULL || n->mem_after != NULL) {
        ft_buf_puts(b, ",\"memory\":{\"before\":");
        ft_buf_puts(b, n->mem_before ? n->mem_before : "null");
        ft_buf_puts(b, ",\"after\":");
        ft_buf_puts(b, n->mem_after ? n->mem_after : "null");
        ft_buf_putc(b, '}');
    }
    ft_buf_putc(b, '}');
}
