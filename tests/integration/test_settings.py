"""A setting means the same, and is refused for the same reason, whether it comes as a
flowtrace-run option or as a FLOWTRACE_* variable to a bare LD_PRELOAD: both read it with
lib/settings.c. A value out of its range is one line and an untraced run, never a run
with a value that does harm (a flush every nanosecond, a timeout of 1e-300 s read as 0)."""
import subprocess

import pytest

from conftest import RUN, clean_env, preload

CASES = [
    # variable, value, option, what it must be
    ("FLOWTRACE_FLUSH_INTERVAL", "1e-9", "--flush-interval",
     "0 or a number of seconds from 0.001 to 1000000"),
    ("FLOWTRACE_MAX_ARG_LENGTH", "2000000", "--max-arg-length",
     "a whole number from 0 to 1048576"),
    ("FLOWTRACE_MAX_DEPTH", "-1", "--max-depth", "a whole number from 0 to 1000000"),
    ("FLOWTRACE_MIN_DURATION", "nan", "--min-duration",
     "a number of microseconds from 0 to 1000000000000"),
    ("FLOWTRACE_KEEP", "some", "--keep", "'failed' or 'all'"),
    ("FLOWTRACE_DROP", "maybe", "--drop", "'true' or 'false'"),
    ("FLOWTRACE_UNIT", "nocolon", "--unit", "MODULE:FUNCTION"),
    ("FLOWTRACE_ACK_TIMEOUT", "1e-300", None, "a number of seconds from 0.001 to 1000000"),
    ("FLOWTRACE_WAIT_TIMEOUT", "0", None, "a number of seconds from 0.001 to 1000000"),
    ("FLOWTRACE_BUFFER_KB", "3", None, "a whole number from 4 to 16384"),
    ("FLOWTRACE_ENGINE", "fast", None, "'auto', 'profile' or 'monitoring'"),
]


@pytest.mark.parametrize("var,value,option,want", CASES, ids=[c[0] for c in CASES])
def test_a_value_out_of_range_is_refused_the_same_way_on_both_paths(tmp_path, var, value,
                                                                    option, want):
    env = clean_env(**{var: value})
    proc = preload("/usr/bin/python3", ["-c", "print('hi')"], tmp_path, env=env)
    assert (proc.returncode, proc.stdout) == (0, "hi\n")
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert f"{var}='{value}' is not {want}" in proc.stderr
    assert not (tmp_path / "out").exists()
    if option is None:
        return  # a variable only: no option
    proc = subprocess.run([str(RUN), "-o", str(tmp_path / "out"), f"{option}={value}",
                           "/usr/bin/python3", "-c", "print('hi')"], capture_output=True,
                          text=True, env=clean_env())
    assert (proc.returncode, proc.stdout) == (0, "hi\n")
    assert proc.stderr == (f"flowtrace-run: {option}={value}: not {want}; running the command "
                           "untraced\n")
