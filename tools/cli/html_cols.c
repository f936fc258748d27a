/* html_cols.c - a run's calls as the viewer's columns and string table. */
#include "html_cols.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "spool.h"
#include "tree.h"
#include "walk.h"

/* Copied strings (ft_html_cols_stream), in chunks that never move. */
#define CHUNK_SIZE (64u << 10)

struct ft_html_chunk {
    struct ft_html_chunk *next;
    size_t used, size;
    char text[];
};

int
ft_col_push(struct ft_col *c, int64_t v)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        int64_t *nv = realloc(c->v, cap * sizeof(*nv));
        if (nv == NULL) {
            return -ENOMEM;
        }
        c->v = nv;
        c->cap = cap;
    }
    c->v[c->n++] = v;
    return 0;
}

static void
push(struct ft_html_cols *h, struct ft_col *c, int64_t v)
{
    if (ft_col_push(c, v) != 0) {
        h->oom = 1;
    }
}

/* ---- The string and code tables --------------------------------------------------------- */

/* A copy of s that lives as long as the columns, or NULL. */
static const char *
keep(struct ft_html_cols *h, const char *s)
{
    size_t len = strlen(s) + 1;
    struct ft_html_chunk *c = h->chunks;

    if (c == NULL || c->size - c->used < len) {
        size_t size = len > CHUNK_SIZE / 4 ? len : CHUNK_SIZE;
        if ((c = malloc(sizeof(*c) + size)) == NULL) {
            return NULL;
        }
        c->used = 0;
        c->size = size;
        /* a string of its own chunk goes behind the current one, which keeps its room */
        if (len > CHUNK_SIZE / 4 && h->chunks != NULL) {
            c->next = h->chunks->next;
            h->chunks->next = c;
        } else {
            c->next = h->chunks;
            h->chunks = c;
        }
    }
    memcpy(c->text + c->used, s, len);
    c->used += len;
    return c->text + c->used - len;
}

static uint64_t
hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    }
    return h;
}

static uint64_t
mix(uint64_t h, int64_t v)
{
    h = (h ^ (uint64_t)v) * 1099511628211ull;
    return h ^ (h >> 29);
}

/* A code's key: its function, module and file (string indexes) and line. */
static uint64_t
hash_code(int64_t fn, int64_t mod, int64_t file, int64_t line)
{
    return mix(mix(mix(mix(1469598103934665603ull, fn), mod), file), line);
}

static size_t
rehash(const struct ft_html_cols *h, const struct ft_html_table *t, size_t i)
{
    const int64_t *k = h->codes.v + i * 4;

    return t == &h->st ? (size_t)hash_str(h->strs[i]) : (size_t)hash_code(k[0], k[1], k[2], k[3]);
}

