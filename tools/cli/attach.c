/* attach.c - checking a target process, its private writer, and code run inside it. */
#define _GNU_SOURCE
#include "attach.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What the target runs: load the library, call one entry point, leave a status line. It
 * runs in a namespace of its own (the entry below), so the program's modules gain no
 * name; ctypes is imported if it was not. */
static const char op_code[] =
    "def _flowtrace_attach():\n"
    "    import ctypes, os\n"
    "    try:\n"
    "        lib = ctypes.PyDLL(os.fsdecode(%s))\n"
    "        why = ctypes.create_string_buffer(1024)\n"
    "        if %d:\n"
    "            lib.flowtrace_start.argtypes = (ctypes.c_char_p, ctypes.c_char_p,\n"
    "                                            ctypes.c_size_t)\n"
    "            rc = lib.flowtrace_start(%s, why, 1024)\n"
    "        else:\n"
    "            rc = lib.flowtrace_stop()\n"
    "        msg = why.value.decode('utf-8', 'replace')\n"
    "    except BaseException as e:\n"
    "        rc, msg = -1, '%%s: %%s' %% (type(e).__name__, e)\n"
    "    with open(%s + b'.tmp', 'w') as f:\n"
    "        f.write('%%d %%s\\n' %% (rc, msg.replace('\\n', ' ')))\n"
    "    os.rename(%s + b'.tmp', %s)\n"
    "_flowtrace_attach()\n";

/* Run by the target's own interpreter binary (3.14): PEP 768's entry point. */
static const char remote_exec_code[] =
    "import sys\n"
    "try:\n"
    "    sys.remote_exec(int(sys.argv[1]), sys.argv[2])\n"
    "except PermissionError as e:\n"
    "    print('EPERM', e); sys.exit(3)\n"
    "except ProcessLookupError as e:\n"
    "    print('ESRCH', e); sys.exit(3)\n"
    "except BaseException as e:\n"
    "    print('ERROR %s: %s' % (type(e).__name__, e)); sys.exit(3)\n";

static const char *const priv_files[] = {"writer.sock", "runs",   "op.py",      "entry.py",
                                         "entry.bin",   "status", "status.tmp", "inject.log"};

static void
priv_path(const struct ft_attach *a, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", a->priv, name);
}

/* A Python bytes literal of s (paths are bytes to the library; any byte survives). */
static void
py_bytes(const char *s, char *out, size_t cap)
{
    size_t n = 0;

    n += (size_t)snprintf(out + n, cap - n, "b'");
    for (; *s != '\0' && n + 5 < cap; s++) {
        n += (size_t)snprintf(out + n, cap - n, "\\x%02x", (unsigned char)*s);
    }
    snprintf(out + n, cap - n, "'");
}

static int
write_file(const char *path, const char *text, size_t len, uid_t uid, gid_t gid)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    int err = 0;

    if (fd < 0) {
        return -errno;
    }
    if (write(fd, text, len) != (ssize_t)len) {
        err = -EIO;
    }
    if (getuid() == 0 && fchown(fd, uid, gid) != 0) {
        err = -errno;
    }
    close(fd);
    return err;
}

/* ---- The target --------------------------------------------------------------------- */

/* 3.<minor> from a name such as python3.11 or libpython3.13.so.1.0, or -1. */
static int
minor_in(const char *s, const char *prefix)
{
    const char *p = strstr(s, prefix);
    char *end;
    long m;

    if (p == NULL) {
        return -1;
    }
    m = strtol(p + strlen(prefix), &end, 10);
    return end != p + strlen(prefix) && m >= 0 && m < 100 ? (int)m : -1;
}

/* The interpreter's minor version: the executable's name (python3.N, static builds), or
 * a libpython3.N mapped into the process (shared builds, embedders). */
static int
python_minor(const struct ft_attach *a)
{
    const char *base = strrchr(a->exe, '/');
    char path[64], line[4608];
    int m = minor_in(base != NULL ? base : a->exe, "python3.");
    FILE *f;

    if (m >= 0) {
        return m;
    }
    snprintf(path, sizeof(path), "/proc/%d/maps", (int)a->pid);
    if ((f = fopen(path, "re")) == NULL) {
        return -1;
    }
    while (m < 0 && fgets(line, sizeof(line), f) != NULL) {
        m = minor_in(line, "/libpython3.");
    }
    fclose(f);
    return m;
}

