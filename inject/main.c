/* main.c - libflowtrace.so's entry points: the CPython gate, activation, fork and exits.
 *
 * Outside CPython (shells, pyenv shims, compilers) the constructor finds no CPython
 * symbol and returns: no thread, no fd, no output, no environment change.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "audithook.h"
#include "codes.h"
#include "config.h"
#include "conn.h"
#include "deflog.h"
#include "srclog.h"
#include "engines.h"
#include "handoff.h"
#include "lib/wire.h"
#include "lifecycle.h"
#include "log.h"
#include "pyapi.h"
#include "pylayout.h"
#include "record.h"
#include "session.h"
#include "ship.h"
#include "signals.h"
#include "tstate.h"

static int activated;        /* cpython.run_* seen */
static int gate_passed;      /* CPython, and not a privileged program */
static int audit_hooked;     /* our audit hook is registered */
static pid_t traced_pid;     /* the process whose connection is open; 0 = none */
static pid_t fork_child_pid; /* set in a forked child of a traced process */
static const struct ft_engine *engine;
static char exc_type[256], exc_module[256],
    exc_msg[1024]; /* uncaught exception, from sys.excepthook */

/* ---- Ends -------------------------------------------------------------------------- */

static int
is_traced_process(void)
{
    return traced_pid != 0 && traced_pid == (pid_t)syscall(SYS_getpid);
}

static void
end_run(int how, int status, int signo)
{
    struct ft_end e = {how, status, signo, exc_type[0] ? exc_type : NULL, exc_module, exc_msg};

    ft_session_end(&e);
    traced_pid = 0;
}

/* A forked child connects on its first record. One that recorded nothing (an idle pool
 * worker, say) still becomes a run when it ends, since it was a process of the program;
 * one that execs never does (the new image is traced, or is not Python). */
static void
connect_idle_child(void)
{
    /* Not from a vfork child of such a process: it shares the memory, and has another pid. */
    if (ft_tstate_fork_pending() && ft_self != NULL &&
        fork_child_pid == (pid_t)syscall(SYS_getpid)) {
        ft_tstate_child_connect();
    }
}

/* Called by exit() (and by returning from main) with the exit status. */
static void
at_exit(int status, void *arg)
{
    (void)arg;
    connect_idle_child();
    if (is_traced_process()) {
        end_run(exc_type[0] && status != 0 ? FT_END_EXCEPTION : FT_END_EXIT, status & 0xff, 0);
    }
}

/* Called at the end of Py_FinalizeEx: no Python code runs after this point. */
static void
at_py_finalized(void)
{
    if (!is_traced_process()) {
        return;
    }
    /* An uncaught KeyboardInterrupt makes CPython re-raise SIGINT on itself after
     * finalising, so exit() handlers never run: end the run here. */
    if (strcmp(exc_type, "KeyboardInterrupt") == 0) {
        end_run(FT_END_SIGNAL, -1, SIGINT);
        return;
    }
    ft_session_finalized();
}

/* os._exit() and any other caller of _exit(): flush everything, then leave exactly as
 * libc's _exit does. In a vfork child (same memory, other pid) this only exits. */
__attribute__((visibility("default"), noreturn)) void
_exit(int status)
{
    connect_idle_child();
    if (is_traced_process()) {
        end_run(FT_END_OS_EXIT, status & 0xff, 0);
    }
    for (;;) {
        syscall(SYS_exit_group, status);
    }
}

/* ---- Activation -------------------------------------------------------------------- */

static int
connect_writer(void)
{
    char why[512];
    int fd = ft_conn_open(why, sizeof(why)), err;

    if (fd < 0) {
        /* FLOWTRACE_CHILDREN=0 and no writer at the socket given: flowtrace-run's listens
         * from before the command starts until it ends, so this process started after the
         * program's end, one the writer would have refused, as silently. */
        if (!ft_cfg.children && ft_cfg.socket_given && (fd == -ENOENT || fd == -ECONNREFUSED)) {
            ft_debug("%s; not traced (FLOWTRACE_CHILDREN=0, the program has ended)", why);
            return fd;
        }
        ft_warn("%s; the program runs untraced", why);
        return fd;
    }
    if ((err = ft_session_hello(fd, engine->name)) != 0) {
        ft_warn("cannot send to the writer: %s; the program runs untraced", strerror(-err));
        return err;
    }
    /* FLOWTRACE_CHILDREN=0: the writer knows which processes are traced, so it decides
     * whether this one was started by one of them (fork, spawn, exec, a shell between).
     * The environment is left as it is: nothing the program can see changes. */
    if (!ft_cfg.children && (err = ft_session_wait_admission()) != 0) {
        if (err != -ECANCELED) {
            ft_warn("no answer from the writer (%s); the program runs untraced", strerror(-err));
        }
        return err;
    }
    if ((err = ft_session_start_flusher()) != 0) {
        ft_warn("cannot start the flusher thread: %s", strerror(-err));
        return err;
    }
    traced_pid = getpid();
    return 0;
}

