/* otlp.h - live OpenTelemetry export from the writer: each finished unit of work and
 * each finished run, sent as OTLP/HTTP with the JSON encoding (POST .../v1/traces) to a
 * collector (OpenTelemetry Collector, Jaeger, Tempo, ...), while the program runs.
 *
 * HTTP is libcurl's (Debian's libcurl4): its multi-socket interface runs on the writer's
 * libuv loop (a uv_poll per socket curl opens, a uv_timer for curl's timeouts), so a
 * request never blocks the loop that receives the traced processes' streams. Spans are
 * batched (a request per 512 KiB, or 200 ms after the first unit waiting). A collector
 * that is unreachable, times out or answers 429/502/503/504 gets the batch again after a
 * back-off (0.5 s doubling to 30 s, or its Retry-After), up to 5 attempts; any other
 * answer, a queue over 16 MiB, or the end of the writer with batches still unsent, costs
 * those spans: they are counted, and the writer says how many were lost and why on
 * stderr. Nothing waits for the collector but the writer's own exit: a busy collector's
 * back-off at most FLOWTRACE_OTLP_DRAIN seconds (default 3), one that is not there not
 * at all (what is left is tried once more, then counted).
 *
 * Settings, read once at start: the --otlp URL (else FLOWTRACE_OTLP: 1 or a URL), then
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT (lib/otlp.h says
 * how), OTEL_EXPORTER_OTLP_[TRACES_]HEADERS, OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT (ms,
 * default 10000), OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES; FLOWTRACE_OTLP_SPANS (calls
 * sent per unit, default 128). The loop's handles are not referenced: the writer stops
 * as it would without export, then ft_otlp_stop() gives the export its last chance.
 */
#ifndef FT_WRITER_OTLP_H
#define FT_WRITER_OTLP_H

#include <stddef.h>
#include <uv.h>

#include "lib/run.h"
#include "lib/units.h"

/* Starts the exporter if opt_url (--otlp) or FLOWTRACE_OTLP asks for it. Returns 1 if
 * exporting, 0 if not asked, or -1 with why set (a bad setting). */
int ft_otlp_start(uv_loop_t *loop, const char *opt_url, char *why, size_t cap);

/* Calls to keep per unit for export (ft_run_opts.span_limit); 0 when not exporting. */
size_t ft_otlp_span_limit(void);

/* ft_run_opts.on_unit: a unit has finished (ctx unused). */
void ft_otlp_unit(void *ctx, const struct ft_run *r, const struct ft_unit_export *u);

/* A run has finished (after ft_run_finish). */
void ft_otlp_run(struct ft_run *r);

/* Sends what is left (waiting at most FLOWTRACE_OTLP_DRAIN seconds), says on stderr what
 * could not be delivered, and frees everything. Runs the loop; call it after the
 * server has closed. */
void ft_otlp_stop(void);

#endif