static const char *
user_name(uid_t uid, char *buf, size_t cap)
{
    struct passwd *pw = getpwuid(uid);

    snprintf(buf, cap, "%s", pw != NULL ? pw->pw_name : "?");
    return buf;
}

static int
probe(struct ft_attach *a, char *why, size_t cap)
{
    char path[64];
    struct stat st;
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%d", (int)a->pid);
    if (stat(path, &st) != 0) {
        snprintf(why, cap, "process %d does not exist", (int)a->pid);
        return -ESRCH;
    }
    a->uid = st.st_uid;
    a->gid = st.st_gid;
    if (geteuid() != 0 && st.st_uid != geteuid()) {
        char them[64], me[64];
        snprintf(why, cap,
                 "process %d belongs to user %s (uid %u), not to you (%s, uid %u): attach as "
                 "that user, or as root",
                 (int)a->pid, user_name(st.st_uid, them, sizeof(them)), (unsigned)st.st_uid,
                 user_name(geteuid(), me, sizeof(me)), (unsigned)geteuid());
        return -EPERM;
    }
    snprintf(path, sizeof(path), "/proc/%d/exe", (int)a->pid);
    if ((n = readlink(path, a->exe, sizeof(a->exe) - 1)) < 0) {
        int err = errno;
        if (err == EACCES || err == EPERM) {
            /* The kernel's ptrace access check: the same answer ptrace would give. */
            snprintf(why, cap,
                     "no permission to trace process %d (its /proc entries are closed to you: "
                     "it is not dumpable, or ptrace is restricted)",
                     (int)a->pid);
            return -EPERM;
        }
        snprintf(why, cap, "cannot read process %d's executable: %s%s", (int)a->pid, strerror(err),
                 err == ENOENT ? " (a kernel thread, or a process that ended)" : "");
        return err == ENOENT ? -ESRCH : -err;
    }
    a->exe[n] = '\0';
    a->minor = python_minor(a);
    if (a->minor < 0) {
        snprintf(why, cap, "process %d (%s) is not a CPython process", (int)a->pid, a->exe);
        return -ENOEXEC;
    }
    if (a->minor < 11 || a->minor > 14) {
        snprintf(why, cap, "process %d runs Python 3.%d; flowtrace attach supports 3.11 to 3.14",
                 (int)a->pid, a->minor);
        return -ENOTSUP;
    }
    return 0;
}

int
ft_attach_alive(pid_t pid)
{
    char path[64], text[512];
    const char *paren;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        return 0;
    }
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    /* "pid (comm) S ...": a process that ended and waits for its parent to reap it
     * (Z, X) runs no more code, though its /proc entry stays. */
    paren = strrchr(text, ')');
    return paren == NULL || paren[1] == '\0' || (paren[2] != 'Z' && paren[2] != 'X');
}

/* ---- Our parts, the private directory, the writer ------------------------------------- */

static int
find_parts(struct ft_attach *a, char *why, size_t cap)
{
    char self[4096], *slash;
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

    if (n < 0) {
        snprintf(why, cap, "cannot find my own executable: %s", strerror(errno));
        return -errno;
    }
    self[n] = '\0';
    slash = strrchr(self, '/');
    *slash = '\0';
    /* Beside this program (build/, the wheel's flowtrace/_bin), or `make install`'s. */
    snprintf(a->lib, sizeof(a->lib), "%.4000s/libflowtrace.so", self);
    if (access(a->lib, R_OK) != 0) {
        snprintf(a->lib, sizeof(a->lib), "%.4000s/../lib/flowtrace/libflowtrace.so", self);
    }
    snprintf(self, sizeof(self), "%s", a->lib);
    *strrchr(self, '/') = '\0';
    snprintf(a->writer, sizeof(a->writer), "%.4000s/flowtrace-writer", self);
    if (access(a->lib, R_OK) != 0 || access(a->writer, X_OK) != 0) {
        snprintf(why, cap, "libflowtrace.so or flowtrace-writer not found beside %s", self);
        return -ENOENT;
    }
    return 0;
}

/* mkdir -p, the directories made 0700 (traces hold the program's data). */
static int
make_dirs(const char *dir)
{
    char p[4096];

    snprintf(p, sizeof(p), "%s", dir);
    for (char *s = p + 1; *s != '\0'; s++) {
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0700) != 0 && errno != EEXIST) {
                return -errno;
            }
            *s = '/';
        }
    }
    return mkdir(p, 0700) != 0 && errno != EEXIST ? -errno : 0;
}

