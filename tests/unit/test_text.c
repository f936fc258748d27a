/* test_text.c - the bounded output area (inject/text.h): writes cut at the cap and stop
 * there, formatted text, and the inside of JSON strings: escapes, and cuts only between
 * whole characters and escapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "inject/text.h"

static struct ft_text
area(char *buf, size_t cap)
{
    struct ft_text o = {buf, 0, cap, 0, cap};

    memset(buf, '#', cap);
    return o;
}

static void
a_write_that_does_not_fit_is_cut_at_the_cap_and_nothing_follows(void **state)
{
    char buf[16];
    struct ft_text o = area(buf, 10);

    (void)state;
    ft_puts(&o, "abc");
    ft_put(&o, "0123456789", 10);
    assert_int_equal(o.len, 10);
    assert_true(o.cut);
    assert_memory_equal(buf, "abc0123456", 10);
    ft_puts(&o, "x");
    assert_int_equal(o.len, 10);

    o = area(buf, 16);
    ft_putf(&o, "%d-%s", 42, "ok");
    ft_put(&o, "0123456789abcdef", 11); /* 5 + 11 = 16: fits exactly */
    assert_false(o.cut);
    assert_memory_equal(buf, "42-ok0123456789a", 16);
}

static void
json_chars_escape_quotes_backslashes_and_controls(void **state)
{
    char buf[64];
    struct ft_text o = area(buf, sizeof(buf));
    const char *in = "a\"b\\c\nd\te\x01\xc3\xa9";

    (void)state;
    ft_put_json_chars(&o, (const unsigned char *)in, strlen(in));
    assert_false(o.cut);
    assert_int_equal(o.len, strlen("a\\\"b\\\\c\\nd\\te\\u0001\xc3\xa9"));
    assert_memory_equal(buf, "a\\\"b\\\\c\\nd\\te\\u0001\xc3\xa9", o.len);
}

static void
json_chars_are_cut_between_whole_characters_and_escapes(void **state)
{
    char buf[16];
    struct ft_text o = area(buf, 4);

    (void)state;
    /* "abé" fills the area; the second é is cut before it, never in its middle. */
    ft_put_json_chars(&o, (const unsigned char *)"ab\xc3\xa9\xc3\xa9", 6);
    assert_true(o.cut);
    assert_int_equal(o.len, 4);
    assert_memory_equal(buf, "ab\xc3\xa9", 4);

    o = area(buf, 3);
    ft_put_json_chars(&o, (const unsigned char *)"ab\xc3\xa9", 4);
    assert_true(o.cut);
    assert_int_equal(o.len, 2); /* é does not fit whole */

    o = area(buf, 8);
    ft_put_json_chars(&o, (const unsigned char *)"abcdef\x01", 7);
    assert_true(o.cut);
    assert_int_equal(o.len, 6); /* \u0001 (6 bytes) whole or not at all */
    assert_memory_equal(buf, "abcdef", 6);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_write_that_does_not_fit_is_cut_at_the_cap_and_nothing_follows),
        cmocka_unit_test(json_chars_escape_quotes_backslashes_and_controls),
        cmocka_unit_test(json_chars_are_cut_between_whole_characters_and_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
