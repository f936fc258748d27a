/* runs.c - finished runs: parent lookup and the runs file read by flowtrace-run. */
#include "runs.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/script.h"
#include "lib/sink.h"
#include "lib/wire.h"

#define RECENT 256

static struct {
    uint64_t pid;
    int how;
    char id[96];
} recent[RECENT];
static unsigned recent_next;

/* s without tabs and newlines (they separate fields and lines), cut to cap. */
static const char *
one_field(const char *s, char *out, size_t cap)
{
    size_t i = 0;

    for (; s != NULL && s[i] != '\0' && i + 1 < cap; i++) {
        out[i] = s[i];
        if (out[i] == '\t' || out[i] == '\n' || out[i] == '\r') {
            out[i] = ' ';
        }
    }
    out[i] = '\0';
    return i > 0 ? out : "-";
}

/* Appends one line to runs_file in one write: flowtrace-run reads the file while it
 * grows. */
static void
append(const char *runs_file, const char *line, int n, size_t cap)
{
    int fd = open(runs_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

    if (fd >= 0 && n > 0) {
        ft_write_all(fd, line, (size_t)n < cap ? (size_t)n : cap - 1);
    }
    if (fd >= 0) {
        close(fd);
    }
}

void
ft_runs_unit_ended(const char *run_path, const struct ft_unit_row *u, const char *runs_file)
{
    char line[8192], name[2048], error[2048];
    int n;

    if (runs_file == NULL || !u->failed) {
        return;
    }
    n = snprintf(line, sizeof(line), "unit\t%s\t%s%s%s\t%s\t%s\n", u->outcome, run_path,
                 u->tree ? "/" : "", u->tree ? u->tree : "", one_field(u->name, name, sizeof(name)),
                 one_field(u->error, error, sizeof(error)));
    append(runs_file, line, n, sizeof(line));
}

void
ft_runs_unwritten(uint64_t pid, const char *runs_file)
{
    char line[64];
    int n;

    if (runs_file == NULL) {
        return;
    }
    n = snprintf(line, sizeof(line), "unwritten\t%llu\n", (unsigned long long)pid);
    append(runs_file, line, n, sizeof(line));
}

void
ft_runs_finished(const struct ft_run_info *info, const char *runs_file)
{
    char line[8192], script[512], status[16];
    int n;

    recent[recent_next % RECENT].pid = info->pid;
    recent[recent_next % RECENT].how = info->how;
    snprintf(recent[recent_next % RECENT].id, sizeof(recent[0].id), "%s", info->id);
    recent_next++;
    if (runs_file == NULL) {
        return;
    }
    ft_script_name(info->argv, info->argv_len, script, sizeof(script));
    if (info->have_status) {
        snprintf(status, sizeof(status), "%d", info->status);
    } else {
        snprintf(status, sizeof(status), "-");
    }
    n = snprintf(line, sizeof(line), "%s\t%s\t%llu\t%s\t%s\t%s\t%llu\t%s\n", info->id, info->path,
                 (unsigned long long)info->pid, info->parent_run ? info->parent_run : "-",
                 ft_wire_end_name(info->how), status, (unsigned long long)info->calls, script);
    append(runs_file, line, n, sizeof(line));
}

const char *
ft_runs_recent_parent(uint64_t pid, uint64_t ppid)
{
    for (unsigned i = 0; i < RECENT && i < recent_next; i++) {
        unsigned k = (recent_next - 1 - i) % RECENT;
        if (recent[k].pid == pid && recent[k].how == FT_END_EXEC) {
            return recent[k].id;
        }
    }
    for (unsigned i = 0; i < RECENT && i < recent_next; i++) {
        unsigned k = (recent_next - 1 - i) % RECENT;
        if (recent[k].pid == ppid) {
            return recent[k].id;
        }
    }
    return NULL;
}
