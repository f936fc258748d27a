/* test_emit.c - the lines and nodes emit.c writes: whole texts for a plain call, and the
 * numbers it writes from cached digits (timestamps, start times) as printf writes them,
 * whatever the order and size of the times. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/calls.h"
#include "lib/codetab.h"
#include "lib/dec.h"
#include "lib/emit.h"

struct fixture {
    struct ft_emit e;
    struct ft_codetab codes;
    struct ft_cthread t;
    struct ft_call n;
    struct ft_buf b;
    char thread_frag[64];
};

/* A call of m.f(a, b) at f.py:3 on MainThread, id 5, in the run of pid 7. */
static void
setup(struct fixture *f)
{
    static const char thread[] = "\"thread\":\"MainThread\"";
    struct ft_def_view d = {.id = 1,
                            .line = 3,
                            .module = "m",
                            .module_len = 1,
                            .name = "f",
                            .name_len = 1,
                            .file = "f.py",
                            .file_len = 4,
                            .params = "a\0b",
                            .params_len = 3};

    memset(f, 0, sizeof(*f));
    ft_codetab_init(&f->codes);
    assert_int_equal(ft_codetab_add(&f->codes, &d), 0);
    memcpy(f->thread_frag, thread, sizeof(thread));
    f->t.frag = f->thread_frag;
    f->t.frag_len = sizeof(thread) - 1;
    f->t.idx = 1;
    f->t.name_key = (uint64_t)1 << 32; /* as ft_calls_thread makes it */
    f->n.code = ft_codetab_get(&f->codes, 1);
    f->n.id = 5;
    f->n.id_len = 1;
    f->n.id_text[0] = '5';
    assert_int_equal(ft_emit_set_run(&f->e, 7, "r", 0), 0);
    ft_buf_init(&f->b);
}

static void
teardown(struct fixture *f)
{
    ft_buf_free(&f->b);
    ft_emit_free(&f->e);
    ft_codetab_free(&f->codes);
}

/* Sets n's duration (and its digits, as calls.c keeps them). */
static void
set_duration(struct ft_call *n, uint64_t ns)
{
    n->dur_ns = ns;
    n->dur_len = (uint8_t)ft_fmt_u64(n->dur_text, ns);
}

/* The text after "key": in the buffer's last line or node, up to the next , or }. */
static void
field(const struct ft_buf *b, size_t from, const char *key, char *out, size_t cap)
{
    char pat[64];
    const char *s, *end;
    size_t len;

    snprintf(pat, sizeof(pat), "\"%s\":", key);
    s = memmem(b->p + from, b->len - from, pat, strlen(pat));
    assert_non_null(s);
    s += strlen(pat);
    end = s + strcspn(s, ",}");
    len = (size_t)(end - s);
    assert_true(len < cap);
    memcpy(out, s, len);
    out[len] = '\0';
}

/* A thread named anew (ft_calls_name_thread: a THREAD record with a new name) is named so
 * by the next line of the same code, though its middle is cached for the thread. */
static void
a_renamed_threads_next_line_has_its_new_name(void **state)
{
    struct fixture f;
    char name[64], want[64];

    (void)state;
    setup(&f);
    f.t.frag = NULL;
    assert_int_equal(ft_calls_name_thread(&f.t, 9, "worker", 6), 0);
    f.n.start_real = 1700000000000000000ull;
    set_duration(&f.n, 1000);
    ft_emit_enter(&f.e, &f.b, &f.t, &f.n);
    field(&f.b, 0, "thread", name, sizeof(name));
    assert_string_equal(name, "\"worker\"");
    for (int i = 0; i < 2; i++) {
        size_t from = f.b.len;
        const char *now = i == 0 ? "renamed" : "worker"; /* and back */
        assert_int_equal(ft_calls_name_thread(&f.t, 9, now, strlen(now)), 0);
        snprintf(want, sizeof(want), "\"%s\"", now);
        ft_emit_exit(&f.e, &f.b, &f.t, &f.n);
        field(&f.b, from, "thread", name, sizeof(name));
        assert_string_equal(name, want);
        from = f.b.len;
        ft_emit_enter(&f.e, &f.b, &f.t, &f.n);
        field(&f.b, from, "thread", name, sizeof(name));
        assert_string_equal(name, want);
    }
    free(f.t.name);
    free(f.t.frag);
    teardown(&f);
}

