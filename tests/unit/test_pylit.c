/* test_pylit.c - Python literal reprs as JSON values; everything else as a string. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "tools/cli/pylit.h"

static void
json_is(const char *text, const char *json, int literal)
{
    struct ft_buf b;

    ft_buf_init(&b);
    assert_int_equal(ft_pylit_to_json(&b, text), literal);
    ft_buf_putc(&b, '\0');
    assert_string_equal(b.p, json);
    ft_buf_free(&b);
}

static void
scalars_become_json_scalars(void **state)
{
    (void)state;
    json_is("None", "null", 1);
    json_is("True", "true", 1);
    json_is("False", "false", 1);
    json_is("20", "20", 1);
    json_is("-3", "-3", 1);
    json_is("123456789012345678901234567890", "123456789012345678901234567890", 1);
    json_is("2.5", "2.5", 1);
    json_is("1e-05", "1e-05", 1);
    json_is("-1.5e+16", "-1.5e+16", 1);
    json_is("inf", "\"inf\"", 1);
    json_is("-inf", "\"-inf\"", 1);
    json_is("nan", "\"nan\"", 1);
}

static void
strings_are_unquoted_and_unescaped(void **state)
{
    (void)state;
    json_is("'coffee'", "\"coffee\"", 1);
    json_is("\"it's\"", "\"it's\"", 1);
    json_is("'a\\'b\\\\c\\nd'", "\"a'b\\\\c\\nd\"", 1);
    json_is("'\\x00\\xe9\\u20ac'", "\"\\u0000é€\"", 1);
    json_is("'ana maria'", "\"ana maria\"", 1);
}

static void
containers_become_arrays_and_objects(void **state)
{
    (void)state;
    json_is("[1, 'a', None]", "[1,\"a\",null]", 1);
    json_is("(1,)", "[1]", 1);
    json_is("()", "[]", 1);
    json_is("{'coffee': 3, 'cake': 0}", "{\"coffee\":3,\"cake\":0}", 1);
    json_is("{}", "{}", 1);
    json_is("{1, 2}", "[1,2]", 1);
    json_is("set()", "[]", 1);
    json_is("frozenset({3})", "[3]", 1);
    json_is("{1: 'a', True: None, None: 2.5}", "{\"1\":\"a\",\"true\":null,\"null\":2.5}", 1);
    json_is("{'k': [(1, 2), {'x': []}]}", "{\"k\":[[1,2],{\"x\":[]}]}", 1);
}

static void
anything_else_is_its_text(void **state)
{
    (void)state;
    json_is("<__main__.Inventory object at 0x7f3a2c1b9d50>",
            "\"<__main__.Inventory object at 0x7f3a2c1b9d50>\"", 0);
    json_is("<redacted>", "\"<redacted>\"", 0);
    json_is("'aaaa…[truncated from 5000 chars]", "\"'aaaa…[truncated from 5000 chars]\"", 0);
    json_is("[1, 2, <object at 0x1>]", "\"[1, 2, <object at 0x1>]\"", 0);
    json_is("b'bytes'", "\"b'bytes'\"", 0);
    json_is("01", "\"01\"", 0);
    json_is("Nonesuch", "\"Nonesuch\"", 0);
    json_is("", "\"\"", 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scalars_become_json_scalars),
        cmocka_unit_test(strings_are_unquoted_and_unescaped),
        cmocka_unit_test(containers_become_arrays_and_objects),
        cmocka_unit_test(anything_else_is_its_text),
    };

    return cmocka_run_group_tests_name("pylit", tests, NULL, NULL);
}
