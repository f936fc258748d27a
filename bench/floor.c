/* floor.c - the cheapest possible tracer, for `make bench`: an LD_PRELOAD library that,
 * once the interpreter runs the program, installs a C profile function that does nothing.
 * Its cost is the cost of being called at all; FlowTrace is measured against it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

typedef struct floor_object PyObject;
typedef int (*tracefunc)(PyObject *, void *, int, PyObject *);

static void (*set_profile)(tracefunc, PyObject *);
static int installed;

static int
empty_profile(PyObject *obj, void *frame, int what, PyObject *arg)
{
    (void)obj;
    (void)frame;
    (void)what;
    (void)arg;
    return 0;
}

static int
audit(const char *event, PyObject *args, void *data)
{
    (void)args;
    (void)data;
    if (!installed && strncmp(event, "cpython.run_", 12) == 0) {
        installed = 1;
        set_profile(empty_profile, NULL);
    }
    return 0;
}

__attribute__((constructor)) static void
floor_init(void)
{
    int (*add_hook)(int (*)(const char *, PyObject *, void *), void *) =
        (int (*)(int (*)(const char *, PyObject *, void *), void *))dlsym(RTLD_DEFAULT,
                                                                            "PySys_AddAuditHook");

    *(void **)&set_profile = dlsym(RTLD_DEFAULT, "PyEval_SetProfile");
    if (add_hook != NULL && set_profile != NULL) {
        add_hook(audit, NULL);
    }
}
