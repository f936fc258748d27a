/* test_otlp.c - OTLP/JSON encoding, W3C traceparent, OTEL_* texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lib/otlp.h"

static char *
text(struct ft_buf *b)
{
    ft_buf_putc(b, '\0');
    return b->p;
}

static void
a_span_is_encoded_as_the_json_mapping_says(void **state)
{
    struct ft_buf b;
    struct ft_otlp_attr res[] = {{"service.name", FT_OTLP_STR, "shop", 0},
                                 {"process.pid", FT_OTLP_INT, NULL, 42},
                                 {"absent", FT_OTLP_STR, NULL, 0}};
    struct ft_otlp_attr attrs[] = {{"http.request.method", FT_OTLP_STR, "GET", 0},
                                   {"http.response.status_code", FT_OTLP_INT, NULL, 500},
                                   {"flowtrace.kept", FT_OTLP_BOOL, NULL, 1},
                                   {"quote", FT_OTLP_STR, "a\"b\n", 0}};
    struct ft_otlp_attr ev[] = {{"exception.type", FT_OTLP_STR, "ValueError", 0}};
    struct ft_otlp_span s = {.trace_id = {0x0a, 0xf7, 0x65, 0x19, [15] = 0x9c},
                             .span_id = {0xb7, 0xad, [7] = 0x31},
                             .parent_id = {0},
                             .trace_state = "k=v",
                             .name = "GET /items/{id}",
                             .kind = FT_OTLP_SERVER,
                             .start_ns = 1700000000123456789ull,
                             .end_ns = 1700000000223456789ull,
                             .status = FT_OTLP_ERROR,
                             .status_msg = "ValueError: bad",
                             .attrs = attrs,
                             .nattrs = 4,
                             .event_name = "exception",
                             .event_ns = 1700000000200000000ull,
                             .event_attrs = ev,
                             .nevent_attrs = 1};

    (void)state;
    ft_buf_init(&b);
    ft_otlp_block_begin(&b, res, 3, "flowtrace");
    ft_otlp_span(&b, &s, 1);
    s.parent_id[7] = 1;
    s.trace_state = NULL;
    s.event_name = NULL;
    s.status = FT_OTLP_UNSET;
    s.status_msg = NULL;
    s.nattrs = 0;
    ft_otlp_span(&b, &s, 0);
    ft_otlp_block_end(&b);
    /* Ids in hex, 64-bit integers as strings, enums as numbers, no parentSpanId at the
     * root, an attribute without a value left out, strings escaped. */
    assert_string_equal(
        text(&b),
        "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"sh"
        "op\"}},{\"key\":\"process.pid\",\"value\":{\"intValue\":\"42\"}}]},\"scopeSpans\":[{\"sc"
        "ope\":{\"name\":\"flowtrace\"},\"spans\":[{\"traceId\":\"0af7651900000000000000000000009"
        "c\",\"spanId\":\"b7ad000000000031\",\"traceState\":\"k=v\",\"name\":\"GET /items/{id}\","
        "\"kind\":2,\"startTimeUnixNano\":\"1700000000123456789\",\"endTimeUnixNano\":\"170000000"
        "0223456789\",\"attributes\":[{\"key\":\"http.request.method\",\"value\":{\"stringValue\""
        ":\"GET\"}},{\"key\":\"http.response.status_code\",\"value\":{\"intValue\":\"500\"}},{\"k"
        "ey\":\"flowtrace.kept\",\"value\":{\"boolValue\":true}},{\"key\":\"quote\",\"value\":{\""
        "stringValue\":\"a\\\"b\\n\"}}],\"events\":[{\"timeUnixNano\":\"1700000000200000000\",\"n"
        "ame\":\"exception\",\"attributes\":[{\"key\":\"exception.type\",\"value\":{\"stringValue"
        "\":\"ValueError\"}}]}],\"status\":{\"code\":2,\"message\":\"ValueError: bad\"}},{\"trace"
        "Id\":\"0af7651900000000000000000000009c\",\"spanId\":\"b7ad000000000031\",\"parentSpanId"
        "\":\"0000000000000001\",\"name\":\"GET /items/{id}\",\"kind\":2,\"startTimeUnixNano\":\""
        "1700000000123456789\",\"endTimeUnixNano\":\"1700000000223456789\",\"attributes\":[],\"st"
        "atus\":{\"code\":0}}]}]}");
    ft_buf_free(&b);
}

