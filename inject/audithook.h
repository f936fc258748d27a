/* audithook.h - FlowTrace's audit hook, registered before the interpreter exists.
 *
 * The hook must be in place before the first cpython.run_* event, so it is registered in
 * the constructor, before Py_Initialize. PySys_AddAuditHook allocates its list entry with
 * the raw allocator of that moment (malloc), but the interpreter chooses its allocators
 * later (PYTHONMALLOC, -X dev, PYTHONDEVMODE: debug hooks) and _PySys_ClearAuditHooks
 * frees the entry with the raw allocator of the end: a block made by malloc is freed by
 * the debug allocator ("_PyMem_DebugRawFree: bad ID", SIGABRT, or SIGSEGV in
 * _PySys_ClearAuditHooks). So the entry's address is learnt when it is made, and when
 * the hooks are about to be cleared (the cpython._PySys_ClearAuditHooks event, delivered
 * to every hook first) a raw allocator is put in front of the interpreter's that frees
 * that one block with the allocator that made it and passes everything else through.
 */
#ifndef FT_INJECT_AUDITHOOK_H
#define FT_INJECT_AUDITHOOK_H

#include "pyapi.h"

/* In the constructor, before the interpreter is initialised: registers hook. Returns 0,
 * or -1 when CPython refused (then FlowTrace stays inert). */
int ft_audithook_add(Py_AuditHookFunction hook);

/* The hooks are about to be cleared (GIL held, finalising): makes sure the entry is freed
 * by the allocator that allocated it. */
void ft_audithook_clearing(void);

#endif
