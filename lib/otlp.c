/* otlp.c - OTLP/JSON encoding of spans; W3C traceparent and OTEL_* texts (otlp.h). */
#include "otlp.h"

#include <stdio.h>
#include <string.h>

#include "json.h"

/* ---- Encoding -------------------------------------------------------------------------- */

static void
put_hex(struct ft_buf *b, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";

    ft_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        ft_buf_putc(b, digits[p[i] >> 4]);
        ft_buf_putc(b, digits[p[i] & 15]);
    }
    ft_buf_putc(b, '"');
}

/* A 64-bit integer: a decimal string, as the JSON mapping of int64 and fixed64 says. */
static void
put_u64_str(struct ft_buf *b, uint64_t v)
{
    ft_buf_putc(b, '"');
    ft_buf_put_u64(b, v);
    ft_buf_putc(b, '"');
}

static void
put_attrs(struct ft_buf *b, const struct ft_otlp_attr *a, size_t n)
{
    int first = 1;

    ft_buf_putc(b, '[');
    for (size_t i = 0; i < n; i++) {
        if ((a[i].type == FT_OTLP_STR || a[i].type == FT_OTLP_ANY) && a[i].s == NULL) {
            continue;
        }
        ft_buf_puts(b, first ? "{\"key\":" : ",{\"key\":");
        first = 0;
        ft_json_put_cstr(b, a[i].key);
        switch (a[i].type) {
        case FT_OTLP_INT:
            ft_buf_puts(b, ",\"value\":{\"intValue\":\"");
            ft_buf_put_i64(b, a[i].i);
            ft_buf_puts(b, "\"}}");
            break;
        case FT_OTLP_BOOL:
            ft_buf_puts(b, a[i].i ? ",\"value\":{\"boolValue\":true}}"
                                  : ",\"value\":{\"boolValue\":false}}");
            break;
        case FT_OTLP_ANY:
            ft_buf_puts(b, ",\"value\":");
            ft_buf_puts(b, a[i].s);
            ft_buf_putc(b, '}');
            break;
        default:
            ft_buf_puts(b, ",\"value\":{\"stringValue\":");
            ft_json_put_cstr(b, a[i].s);
            ft_buf_puts(b, "}}");
            break;
        }
    }
    ft_buf_putc(b, ']');
}

void
ft_otlp_block_begin(struct ft_buf *b, const struct ft_otlp_attr *res, size_t n, const char *scope)
{
    ft_buf_puts(b, "{\"resource\":{\"attributes\":");
    put_attrs(b, res, n);
    ft_buf_puts(b, "},\"scopeSpans\":[{\"scope\":{\"name\":");
    ft_json_put_cstr(b, scope);
    ft_buf_puts(b, "},\"spans\":[");
}

void
ft_otlp_block_end(struct ft_buf *b)
{
    ft_buf_puts(b, "]}]}");
}

static int
all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0) {
            return 0;
        }
    }
    return 1;
}

void
ft_otlp_span(struct ft_buf *b, const struct ft_otlp_span *s, int first)
{
    ft_buf_puts(b, first ? "{\"traceId\":" : ",{\"traceId\":");
    put_hex(b, s->trace_id, 16);
    ft_buf_puts(b, ",\"spanId\":");
    put_hex(b, s->span_id, 8);
    if (!all_zero(s->parent_id, 8)) {
        ft_buf_puts(b, ",\"parentSpanId\":");
        put_hex(b, s->parent_id, 8);
    }
    if (s->trace_state != NULL && s->trace_state[0] != '\0') {
        ft_buf_puts(b, ",\"traceState\":");
        ft_json_put_cstr(b, s->trace_state);
    }
    ft_buf_puts(b, ",\"name\":");
    ft_json_put_cstr(b, s->name);
    ft_buf_printf(b, ",\"kind\":%d,\"startTimeUnixNano\":", s->kind);
    put_u64_str(b, s->start_ns);
    ft_buf_puts(b, ",\"endTimeUnixNano\":");
    put_u64_str(b, s->end_ns);
    ft_buf_puts(b, ",\"attributes\":");
    put_attrs(b, s->attrs, s->nattrs);
    if (s->event_name != NULL) {
        ft_buf_puts(b, ",\"events\":[{\"timeUnixNano\":");
        put_u64_str(b, s->event_ns);
        ft_buf_puts(b, ",\"name\":");
        ft_json_put_cstr(b, s->event_name);
        ft_buf_puts(b, ",\"attributes\":");
        put_attrs(b, s->event_attrs, s->nevent_attrs);
        ft_buf_puts(b, "}]");
    }
    ft_buf_printf(b, ",\"status\":{\"code\":%d", s->status);
    if (s->status_msg != NULL) {
        ft_buf_puts(b, ",\"message\":");
        ft_json_put_cstr(b, s->status_msg);
    }
    ft_buf_puts(b, "}}");
}

