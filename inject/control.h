/* control.h - what libflowtrace.so exports besides _exit: recording started and stopped
 * on request, in an interpreter that is already running.
 *
 * Who calls: the Python package (flowtrace.start/stop, the pytest plugin) through
 * ctypes.PyDLL, and `flowtrace attach`, whose injected code does the same in another
 * process. All are called with the GIL held, from a Python thread; they never raise
 * and never end the process. The names are the library's ABI (inject/exports.map,
 * `make check-abi`): they change only with FlowTrace's version.
 */
#ifndef FT_INJECT_CONTROL_H
#define FT_INJECT_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#define FT_EXPORT __attribute__((visibility("default")))

/* Starts recording this process as a new run: connects to the writer (starting one
 * unless FLOWTRACE_SOCKET names one), and records every thread from now on. settings
 * are "FLOWTRACE_NAME=value" lines (NULL: none) that take the place of the
 * environment's values, which are read too. Returns 0, or -errno with a one-line reason
 * in why (NUL-terminated, cap bytes): -EALREADY if this process is recorded already,
 * -ENOSYS if this is not a CPython FlowTrace can trace, -EINVAL for a bad setting. */
FT_EXPORT int flowtrace_start(const char *settings, char *why, size_t cap);

/* Opens a region named name (NULL: "region") on the calling thread: a node of its own
 * in the trace and a unit of kind region; with FLOWTRACE_START=manual only what runs
 * inside regions is recorded. ident 0 marks a plain region; another value a step of a
 * suspendable one (a generator or coroutine driven step by step), started once and then
 * resumed (resumed != 0) under the same ident. Returns 0, or -ENOTCONN when this
 * process is not being recorded. */
FT_EXPORT int flowtrace_region_begin(const char *name, uint64_t ident, int resumed);

/* Closes the calling thread's innermost region; suspended != 0 when it is a step that
 * will be resumed. Returns 0, or -ENOTCONN / -EINVAL (none open). */
FT_EXPORT int flowtrace_region_end(int suspended);

/* Stops recording: every thread's hook removed, every record shipped, the run ended
 * ("detached") and written before it returns. The program runs on as it would have
 * untraced; flowtrace_start may start another run. Returns 0, or -ENOTCONN if nothing
 * was being recorded. */
FT_EXPORT int flowtrace_stop(void);

#endif
