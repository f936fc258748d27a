/* test_redact.c - secrets known by name or by form, taken out of names, text and argv. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/redact.h"

static struct ft_redact R;

static int
setup(void **state)
{
    (void)state;
    ft_redact_init(&R, NULL);
    return 0;
}

static const char *
text(const char *in)
{
    static char out[512];
    size_t n = ft_redact_text(&R, in, strlen(in), out, sizeof(out) - 1, NULL);

    out[n] = '\0';
    return out;
}

static void
names_match_by_fragment_in_any_case_with_dashes_as_underscores(void **state)
{
    (void)state;
    for (const char **n = (const char *[]){"password", "X-Api-Key", "HTTP_AUTHORIZATION", "api-key",
                                           "Set-Cookie", "Proxy-Authorization", "db_passwd",
                                           "refresh_token", "HTTP_COOKIE", NULL};
         *n; n++) {
        assert_true(ft_redact_name(&R, *n, strlen(*n)));
    }
    for (const char **n = (const char *[]){"username", "keyboard", "path", "query", "", NULL}; *n;
         n++) {
        assert_false(ft_redact_name(&R, *n, strlen(*n)));
    }
    /* A list adds to the defaults; "none" drops what came before it. */
    ft_redact_init(&R, " Account-Number ,pin");
    assert_true(ft_redact_name(&R, "account_number", 14));
    assert_true(ft_redact_name(&R, "PIN", 3));
    assert_true(ft_redact_name(&R, "password", 8));
    ft_redact_init(&R, "none");
    assert_false(ft_redact_name(&R, "password", 8));
    ft_redact_init(&R, "none,pin");
    assert_false(ft_redact_name(&R, "password", 8));
    assert_true(ft_redact_name(&R, "pin", 3));
    ft_redact_init(&R, NULL);
}

static void
values_after_secret_names_are_replaced(void **state)
{
    (void)state;
    /* Query strings, options, repr()s of dicts and header lists, JSON, header lines. */
    assert_string_equal(text("token=abc&x=1"), "token=<redacted>&x=1");
    assert_string_equal(text("/p?a=1&api_key=XYZ#f"), "/p?a=1&api_key=<redacted>#f");
    assert_string_equal(text("--password=hunter2 --user=bob"), "--password=<redacted> --user=bob");
    assert_string_equal(text("{'password': 'hun\\'ter', 'user': 'bob'}"),
                        "{'password': '<redacted>', 'user': 'bob'}");
    assert_string_equal(text("{b'authorization': b'Bearer abc'}"),
                        "{b'authorization': b'<redacted>'}");
    assert_string_equal(text("[(b'authorization', b'Bearer abc'), (b'cookie', b'sid=1')]"),
                        "[(b'authorization', b'<redacted>'), (b'cookie', b'<redacted>')]");
    assert_string_equal(text("{\"api_key\": \"k\", \"n\": 1}"),
                        "{\"api_key\": \"<redacted>\", \"n\": 1}");
    assert_string_equal(text("Authorization: Bearer abc.def\nAccept: */*"),
                        "Authorization: <redacted>\nAccept: */*");
    assert_string_equal(text("<Request 'http://localhost/?token=abc' [GET]>"),
                        "<Request 'http://localhost/?token=<redacted>' [GET]>");
    assert_string_equal(text("HTTP_COOKIE=sessionid=abc; csrftoken=def"),
                        "HTTP_COOKIE=<redacted>; csrftoken=<redacted>");
}

static void
credentials_are_known_by_their_form(void **state)
{
    (void)state;
    assert_string_equal(text("got Bearer abc.def-1 from client"),
                        "got Bearer <redacted> from client");
    assert_string_equal(text("Basic dXNlcjpwYXNz"), "Basic <redacted>");
    assert_string_equal(text("postgres://bob:s3cret@db/x"), "postgres://bob:<redacted>@db/x");
    assert_string_equal(text("'bob:s3cret@db'"), "'bob:<redacted>@db'");
    /* Not secrets: a word, a URL without a password, a time, a plain value. */
    for (const char **t =
             (const char *[]){"basic usage", "Basic auth", "http://example.com/a:b", "at 12:30",
                              "user=bob", "a@b.c", "a:b c@d", "x:@y", NULL};
         *t; t++) {
        int changed = 1;
        char out[64];
        size_t n = ft_redact_text(&R, *t, strlen(*t), out, sizeof(out), &changed);
        assert_int_equal(n, strlen(*t));
        assert_memory_equal(out, *t, n);
        assert_false(changed);
    }
}