/* ---- Texts ----------------------------------------------------------------------------- */

static int
hex_value(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* n bytes from 2n lowercase hex digits; -1 if any is not one. */
static int
parse_hex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int
ft_otlp_traceparent(const char *s, size_t n, uint8_t trace_id[16], uint8_t parent_id[8],
                    uint8_t *flags)
{
    uint8_t version;

    /* version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55. */
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        n--;
    }
    while (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        n--;
    }
    if (n < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' || parse_hex(s, &version, 1) != 0 ||
        version == 0xff || (version == 0 && n != 55) || (n > 55 && s[55] != '-') ||
        parse_hex(s + 3, trace_id, 16) != 0 || parse_hex(s + 36, parent_id, 8) != 0 ||
        parse_hex(s + 53, flags, 1) != 0 || all_zero(trace_id, 16) || all_zero(parent_id, 8)) {
        return -1;
    }
    return 0;
}

uint64_t
ft_otlp_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Whether url has a path after its authority ("http://host:4318" has none). */
static int
has_path(const char *url)
{
    const char *p = strstr(url, "://");
    const char *slash = strchr(p != NULL ? p + 3 : url, '/');

    return slash != NULL && slash[1] != '\0';
}

static int
put_url(char *out, size_t cap, const char *base, const char *tail)
{
    size_t bl = strlen(base);

    while (bl > 0 && base[bl - 1] == '/') {
        bl--; /* "http://c:4318/" + "/v1/traces" */
    }
    return snprintf(out, cap, "%.*s%s", (int)bl, base, tail) < (int)cap ? 0 : -1;
}

int
ft_otlp_endpoint(const char *opt, const char *traces_ep, const char *ep, char *out, size_t cap)
{
    if (opt != NULL && opt[0] != '\0') {
        return put_url(out, cap, opt, has_path(opt) ? "" : "/v1/traces");
    }
    if (traces_ep != NULL && traces_ep[0] != '\0') {
        return put_url(out, cap, traces_ep, "");
    }
    if (ep != NULL && ep[0] != '\0') {
        return put_url(out, cap, ep, "/v1/traces");
    }
    return put_url(out, cap, "http://localhost:4318", "/v1/traces");
}

/* s[0..n) trimmed of blanks, percent-decoded if decode, into out (cap bytes, NUL). */
static int
take_text(const char *s, size_t n, int decode, char *out, size_t cap)
{
    size_t k = 0;

    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        n--;
    }
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (k + 1 >= cap) {
            return -1;
        }
        if (decode && s[i] == '%' && i + 2 < n && (hi = hex_value(s[i + 1] | 0x20)) >= 0 &&
            (lo = hex_value(s[i + 2] | 0x20)) >= 0) {
            out[k++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[k++] = s[i];
        }
    }
    out[k] = '\0';
    return 0;
}

int
ft_otlp_pairs(const char *spec, void (*fn)(void *ctx, const char *key, const char *value),
              void *ctx)
{
    char key[256], value[4096];
    int bad = 0;

    while (spec != NULL && *spec != '\0') {
        const char *end = strchr(spec, ','), *eq;
        size_t n = end != NULL ? (size_t)(end - spec) : strlen(spec);
        eq = memchr(spec, '=', n);
        if (eq == NULL) {
            bad += strspn(spec, " \t") < n; /* an empty entry is not an error */
        } else if (take_text(spec, (size_t)(eq - spec), 0, key, sizeof(key)) != 0 ||
                   key[0] == '\0' ||
                   take_text(eq + 1, n - (size_t)(eq + 1 - spec), 1, value, sizeof(value)) != 0) {
            bad++;
        } else {
            fn(ctx, key, value);
        }
        spec = end != NULL ? end + 1 : spec + n;
    }
    return bad;
}
