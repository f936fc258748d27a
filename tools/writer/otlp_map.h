/* otlp_map.h - FlowTrace's units of work and runs as OpenTelemetry spans.
 *
 * One resourceSpans block (lib/otlp.h) per finished unit and per finished run; the
 * resource is the process (service.name: OTEL_SERVICE_NAME, else OTEL_RESOURCE_ATTRIBUTES'
 * service.name, else the script's name; process.pid, process.runtime.*; every
 * OTEL_RESOURCE_ATTRIBUTES pair). Following the semantic conventions:
 *   - a request is a SERVER span named "{method} {route}" (or "{method}") with
 *     http.request.method, url.path, http.route, http.response.status_code,
 *     client.address, user_agent.original; status ERROR for 5xx or an escaped exception;
 *     with an incoming W3C traceparent it is a child of the caller's span, in the
 *     caller's trace (tracestate kept), else the root of a trace of its own;
 *   - a test (pytest, unittest) or --unit call is an INTERNAL span in the run's trace,
 *     a child of the run's span (test.case.name, test.case.result.status);
 *   - a run is an INTERNAL span named after its script (process.exit.code);
 *   - the calls kept (spans.h, at most the span limit) are INTERNAL child spans with
 *     code.function.name, code.file.path, code.line.number and, for work handed to
 *     another thread, thread.name; the unit's span says how many calls there were and
 *     how many were left out (flowtrace.calls, flowtrace.calls_not_exported);
 *   - an exception is an "exception" event (exception.type, exception.message, and for a
 *     unit exception.stacktrace: the calls down to where it was raised) on the span of
 *     each call it ended, and on the unit's span.
 * Ids are made from a random salt, the run id and the call ids, so a call's span id and
 * its children's parent ids agree without any table.
 */
#ifndef FT_WRITER_OTLP_MAP_H
#define FT_WRITER_OTLP_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/run.h"
#include "lib/units.h"

/* What every block's resource says besides the process: set once (borrowed). */
struct ft_otlp_resource {
    const char *service_name; /* NULL: the script's name */
    const char *const *extra; /* OTEL_RESOURCE_ATTRIBUTES: key, value, key, value... */
    size_t nextra;            /* pairs */
    uint64_t salt;            /* random, once per writer */
};

/* Appends the block of a finished unit of run r. Returns the number of spans. */
size_t ft_otlp_map_unit(struct ft_buf *b, const struct ft_otlp_resource *res,
                        const struct ft_run *r, const struct ft_unit_export *u);

/* Appends the block of a finished run: its span and its calls outside units. */
size_t ft_otlp_map_run(struct ft_buf *b, const struct ft_otlp_resource *res, struct ft_run *r);

#endif
