/* engines.c - choosing the engine for the running interpreter. */
#include "engines.h"

#include "config.h"
#include "log.h"
#include "pyapi.h"

const struct ft_engine *
ft_engine_select(void)
{
    if (ft_py.minor >= 12 && ft_cfg.engine != FT_ENGINE_PROFILE) {
        if (ft_engine_monitor_usable()) {
            return &ft_engine_monitor;
        }
        ft_debug("no sys.monitoring tool id is free; using the profile hook");
    }
    return &ft_engine_profile;
}
