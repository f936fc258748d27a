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

#include "lib/dec.h"
#include "lib/emit.h"

struct fixture {
    struct ft_emit e;
    struct ft_code code;
    struct ft_cthread t;
    struct ft_call n;
    struct ft_buf b;
    char code_frag[128], thread_frag[64];
};

static void
setup(struct fixture *f)
{
    static const char code[] = "\"module\":\"m\",\"function\":\"f\",\"file\":\"f.py\",\"line\":3";
    static const char thread[] = "\"thread\":\"MainThread\"";

    memset(f, 0, sizeof(*f));
    memcpy(f->code_frag, code, sizeof(code));
    f->code.frag = f->code_frag;
    f->code.frag_len = sizeof(code) - 1;
    f->code.name_len = strlen("\"module\":\"m\",\"function\":\"f\"");
    f->code.name = (char *)"f";
    memcpy(f->thread_frag, thread, sizeof(thread));
    f->t.frag = f->thread_frag;
    f->t.frag_len = sizeof(thread) - 1;
    f->n.code = &f->code;
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
    free(f->code.line_frag);
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
        uint64_t start = i < 1000 ? 1700000000000000000ull + r % 5000000000ull : r >> (r % 64 + 1);
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_plain_calls_lines_and_node_are_whole),
        cmocka_unit_test(start_times_read_as_printf_does),
        cmocka_unit_test(timestamps_read_as_printf_does),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
