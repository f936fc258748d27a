/* floor.c - the cheapest possible tracer, for `make bench`: an LD_PRELOAD library that,
 * once the interpreter runs the program, has an empty C function called for every event
 * FlowTrace asks for: a profile function on 3.11 and before, sys.monitoring callbacks
 * (PY_START, PY_RESUME, PY_RETURN, PY_YIELD, PY_UNWIND, PY_THROW) on 3.12 and after.
 * Its cost is the cost of being called at all; FlowTrace is measured against it. Like
 * FlowTrace it never returns DISABLE: what DISABLE saves FlowTrace shows below the floor. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

typedef struct floor_object PyObject;
typedef int (*tracefunc)(PyObject *, void *, int, PyObject *);
typedef PyObject *(*fastcall)(PyObject *, PyObject *const *, ptrdiff_t);
struct method_def {
    const char *name;
    fastcall fn;
    int flags;
    const char *doc;
};
#define METH_FASTCALL 0x0080

static void (*set_profile)(tracefunc, PyObject *);
static PyObject *(*sys_get)(const char *);
static PyObject *(*call_method)(PyObject *, const char *, const char *, ...);
static PyObject *(*get_attr)(PyObject *, const char *);
static PyObject *(*cfunction_new)(struct method_def *, PyObject *, PyObject *);
static long (*as_long)(PyObject *);
static void (*incref)(PyObject *);
static PyObject *none;
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

static PyObject *
empty_callback(PyObject *self, PyObject *const *args, ptrdiff_t nargs)
{
    (void)self;
    (void)args;
    (void)nargs;
    incref(none);
    return none;
}

static struct method_def callback_def = {"_floor_event", empty_callback, METH_FASTCALL, NULL};

/* sys.monitoring: tool 4, one empty callback for FlowTrace's events. Errors are left
 * for the interpreter to report: this is a benchmark, not a product. */
static void
install_monitoring(void)
{
    static const char *const events[] = {"PY_START", "PY_RESUME", "PY_RETURN",
                                         "PY_YIELD", "PY_UNWIND", "PY_THROW"};
    PyObject *mon = sys_get("monitoring");
    PyObject *ev = mon != NULL ? get_attr(mon, "events") : NULL;
    PyObject *fn = cfunction_new(&callback_def, NULL, NULL);
    long mask = 0;

    if (ev == NULL || fn == NULL || call_method(mon, "use_tool_id", "is", 4, "floor") == NULL) {
        return;
    }
    for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        long bit = as_long(get_attr(ev, events[i]));
        call_method(mon, "register_callback", "ilO", 4, bit, fn);
        mask |= bit;
    }
    call_method(mon, "set_events", "il", 4, mask);
}

static int
audit(const char *event, PyObject *args, void *data)
{
    (void)args;
    (void)data;
    if (!installed && strncmp(event, "cpython.run_", 12) == 0) {
        const unsigned long *version = dlsym(RTLD_DEFAULT, "Py_Version");
        installed = 1;
        if (version != NULL && ((*version >> 16) & 0xff) >= 12) {
            install_monitoring();
        } else {
            set_profile(empty_profile, NULL);
        }
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
    *(void **)&sys_get = dlsym(RTLD_DEFAULT, "PySys_GetObject");
    *(void **)&call_method = dlsym(RTLD_DEFAULT, "PyObject_CallMethod");
    *(void **)&get_attr = dlsym(RTLD_DEFAULT, "PyObject_GetAttrString");
    *(void **)&cfunction_new = dlsym(RTLD_DEFAULT, "PyCFunction_NewEx");
    *(void **)&as_long = dlsym(RTLD_DEFAULT, "PyLong_AsLong");
    *(void **)&incref = dlsym(RTLD_DEFAULT, "Py_IncRef");
    none = dlsym(RTLD_DEFAULT, "_Py_NoneStruct");
    if (add_hook != NULL && set_profile != NULL && sys_get != NULL && call_method != NULL &&
        get_attr != NULL && cfunction_new != NULL && as_long != NULL && incref != NULL &&
        none != NULL) {
        add_hook(audit, NULL);
    }
}