/* A forked child's first record (or its end): it becomes a run of its own. */
static int
child_connect(void)
{
    if (!ft_cfg.children) {
        return -ECANCELED;
    }
    return connect_writer() != 0 ? -ENOTCONN : 0;
}

/* How the buffers reach the connection and the lifecycle (tstate.h). */
static const struct ft_tstate_hooks tstate_hooks = {
    .ship_full = ft_ship_full,
    .ship_big = ft_ship_big,
    .ship_now = ft_ship_now,
    .thread_end = ft_ship_thread_end,
    .child_connect = child_connect,
    .thread_started = ft_pylayout_thread_started,
};

/* Connects and installs the engine: at activation (the main thread, before the program's
 * first line), or in a running interpreter (ft_lifecycle_start: any thread, other threads
 * running too). Returns 0 or -errno, having said why. */
static int
start_tracing(int running)
{
    static int prepared, exits_hooked;
    char name[128] = "MainThread";
    int err;

    engine = ft_engine_select();
    if (!prepared) {
        if ((err = ft_tstate_init(&tstate_hooks)) != 0 || (err = ft_codes_init()) != 0) {
            ft_warn("cannot start tracing: %s", strerror(-err));
            return err;
        }
        ft_pylayout_init();
        prepared = 1;
    }
    if ((err = connect_writer()) != 0) {
        return err;
    }
    if (running) {
        ft_py_thread_name(name, sizeof(name));
    }
    if ((ft_self == NULL && ft_thread_register(name) == NULL) || engine->install() != 0 ||
        (running && engine->install_running() != 0)) {
        ft_warn("cannot install the %s hook; the program runs untraced", engine->name);
        return -ENOSYS;
    }
    if (!exits_hooked) {
        ft_py.Py_AtExit(at_py_finalized);
        on_exit(at_exit, NULL);
        exits_hooked = 1;
    }
    ft_signals_install();
    return 0;
}

static void
activate(const char *event)
{
    activated = 1;
    ft_debug("activating on %s (Python %d.%d)", event, (int)(ft_py.version >> 24), ft_py.minor);
    if (strcmp(event, "cpython.run_command") == 0) {
        ft_codes_set_main_source("<string>");
    } else if (strcmp(event, "cpython.run_stdin") == 0) {
        ft_codes_set_main_source("<stdin>");
    }
    start_tracing(0);
}

static void
atfork_child(void)
{
    if (traced_pid == 0) {
        return;
    }
    traced_pid = 0;
    ft_tstate_atfork_child();
    ft_session_atfork_child();
    ft_deflog_atfork_child();
    ft_srclog_atfork_child();
    ft_handoff_atfork_child();
    exc_type[0] = exc_module[0] = exc_msg[0] = '\0';
    fork_child_pid = (pid_t)syscall(SYS_getpid);
}

/* ---- Audit events ------------------------------------------------------------------- */

/* sys.excepthook(hook, type, value, traceback): the program is ending by an uncaught
 * exception (or the REPL is reporting one). */
static void
on_excepthook(PyObject *args)
{
    PyObject *type = ft_py.PyTuple_GetItem(args, 1);  /* borrowed */
    PyObject *value = ft_py.PyTuple_GetItem(args, 2); /* borrowed */

    if (type == NULL || value == NULL) {
        ft_py.PyErr_Clear();
        return;
    }
    ft_py_attr_text(type, "__module__", exc_module, sizeof(exc_module));
    ft_py_attr_text(type, "__qualname__", exc_type, sizeof(exc_type));
    ft_py_text(value, exc_msg, sizeof(exc_msg));
    /* The frames that unwound to the top get the details too. */
    if (ft_self != NULL) {
        ft_record_exception(ft_self, value, ft_py.PyTuple_GetItem(args, 3));
    }
}

static void
on_exec(PyObject *args)
{
    PyObject *path = ft_py.PyTuple_GetItem(args, 0); /* borrowed */
    char p[4096];

    ft_py_text(path, p, sizeof(p));
    ft_py.PyErr_Clear();
    ft_session_exec(p);
}

