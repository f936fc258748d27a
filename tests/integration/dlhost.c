/* dlhost.c - a C program that loads libpython with dlopen (not linked against it) and runs
 * Python code in it, as plugin hosts do: the host for the dlopen'ed-libpython tests.
 *
 * usage: dlhost LIBPYTHON.so PROGRAM.py [EXIT_STATUS]
 * Runs PROGRAM.py with PyRun_SimpleFileExFlags after Py_InitializeEx(0), finalizes, prints
 * "host: done" and exits with EXIT_STATUS (0 by default), or 2 if Python could not be
 * loaded or the program raised. libpython is loaded RTLD_LOCAL, or RTLD_GLOBAL when
 * DLHOST_GLOBAL is set (its symbols then visible to a library injected later: attach).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
    void (*init)(int);
    int (*run)(FILE *, const char *, int, void *);
    int (*fini)(void);
    void *py;
    FILE *f;
    int rc;

    if (argc < 3) {
        fprintf(stderr, "usage: dlhost LIBPYTHON.so PROGRAM.py [EXIT_STATUS]\n");
        return 2;
    }
    if ((py = dlopen(argv[1], RTLD_NOW | (getenv("DLHOST_GLOBAL") != NULL ? RTLD_GLOBAL
                                                                          : RTLD_LOCAL))) == NULL) {
        fprintf(stderr, "host: %s\n", dlerror());
        return 2;
    }
    *(void **)&init = dlsym(py, "Py_InitializeEx");
    *(void **)&run = dlsym(py, "PyRun_SimpleFileExFlags");
    *(void **)&fini = dlsym(py, "Py_FinalizeEx");
    if (init == NULL || run == NULL || fini == NULL || (f = fopen(argv[2], "r")) == NULL) {
        fprintf(stderr, "host: cannot use %s or %s\n", argv[1], argv[2]);
        return 2;
    }
    init(0);
    rc = run(f, argv[2], 1, NULL);
    if (fini() != 0 || rc != 0) {
        return 2;
    }
    printf("host: done\n");
    fflush(stdout);
    return argc > 3 ? atoi(argv[3]) : 0;
}