static void
a_plain_calls_lines_and_node_are_whole(void **state)
{
    struct fixture f;

    (void)state;
    setup(&f);
    f.e.start_real = 1700000000000000000ull;
    f.n.start_real = f.e.start_real + 1234567891ull;
    set_duration(&f.n, 20500);
    ft_emit_enter(&f.e, &f.b, &f.t, &f.n);
    ft_emit_node_head(&f.e, &f.b, &f.n);
    ft_emit_exit(&f.e, &f.b, &f.t, &f.n);
    ft_emit_node_tail(&f.e, &f.b, &f.n);
    ft_buf_putc(&f.b, '\0');
    assert_string_equal(
        f.b.p,
        "{\"event\":\"ENTER\",\"timestamp\":1700000001234567,\"thread\":\"MainThread\","
        "\"module\":\"m\",\"function\":\"f\",\"file\":\"f.py\",\"line\":3,\"pid\":7,\"id\":5,"
        "\"parent\":null}\n"
        "{\"id\":5,\"module\":\"m\",\"function\":\"f\",\"file\":\"f.py\",\"line\":3,"
        "\"startMicros\":1234567.891,\"children\":["
        "{\"event\":\"EXIT\",\"timestamp\":1700000001234588,\"thread\":\"MainThread\","
        "\"module\":\"m\",\"function\":\"f\",\"pid\":7,\"id\":5,\"durationMicros\":20.500,"
        "\"durationMillis\":0.020}\n"
        "],\"durationMicros\":20.500}");
    teardown(&f);
}

