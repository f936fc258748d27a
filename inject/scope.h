/* scope.h - which code is traced, from its module, qualified name and file.
 *
 * By default the program's own code: not the standard library, nothing under
 * site-packages or dist-packages, no frozen or generated <...> code (but the main
 * program's, read from -c or stdin), no class bodies. The scope settings change that:
 * --exclude and --exclude-path always win; --include and --include-path select code
 * (the main program stays in); --all takes everything. Module patterns are dotted
 * prefixes (`app` is app and app.x, not apple) or globs, matched against the module and
 * against module.qualname; path patterns are prefixes when absolute, else suffixes.
 * Pure: strings in, a verdict out (codes.c asks once per code object).
 */
#ifndef FT_INJECT_SCOPE_H
#define FT_INJECT_SCOPE_H

#include "config.h"

struct ft_scope {
    const struct ft_list *include, *exclude, *include_path, *exclude_path; /* never NULL */
    int all;
    const char *stdlib_dir;  /* the standard library's directory with a trailing '/', or "" */
    const char *main_source; /* "<string>" with -c, "<stdin>" from stdin, else NULL */
};

/* Whether code of module.qualname in file is traced. newlocals: the code runs in a
 * namespace of its own (a function; not a class body or a module). */
int ft_scope_in(const struct ft_scope *s, const char *module, const char *qualname,
                const char *file, int newlocals);

#endif