/* When root attaches to another user's process, that user's: the library in the target
 * connects as them, and the writer accepts only its own user. */
static int
as_target(const struct ft_attach *a)
{
    return geteuid() == 0 && a->uid != 0;
}

static int
prepare_dirs(struct ft_attach *a, const char *dir, char *why, size_t cap)
{
    const char *tmp = getenv("TMPDIR");
    char real[PATH_MAX];
    struct stat st;
    int made = stat(dir, &st) != 0, err;

    if ((err = make_dirs(dir)) != 0 || realpath(dir, real) == NULL) {
        snprintf(why, cap, "cannot create output directory '%s': %s", dir,
                 strerror(err != 0 ? -err : errno));
        return err != 0 ? err : -errno;
    }
    snprintf(a->dir, sizeof(a->dir), "%s", real);
    if (made && as_target(a) && chown(a->dir, a->uid, a->gid) != 0) {
        snprintf(why, cap, "cannot give '%s' to uid %u: %s", a->dir, (unsigned)a->uid,
                 strerror(errno));
        return -errno;
    }
    /* Socket paths are short: a long TMPDIR falls back to /tmp. */
    if (tmp == NULL || tmp[0] != '/' || strlen(tmp) > 60) {
        tmp = "/tmp";
    }
    snprintf(a->priv, sizeof(a->priv), "%s/flowtrace-attach.XXXXXX", tmp);
    if (mkdtemp(a->priv) == NULL) {
        snprintf(why, cap, "cannot create a private directory in %s: %s", tmp, strerror(errno));
        a->priv[0] = '\0';
        return -errno;
    }
    if (as_target(a) && chown(a->priv, a->uid, a->gid) != 0) {
        snprintf(why, cap, "cannot give %s to uid %u: %s", a->priv, (unsigned)a->uid,
                 strerror(errno));
        return -errno;
    }
    return 0;
}

static int
start_writer(struct ft_attach *a, char *why, size_t cap)
{
    char sock[4200], runs[4200], parent_fd[16];
    struct stat st;
    pid_t pid;
    int status, pipefd[2];

    priv_path(a, "writer.sock", sock, sizeof(sock));
    priv_path(a, "runs", runs, sizeof(runs));
    /* Its --parent-fd: killed outright, this process cannot stop the writer, whose pipe
     * then ends and makes it leave once the target is no longer connected. */
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        snprintf(why, cap, "cannot start flowtrace-writer: %s", strerror(errno));
        return -errno;
    }
    snprintf(parent_fd, sizeof(parent_fd), "%d", pipefd[0]);
    if ((pid = fork()) < 0) {
        int err = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        snprintf(why, cap, "cannot start flowtrace-writer: %s", strerror(err));
        return -err;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        fcntl(pipefd[0], F_SETFD, 0); /* the read end stays open across exec */
        /* Its own session: Ctrl+C is for us, and the writer must finish the run. */
        setsid();
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        if (as_target(a) && (setgroups(0, NULL) != 0 || setresgid(a->gid, a->gid, a->gid) != 0 ||
                             setresuid(a->uid, a->uid, a->uid) != 0)) {
            _exit(126);
        }
        execl(a->writer, "flowtrace-writer", "--dir", a->dir, "--socket", sock, "--runs-file", runs,
              "--parent-fd", parent_fd, (char *)NULL);
        _exit(127);
    }
    close(pipefd[0]);
    a->writer_pipe = pipefd[1];
    a->writer_pid = pid;
    for (int i = 0; i < 2500; i++) {
        if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode)) {
            return 0;
        }
        if (waitpid(pid, &status, WNOHANG) == pid) {
            a->writer_pid = 0;
            break;
        }
        usleep(2000);
    }
    snprintf(why, cap, "flowtrace-writer did not start (its output is above)");
    return -EIO;
}

int
ft_attach_open(struct ft_attach *a, pid_t pid, const char *dir, char *why, size_t cap)
{
    int err;

    memset(a, 0, sizeof(*a));
    a->writer_pipe = -1;
    a->pid = pid;
    if ((err = probe(a, why, cap)) != 0 || (err = find_parts(a, why, cap)) != 0 ||
        (err = prepare_dirs(a, dir, why, cap)) != 0 || (err = start_writer(a, why, cap)) != 0) {
        ft_attach_close(a, NULL, 0);
        return err;
    }
    return 0;
}

/* ---- Code in the target ---------------------------------------------------------------- */

