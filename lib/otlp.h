/* otlp.h - OpenTelemetry's OTLP/JSON encoding of spans, and the W3C and OTEL_* texts an
 * exporter reads. Pure functions: no I/O, no clock, no environment.
 *
 * A request body (ExportTraceServiceRequest, OTLP/JSON) is {"resourceSpans":[BLOCK,...]};
 * a BLOCK is one resource (the process) with its spans, written by ft_otlp_block_begin,
 * ft_otlp_span per span, ft_otlp_block_end. As the OTLP specification's JSON mapping
 * says: trace and span ids are lowercase hex (not base64), 64-bit integers are decimal
 * strings, enums are numbers, field names lowerCamelCase.
 */
#ifndef FT_LIB_OTLP_H
#define FT_LIB_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* FT_OTLP_ANY: s is an AnyValue as OTLP/JSON text ({"doubleValue":2.5},
 * {"arrayValue":{"values":[...]}}), written as it is. */
enum ft_otlp_type { FT_OTLP_STR, FT_OTLP_INT, FT_OTLP_BOOL, FT_OTLP_ANY };

struct ft_otlp_attr {
    const char *key;
    int type;      /* enum ft_otlp_type */
    const char *s; /* FT_OTLP_STR, FT_OTLP_ANY: the value (NUL-terminated); attributes with s NULL
                  are left out */
    int64_t i;     /* FT_OTLP_INT, FT_OTLP_BOOL */
};

enum ft_otlp_kind { FT_OTLP_INTERNAL = 1, FT_OTLP_SERVER = 2 };
enum ft_otlp_status { FT_OTLP_UNSET = 0, FT_OTLP_OK = 1, FT_OTLP_ERROR = 2 };

struct ft_otlp_span {
    uint8_t trace_id[16], span_id[8];
    uint8_t parent_id[8];    /* all zero: a root span */
    const char *trace_state; /* W3C tracestate, or NULL */
    const char *name;
    int kind;                  /* enum ft_otlp_kind */
    uint64_t start_ns, end_ns; /* since the epoch */
    int status;                /* enum ft_otlp_status */
    const char *status_msg;    /* or NULL */
    const struct ft_otlp_attr *attrs;
    size_t nattrs;
    /* At most one event (an exception): exception.type/.message/.stacktrace attributes. */
    const char *event_name; /* NULL: no event */
    uint64_t event_ns;
    const struct ft_otlp_attr *event_attrs;
    size_t nevent_attrs;
};

/* {"resource":{"attributes":[...]},"scopeSpans":[{"scope":{"name":scope},"spans":[ */
void ft_otlp_block_begin(struct ft_buf *b, const struct ft_otlp_attr *res, size_t n,
                         const char *scope);

/* One span, preceded by a comma unless first. */
void ft_otlp_span(struct ft_buf *b, const struct ft_otlp_span *s, int first);

/* ]}]} */
void ft_otlp_block_end(struct ft_buf *b);

/* A W3C traceparent header (version 00; later versions read as 00 allows): returns 0
 * with its trace id, parent span id and flags, or -1 when it is not one (all-zero ids are
 * invalid). */
int ft_otlp_traceparent(const char *s, size_t n, uint8_t trace_id[16], uint8_t parent_id[8],
                        uint8_t *flags);

/* A 64-bit mix (splitmix64's finaliser): ids made of a seed and a counter. */
uint64_t ft_otlp_mix(uint64_t x);

/* The URL to POST spans to. opt is the --otlp value (NULL or "" if none was given):
 * used as is, or with "/v1/traces" added when it has no path. Else traces_ep
 * (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) as is, else ep (OTEL_EXPORTER_OTLP_ENDPOINT) with
 * "/v1/traces" appended, else http://localhost:4318/v1/traces. Returns 0, or -1 when
 * the result does not fit cap. */
int ft_otlp_endpoint(const char *opt, const char *traces_ep, const char *ep, char *out, size_t cap);

/* A list of key=value pairs separated by commas (OTEL_EXPORTER_OTLP_HEADERS,
 * OTEL_RESOURCE_ATTRIBUTES): calls fn with each key and percent-decoded value, both
 * trimmed of blanks and NUL-terminated (valid during the call only). Returns the number
 * of entries left out as malformed (no '=', an empty key, too long). */
int ft_otlp_pairs(const char *spec, void (*fn)(void *ctx, const char *key, const char *value),
                  void *ctx);

#endif
