/* test_term.c - text from a trace made safe for a terminal: controls escaped, text kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "tools/cli/term.h"

static const char *
term(struct ft_buf *b, const char *s, size_t max)
{
    b->len = 0;
    ft_term_put(b, s, max);
    ft_buf_putc(b, '\0');
    return b->p;
}

static void
terminal_sequences_are_written_as_escapes(void **state)
{
    struct ft_buf b;

    (void)state;
    ft_buf_init(&b);
    /* A colour, an OSC 52 clipboard write ended by BEL, a carriage return, DEL. */
    assert_string_equal(term(&b, "\033[31mred\033[0m", 0), "\\e[31mred\\e[0m");
    assert_string_equal(term(&b, "\033]52;c;ZXZpbA==\007x", 0), "\\e]52;c;ZXZpbA==\\x07x");
    assert_string_equal(term(&b, "ok\rFAKE\x7f", 0), "ok\\rFAKE\\x7f");
    assert_string_equal(term(&b, "a\nb\tc", 0), "a\\nb\\tc");
    /* C1 controls (8-bit CSI U+009B) and bytes that are not UTF-8. */
    assert_string_equal(term(&b,
                             "\xc2\x9b"
                             "2J",
                             0),
                        "\\u009b2J");
    assert_string_equal(term(&b, "\xff\xc3(", 0), "\\xff\\xc3(");
    assert_true(ft_term_needs_escape("x\033"));
    assert_true(ft_term_needs_escape("\xc2\x85"));
    ft_buf_free(&b);
}

static void
text_stays_as_it_is_and_cuts_count_characters(void **state)
{
    struct ft_buf b;

    (void)state;
    ft_buf_init(&b);
    assert_string_equal(term(&b, "café ✅ 😀 \\n", 0), "café ✅ 😀 \\n");
    assert_false(ft_term_needs_escape("café ✅ 😀 \\n"));
    assert_string_equal(term(&b, "éééé", 2), "éé…");
    assert_string_equal(term(&b, "ab", 2), "ab");
    assert_string_equal(term(&b, "\n\n\n", 2), "\\n\\n…");
    b.len = 0;
    assert_int_equal(ft_term_put(&b, "a\033b", 0), 3);
    ft_buf_free(&b);
}

static const char *
where(struct ft_buf *b, const char *file, unsigned line)
{
    b->len = 0;
    ft_term_where(b, file, line);
    ft_buf_putc(b, '\0');
    return b->p;
}

static void
places_name_the_file_and_a_package_by_its_directory(void **state)
{
    struct ft_buf b;

    (void)state;
    ft_buf_init(&b);
    assert_string_equal(where(&b, "/work/app/shop.py", 12), "shop.py:12");
    assert_string_equal(where(&b, "/work/app/pricing/__init__.py", 1), "pricing/__init__.py:1");
    assert_string_equal(where(&b, "/work/app/__main__.py", 3), "app/__main__.py:3");
    assert_string_equal(where(&b, "pkg/__init__.py", 1), "pkg/__init__.py:1");
    assert_string_equal(where(&b, "__init__.py", 1), "__init__.py:1");
    assert_string_equal(where(&b, "<string>", 1), "<string>:1");
    assert_string_equal(where(&b, "/x/evil\033[2J.py", 1), "evil\\e[2J.py:1");
    assert_string_equal(where(&b, NULL, 0), "?:0");
    ft_buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(terminal_sequences_are_written_as_escapes),
        cmocka_unit_test(text_stays_as_it_is_and_cuts_count_characters),
        cmocka_unit_test(places_name_the_file_and_a_package_by_its_directory),
    };

    return cmocka_run_group_tests_name("term", tests, NULL, NULL);
}