static int
audit_hook(const char *event, PyObject *args, void *data)
{
    struct ft_py_exc exc;
    int kind = 0;

    (void)data;
    /* Called for every audited operation of the program: cheap rejections first. */
    if (event[0] != 'c' && event[0] != 'o' && event[0] != 's' && event[0] != '_') {
        return 0;
    }
    if (event[0] == 's' && strcmp(event, "sys.settrace") == 0) {
        ft_engine_trace_set();
        return 0;
    }
    if (event[0] == 's' && strcmp(event, "sys.setprofile") == 0) {
        if (engine == &ft_engine_profile) {
            ft_engine_profile_set();
        }
        return 0;
    }
    if (event[0] == 'c' && strcmp(event, "cpython._PySys_ClearAuditHooks") == 0) {
        ft_audithook_clearing();
        return 0;
    }
    if (!activated) {
        if (strncmp(event, "cpython.run_", 12) == 0) {
            activate(event);
        }
        return 0;
    }
    if (strcmp(event, "os.exec") == 0) {
        kind = 1;
    } else if (strcmp(event, "sys.excepthook") == 0) {
        kind = 2;
    } else if (strcmp(event, "_thread.start_new_thread") == 0) {
        kind = 3;
    }
    if (kind == 0 || !is_traced_process()) {
        return 0;
    }
    ft_py_exc_save(&exc);
    if (kind == 1) {
        on_exec(args);
    } else if (kind == 2) {
        on_excepthook(args);
    } else {
        engine->thread_starting();
    }
    ft_py_exc_restore(&exc);
    return 0;
}

/* ---- Starting and stopping on request (control.h) ------------------------------------ */

int
ft_lifecycle_start(const char *settings, char *why, size_t cap)
{
    int err;

    if (!gate_passed) {
        snprintf(why, cap, "not a CPython process FlowTrace can trace");
        return -ENOSYS;
    }
    if (is_traced_process()) {
        snprintf(why, cap, "FlowTrace is recording this process already");
        return -EALREADY;
    }
    if (fork_child_pid != 0 || ft_tstate_fork_pending()) {
        snprintf(why, cap, "a forked child of a traced process is traced as it is");
        return -EBUSY;
    }
    if ((err = ft_config_load_with(settings, why, cap)) != 0) {
        return err;
    }
    if (ft_cfg.disabled) {
        snprintf(why, cap, "FLOWTRACE_DISABLE is set");
        return -ECANCELED;
    }
    /* Exec, the uncaught exception and other tracers are seen through the audit hook;
     * one added now is called like one added before the interpreter started. */
    if (!audit_hooked) {
        if (ft_py.PySys_AddAuditHook(audit_hook, NULL) != 0) {
            ft_py.PyErr_Clear();
            snprintf(why, cap, "cannot add an audit hook");
            return -EPERM;
        }
        audit_hooked = 1;
        pthread_atfork(NULL, NULL, atfork_child);
    }
    /* After a stop: a new connection, a new run, every definition sent again. */
    ft_session_restart();
    ft_tstate_restart();
    ft_deflog_resend();
    ft_srclog_resend();
    exc_type[0] = exc_module[0] = exc_msg[0] = '\0';
    activated = 1;
    if ((err = start_tracing(1)) != 0) {
        snprintf(why, cap, "cannot start recording (%s); see the line above", strerror(-err));
        ft_tstate_detach();
        return err;
    }
    return 0;
}

int
ft_lifecycle_recording(void)
{
    return gate_passed && is_traced_process();
}

int
ft_lifecycle_stop(void)
{
    if (!gate_passed || !is_traced_process()) {
        return -ENOTCONN;
    }
    engine->uninstall();
    ft_signals_uninstall();
    end_run(FT_END_DETACHED, -1, 0);
    return 0;
}

/* ---- The gate ---------------------------------------------------------------------- */

__attribute__((constructor)) static void
flowtrace_init(void)
{
    char msg[512];

    /* Not CPython (or older than 3.8): do nothing at all. */
    if (ft_pyapi_resolve() != 0) {
        return;
    }
    /* A set-user-ID, set-group-ID or capability-raising program (the loader only lets
     * us in from a trusted path): its environment is not to be trusted, and FlowTrace
     * would start programs (FLOWTRACE_WRITER) and write files with its privileges. */
    if (getauxval(AT_SECURE) != 0) {
        return;
    }
    gate_passed = 1;
    if (ft_config_load(msg, sizeof(msg)) != 0) {
        ft_warn("%s; the program runs untraced", msg);
        return;
    }
    if (ft_cfg.disabled) {
        return;
    }
    if (ft_audithook_add(audit_hook) != 0) {
        ft_debug("PySys_AddAuditHook failed; staying inert");
        return;
    }
    audit_hooked = 1;
    pthread_atfork(NULL, NULL, atfork_child);
    ft_debug("waiting for the interpreter (Python %s)", ft_py.Py_GetVersion());
}
