/* test_pyval.c - format-3 values shown as Python reprs, over the cases every reader is
 * tested on (tests/values/cases.tsv), and the export form without described values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "tools/cli/pyval.h"

#define CASES "tests/values/cases.tsv"

/* fn(json) appends want to a buffer that held "x" already. */
static void
writes(int (*fn)(struct ft_buf *, const char *, size_t), const char *json, const char *want)
{
    struct ft_buf b;

    ft_buf_init(&b);
    ft_buf_puts(&b, "x");
    assert_int_equal(fn(&b, json, strlen(json)), 0);
    ft_buf_putc(&b, '\0');
    assert_string_equal(b.p + 1, want);
    ft_buf_free(&b);
}

static void
shows(const char *json, const char *want)
{
    writes(ft_pyval_show, json, want);
}

static void
refused(const char *json)
{
    struct ft_buf b;

    ft_buf_init(&b);
    ft_buf_puts(&b, "x");
    assert_int_equal(ft_pyval_show(&b, json, strlen(json)), -1);
    assert_int_equal(b.len, 1); /* left as it was */
    ft_buf_free(&b);
}

static void
plain_is(const char *json, const char *want)
{
    writes(ft_pyval_plain, json, want);
}

static void
every_shared_case_shows_as_its_repr(void **state)
{
    char line[1024];
    FILE *f = fopen(CASES, "r");
    int n = 0;

    (void)state;
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
        if (line[0] == '#' || tab == NULL) {
            continue;
        }
        if (nl != NULL) {
            *nl = '\0';
        }
        *tab = '\0';
        shows(line, tab + 1);
        n++;
    }
    fclose(f);
    assert_true(n >= 40);
}

static void
whitespace_and_nesting_are_read_as_json(void **state)
{
    (void)state;
    shows(" [ 1 ,\n {\"a\" : [ ] } ] ", "[1, {'a': []}]");
    shows("{\"a\": {\"b\": {\"repr\": \"<B>\", \"type\": \"app.B\"}}}", "{'a': {'b': <B>}}");
    shows("\"\\ud83d\"", "'\xef\xbf\xbd'"); /* a lone surrogate: U+FFFD */
}

static void
text_that_is_not_one_json_value_is_refused(void **state)
{
    char deep[2 * FT_PYVAL_MAX_DEPTH + 3];

    (void)state;
    refused("");
    refused("'ana'");
    refused("[1, 2");
    refused("{\"a\" 1}");
    refused("\"abc");
    refused("\"\\q\"");
    refused("\"\\u0x12\"");
    refused("1 2");
    refused("None");
    memset(deep, '[', FT_PYVAL_MAX_DEPTH + 1);
    memset(deep + FT_PYVAL_MAX_DEPTH + 1, ']', FT_PYVAL_MAX_DEPTH + 1);
    deep[sizeof(deep) - 1] = '\0';
    refused(deep);
}

static void
plain_keeps_json_and_puts_reprs_for_described_values(void **state)
{
    (void)state;
    plain_is("{\"user\": \"a\\\"na\", \"n\": [1, 2.5, null, true]}",
             "{\"user\":\"a\\\"na\",\"n\":[1,2.5,null,true]}");
    plain_is("{\"type\": \"bytes\", \"repr\": \"b'\\\\x00'\"}", "\"b'\\\\x00'\"");
    plain_is("[{\"when\": {\"type\": \"datetime.date\", \"repr\": \"datetime.date(2026, 1, 2)\"}}]",
             "[{\"when\":\"datetime.date(2026, 1, 2)\"}]");
}

static void
otlp_is(const char *json, const char *want)
{
    writes(ft_pyval_otlp, json, want);
}

static void
otlp_gives_json_types_their_anyvalue(void **state)
{
    (void)state;
    otlp_is("115", "{\"intValue\":\"115\"}");
    otlp_is("-0.0", "{\"doubleValue\":-0.0}");
    otlp_is("1e+16", "{\"doubleValue\":1e+16}");
    otlp_is("true", "{\"boolValue\":true}");
    otlp_is("null", "{\"stringValue\":\"None\"}");
    otlp_is("\"a\\u0000b\"", "{\"stringValue\":\"a\\u0000b\"}");
    otlp_is("[1, \"a\"]",
            "{\"arrayValue\":{\"values\":[{\"intValue\":\"1\"},{\"stringValue\":\"a\"}]}}");
    otlp_is(
        "{\"k\": [], \"o\": {\"type\": \"T\", \"repr\": \"<T>\"}}",
        "{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":{\"arrayValue\":{\"values\":[]}}},"
        "{\"key\":\"o\",\"value\":{\"stringValue\":\"<T>\"}}]}}");
    otlp_is("{\"type\": \"int\", \"repr\": \"12345678901234567890\"}",
            "{\"stringValue\":\"12345678901234567890\"}");
}

static void
a_map_of_values_is_not_a_value(void **state)
{
    struct ft_buf b;
    const char *locals = "{\"repr\": \"x\", \"d\": {\"type\": \"T\", \"repr\": \"<T>\"}}";

    (void)state;
    ft_buf_init(&b);
    assert_int_equal(ft_pyval_plain_map(&b, locals, strlen(locals)), 0);
    ft_buf_putc(&b, '\0');
    assert_string_equal(b.p, "{\"repr\":\"x\",\"d\":\"<T>\"}");
    b.len = 0;
    assert_int_equal(ft_pyval_plain_map(&b, "[1]", 3), -1);
    assert_int_equal(b.len, 0);
    ft_buf_free(&b);
}

static void
described_finds_the_repr_member(void **state)
{
    const char *repr = NULL, *d = "{\"type\": \"set\", \"repr\": \"{1}\", \"truncated\": 3}";
    size_t len = 0;

    (void)state;
    assert_int_equal(ft_pyval_described(d, strlen(d), &repr, &len), 1);
    assert_int_equal(len, 5);
    assert_memory_equal(repr, "\"{1}\"", 5);
    assert_int_equal(ft_pyval_described("{\"repr\": 1}", 11, &repr, &len), 0);
    assert_int_equal(ft_pyval_described("\"repr\"", 6, &repr, &len), 0);
}

static void
str_is_quoted_as_the_tracer_quotes_it(void **state)
{
    struct ft_buf b;

    (void)state;
    ft_buf_init(&b);
    ft_pyval_put_str(&b, "a\0b", 3);
    ft_buf_putc(&b, '\0');
    assert_string_equal(b.p, "'a\\x00b'");
    ft_buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_shared_case_shows_as_its_repr),
        cmocka_unit_test(whitespace_and_nesting_are_read_as_json),
        cmocka_unit_test(text_that_is_not_one_json_value_is_refused),
        cmocka_unit_test(plain_keeps_json_and_puts_reprs_for_described_values),
        cmocka_unit_test(otlp_gives_json_types_their_anyvalue),
        cmocka_unit_test(a_map_of_values_is_not_a_value),
        cmocka_unit_test(described_finds_the_repr_member),
        cmocka_unit_test(str_is_quoted_as_the_tracer_quotes_it),
    };

    return cmocka_run_group_tests_name("pyval", tests, NULL, NULL);
}
