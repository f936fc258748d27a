/* engines.h - choosing the engine for the running interpreter. */
#ifndef FT_INJECT_ENGINES_H
#define FT_INJECT_ENGINES_H

#include "engine.h"

/* The engine for the running interpreter (GIL held, at activation): sys.monitoring on
 * 3.12+ when a tool id is free, else the profile hook; FLOWTRACE_ENGINE=profile forces
 * the profile hook. */
const struct ft_engine *ft_engine_select(void);

#endif