static void
a_cut_never_leaves_half_a_marker(void **state)
{
    char out[16];
    int changed;
    size_t n = ft_redact_text(&R, "password=hunter2hunter2", 22, out, sizeof(out), &changed);

    (void)state;
    assert_true(changed);
    assert_int_equal(n, 9); /* "password=" and no room for the whole marker */
    assert_memory_equal(out, "password=", 9);
}

static void
the_cheap_test_says_yes_whenever_text_would_change(void **state)
{
    (void)state;
    for (const char **t =
             (const char *[]){"token=x", "x Bearer y", "s://u:p@h", "user:pw@host", "Token=x",
                              "X-Api-Key: v", "('password', 'x')",
                              "{\"a\": 1, \"auth_header\": \"x\"}", "?q=1&SessionId=abc",
                              "a=1&b=2&x_tok=2&my-TOKEN=3", NULL};
         *t; t++) {
        char out[64];
        int changed = 0;
        ft_redact_text(&R, *t, strlen(*t), out, sizeof(out), &changed);
        assert_true(changed);
        assert_true(ft_redact_text_may(&R, *t, strlen(*t)));
    }
    assert_false(ft_redact_text_may(&R, "plain text, nothing here", 24));
    /* Separators, quotes, but no secret's name anywhere: nothing to look at. */
    for (const char **t = (const char *[]){"{\"users\": [{\"id\": 1, \"name\": \"user 1\"}]}",
                                           "a=1&b=2", "('name', 'x')", "x: y", NULL};
         *t; t++) {
        assert_false(ft_redact_text_may(&R, *t, strlen(*t)));
    }
}

/* What a renderer shows of the first `shown` bytes is the same whether it redacts the
 * whole text or only ft_redact_span's prefix of it. */
static void
the_span_that_decides_a_prefix_redacts_it_as_the_whole_text_does(void **state)
{
    static const char s[] = "u=1 s://user:hunter2hunter2@host/x?token=abc&q=2 'password': "
                            "'pw' Authorization: Bearer xyz1 a:longpassword@h.io end";
    size_t n = sizeof(s) - 1;
    char full[256], part[256];
    size_t lf = ft_redact_text(&R, s, n, full, sizeof(full), NULL);

    (void)state;
    for (size_t shown = 0; shown <= n; shown++) {
        size_t span = ft_redact_span(s, n, shown);
        size_t lp = ft_redact_text(&R, s, span, part, sizeof(part), NULL);
        size_t k = shown < lp ? shown : lp;
        assert_true(span >= shown);
        assert_memory_equal(part, full, k < lf ? k : lf);
    }
    assert_null(memmem(full, lf, "hunter", 6));
    assert_null(memmem(full, lf, "longpass", 8));
}

static void
command_lines_lose_option_values_and_assignments(void **state)
{
    static const char in[] = "python\0app.py\0--password\0hunter2\0--user\0bob\0--api-key=XYZ\0"
                             "TOKEN=abc\0https://u:pw@h/?secret=s";
    static const char want[] = "python\0app.py\0--password\0<redacted>\0--user\0bob\0"
                               "--api-key=<redacted>\0TOKEN=<redacted>\0"
                               "https://u:<redacted>@h/?secret=<redacted>";
    char out[256];
    size_t n = ft_redact_argv(&R, in, sizeof(in) - 1, out, sizeof(out));

    (void)state;
    assert_int_equal(n, sizeof(want) - 1);
    assert_memory_equal(out, want, n);
    /* "--password" last, or followed by an option: nothing to take. */
    n = ft_redact_argv(&R, "x\0--password\0--verbose", 22, out, sizeof(out));
    assert_int_equal(n, 22);
    assert_memory_equal(out, "x\0--password\0--verbose", 22);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_match_by_fragment_in_any_case_with_dashes_as_underscores),
        cmocka_unit_test(values_after_secret_names_are_replaced),
        cmocka_unit_test(credentials_are_known_by_their_form),
        cmocka_unit_test(a_cut_never_leaves_half_a_marker),
        cmocka_unit_test(the_cheap_test_says_yes_whenever_text_would_change),
        cmocka_unit_test(the_span_that_decides_a_prefix_redacts_it_as_the_whole_text_does),
        cmocka_unit_test(command_lines_lose_option_values_and_assignments),
    };
    return cmocka_run_group_tests_name("redact", tests, setup, NULL);
}
