/* audithook.c - the audit hook's list entry, freed by the allocator that made it. */
#include "audithook.h"

#include <string.h>

#include "log.h"

static PyMemAllocatorEx made_with;  /* the raw allocator when the entry was made */
static PyMemAllocatorEx freed_with; /* the interpreter's raw allocator at the end */
static void *entry;                 /* the entry, until it is freed */

/* ---- Registration: learn the entry's address --------------------------------------- */

static void *
seen_malloc(void *ctx, size_t n)
{
    (void)ctx;
    entry = made_with.malloc(made_with.ctx, n);
    return entry;
}

static void *
seen_calloc(void *ctx, size_t nelem, size_t size)
{
    (void)ctx;
    entry = made_with.calloc(made_with.ctx, nelem, size);
    return entry;
}

static void *
seen_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    return made_with.realloc(made_with.ctx, p, n);
}

static void
seen_free(void *ctx, void *p)
{
    (void)ctx;
    made_with.free(made_with.ctx, p);
}

int
ft_audithook_add(Py_AuditHookFunction hook)
{
    PyMemAllocatorEx seen = {NULL, seen_malloc, seen_calloc, seen_realloc, seen_free};
    int err;

    if (ft_py.PyMem_GetAllocator == NULL || ft_py.PyMem_SetAllocator == NULL) {
        return ft_py.PySys_AddAuditHook(hook, NULL) == 0 ? 0 : -1;
    }
    /* Nothing else runs in the process while a constructor runs: the swap is private. */
    ft_py.PyMem_GetAllocator(PYMEM_DOMAIN_RAW, &made_with);
    ft_py.PyMem_SetAllocator(PYMEM_DOMAIN_RAW, &seen);
    err = ft_py.PySys_AddAuditHook(hook, NULL);
    ft_py.PyMem_SetAllocator(PYMEM_DOMAIN_RAW, &made_with);
    if (err != 0) {
        entry = NULL;
    }
    return err == 0 ? 0 : -1;
}

/* ---- The end: free the entry with its own allocator --------------------------------- */

static void *
end_malloc(void *ctx, size_t n)
{
    (void)ctx;
    return freed_with.malloc(freed_with.ctx, n);
}

static void *
end_calloc(void *ctx, size_t nelem, size_t size)
{
    (void)ctx;
    return freed_with.calloc(freed_with.ctx, nelem, size);
}

static void *
end_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    return freed_with.realloc(freed_with.ctx, p, n);
}

static void
end_free(void *ctx, void *p)
{
    (void)ctx;
    if (p != NULL && p == entry) {
        entry = NULL;
        made_with.free(made_with.ctx, p);
        return;
    }
    freed_with.free(freed_with.ctx, p);
}

void
ft_audithook_clearing(void)
{
    PyMemAllocatorEx now, end = {NULL, end_malloc, end_calloc, end_realloc, end_free};

    if (entry == NULL || ft_py.PyMem_GetAllocator == NULL) {
        return;
    }
    ft_py.PyMem_GetAllocator(PYMEM_DOMAIN_RAW, &now);
    if (memcmp(&now, &made_with, sizeof(now)) == 0) {
        return; /* the same allocator: nothing to do */
    }
    /* The interpreter chose another raw allocator (debug hooks): from now on, ours passes
     * every call to it but the one free of the entry. It stays in place until the
     * process ends; finalisation allocates little. */
    freed_with = now;
    ft_py.PyMem_SetAllocator(PYMEM_DOMAIN_RAW, &end);
    ft_debug("audit hook entry %p will be freed by the allocator that made it", entry);
}
