/* units.h - units of work recognised in an unmodified program: a test, a request, a job.
 *
 * Recognition is decided once per code object, at first sight (ft_units_classify), from
 * its module, qualified name and parameter names:
 *   pytest    _pytest.runner.runtestprotocol(item, ...): one unit per test item; its
 *             phases (_pytest.runner.call_and_report) are traced inside it;
 *   unittest  unittest.case.TestCase.run(self, result) (and async_case's);
 *   WSGI      any function whose parameters are (environ, start_response);
 *   ASGI      any coroutine function whose parameters are (scope, receive, send);
 *   function  every MODULE:FUNCTION named in FLOWTRACE_UNIT.
 * Such code is traced even when out of scope, so that its call is a node that the unit's
 * tree hangs from. Two more are watched without being traced: a WSGI start_response(status,
 * ...) and an ASGI server's send(message), which say the response's status; and so are
 * the calls that hand work to other threads or take it up there (handoff.h).
 *
 * At a unit's boundaries only (its CALL and its RETURN), ft_unit_enter and ft_unit_leave
 * read what names the unit and says how it ended (the test's node id and pytest's
 * reports, the WSGI environ or ASGI scope, the unittest result's counts) and append a
 * UNIT or UNIT_END record. They read built-in values and instance dicts only, through
 * the C API, and never call Python code; whatever they cannot read is left out. The
 * writer decides the rest (nesting, outcome, what is kept). GIL held throughout.
 */
#ifndef FT_INJECT_UNITS_H
#define FT_INJECT_UNITS_H

#include "codeinfo.h"
#include "pyapi.h"
#include "tstate.h"

/* ft_units_classify's answer besides a unit kind (enum ft_unit_kind, 1..5). */
#define FT_UNITS_TRACE 0x100 /* not a unit, but traced (a pytest phase) */

/* First sight: what this code is to units. Returns a unit kind, FT_UNITS_TRACE, or 0,
 * and sets *probe to the probe (codeinfo.h) of code whose calls are watched: the status
 * probes and the hand-offs' (handoff.h). */
int ft_units_classify(PyObject *code, const char *module, const char *qualname, long co_flags,
                      int *probe);

/* A unit's call (ci->unit) has started: appends its UNIT record. locals: the call's fast
 * locals (pylayout.h), or NULL when they cannot be read. */
void ft_unit_enter(struct ft_thread *t, const struct ft_code_info *ci, PyObject **locals);

/* A region the program marked (region.h) has started: appends its UNIT record. */
void ft_unit_region(struct ft_thread *t, const char *name);

/* A unit's call returned retval (NULL: it raised): appends UNIT_END when there is
 * something to say (a test's outcome; a request's route, read from its scope or environ
 * once routed). locals as for ft_unit_enter. */
void ft_unit_leave(struct ft_thread *t, const struct ft_code_info *ci, PyObject *retval,
                   PyObject **locals);

/* A unit's call raised and its EXC is recorded: a request's end is shipped at once (the
 * writer would otherwise end the unit without its exception if the flusher shipped the
 * UNWIND and the EXC waited for the next flush). */
void ft_unit_raised(struct ft_thread *t, const struct ft_code_info *ci);

/* A status probe was called: appends STATUS if the call carries one. */
void ft_unit_probe(struct ft_thread *t, const struct ft_code_info *ci, PyObject **locals);

#endif