static uint64_t
next(uint64_t *x)
{
    *x ^= *x << 13; /* xorshift: deterministic */
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Start times: every digit count, each side of a second, in and out of order (the cached
 * seconds must follow). */
static void
start_times_read_as_printf_does(void **state)
{
    struct fixture f;
    uint64_t x = 88172645463325252ull, p = 1;
    uint64_t v[400];
    size_t nv = 0;

    (void)state;
    setup(&f);
    f.e.start_real = 1000;
    for (int k = 0; k < 16; k++, p *= 10) {
        v[nv++] = p - 1;
        v[nv++] = p;
        v[nv++] = p + 1;
        v[nv++] = p * 7 + 3;
    }
    for (uint64_t s = 0; s < 4; s++) {
        v[nv++] = s * 1000000000u + 999999999u;
        v[nv++] = (s + 1) * 1000000000u;
        v[nv++] = s * 1000000000u + 1000;
        v[nv++] = s * 1000000000u + 100000000u;
    }
    while (nv < 400) {
        uint64_t r = next(&x);
        v[nv++] = r % 2 ? r % 3000000000u : r >> (r % 40 + 1);
    }
    for (size_t i = 0; i < nv; i++) {
        char got[48], want[48];
        size_t from = f.b.len;
        f.n.start_real = f.e.start_real + v[i];
        ft_emit_node_head(&f.e, &f.b, &f.n);
        field(&f.b, from, "startMicros", got, sizeof(got));
        snprintf(want, sizeof(want), "%llu.%03llu", (unsigned long long)(v[i] / 1000),
                 (unsigned long long)(v[i] % 1000));
        assert_string_equal(got, want);
    }
    teardown(&f);
}

/* ENTER and EXIT timestamps (microseconds since the epoch) likewise. */
static void
timestamps_read_as_printf_does(void **state)
{
    struct fixture f;
    uint64_t x = 2463534242ull;

    (void)state;
    setup(&f);
    for (int i = 0; i < 2000; i++) {
        uint64_t r = next(&x);
        uint64_t start = i < 1000 ? 1700000000000000000ull + r % 5000000000ull : r >> (r % 63 + 1);
        char got[48], want[48];
        size_t from = f.b.len;
        f.n.start_real = start;
        set_duration(&f.n, r % 3000000u);
        ft_emit_enter(&f.e, &f.b, &f.t, &f.n);
        field(&f.b, from, "timestamp", got, sizeof(got));
        snprintf(want, sizeof(want), "%llu", (unsigned long long)(start / 1000));
        assert_string_equal(got, want);
        from = f.b.len;
        ft_emit_exit(&f.e, &f.b, &f.t, &f.n);
        field(&f.b, from, "timestamp", got, sizeof(got));
        snprintf(want, sizeof(want), "%llu", (unsigned long long)((start + f.n.dur_ns) / 1000));
        assert_string_equal(got, want);
    }
    teardown(&f);
}

/* Ints of the arguments and the result, small (a pair of digits) and not, as printf
 * writes them. */
static void
ints_read_as_printf_does(void **state)
{
    static const int64_t big[] = {-101, -100, -99, -10,  -9,    -1,
                                  100,  101,  999, 1000, 65535, 9007199254740991};
    struct fixture f;

    (void)state;
    setup(&f);
    f.n.start_real = 1700000000000000000ull;
    set_duration(&f.n, 1000);
    f.n.nints = 2;
    f.n.has_result_int = 1;
    for (int64_t i = -1; i < 130 + (int64_t)(sizeof(big) / sizeof(big[0])); i++) {
        int64_t v = i < 130 ? i : big[i - 130];
        char got[48], want[48];
        size_t from = f.b.len;
        f.n.ints[0] = v;
        f.n.ints[1] = -v;
        f.n.result_int = v;
        ft_emit_enter(&f.e, &f.b, &f.t, &f.n);
        ft_emit_exit(&f.e, &f.b, &f.t, &f.n);
        snprintf(want, sizeof(want), "%lld", (long long)v);
        field(&f.b, from, "a", got, sizeof(got));
        assert_string_equal(got, want);
        field(&f.b, from, "result", got, sizeof(got));
        assert_string_equal(got, want);
        snprintf(want, sizeof(want), "%lld", (long long)-v);
        field(&f.b, from, "b", got, sizeof(got));
        assert_string_equal(got, want);
    }
    teardown(&f);
}

/* The cached middles of lines and nodes, copied in 16-byte pieces up to 192 bytes and in
 * 64-byte steps past that: whole at every length (a module and a file of 1 to 199 bytes). */
static void
middles_of_every_length_are_whole(void **state)
{
    static char name[256];

    (void)state;
    memset(name, 'x', sizeof(name));
    for (uint32_t len = 1; len < 200; len++) {
        struct ft_def_view d = {.id = 2,
                                .line = 3,
                                .module = name,
                                .module_len = len,
                                .name = "f",
                                .name_len = 1,
                                .file = name,
                                .file_len = len,
                                .params = "",
                                .params_len = 0};
        struct fixture f;
        struct ft_buf tree;
        char want[1024];

        setup(&f);
        ft_buf_init(&tree);
        assert_int_equal(ft_codetab_add(&f.codes, &d), 0);
        f.n.code = ft_codetab_get(&f.codes, 2);
        f.e.start_real = 1700000000000000000ull;
        f.n.start_real = f.e.start_real + 1234567891ull;
        set_duration(&f.n, 20500);
        ft_emit_enter_node(&f.e, &f.b, &tree, &f.t, &f.n, 0);
        ft_emit_exit_node(&f.e, &f.b, &tree, &f.t, &f.n);
        ft_buf_putc(&f.b, '\0');
        ft_buf_putc(&tree, '\0');
        snprintf(want, sizeof(want),
                 "{\"event\":\"ENTER\",\"timestamp\":1700000001234567,\"thread\":\"MainThread\","
                 "\"module\":\"%.*s\",\"function\":\"f\",\"file\":\"%.*s\",\"line\":3,"
                 "\"pid\":7,\"id\":5,\"parent\":null}\n"
                 "{\"event\":\"EXIT\",\"timestamp\":1700000001234588,\"thread\":\"MainThread\","
                 "\"module\":\"%.*s\",\"function\":\"f\",\"pid\":7,\"id\":5,"
                 "\"durationMicros\":20.500,\"durationMillis\":0.020}\n",
                 (int)len, name, (int)len, name, (int)len, name);
        assert_string_equal(f.b.p, want);
        snprintf(want, sizeof(want),
                 "{\"id\":5,\"module\":\"%.*s\",\"function\":\"f\",\"file\":\"%.*s\","
                 "\"line\":3,\"startMicros\":1234567.891,\"children\":[],"
                 "\"durationMicros\":20.500}",
                 (int)len, name, (int)len, name);
        assert_string_equal(tree.p, want);
        ft_buf_free(&tree);
        teardown(&f);
    }
}

/* The kinds of call ft_emit_enter_node and ft_emit_exit_node see: each writes what the two
 * texts written one after the other say, in both buffers. */
enum shape {
    INTS,
    TEXT_ARGS,
    NO_ARGS,
    RESULT_TEXT,
    RAISED,
    GENERATOR,
    INSTANCE,
    MEMORY,
    TASK,
    DEST,
    SHAPES
};

static void
shape_call(struct fixture *f, struct ft_call *parent, enum shape k)
{
    static struct ft_dest dest;
    static char args[64] = "{\"s\":\"x\"}", result[64] = "\"ok\"", mem[64] = "{\"rss\":1}";
    static char exc[96] = "{\"type\":\"ValueError\",\"module\":\"builtins\",\"message\":\"m\"}";

    f->n.parent = parent;
    f->n.start_real = 1700000000123456789ull;
    set_duration(&f->n, 1234567);
    switch (k) {
    case INTS: /* f(a=-3, b=2^53 + 1): the second is past 2^53 - 1, so described */
        f->n.nints = 2;
        f->n.ints[0] = -3;
        f->n.ints[1] = 9007199254740993;
        f->n.has_result_int = 1;
        f->n.result_int = 42;
        break;
    case TEXT_ARGS:
        f->n.args = (struct ft_text){args, (uint32_t)strlen(args), 0};
        break;
    case NO_ARGS:
        break;
    case RESULT_TEXT:
        f->n.result = (struct ft_text){result, (uint32_t)strlen(result), 0};
        break;
    case RAISED:
        f->n.unwound = 1;
        f->n.exc = (struct ft_text){exc, (uint32_t)strlen(exc), 0};
        f->n.left_at = 12;
        break;
    case GENERATOR:
        f->n.gen = 1;
        f->n.resumes = 3;
        f->n.active = 5000;
        break;
    case INSTANCE:
        f->n.instance = 0x7f12;
        break;
    case MEMORY:
        f->n.mem_before = (struct ft_text){mem, (uint32_t)strlen(mem), 0};
        f->n.mem_after = (struct ft_text){mem, (uint32_t)strlen(mem), 0};
        break;
    case TASK:
        f->n.task = 1;
        break;
    case DEST: /* a unit's call (not its first) */
        dest.frag = ",\"unit\":3";
        dest.frag_len = strlen(dest.frag);
        f->n.dest = &dest;
        break;
    case SHAPES:
        break;
    }
}

static void
one_pass_writes_what_two_passes_write(void **state)
{
    struct ft_clockconv clock;
    struct ft_call parent;

    (void)state;
    ft_clockconv_init(&clock, FT_CLOCK_MONOTONIC, 1.0);
    memset(&parent, 0, sizeof(parent));
    parent.id_len = 2;
    memcpy(parent.id_text, "17", 2);
    for (int k = 0; k < SHAPES; k++) {
        for (int comma = 0; comma < 2; comma++) {
            struct fixture a, b;
            struct ft_buf a_tree, b_tree;
            setup(&a);
            setup(&b);
            a.e.clock = b.e.clock = &clock;
            a.e.start_real = b.e.start_real = 1700000000000000000ull;
            shape_call(&a, k % 2 ? &parent : NULL, (enum shape)k);
            shape_call(&b, k % 2 ? &parent : NULL, (enum shape)k);
            ft_buf_init(&a_tree);
            ft_buf_init(&b_tree);
            ft_emit_enter(&a.e, &a.b, &a.t, &a.n);
            if (comma) {
                ft_buf_putc(&a_tree, ',');
            }
            ft_emit_node_head(&a.e, &a_tree, &a.n);
            ft_emit_exit(&a.e, &a.b, &a.t, &a.n);
            ft_emit_node_tail(&a.e, &a_tree, &a.n);
            ft_emit_enter_node(&b.e, &b.b, &b_tree, &b.t, &b.n, comma);
            ft_emit_exit_node(&b.e, &b.b, &b_tree, &b.t, &b.n);
            ft_buf_putc(&a.b, '\0');
            ft_buf_putc(&b.b, '\0');
            ft_buf_putc(&a_tree, '\0');
            ft_buf_putc(&b_tree, '\0');
            assert_string_equal(b.b.p, a.b.p);
            assert_string_equal(b_tree.p, a_tree.p);
            if (k == INTS) { /* the shared numbers are there, once formatted */
                assert_non_null(strstr(a.b.p, "\"args\":{\"a\":-3,\"b\":{\"type\": \"int\""));
                assert_non_null(strstr(a_tree.p, "\"args\":{\"a\":-3,\"b\":{\"type\": \"int\""));
                assert_non_null(strstr(a_tree.p, "\"durationMicros\":1234.567,\"result\":42}"));
            }
            ft_buf_free(&a_tree);
            ft_buf_free(&b_tree);
            teardown(&a);
            teardown(&b);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_plain_calls_lines_and_node_are_whole),
        cmocka_unit_test(a_renamed_threads_next_line_has_its_new_name),
        cmocka_unit_test(start_times_read_as_printf_does),
        cmocka_unit_test(timestamps_read_as_printf_does),
        cmocka_unit_test(ints_read_as_printf_does),
        cmocka_unit_test(middles_of_every_length_are_whole),
        cmocka_unit_test(one_pass_writes_what_two_passes_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
