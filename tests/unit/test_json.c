/* test_json.c - JSON strings are always valid JSON in valid UTF-8; numbers are exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/json.h"

static char *
json_of(const char *s, size_t n)
{
    static char out[256];
    struct ft_buf b;

    ft_buf_init(&b);
    ft_json_put_str(&b, s, n);
    snprintf(out, sizeof(out), "%.*s", (int)b.len, b.p);
    ft_buf_free(&b);
    return out;
}

static void
quotes_backslashes_and_controls_are_escaped(void **state)
{
    (void)state;
    assert_string_equal(json_of("a\"b\\c\n\t\x01", 8), "\"a\\\"b\\\\c\\n\\t\\u0001\"");
    assert_string_equal(json_of("", 0), "\"\"");
    assert_string_equal(json_of("nul\0x", 5), "\"nul\\u0000x\"");
}

static void
valid_utf8_passes_and_invalid_bytes_become_replacement(void **state)
{
    (void)state;
    assert_string_equal(json_of("caf\xc3\xa9 \xe2\x9c\x85", 9), "\"caf\xc3\xa9 \xe2\x9c\x85\"");
    /* A lone continuation byte, an overlong encoding, a surrogate, a cut sequence. */
    assert_string_equal(json_of("a\x80z", 3), "\"a\xef\xbf\xbdz\"");
    assert_string_equal(json_of("\xc0\xaf", 2), "\"\xef\xbf\xbd\xef\xbf\xbd\"");
    assert_string_equal(json_of("\xed\xa0\x80", 3), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    assert_string_equal(json_of("\xe2\x9c", 2), "\"\xef\xbf\xbd\xef\xbf\xbd\"");
}

static void
numbers_format_exactly(void **state)
{
    struct ft_buf b;

    (void)state;
    ft_buf_init(&b);
    ft_buf_put_u64(&b, 0);
    ft_buf_putc(&b, ' ');
    ft_buf_put_u64(&b, 18446744073709551615ull);
    ft_buf_putc(&b, ' ');
    ft_buf_put_i64(&b, -42);
    ft_buf_putc(&b, ' ');
    ft_buf_put_milli(&b, 1234567);
    ft_buf_putc(&b, ' ');
    ft_buf_put_milli(&b, 7);
    ft_buf_putc(&b, '\0');
    assert_string_equal(b.p, "0 18446744073709551615 -42 1234.567 0.007");
    ft_buf_free(&b);
}

static void
tick_conversion_uses_anchors(void **state)
{
    struct ft_clockconv c;
    struct ft_anchor a = {1000, 5000, 1700000000000000000ull};
    struct ft_anchor b = {1000 + 4000000000ull, 5000 + 2000000000ull, 1700000002000000000ull};

    (void)state;
    ft_clockconv_init(&c, FT_CLOCK_TSC, 0.25);
    ft_clockconv_anchor(&c, &a);
    /* Before anchors span a second, the writer's own rate is used. */
    assert_int_equal(ft_clockconv_span_ns(&c, 1000, 5000), 1000);
    assert_int_equal(ft_clockconv_real_ns(&c, 1000 + 400), 1700000000000000100ull);
    ft_clockconv_anchor(&c, &b);
    /* Then the run's own: 2 s over 4e9 ticks = 0.5 ns per tick. */
    assert_int_equal(ft_clockconv_span_ns(&c, 1000, 5000), 2000);
    assert_int_equal(ft_clockconv_span_ns(&c, 5000, 1000), 0);
    assert_int_equal(ft_clockconv_real_ns(&c, 999), 1700000000000000000ull);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quotes_backslashes_and_controls_are_escaped),
        cmocka_unit_test(valid_utf8_passes_and_invalid_bytes_become_replacement),
        cmocka_unit_test(numbers_format_exactly),
        cmocka_unit_test(tick_conversion_uses_anchors),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
