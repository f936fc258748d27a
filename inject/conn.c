/* conn.c - connecting to flowtrace-writer, starting one when none is running. */
#define _GNU_SOURCE
#include "conn.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

extern char **environ;

static int
try_connect(const char *path)
{
    struct sockaddr_un sa;
    int fd;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/* The directory holding a derived socket must be ours and private: otherwise another
 * user could receive our events or feed us a fake writer. */
static int
private_dir(const char *dir, char *why, size_t cap)
{
    struct stat st;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(why, cap, "cannot create %s: %s", dir, strerror(errno));
        return -errno;
    }
    if (lstat(dir, &st) != 0) {
        snprintf(why, cap, "cannot inspect %s: %s", dir, strerror(errno));
        return -errno;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077) != 0) {
        snprintf(why, cap, "%s is not a private directory owned by this user", dir);
        return -EPERM;
    }
    return 0;
}

static int
is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
find_writer(char *out, size_t cap)
{
    static const char *rel[] = {"flowtrace-writer", "../bin/flowtrace-writer",
                                "../libexec/flowtrace/flowtrace-writer"};
    Dl_info info;
    char lib[4096];

    if (ft_cfg.writer[0] != '\0') {
        snprintf(out, cap, "%s", ft_cfg.writer);
        return access(out, X_OK) == 0 ? 0 : -ENOENT;
    }
    if (dladdr((void *)find_writer, &info) == 0 || info.dli_fname == NULL) {
        return -ENOENT;
    }
    snprintf(lib, sizeof(lib), "%s", info.dli_fname);
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        snprintf(out, cap, "%s/%s", dirname(lib), rel[i]);
        snprintf(lib, sizeof(lib), "%s", info.dli_fname);
        if (access(out, X_OK) == 0) {
            return 0;
        }
    }
    return -ENOENT;
}

/* Environment for the writer: ours without LD_PRELOAD, so it does not load us. */
static char **
writer_env(void)
{
    size_t n = 0, j = 0;
    char **env;

    while (environ[n] != NULL) {
        n++;
    }
    env = calloc(n + 1, sizeof(*env));
    if (env == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0) {
            env[j++] = environ[i];
        }
    }
    return env;
}

static int
spawn_writer(char *why, size_t cap)
{
    char exe[4096], log[4200];
    static char a0[] = "flowtrace-writer", a1[] = "--dir", a3[] = "--socket", a5[] = "--idle-exit",
                a6[] = "2", a7[] = "--detach";
    char *argv[] = {a0, a1, ft_cfg.dir, a3, ft_cfg.socket, a5, a6, a7, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    char **env;
    pid_t pid;
    int err, status;

    if (find_writer(exe, sizeof(exe)) != 0) {
        snprintf(why, cap, "flowtrace-writer not found beside the library (set FLOWTRACE_WRITER)");
        return -ENOENT;
    }
    if (mkdir(ft_cfg.dir, 0700) != 0 && errno != EEXIST) {
        snprintf(why, cap, "cannot create output directory %s: %s", ft_cfg.dir, strerror(errno));
        return -errno;
    }
    if (!is_dir(ft_cfg.dir) || access(ft_cfg.dir, W_OK | X_OK) != 0) {
        int e = is_dir(ft_cfg.dir) ? errno : ENOTDIR;
        snprintf(why, cap, "cannot write to output directory %s: %s", ft_cfg.dir, strerror(e));
        return -e;
    }
    snprintf(log, sizeof(log), "%s/writer.log", ft_cfg.dir);
    env = writer_env();
    if (env == NULL) {
        return -ENOMEM;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    /* O_NOFOLLOW: in a shared output directory another user could plant a link. */
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600);
    /* The program's pipes must not stay open in the writer: a caller reading them
     * would wait for the writer to exit. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    {
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
    }
    err = posix_spawn(&pid, exe, &fa, &attr, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    free(env);
    if (err != 0) {
        snprintf(why, cap, "cannot start %s: %s", exe, strerror(err));
        return -err;
    }
    /* With --detach the writer forks its daemon after binding the socket and exits: once
     * this returns, the socket accepts connections. */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ft_debug("started writer %s for %s", exe, ft_cfg.dir);
    return 0;
}

int
ft_conn_open(char *why, size_t cap)
{
    int fd = try_connect(ft_cfg.socket), err;

    if (fd >= 0) {
        return fd;
    }
    if (ft_cfg.socket_given) {
        snprintf(why, cap, "cannot connect to the writer at %s: %s", ft_cfg.socket, strerror(-fd));
        return fd;
    }
    if ((err = private_dir(ft_cfg.sockdir, why, cap)) != 0 || (err = spawn_writer(why, cap)) != 0) {
        return err;
    }
    for (int i = 0; i < 200; i++) {
        struct timespec ts = {0, 10000000};
        fd = try_connect(ft_cfg.socket);
        if (fd >= 0 || (fd != -ENOENT && fd != -ECONNREFUSED)) {
            break;
        }
        nanosleep(&ts, NULL);
    }
    if (fd < 0) {
        snprintf(why, cap, "cannot connect to the writer at %s: %s (see %s/writer.log)",
                 ft_cfg.socket, strerror(-fd), ft_cfg.dir);
    }
    return fd;
}