static int
table_grow(struct ft_html_cols *h, struct ft_html_table *t)
{
    size_t nslots = t->nslots ? t->nslots * 2 : 4096;
    uint32_t *slots = nslots <= UINT32_MAX ? calloc(nslots, sizeof(*slots)) : NULL;

    if (slots == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < t->n; i++) {
        size_t s = rehash(h, t, i) & (nslots - 1);
        while (slots[s] != 0) {
            s = (s + 1) & (nslots - 1);
        }
        slots[s] = (uint32_t)(i + 1);
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 0;
}

int64_t
ft_html_cols_str(struct ft_html_cols *h, const char *s)
{
    size_t slot;

    if (s == NULL) {
        return -1;
    }
    if (h->st.n == h->strs_cap) {
        size_t cap = h->strs_cap ? h->strs_cap * 2 : 4096;
        const char **ns = realloc((void *)h->strs, cap * sizeof(*ns));
        if (ns == NULL) {
            h->oom = 1;
            return -1;
        }
        h->strs = ns;
        h->strs_cap = cap;
    }
    if (h->st.n * 2 >= h->st.nslots && table_grow(h, &h->st) != 0) {
        h->oom = 1;
        return -1;
    }
    slot = (size_t)hash_str(s) & (h->st.nslots - 1);
    while (h->st.slots[slot] != 0) {
        if (strcmp(h->strs[h->st.slots[slot] - 1], s) == 0) {
            return (int64_t)h->st.slots[slot] - 1;
        }
        slot = (slot + 1) & (h->st.nslots - 1);
    }
    if (h->stream && (s = keep(h, s)) == NULL) {
        h->oom = 1;
        return -1;
    }
    h->strs[h->st.n] = s;
    h->st.slots[slot] = (uint32_t)++h->st.n;
    return (int64_t)h->st.n - 1;
}

/* The code (function) index of a call, by its names' contents: trees loaded apart (a run
 * and its units) share codes. */
static int64_t
code_index(struct ft_html_cols *h, const struct ft_node *n)
{
    int64_t k[4] = {ft_html_cols_str(h, n->function ? n->function : "?"),
                    ft_html_cols_str(h, n->module ? n->module : ""),
                    ft_html_cols_str(h, n->file ? n->file : ""), n->line};
    size_t slot;

    if (h->oom || (h->ct.n * 2 >= h->ct.nslots && table_grow(h, &h->ct) != 0)) {
        h->oom = 1;
        return 0;
    }
    slot = (size_t)hash_code(k[0], k[1], k[2], k[3]) & (h->ct.nslots - 1);
    while (h->ct.slots[slot] != 0) {
        if (memcmp(&h->codes.v[(size_t)(h->ct.slots[slot] - 1) * 4], k, sizeof(k)) == 0) {
            return (int64_t)h->ct.slots[slot] - 1;
        }
        slot = (slot + 1) & (h->ct.nslots - 1);
    }
    for (int i = 0; i < 4; i++) {
        push(h, &h->codes, k[i]);
    }
    if (h->oom) {
        return 0;
    }
    h->ct.slots[slot] = (uint32_t)++h->ct.n;
    return (int64_t)h->ct.n - 1;
}

/* ---- Collecting the columns ------------------------------------------------------------- */

/* A string column entry: index + 1, 0 for none. */
static int64_t
opt_str(struct ft_html_cols *h, const char *s, int *seen)
{
    if (s == NULL) {
        return 0;
    }
    *seen = 1;
    return ft_html_cols_str(h, s) + 1;
}

/* A call's argument list: its length into the column count (-1 when the call has none),
 * its names and values (string indexes) onto pool. The page finds a call's list by
 * summing the lengths before it, so no offsets are written. */
static void
push_arg_list(struct ft_html_cols *h, struct ft_col *count, struct ft_col *pool,
              const struct ft_arg *a, uint32_t n, int present, int *seen)
{
    if (!present) {
        push(h, count, -1);
        return;
    }
    *seen = 1;
    push(h, count, n);
    for (uint32_t i = 0; i < n; i++) {
        push(h, pool, ft_html_cols_str(h, a[i].name ? a[i].name : "?"));
        push(h, pool, ft_html_cols_str(h, a[i].value ? a[i].value : "?"));
    }
}

static void
collect_outcome(struct ft_html_cols *h, int64_t idx, const struct ft_node *n)
{
    if (n->exc_type != NULL) {
        push(h, &h->exc, idx);
        push(h, &h->exc, strcmp(n->exc_type, "?") != 0 ? ft_html_cols_str(h, n->exc_type) : -1);
        push(h, &h->exc, ft_html_cols_str(h, n->exc_msg));
        push(h, &h->exc, ft_html_cols_str(h, n->exc_module));
    }
    if (n->incomplete != NULL) {
        push(h, &h->inc, idx);
        push(h, &h->inc, ft_html_cols_str(h, n->incomplete));
    }
}

/* Where an exception came from (issue 18): the JSON texts go as strings, parsed by the
 * page when it shows them. */
static void
collect_postmortem(struct ft_html_cols *h, int64_t idx, const struct ft_node_extra *x)
{
    const struct {
        struct ft_col *c;
        const char *text;
    } texts[] = {{&h->raise, x->raise}, {&h->cause, x->cause}, {&h->locals, x->locals}};

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        if (texts[i].text != NULL) {
            push(h, texts[i].c, idx);
            push(h, texts[i].c, ft_html_cols_str(h, texts[i].text));
        }
    }
    if (x->left_at > 0) {
        push(h, &h->left_at, idx);
        push(h, &h->left_at, x->left_at);
    }
    if (x->generated) {
        push(h, &h->generated, idx);
    }
    if (x->thread != NULL) {
        push(h, &h->ran, idx);
        push(h, &h->ran, ft_html_cols_str(h, x->thread));
    }
}