static int
write_code(struct ft_attach *a, enum ft_attach_op op, char *why, size_t cap)
{
    static char code[32768];
    char lib[16500], settings[20000], status[16500], path[4200], entry[4400], sock[4200];
    char plain[8600];
    int n, err;

    priv_path(a, "writer.sock", sock, sizeof(sock));
    snprintf(plain, sizeof(plain), "FLOWTRACE_SOCKET=%s\nFLOWTRACE_DIR=%s\n", sock, a->dir);
    py_bytes(a->lib, lib, sizeof(lib));
    py_bytes(plain, settings, sizeof(settings));
    priv_path(a, "status", path, sizeof(path));
    unlink(path);
    py_bytes(path, status, sizeof(status));
    /* The status path is a str to open() (bytes work too, the same on Linux). */
    n = snprintf(code, sizeof(code), op_code, lib, op == FT_ATTACH_START, settings, status, status,
                 status);
    priv_path(a, "op.py", path, sizeof(path));
    if (n < 0 || (size_t)n >= sizeof(code) ||
        write_file(path, code, (size_t)n, a->uid, a->gid) != 0) {
        snprintf(why, cap, "cannot write %s", path);
        return -EIO;
    }
    /* In a namespace of its own, so nothing lands in __main__; and never raising: an
     * exception out of a pending call would surface in the program as a SystemError. A
     * KeyboardInterrupt meant for the program is handed back to its main thread. */
    py_bytes(path, lib, sizeof(lib));
    n = snprintf(entry, sizeof(entry),
                 "try:\n"
                 "    exec(compile(open(%s, 'rb').read(), '<flowtrace attach>', 'exec'), {})\n"
                 "except KeyboardInterrupt:\n"
                 "    __import__('_thread').interrupt_main()\n"
                 "except BaseException:\n"
                 "    pass\n",
                 lib);
    priv_path(a, "entry.py", path, sizeof(path));
    if ((err = write_file(path, entry, (size_t)n, a->uid, a->gid)) != 0) {
        snprintf(why, cap, "cannot write %s", path);
        return err;
    }
    priv_path(a, "entry.bin", path, sizeof(path));
    return write_file(path, entry, (size_t)n + 1, a->uid, a->gid); /* with its NUL */
}

/* Runs argv with stdout and stderr in the private directory's inject.log; returns its
 * exit status, or -errno / 127 if it could not be run. */
