/* control.c - the exported entry points of control.h. */
#include "control.h"

#include <errno.h>

#include "lifecycle.h"
#include "pyapi.h"
#include "region.h"
#include "tstate.h"

int
flowtrace_start(const char *settings, char *why, size_t cap)
{
    char none[256];

    if (why == NULL || cap == 0) {
        why = none;
        cap = sizeof(none);
    }
    why[0] = '\0';
    return ft_lifecycle_start(settings, why, cap);
}

int
flowtrace_stop(void)
{
    return ft_lifecycle_stop();
}

int
flowtrace_region_begin(const char *name, uint64_t ident, int resumed)
{
    struct ft_thread *t = ft_self;

    if (!ft_lifecycle_recording()) {
        return -ENOTCONN;
    }
    if (t == NULL) {
        char tname[128];
        ft_py_thread_name(tname, sizeof(tname));
        if ((t = ft_thread_register(tname)) == NULL) {
            return -ENOMEM;
        }
    }
    return ft_region_begin(t, name, ident, resumed);
}

int
flowtrace_region_end(int suspended)
{
    if (!ft_lifecycle_recording() || ft_self == NULL) {
        return -ENOTCONN;
    }
    return ft_region_end(ft_self, suspended);
}