static void
collect_extra(struct ft_html_cols *h, int64_t idx, const struct ft_node *n)
{
    const struct ft_node_extra *x = n->x;

    push_arg_list(h, &h->arg_n, &h->args, x ? x->args : NULL, x ? x->nargs : 0, x && x->have_args,
                  &h->have_args);
    push_arg_list(h, &h->after_n, &h->after, x ? x->after : NULL, x ? x->nafter : 0,
                  x && x->nafter > 0, &h->have_after);
    push(h, &h->result, opt_str(h, x ? x->result : NULL, &h->have_result));
    push(h, &h->inst, opt_str(h, x ? x->instance : NULL, &h->have_inst));
    collect_outcome(h, idx, n);
    if (x == NULL) {
        return;
    }
    /* The caller is the parent's function (the page knows it); only the exceptions go. */
    if (x->caller != NULL && (n->parent == NULL || n->parent->function == NULL ||
                              strcmp(n->parent->function, x->caller) != 0)) {
        push(h, &h->caller, idx);
        push(h, &h->caller, ft_html_cols_str(h, x->caller));
    }
    if (x->have_memory) {
        const struct ft_mem *m[2] = {&x->mem_before, &x->mem_after};
        push(h, &h->mem, idx);
        for (int k = 0; k < 2; k++) {
            push(h, &h->mem, m[k]->rss);
            push(h, &h->mem, m[k]->tracemalloc);
            push(h, &h->mem, m[k]->peak);
        }
    }
    if (x->resumes > 0 || x->active_us >= 0) {
        push(h, &h->gen, idx);
        push(h, &h->gen, (int64_t)x->resumes);
        push(h, &h->gen, x->active_us >= 0 ? (int64_t)(x->active_us * 1000.0) : -1);
    }
    collect_postmortem(h, idx, x);
}

/* One call: its columns; its lane when it begins one (a call at the top of a lane below
 * another call: the page derives the others from their parents). */
void
ft_html_cols_call(struct ft_html_cols *h, const struct ft_walk_call *c, uint32_t parent_lane,
                  int64_t *prev_start)
{
    int64_t idx = (int64_t)h->ncalls++;

    c->n->mark = (uint32_t)(idx + 1);
    push(h, &h->code, code_index(h, c->n));
    push(h, &h->size, 0);
    push(h, &h->start, c->start_ns - *prev_start);
    push(h, &h->dur, c->end_ns - c->start_ns);
    *prev_start = c->start_ns;
    /* A call that begins a lane, also one reused by its parent's lane number after that
     * lane's calls ended (a task that ran after its creator returned). */
    if (c->lane != parent_lane || (c->depth > 0 && c->lane_depth == 0)) {
        push(h, &h->lane, idx);
        push(h, &h->lane, c->lane);
    }
    collect_extra(h, idx, c->n);
}

/* Every call of a thread in pre-order; size = the number of calls below, set when the
 * walk leaves a call's subtree (open calls are kept on a stack by depth, with their
 * lanes). */
static void
collect_thread(struct ft_html_cols *h, struct ft_node *first, int64_t *prev_start)
{
    struct ft_col open = {0}, lanes = {0};
    struct ft_walk w;
    struct ft_walk_call c;

    ft_walk_init(&w, first);
    while (!h->oom && ft_walk_next(&w, &c)) {
        while (open.n > c.depth) {
            int64_t o = open.v[--open.n];
            lanes.n--;
            h->size.v[o] = (int64_t)h->code.n - o - 1;
        }
        push(h, &open, (int64_t)h->code.n);
        ft_html_cols_call(h, &c, lanes.n > 0 ? (uint32_t)lanes.v[lanes.n - 1] : 0, prev_start);
        push(h, &lanes, c.lane);
    }
    while (open.n > 0 && !h->oom) {
        int64_t o = open.v[--open.n];
        h->size.v[o] = (int64_t)h->code.n - o - 1;
    }
    ft_html_cols_thread_end(h, w.nlanes);
    h->oom |= w.oom;
    ft_walk_close(&w);
    free(open.v);
    free(lanes.v);
}

