/* dirs.h - making directories: every one FlowTrace makes is the user's alone (0700). */
#ifndef FT_LIB_DIRS_H
#define FT_LIB_DIRS_H

/* mkdir -p: makes path and its missing parents, mode 0700. An existing one is fine.
 * Returns 0 or a negative errno (-ENAMETOOLONG beyond 4095 bytes). */
int ft_dirs_make(const char *path);

#endif
