/* region.h - regions the program marks (flowtrace.record, flowtrace.trace): named spans of
 * one thread's recording.
 *
 * A region is written as a call of its own: a definition named after it (module
 * "flowtrace", file "<region>") entered and left, with a UNIT record of kind region, so
 * the writer gives it a node (inside the enclosing call under flowtrace-run, a root in
 * manual mode), its own tree and a row like any unit of work. A region may be suspended
 * and resumed (a generator or coroutine that flowtrace.trace drives step by step): it is
 * then started and resumed with an identity, like a generator's frame, and the writer
 * keeps one node for it. While a thread has a region open, FLOWTRACE_START=manual records
 * its calls (the engines test t->region). GIL held, calling thread.
 */
#ifndef FT_INJECT_REGION_H
#define FT_INJECT_REGION_H

#include <stdint.h>

#include "tstate.h"

/* Opens the region `name` on t. ident 0: a plain region (CALL); else the region of a
 * suspendable step (START the first time, RESUME with resumed != 0). Returns 0, or
 * -E2BIG past FT_REGION_DEPTH (still counted), or -ENOMEM. */
int ft_region_begin(struct ft_thread *t, const char *name, uint64_t ident, int resumed);

/* Closes t's innermost region: RETURN, or YIELD when suspended (it will be resumed).
 * Returns 0, or -EINVAL if none is open. */
int ft_region_end(struct ft_thread *t, int suspended);

#endif