void
ft_html_cols_thread(struct ft_html_cols *h, const char *name, uint64_t tid)
{
    if (h->nthreads == h->threads_cap) {
        size_t cap = h->threads_cap ? h->threads_cap * 2 : 16;
        const char **nn = realloc((void *)h->thread_name, cap * sizeof(*nn));
        uint64_t *nt;

        if (nn == NULL) {
            h->oom = 1;
            return;
        }
        h->thread_name = nn;
        if ((nt = realloc(h->thread_tid, cap * sizeof(*nt))) == NULL) {
            h->oom = 1;
            return;
        }
        h->thread_tid = nt;
        h->threads_cap = cap;
    }
    h->thread_name[h->nthreads] = name;
    h->thread_tid[h->nthreads++] = tid;
    push(h, &h->thread_first, (int64_t)h->ncalls);
}

void
ft_html_cols_thread_end(struct ft_html_cols *h, uint32_t nlanes)
{
    push(h, &h->thread_lanes, nlanes);
}

int
ft_html_cols_collect(struct ft_html_cols *h, const struct ft_tree *t)
{
    int64_t prev_start = 0;

    for (size_t ti = 0; ti < t->nthreads && !h->oom; ti++) {
        ft_html_cols_thread(h, t->threads[ti].name, t->threads[ti].tid);
        collect_thread(h, t->threads[ti].first, &prev_start);
    }
    return h->oom ? -ENOMEM : 0;
}

void
ft_html_cols_stream(struct ft_html_cols *h)
{
    h->stream = 1;
}

/* ---- Spilling ----------------------------------------------------------------------------- */

static int
write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return k < 0 ? -errno : -EIO;
        }
        p += k;
        len -= (size_t)k;
    }
    return 0;
}

/* The values of c in memory, as text, after those already in its file. */
static int
spill_col(struct ft_col *c, struct ft_buf *b)
{
    int rc;

    if (c->n == 0) {
        return 0;
    }
    if (c->file == 0) {
        int fd = ft_spool_tmpfile();
        if (fd < 0) {
            return fd;
        }
        c->file = fd + 1;
    }
    b->len = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->nput + i > 0) {
            ft_buf_putc(b, ',');
        }
        ft_buf_put_i64(b, c->v[i]);
    }
    if (b->oom) {
        return -ENOMEM;
    }
    if ((rc = write_all(c->file - 1, b->p, b->len)) != 0) {
        return rc;
    }
    c->nput += c->n;
    c->n = 0;
    return 0;
}

/* The columns a call adds to (size and codes stay in memory). */
static size_t
spilled(struct ft_html_cols *h, struct ft_col **out)
{
    struct ft_col *cols[] = {
        &h->code,   &h->start, &h->dur,     &h->arg_n, &h->args,   &h->after_n,   &h->after,
        &h->result, &h->inst,  &h->exc,     &h->inc,   &h->mem,    &h->gen,       &h->caller,
        &h->lane,   &h->raise, &h->left_at, &h->cause, &h->locals, &h->generated, &h->ran};
    size_t n = sizeof(cols) / sizeof(cols[0]);

    memcpy((void *)out, cols, sizeof(cols));
    return n;
}

int
ft_html_cols_spill(struct ft_html_cols *h)
{
    struct ft_col *cols[32];
    size_t n = spilled(h, cols);
    struct ft_buf b;
    int rc = 0;

    ft_buf_init(&b);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = spill_col(cols[i], &b);
    }
    ft_buf_free(&b);
    return rc;
}

/* Appends the text of c's file to o. */
static void
put_spilled(struct ft_out *o, const struct ft_col *c)
{
    char chunk[1u << 16];
    off_t at = 0;

    while (c->file != 0) {
        ssize_t k = pread(c->file - 1, chunk, sizeof(chunk), at);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            o->b.oom |= k < 0; /* a read error fails the page as running out of memory does */
            break;
        }
        ft_buf_put(&o->b, chunk, (size_t)k);
        ft_cli_out_flush(o, 0);
        at += k;
    }
}

/* ---- Writing ------------------------------------------------------------------------------ */

