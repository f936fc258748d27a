/* tree_json.c - a loaded tree written back as JSON in tree.json's schema (tree_json.h). */
#include "tree_json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lib/json.h"
#include "tree.h"

static void
key_str(struct ft_buf *b, const char *key, const char *value)
{
    ft_buf_printf(b, ",\"%s\":", key);
    if (value != NULL) {
        ft_json_put_cstr(b, value);
    } else {
        ft_buf_puts(b, "null");
    }
}

static void
put_exception(struct ft_buf *b, const char *type, const char *module, const char *msg)
{
    if (type == NULL) {
        return;
    }
    ft_buf_puts(b, ",\"exception\":{\"type\":");
    if (strcmp(type, "?") != 0) {
        ft_json_put_cstr(b, type);
    } else {
        ft_buf_puts(b, "null");
    }
    key_str(b, "module", module);
    key_str(b, "message", msg);
    ft_buf_putc(b, '}');
}

/* A value as the file had it: format 3's JSON text (the tree was loaded with
 * FT_TREE_JSON_VALUES), or a string holding the repr. */
static void
put_value(struct ft_buf *b, int format, const char *v)
{
    if (format >= 3 && v != NULL) {
        ft_buf_puts(b, v);
    } else {
        ft_json_put_cstr(b, v ? v : "?");
    }
}

static void
put_args(struct ft_buf *b, int format, const char *key, const struct ft_arg *a, uint32_t n)
{
    ft_buf_printf(b, ",\"%s\":{", key);
    for (uint32_t i = 0; i < n; i++) {
        ft_buf_puts(b, i ? "," : "");
        ft_json_put_cstr(b, a[i].name ? a[i].name : "?");
        ft_buf_putc(b, ':');
        put_value(b, format, a[i].value);
    }
    ft_buf_putc(b, '}');
}

static void
put_mem(struct ft_buf *b, const char *key, const struct ft_mem *m)
{
    const int64_t v[3] = {m->rss, m->tracemalloc, m->peak};
    const char *names[3] = {"rss", "tracemalloc", "peak"};

    ft_buf_printf(b, "\"%s\":{", key);
    for (int i = 0; i < 3; i++) {
        ft_buf_printf(b, "%s\"%s\":", i ? "," : "", names[i]);
        if (v[i] >= 0) {
            ft_buf_printf(b, "%lld", (long long)v[i]);
        } else {
            ft_buf_puts(b, "null");
        }
    }
    ft_buf_putc(b, '}');
}

static void
put_extra(struct ft_buf *b, int format, const struct ft_node_extra *x)
{
    key_str(b, "caller", x->caller);
    if (x->instance != NULL) {
        key_str(b, "instance", x->instance);
    }
    if (x->have_args) {
        put_args(b, format, "args", x->args, x->nargs);
    }
    if (x->nafter > 0) {
        put_args(b, format, "argsAfter", x->after, x->nafter);
    }
    if (x->result != NULL) {
        ft_buf_puts(b, ",\"result\":");
        put_value(b, format, x->result);
    }
    if (x->resumes > 0 || x->active_us >= 0) {
        ft_buf_printf(b, ",\"resumes\":%llu", (unsigned long long)x->resumes);
        if (x->active_us >= 0) {
            ft_buf_printf(b, ",\"activeMicros\":%.3f", x->active_us);
        }
    }
    if (x->have_memory) {
        ft_buf_puts(b, ",\"memory\":{");
        put_mem(b, "before", &x->mem_before);
        ft_buf_putc(b, ',');
        put_mem(b, "after", &x->mem_after);
        ft_buf_putc(b, '}');
    }
}

/* A JSON value kept as its text (the loader's "raise", "cause", "locals", "sources"). */
static void
key_raw(struct ft_buf *b, const char *key, const char *json)
{
    if (json != NULL) {
        ft_buf_printf(b, ",\"%s\":%s", key, json);
    }
}

/* Where the exception that left a call came from, and where the call ran (docs/format.md). */
static void
put_postmortem(struct ft_buf *b, const struct ft_node_extra *x)
{
    key_raw(b, "raise", x->raise);
    if (x->left_at > 0) {
        ft_buf_printf(b, ",\"leftAt\":%u", x->left_at);
    }
    key_raw(b, "cause", x->cause);
    key_raw(b, "locals", x->locals);
    if (x->generated) {
        ft_buf_puts(b, ",\"generated\":true");
    }
    if (x->task) {
        ft_buf_puts(b, ",\"task\":true");
    }
    if (x->thread != NULL) {
        key_str(b, "thread", x->thread);
    }
}

/* A call's fields, up to its children (left open). */
static void
put_node_head(struct ft_buf *b, int format, const struct ft_node *n)
{
    ft_buf_printf(b, "{\"id\":%llu", (unsigned long long)n->id);
    key_str(b, "module", n->module);
    key_str(b, "function", n->function);
    key_str(b, "file", n->file);
    ft_buf_printf(b, ",\"line\":%u,\"startMicros\":%.3f,\"durationMicros\":%.3f", n->line,
                  n->start_us, n->dur_us);
    if (n->x != NULL) {
        put_extra(b, format, n->x);
    } else {
        key_str(b, "caller", n->parent ? n->parent->function : NULL);
    }
    put_exception(b, n->exc_type, n->exc_module, n->exc_msg);
    if (n->x != NULL) {
        put_postmortem(b, n->x);
    }
    if (n->incomplete != NULL) {
        key_str(b, "incomplete", n->incomplete);
    }
    ft_buf_puts(b, ",\"children\":[");
}

