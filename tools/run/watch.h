/* watch.h - flowtrace-run's watch over its two children: signals passed on to the command,
 * the writer's stderr relayed, both reaped, and the command's end made flowtrace-run's.
 *
 * Signals are blocked and read from a signalfd, so none is lost or handled twice and no
 * handler runs at an awkward moment. Which signals reach the command directly, and which
 * only through flowtrace-run, depends on process groups (see docs/architecture.md,
 * "flowtrace-run"); ft_watch_start() chooses, so that each reaches it once:
 *
 *   LEAVE  flowtrace-run does not lead its group: it moves to a group of its own and the
 *          command stays in the caller's group, exactly where it would be untraced. A
 *          signal to that group reaches the command directly; one sent to flowtrace-run
 *          is passed to the command.
 *   SHARE  flowtrace-run leads its group and has a terminal (a job of an interactive
 *          shell): the command stays in the group, so job control (Ctrl+Z, fg) works.
 *          Signals from the terminal reach both and are not passed on; others are.
 *   OWN    flowtrace-run leads its group and has no terminal (setsid, a new session from
 *          Popen, a container's first process): the command gets a group of its own, and
 *          what flowtrace-run receives goes to that group, as tini -g and dumb-init do.
 */
#ifndef FT_RUN_WATCH_H
#define FT_RUN_WATCH_H

#include <signal.h>
#include <sys/types.h>

enum ft_group_plan { FT_GROUP_LEAVE, FT_GROUP_SHARE, FT_GROUP_OWN };

struct ft_watch {
    int sfd;           /* signalfd: the signals passed on, and SIGCHLD */
    sigset_t old_mask; /* the mask flowtrace-run was started with */
    struct sigaction old_pipe, old_ttin, old_ttou;
    enum ft_group_plan plan;
    pid_t caller_pgid; /* LEAVE: the group the command stays in */
    sigset_t early;    /* signals received before the command started */
    pid_t cmd, writer; /* 0 until started */
    int cmd_status, writer_status;
    int cmd_done, writer_done;
    int relay;    /* the writer's stderr (read end), -1 once at its end */
    int stop_now; /* a termination signal came after the command had ended */
};

/* Blocks the signals it passes on and SIGCHLD, opens the signalfd, and chooses the plan
 * (LEAVE moves flowtrace-run to a group of its own now). Returns 0 or a negative errno. */
int ft_watch_start(struct ft_watch *w);

/* In a child before exec, or before exec'ing an untraced command: the signal mask and
 * dispositions flowtrace-run was started with. Async-signal-safe. */
void ft_watch_restore(const struct ft_watch *w);

/* In the command's child: its process group as planned, then ft_watch_restore(). */
void ft_watch_child(const struct ft_watch *w);

/* In the parent, right after forking the command: its group (OWN), and the signals that
 * came before it, passed on. */
void ft_watch_started(struct ft_watch *w, pid_t cmd);

/* Waits up to timeout_ms (-1: until something happens) and handles what happened:
 * signals passed on, the writer's stderr copied to ours, children reaped. */
void ft_watch_step(struct ft_watch *w, int timeout_ms);

/* Whether a signal received with siginfo code `code`, sent by `from` (0: the kernel) of
 * group from_pgid (-1: unknown), is to be passed on to the command `cmd` of group
 * cmd_pgid under `plan`: not if the command got it already (the terminal's signals to
 * the foreground group; its own group's signals, in SHARE and OWN) or sent it. */
int ft_watch_passes_on(enum ft_group_plan plan, int code, pid_t from, pid_t from_pgid, pid_t cmd,
                       pid_t cmd_pgid);

/* Ends flowtrace-run as a process ending with wait status `status` would: the same exit
 * status, or death by the same signal (no core dump of flowtrace-run's own). */
_Noreturn void ft_exit_as(int status);

#endif