static void
a_traceparent_is_read_as_w3c_says(void **state)
{
    uint8_t trace[16], parent[8], flags;
    const char *good = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const char *bad[] = {
        "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",   /* upper case */
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",   /* zero trace id */
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",   /* zero parent */
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",   /* version ff */
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x", /* 00 with more */
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01",    /* short */
        "",
    };

    (void)state;
    assert_int_equal(ft_otlp_traceparent(good, strlen(good), trace, parent, &flags), 0);
    assert_int_equal(trace[0], 0x0a);
    assert_int_equal(trace[15], 0x9c);
    assert_int_equal(parent[0], 0xb7);
    assert_int_equal(parent[7], 0x31);
    assert_int_equal(flags, 1);
    assert_int_equal(
        ft_otlp_traceparent(" 01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-what ", 62,
                            trace, parent, &flags),
        0); /* a later version: its first four fields, blanks around */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ft_otlp_traceparent(bad[i], strlen(bad[i]), trace, parent, &flags), -1);
    }
}

static void
the_endpoint_follows_the_option_then_otel_variables(void **state)
{
    char url[256];

    (void)state;
    assert_int_equal(ft_otlp_endpoint(NULL, NULL, NULL, url, sizeof(url)), 0);
    assert_string_equal(url, "http://localhost:4318/v1/traces");
    ft_otlp_endpoint(NULL, NULL, "http://collector:4318/", url, sizeof(url));
    assert_string_equal(url, "http://collector:4318/v1/traces");
    ft_otlp_endpoint(NULL, "https://c/custom/traces", "http://ignored", url, sizeof(url));
    assert_string_equal(url, "https://c/custom/traces");
    ft_otlp_endpoint("http://127.0.0.1:9999", "https://ignored/x", NULL, url, sizeof(url));
    assert_string_equal(url, "http://127.0.0.1:9999/v1/traces");
    ft_otlp_endpoint("http://127.0.0.1:9999/in", NULL, NULL, url, sizeof(url));
    assert_string_equal(url, "http://127.0.0.1:9999/in");
    assert_int_equal(ft_otlp_endpoint("http://far.example", NULL, NULL, url, 20), -1);
}

static void
collect(void *ctx, const char *key, const char *value)
{
    struct ft_buf *b = ctx;

    ft_buf_printf(b, "[%s|%s]", key, value);
}

static void
key_value_lists_are_split_trimmed_and_decoded(void **state)
{
    struct ft_buf b;

    (void)state;
    ft_buf_init(&b);
    assert_int_equal(
        ft_otlp_pairs("Authorization=Bearer%20abc, x-team = a%2Cb ,bad,=novalue,,k=", collect, &b),
        2);
    assert_string_equal(text(&b), "[Authorization|Bearer abc][x-team|a,b][k|]");
    ft_buf_free(&b);
    assert_int_equal(ft_otlp_pairs(NULL, collect, NULL), 0);
}

static void
an_any_value_attribute_is_written_as_given(void **state)
{
    struct ft_buf b;
    struct ft_otlp_attr attrs[] = {{"flowtrace.arg.r", FT_OTLP_ANY, "{\"doubleValue\":2.5}", 0},
                                   {"absent", FT_OTLP_ANY, NULL, 0}};
    struct ft_otlp_span s = {.name = "f", .attrs = attrs, .nattrs = 2};

    (void)state;
    ft_buf_init(&b);
    ft_otlp_span(&b, &s, 1);
    ft_buf_putc(&b, '\0');
    assert_non_null(strstr(b.p, "\"attributes\":[{\"key\":\"flowtrace.arg.r\",\"value\":"
                                "{\"doubleValue\":2.5}}]"));
    assert_null(strstr(b.p, "absent"));
    ft_buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_span_is_encoded_as_the_json_mapping_says),
        cmocka_unit_test(an_any_value_attribute_is_written_as_given),
        cmocka_unit_test(a_traceparent_is_read_as_w3c_says),
        cmocka_unit_test(the_endpoint_follows_the_option_then_otel_variables),
        cmocka_unit_test(key_value_lists_are_split_trimmed_and_decoded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
