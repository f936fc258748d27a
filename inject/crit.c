/* crit.c - the per-thread section depth and the deferred-signal hook (see crit.h). */
#include "crit.h"

#include <stddef.h>

__thread volatile int ft_crit __attribute__((tls_model("initial-exec")));
__thread volatile int ft_sig_deferred __attribute__((tls_model("initial-exec")));

static void (*deferred_run)(void);

void
ft_crit_set_deferred(void (*run)(void))
{
    __atomic_store_n(&deferred_run, run, __ATOMIC_RELEASE);
}

void
ft_crit_run_deferred(void)
{
    void (*run)(void) = __atomic_load_n(&deferred_run, __ATOMIC_ACQUIRE);

    if (run != NULL) {
        run();
    }
}