struct frame {
    const struct ft_node *next; /* the next sibling to consider at this level */
    int inside;                 /* the flag the parent passed down */
    int written;                /* calls written at this level so far */
};

static int
kept(const struct ft_tree_json_filter *f, const struct ft_node *n, int *inside)
{
    return f->keep == NULL || f->keep(f->ctx, n, inside);
}

/* A thread's calls, depth-first with an explicit stack. */
static int
put_calls(struct ft_out *o, int format, const struct ft_node *first,
          const struct ft_tree_json_filter *f)
{
    struct frame *st = malloc(64 * sizeof(*st));
    size_t sp = 1, cap = 64;

    if (st == NULL) {
        return -ENOMEM;
    }
    st[0] = (struct frame){first, 0, 0};
    while (sp > 0) {
        struct frame *fr = &st[sp - 1];
        const struct ft_node *n = fr->next;
        int inside = fr->inside;
        if (n == NULL) {
            ft_buf_puts(&o->b, sp > 1 ? "]}" : "");
            sp--;
            continue;
        }
        fr->next = n->next;
        if (!kept(f, n, &inside)) {
            continue;
        }
        ft_buf_puts(&o->b, fr->written++ ? ",\n" : "\n");
        put_node_head(&o->b, format, n);
        ft_cli_out_flush(o, 0);
        if (f->max_depth >= 0 && (long)(sp - 1) >= f->max_depth) {
            ft_buf_puts(&o->b, "]}");
            continue;
        }
        if (sp == cap) {
            struct frame *ns = realloc(st, (cap *= 2) * sizeof(*ns));
            if (ns == NULL) {
                free(st);
                return -ENOMEM;
            }
            st = ns;
        }
        st[sp++] = (struct frame){n->first_child, inside, 0};
    }
    free(st);
    return 0;
}

static void
put_header(struct ft_buf *b, const struct ft_tree *t)
{
    if (t->format >= 2) {
        ft_buf_printf(b, "{\"format\":%d,\"run\":", t->format);
    } else {
        ft_buf_puts(b, "{\"run\":");
    }
    ft_json_put_cstr(b, t->run ? t->run : "?");
    key_str(b, "parentRun", t->parent_run);
    ft_buf_printf(b, ",\"pid\":%llu,\"ppid\":%llu,\"argv\":[", (unsigned long long)t->pid,
                  (unsigned long long)t->ppid);
    for (size_t i = 0; i < t->argc; i++) {
        ft_buf_puts(b, i ? "," : "");
        ft_json_put_cstr(b, t->argv[i]);
    }
    ft_buf_putc(b, ']');
    key_str(b, "cwd", t->cwd);
    key_str(b, "executable", t->exe);
    key_str(b, "python", t->python);
    ft_buf_printf(b, ",\"start\":%.0f,\"durationMicros\":%.3f,\"exitCode\":", t->start_us,
                  t->dur_us);
    if (t->have_exit_code) {
        ft_buf_printf(b, "%d", t->exit_code);
    } else {
        ft_buf_puts(b, "null");
    }
    key_str(b, "ended", t->ended);
    if (t->signal > 0) {
        ft_buf_printf(b, ",\"signal\":%d", t->signal);
    }
    put_exception(b, t->exc_type, t->exc_module, t->exc_msg);
    key_raw(b, "sources", t->sources);
    ft_buf_printf(b,
                  ",\"tracer\":{\"engine\":%s%s%s,\"events\":%llu,\"lost\":%llu,"
                  "\"cpuMicros\":%llu,\"blockedMicros\":%llu,\"calls\":%llu}",
                  t->engine ? "\"" : "", t->engine ? t->engine : "null", t->engine ? "\"" : "",
                  (unsigned long long)t->events, (unsigned long long)t->lost,
                  (unsigned long long)t->cpu_us, (unsigned long long)t->blocked_us,
                  (unsigned long long)t->calls);
}

int
ft_tree_json_write(struct ft_out *o, const struct ft_tree *t, const struct ft_tree_json_filter *f)
{
    int n = 0;

    put_header(&o->b, t);
    ft_buf_puts(&o->b, ",\n\"threads\":[");
    for (size_t i = 0; i < t->nthreads; i++) {
        const struct ft_tree_thread *th = &t->threads[i];
        if (f->thread != NULL && !f->thread(f->ctx, th)) {
            continue;
        }
        ft_buf_puts(&o->b, n++ ? ",\n{\"name\":" : "\n{\"name\":");
        ft_json_put_cstr(&o->b, th->name ? th->name : "?");
        ft_buf_printf(&o->b, ",\"tid\":%llu,\"calls\":[", (unsigned long long)th->tid);
        if (put_calls(o, t->format, th->first, f) != 0) {
            return -ENOMEM;
        }
        ft_buf_puts(&o->b, "]}");
    }
    ft_buf_puts(&o->b, "]}\n");
    return o->b.oom ? -ENOMEM : 0;
}
