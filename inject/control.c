/* control.c - the exported entry points of control.h. */
#include "control.h"

#include "lifecycle.h"

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
