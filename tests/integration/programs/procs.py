"""Starts other processes the way argv[1] says; each piece of work is a named call.

The parent calls before_fork() before starting anything and after() once all children
have ended; children call in_child(). Prints one line per child result, then "done".
"""
import concurrent.futures
import multiprocessing
import os
import subprocess
import sys

CHILD_CODE = "def in_child(x):\n    return x + 1\nprint('child', in_child(41))\n"


def in_child(x):
    return x + 1


def before_fork():
    return 0


def after():
    return 1


def work(x):
    return in_child(x)


def main(how):
    before_fork()
    if how == "fork":
        pid = os.fork()
        if pid == 0:
            print("child", in_child(41), flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
    elif how in ("mp-fork", "mp-spawn", "mp-forkserver"):
        ctx = multiprocessing.get_context(how[3:])
        p = ctx.Process(target=work, args=(41,))
        p.start()
        p.join()
        print("child exit", p.exitcode)
    elif how == "pool":
        ctx = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as ex:
            print("results", sorted(ex.map(work, range(6))))
    elif how == "subprocess":
        subprocess.run([sys.executable, "-c", CHILD_CODE], check=True)
    elif how == "shell":
        # A shell between the two Pythons, and a program that is not Python at all.
        subprocess.run(["sh", "-c", f"'{sys.executable}' -c \"$0\"; echo from sh", CHILD_CODE],
                       check=True)
    elif how == "exec":
        sys.stdout.flush()
        os.execv(sys.executable, [sys.executable, "-c", CHILD_CODE])
    elif how == "late":
        # A child that starts Python only once this program has ended: a shell reading a
        # pipe whose write end only this program holds (EOF when it exits), then exec'ing
        # python, which connects to the writer after the program's end (multiprocessing's
        # resource tracker can, under load).
        subprocess.Popen(["sh", "-c", "read line; exec \"$0\" -c \"$1\"", sys.executable,
                          CHILD_CODE], stdin=subprocess.PIPE)
    elif how == "late-after-writer":
        # As "late", but the shell execs python only once the writer's socket is gone
        # (with --no-children the program's end is the end).
        subprocess.Popen(["sh", "-c", "read line; while [ -e \"$FLOWTRACE_SOCKET\" ]; do "
                          "sleep 0.01; done; exec \"$0\" -c \"$1\"", sys.executable,
                          CHILD_CODE], stdin=subprocess.PIPE)
    elif how in ("left-running", "daemon"):
        # A child left running, untraced (not Python), after the program ends (a daemon:
        # in a session of its own): it ends when the caller closes the pipe that is this
        # program's stdin.
        subprocess.Popen(["sh", "-c", "read line"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=how == "daemon")
    elif how == "env":
        # The environment a child sees is the parent's: tracing adds nothing to it.
        out = subprocess.run([sys.executable, "-c",
                              "import os; print(sorted(os.environ.items()))"],
                             check=True, capture_output=True, text=True).stdout
        print("same env", out.strip() == str(sorted(os.environ.items())))
    after()
    print("done")


if __name__ == "__main__":
    main(sys.argv[1])