static int
run_logged(const struct ft_attach *a, const char *const argv[], char *log, size_t cap)
{
    char path[4200];
    pid_t pid;
    int status, fd;

    log[0] = '\0';
    priv_path(a, "inject.log", path, sizeof(path));
    if ((pid = fork()) < 0) {
        return -errno;
    }
    if (pid == 0) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        close(0);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    log[0] = '\0';
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
        ssize_t n = read(fd, log, cap - 1);
        log[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The last non-empty line of text that contains needle (or the last line). */
static const char *
log_line(char *text, const char *needle)
{
    char *save = NULL, *line;
    const char *found = NULL, *last = "";

    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        last = line;
        if (needle != NULL && strstr(line, needle) != NULL) {
            found = line;
        }
    }
    return found != NULL ? found : last;
}

static int
inject_remote_exec(struct ft_attach *a, char *why, size_t cap)
{
    char pid[32], entry[4200], log[4096];
    const char *argv[] = {a->exe, "-I", "-S", "-c", remote_exec_code, pid, entry, NULL};
    int rc;

    snprintf(pid, sizeof(pid), "%d", (int)a->pid);
    priv_path(a, "entry.py", entry, sizeof(entry));
    rc = run_logged(a, argv, log, sizeof(log));
    if (rc == 0) {
        return 0;
    }
    if (strncmp(log, "EPERM", 5) == 0) {
        snprintf(why, cap, "no permission to trace process %d (%s)", (int)a->pid,
                 log_line(log + 6, NULL));
        return -EPERM;
    }
    if (strncmp(log, "ESRCH", 5) == 0) {
        snprintf(why, cap, "process %d is gone", (int)a->pid);
        return -ESRCH;
    }
    snprintf(why, cap, "sys.remote_exec into process %d failed: %s", (int)a->pid,
             log_line(log, "ERROR"));
    return -EIO;
}

static int
inject_gdb(struct ft_attach *a, char *why, size_t cap)
{
    char pid[32], restore[4300], log[16384];
    const char *argv[] = {
        "gdb",    "-nx",
        "-batch", "-q",
        "-iex",   "set debuginfod enabled off",
        "-p",     pid,
        "-ex",    "set $ft_page = (char *)mmap((void *)0, 4096L, 3, 0x22, -1, 0L)",
        "-ex",    restore,
        "-ex",    "print (int)Py_AddPendingCall((void *)PyRun_SimpleString, (void *)$ft_page)",
        NULL};
    const char *line;
    int rc;

    snprintf(pid, sizeof(pid), "%d", (int)a->pid);
    snprintf(restore, sizeof(restore), "restore %s/entry.bin binary $ft_page", a->priv);
    rc = run_logged(a, argv, log, sizeof(log));
    if (rc == 127 && log[0] == '\0') {
        snprintf(why, cap,
                 "gdb is needed to attach to Python 3.11-3.13, and was not found "
                 "(Debian: apt-get install gdb)");
        return -ENOENT;
    }
    if (strstr(log, "$1 = 0") != NULL) {
        return 0;
    }
    if (strstr(log, "Operation not permitted") != NULL) {
        snprintf(why, cap,
                 "no permission to trace process %d (ptrace: Operation not permitted): it is "
                 "not dumpable, or ptrace is restricted (kernel.yama.ptrace_scope)",
                 (int)a->pid);
        return -EPERM;
    }
    if (strstr(log, "No such process") != NULL || !ft_attach_alive(a->pid)) {
        snprintf(why, cap, "process %d is gone", (int)a->pid);
        return -ESRCH;
    }
    line = log_line(log, "Py_AddPendingCall");
    snprintf(why, cap, "gdb could not queue the code in process %d: %s", (int)a->pid, line);
    return -EIO;
}

int
ft_attach_inject(struct ft_attach *a, enum ft_attach_op op, char *why, size_t cap)
{
    int err = write_code(a, op, why, cap);

    if (err != 0) {
        return err;
    }
    return a->minor >= 14 ? inject_remote_exec(a, why, cap) : inject_gdb(a, why, cap);
}

int
ft_attach_status(const struct ft_attach *a, char *line, size_t cap)
{
    char path[4200];
    FILE *f;
    char *msg;
    long rc;

    priv_path(a, "status", path, sizeof(path));
    if ((f = fopen(path, "re")) == NULL) {
        return -EAGAIN;
    }
    if (fgets(line, (int)cap, f) == NULL) {
        line[0] = '\0';
    }
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    rc = strtol(line, &msg, 10);
    if (rc == 0) {
        return 0;
    }
    memmove(line, msg + (*msg == ' '), strlen(msg + (*msg == ' ')) + 1);
    if (line[0] == '\0') {
        snprintf(line, cap, "the library answered %s", strerror((int)-rc));
    }
    return -EPROTO;
}

/* ---- The end ------------------------------------------------------------------------- */

/* The run of the target in the runs file the writer appends (run lines: kind, run dir,
 * ...; unit lines start with "unit"). */
static void
find_run(const struct ft_attach *a, char *run, size_t cap)
{
    char path[4200], line[8192];
    FILE *f;

    run[0] = '\0';
    priv_path(a, "runs", path, sizeof(path));
    if ((f = fopen(path, "re")) == NULL) {
        return;
    }
    while (run[0] == '\0' && fgets(line, sizeof(line), f) != NULL) {
        char *tab = strchr(line, '\t'), *end;
        if (strncmp(line, "unit\t", 5) == 0 || tab == NULL) {
            continue;
        }
        end = strchr(tab + 1, '\t');
        if (end != NULL) {
            *end = '\0';
        }
        snprintf(run, cap, "%s", tab + 1);
    }
    fclose(f);
}

void
ft_attach_close(struct ft_attach *a, char *run, size_t cap)
{
    int status;

    if (a->writer_pid > 0) {
        /* Every run the writer has is written before it exits. */
        kill(a->writer_pid, SIGTERM);
        while (waitpid(a->writer_pid, &status, 0) < 0 && errno == EINTR) {
        }
        a->writer_pid = 0;
    }
    if (a->writer_pipe >= 0) {
        close(a->writer_pipe);
        a->writer_pipe = -1;
    }
    if (run != NULL && cap > 0) {
        find_run(a, run, cap);
    }
    if (a->priv[0] != '\0') {
        for (size_t i = 0; i < sizeof(priv_files) / sizeof(priv_files[0]); i++) {
            char path[4200];
            priv_path(a, priv_files[i], path, sizeof(path));
            unlink(path);
        }
        rmdir(a->priv);
        a->priv[0] = '\0';
    }
}