void
ft_html_col_put(struct ft_out *o, const char *name, const struct ft_col *c)
{
    struct ft_buf *b = &o->b;

    ft_buf_printf(b, ",\n\"%s\":[", name);
    put_spilled(o, c);
    for (size_t i = 0; i < c->n; i++) {
        if (c->nput + i > 0) {
            ft_buf_putc(b, ',');
        }
        ft_buf_put_i64(b, c->v[i]);
        if ((i & 0xffff) == 0) {
            ft_cli_out_flush(o, 0);
        }
    }
    ft_buf_putc(b, ']');
}

/* [name, tid, first call, number of calls, lanes] per thread. */
static void
put_threads(struct ft_html_cols *h, struct ft_out *o)
{
    struct ft_buf *b = &o->b;

    ft_buf_puts(b, ",\n\"threads\":[");
    for (size_t i = 0; i < h->nthreads && i < h->thread_first.n; i++) {
        int64_t first = h->thread_first.v[i];
        int64_t end = i + 1 < h->thread_first.n ? h->thread_first.v[i + 1] : (int64_t)h->ncalls;
        ft_buf_printf(b, "%s[%lld,%llu,%lld,%lld,%lld]", i ? "," : "",
                      (long long)ft_html_cols_str(h, h->thread_name[i] ? h->thread_name[i] : "?"),
                      (unsigned long long)h->thread_tid[i], (long long)first,
                      (long long)(end - first), (long long)h->thread_lanes.v[i]);
    }
    ft_buf_putc(b, ']');
}

void
ft_html_cols_put(struct ft_html_cols *h, struct ft_out *o)
{
    struct ft_buf *b = &o->b;
    const struct {
        const char *name;
        const struct ft_col *c;
        int present;
    } cols[] = {
        {"codes", &h->codes, 1},
        {"code", &h->code, 1},
        {"size", &h->size, 1},
        {"start", &h->start, 1},
        {"dur", &h->dur, 1},
        {"lane", &h->lane, 1},
        {"exc", &h->exc, 1},
        {"inc", &h->inc, 1},
        {"mem", &h->mem, 1},
        {"gen", &h->gen, 1},
        {"caller", &h->caller, 1},
        {"argN", &h->arg_n, h->have_args},
        {"args", &h->args, h->have_args},
        {"afterN", &h->after_n, h->have_after},
        {"after", &h->after, h->have_after},
        {"result", &h->result, h->have_result},
        {"inst", &h->inst, h->have_inst},
        {"raise", &h->raise, h->raise.n + h->raise.nput > 0},
        {"leftAt", &h->left_at, h->left_at.n + h->left_at.nput > 0},
        {"cause", &h->cause, h->cause.n + h->cause.nput > 0},
        {"locals", &h->locals, h->locals.n + h->locals.nput > 0},
        {"generated", &h->generated, h->generated.n + h->generated.nput > 0},
        {"ran", &h->ran, h->ran.n + h->ran.nput > 0},
    };

    put_threads(h, o); /* adds the threads' names to the strings */
    ft_buf_puts(b, ",\n\"strings\":[");
    for (size_t i = 0; i < h->st.n; i++) {
        if (i > 0) {
            ft_buf_putc(b, ',');
        }
        ft_cli_json_str(b, h->strs[i]);
        ft_cli_out_flush(o, 0);
    }
    ft_buf_putc(b, ']');
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        if (cols[i].present) {
            ft_html_col_put(o, cols[i].name, cols[i].c);
        }
    }
}

void
ft_html_cols_free(struct ft_html_cols *h)
{
    struct ft_col *cols[] = {&h->codes,   &h->code,  &h->size,         &h->start,        &h->dur,
                             &h->arg_n,   &h->args,  &h->after_n,      &h->after,        &h->result,
                             &h->inst,    &h->exc,   &h->inc,          &h->mem,          &h->gen,
                             &h->caller,  &h->lane,  &h->thread_first, &h->thread_lanes, &h->raise,
                             &h->left_at, &h->cause, &h->locals,       &h->generated,    &h->ran};

    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        free(cols[i]->v);
        if (cols[i]->file != 0) {
            close(cols[i]->file - 1);
        }
    }
    while (h->chunks != NULL) {
        struct ft_html_chunk *next = h->chunks->next;
        free(h->chunks);
        h->chunks = next;
    }
    free((void *)h->thread_name);
    free(h->thread_tid);
    free((void *)h->strs);
    free(h->st.slots);
    free(h->ct.slots);
    memset(h, 0, sizeof(*h));
}
