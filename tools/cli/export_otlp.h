/* export_otlp.h - a run (or a unit) as OpenTelemetry spans in OTLP/JSON, for a
 * Collector's otlpjsonfile receiver: `flowtrace export --format otlp`.
 *
 * JSON lines, each a TracesData of at most 5,000 spans, encoded by lib/otlp.h (the
 * encoding the writer's live export uses), with the same names: the resource is the
 * process (service.name, process.*, telemetry.sdk.*, flowtrace.run.id); one INTERNAL
 * span for the program, named after its script, and one per call under its caller's,
 * named by the call's qualified name, with code.function.name (module.qualname),
 * code.file.path, code.line.number, thread.name, thread.id, flowtrace.call.id and the
 * call's arguments, result and resumes as flowtrace.* attributes. A call an exception
 * left has status ERROR and an "exception" event: exception.type (module.Type, builtins
 * bare), exception.message, and exception.stacktrace as Python prints a traceback, from
 * the call down to where the exception was raised, when the run recorded where (tree.json
 * "raise" and "leftAt").
 */
#ifndef FT_CLI_EXPORT_OTLP_H
#define FT_CLI_EXPORT_OTLP_H

struct ft_tree;
struct ft_out;
struct ft_skel;

/* Writes the run of skeleton s (skel.h; t its fields) to o, reading its files again for
 * the values: memory per call is the skeleton's, each span waits in a temporary file
 * until it is written in pre-order. The program's span and the default service.name are
 * script's, service (or NULL) overrides the latter. Returns 0, -ENOMEM, or -EIO (a line
 * was printed). */
int ft_export_otlp(struct ft_out *o, const struct ft_tree *t, struct ft_skel *s, const char *script,
                   const char *service);

#endif
