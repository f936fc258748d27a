/* scope.c - which code is traced (see scope.h). */
#include "scope.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

/* `app` matches app and app.x, not apple. */
static int
dotted_prefix(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);

    return strncmp(name, prefix, n) == 0 && (name[n] == '\0' || name[n] == '.');
}

/* A pattern is a glob when it has glob characters, else a dotted prefix; it is matched
 * against the module and against module.qualname (so a class or a function can be
 * named). */
static int
pattern_match(const char *pat, const char *module, const char *full)
{
    if (strpbrk(pat, "*?[") != NULL) {
        return fnmatch(pat, module, 0) == 0 || fnmatch(pat, full, 0) == 0;
    }
    return dotted_prefix(module, pat) || dotted_prefix(full, pat);
}

/* An absolute pattern is a path prefix; any other a path suffix (`tests/conftest.py`,
 * `_pb2.py`). */
static int
path_match(const char *pat, const char *file)
{
    size_t n = strlen(pat), f = strlen(file);

    if (pat[0] == '/') {
        return strncmp(file, pat, n) == 0;
    }
    return f >= n && strcmp(file + f - n, pat) == 0;
}

static int
any(const struct ft_list *l, int (*match)(const char *, const char *, const char *), const char *a,
    const char *b)
{
    for (int i = 0; i < l->n; i++) {
        if (match(l->item[i], a, b)) {
            return 1;
        }
    }
    return 0;
}

static int
path_match3(const char *pat, const char *file, const char *unused)
{
    (void)unused;
    return path_match(pat, file);
}

/* The program's own code: not the standard library, installed packages, frozen modules
 * or generated <...> code (except the main program's, read from -c or stdin). */
static int
default_scope(const struct ft_scope *s, const char *module, const char *file)
{
    size_t stdlib_len = s->stdlib_dir != NULL ? strlen(s->stdlib_dir) : 0;

    if (file[0] == '<') {
        return s->main_source != NULL && strcmp(module, "__main__") == 0 &&
               strcmp(file, s->main_source) == 0;
    }
    if (stdlib_len > 0 && strncmp(file, s->stdlib_dir, stdlib_len) == 0) {
        return 0;
    }
    return strstr(file, "/site-packages/") == NULL && strstr(file, "/dist-packages/") == NULL;
}

int
ft_scope_in(const struct ft_scope *s, const char *module, const char *qualname, const char *file,
            int newlocals)
{
    char full[1600];

    snprintf(full, sizeof(full), "%s.%s", module, qualname);
    if (any(s->exclude, pattern_match, module, full) ||
        any(s->exclude_path, path_match3, file, NULL)) {
        return 0;
    }
    /* Class bodies run once, at definition, and only add noise. */
    if (!s->all && !newlocals && strcmp(qualname, "<module>") != 0) {
        return 0;
    }
    if (s->include->n > 0 || s->include_path->n > 0) {
        /* An explicit include selects code even from the standard library; the main
         * program stays in (as with the seed agent's package prefix). */
        return any(s->include, pattern_match, module, full) ||
               any(s->include_path, path_match3, file, NULL) ||
               (strcmp(module, "__main__") == 0 && default_scope(s, module, file));
    }
    return s->all || default_scope(s, module, file);
}
