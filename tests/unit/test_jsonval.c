/* test_jsonval.c - what the writer accepts as a value's JSON (jsonval.h), case by case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/jsonval.h"

static int
ok(const char *s)
{
    return ft_jsonval_check(s, strlen(s));
}

/* What the library writes (docs/format.md "Rendered values") is accepted. */
static void
values_the_library_writes_are_accepted(void **state)
{
    static const char *good[] = {
        "null",
        "true",
        "false",
        "0",
        "-0.0",
        "115",
        "-9007199254740991",
        "1.0",
        "1e+16",
        "1e-05",
        "2.5E3",
        "\"\"",
        "\"say \\\"hi\\\"\"",
        "\"a\\nb\\u0001c\\/\"",
        "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
        "[]",
        "{}",
        "[1, [2, 3], {\"k\": [null]}]",
        " {\"user\": \"ana\", \"n\": 1} ",
        "{\"type\": \"int\", \"repr\": \"9007199254740993\", \"truncated\": 3}",
        "{\"redacted\": true, \"repr\": \"<redacted>\"}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!ok(good[i])) {
            fail_msg("refused: %s", good[i]);
        }
    }
}

/* Anything else is refused: broken structure, escapes, numbers, UTF-8, two values. */
static void
anything_malformed_is_refused(void **state)
{
    static const char *bad[] = {
        "",
        " ",
        "nul",
        "True",
        "None",
        "'a'",
        "01",
        "1.",
        ".5",
        "-",
        "1e",
        "+1",
        "nan",
        "\"unclosed",
        "\"a\\x01\"",
        "\"a\\u12\"",
        "\"tab\there\"",
        "[1, 2",
        "[1,]",
        "{\"a\" 1}",
        "{\"a\": 1,}",
        "{1: 2}",
        "[1] [2]",
        "1 2",
        "\"\xff\"",
        "\"\xc0\xaf\"",
        "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"",
        "\"\xe2\x82\"",
        "{\"a\": }",
        "]",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ok(bad[i])) {
            fail_msg("accepted: %s", bad[i]);
        }
    }
    /* A NUL inside a string is a control character. */
    assert_false(ft_jsonval_check("\"a\0b\"", 5));
}

static void
nesting_is_bounded(void **state)
{
    char deep[2 * FT_JSONVAL_DEPTH + 8];
    size_t n = 0;

    (void)state;
    for (int i = 0; i < FT_JSONVAL_DEPTH; i++) {
        deep[n++] = '[';
    }
    for (int i = 0; i < FT_JSONVAL_DEPTH; i++) {
        deep[n++] = ']';
    }
    assert_true(ft_jsonval_check(deep, n));
    memmove(deep + 1, deep, n);
    deep[0] = '[';
    deep[n + 1] = ']';
    assert_false(ft_jsonval_check(deep, n + 2));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_the_library_writes_are_accepted),
        cmocka_unit_test(anything_malformed_is_refused),
        cmocka_unit_test(nesting_is_bounded),
    };
    return cmocka_run_group_tests_name("jsonval", tests, NULL, NULL);
}
