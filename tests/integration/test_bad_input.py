"""The writer treats its socket as untrusted: a garbage, truncated, oversized or
out-of-order stream ends that connection with a clear message (to the sender and on the
writer's stderr), the run it belonged to keeps every frame before the bad one, and every
other run goes on intact."""
import socket
import struct
import subprocess

from conftest import PROGRAMS, balanced, runs_in
from procs_util import Writer, wait_ready

MAGIC = 0x31465446
HELLO, THREAD, DEFS, EVENTS, END, NOTE = 1, 3, 4, 5, 9, 12


def frame(kind, payload=b"", thread=0, length=None):
    n = len(payload) if length is None else length
    return struct.pack("<IHHII", MAGIC, kind, 0, n, thread) + payload


def tlv(tag, value):
    if isinstance(value, int):
        value = struct.pack("<Q", value)
    return struct.pack("<II", tag, len(value)) + value


def hello(pid):
    anchor = struct.pack("<QQQ", 10**9, 10**9, 1_700_000_000 * 10**9)
    return frame(HELLO, tlv(1, 1 << 32 | 1) + tlv(2, pid) + tlv(3, 1) + tlv(8, 0) +
                 tlv(9, anchor) + tlv(5, b"python3\0fake.py"))


def define(code_id, name):
    strs = b"fake" + name + b"/fake.py"
    body = struct.pack("<QIIIIII", code_id, 0, 1, 4, len(name), 8, 0) + strs
    return frame(DEFS, body + b"\0" * (-len(body) % 8))


def call(code_id, ticks):
    return struct.pack("<QQ", code_id << 8 | 1, ticks)


GOOD_START = lambda pid: (hello(pid) + frame(THREAD, tlv(10, pid) + tlv(11, b"MainThread"), 1) +
                          define(1, b"ok") + frame(EVENTS, call(1, 10**9 + 5), 1))

# name -> (bytes sent, the reason the writer gives, whether a run is left)
BAD = {
    "garbage": (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 4, "not a FlowTrace stream (bad magic)",
                False),
    "truncated": (GOOD_START(90001) + frame(EVENTS, b"\1" * 10, 1, length=1000),
                  "stream truncated in the middle of a frame", True),
    "oversized": (GOOD_START(90002) + frame(EVENTS, b"", 1, length=64 << 20),
                  "frame too large", True),
    "out-of-order": (frame(EVENTS, call(1, 5), 1), "frame out of order", False),
    "hello-twice": (GOOD_START(90003) + hello(90003), "frame out of order", True),
    "undefined-code": (GOOD_START(90004) + frame(EVENTS, call(77, 10**9 + 9), 1),
                       "event refers to an undefined code id", True),
    "bad-record": (GOOD_START(90005) + frame(EVENTS, struct.pack("<Q", 0) * 2, 1),
                   "malformed event record", True),
}


def send_bad(sock_path, data, close_after):
    """Sends data; returns the NOTE's reason the writer answered with (or None)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(str(sock_path))
    s.sendall(data)
    if close_after:
        s.shutdown(socket.SHUT_WR)
    s.settimeout(30)
    got = b""
    while True:
        try:
            chunk = s.recv(4096)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        got += chunk
    s.close()
    while len(got) >= 16:
        magic, kind, _, n, _ = struct.unpack_from("<IHHII", got)
        body, got = got[16:16 + n], got[16 + n:]
        if magic == MAGIC and kind == NOTE:
            tag, length = struct.unpack_from("<II", body)
            return body[8:8 + length].decode()
    return None


def test_bad_streams_end_their_connection_and_leave_other_runs_intact(python, tmp_path):
    w = Writer(tmp_path)
    good = subprocess.Popen([python, PROGRAMS / "calls.py", "20000", "wait"], cwd=tmp_path,
                            env=w.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    wait_ready(good)
    reasons = {name: send_bad(w.socket, data, close_after=name == "truncated")
               for name, (data, _, _) in BAD.items()}
    out, err = good.communicate("go\n", timeout=120)
    status, werr = w.stop()

    # The traced program never noticed.
    assert (good.returncode, out, err) == (0, "done\n", "")
    # Each bad sender was told why (a truncated stream has hung up: nobody to tell).
    for name, (_, why, _) in BAD.items():
        if name != "truncated":
            assert why in reasons[name], (name, reasons[name])
    # One line per bad connection on the writer's stderr, then it exits 1.
    lines = werr.splitlines()
    assert len(lines) == len(BAD), werr
    for why in {why for _, why, _ in BAD.values()}:
        assert sum(why in l and l.endswith("connection closed, other runs continue")
                   for l in lines) == sum(w_ == why for _, w_, _ in BAD.values())
    assert status == 1

    runs = {r.tree["pid"]: r for r in runs_in(tmp_path / "out")}
    # The good run is complete: every call, nothing lost.
    [real] = [r for pid, r in runs.items() if pid == good.pid]
    assert real.tree["ended"] == "exit" and real.tree["tracer"]["lost"] == 0
    assert balanced(real.events) == 20002
    # A bad stream that had started a run keeps every frame before the bad one.
    fakes = {pid: r for pid, r in runs.items() if pid != good.pid}
    assert sorted(fakes) == [90001, 90002, 90003, 90004, 90005]
    for run in fakes.values():
        assert run.tree["ended"] == "killed"
        assert run.tree["endReason"].startswith("stream error: ")
        assert [e["function"] for e in run.events] == ["ok", "ok"]
        assert run.events[-1]["incomplete"].startswith("stream error: ")
