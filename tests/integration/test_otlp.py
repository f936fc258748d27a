"""Live OpenTelemetry export (FLOWTRACE_OTLP, OTEL_*): each finished unit and run reaches a
collector as OTLP/HTTP JSON while the program runs; a request's span joins its caller's
trace (W3C traceparent); a collector that fails gets retries, then a counted loss, and the
program never notices. The receiver (otlp_receiver.py) checks every request against the
OTLP/JSON mapping."""
import json
import subprocess
from pathlib import Path

import pytest

from conftest import clean_env, trace
from otlp_receiver import Receiver

HERE = Path(__file__).parent / "units"
DEBIAN = "/usr/bin/python3"
CALLER_TRACE, CALLER_SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
JOBS = ["job_pool", "job_thread", "job_fails"]


def has(*modules):
    return subprocess.run([DEBIAN, "-c", "import " + ", ".join(modules)],
                          capture_output=True).returncode == 0


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def by_id(spans):
    return {s["spanId"]: s for s in spans}


def children(spans, parent):
    return [s for s in spans if s.get("parentSpanId") == parent["spanId"]]


def run_jobs(tmp_path, **env):
    return trace(DEBIAN, [HERE / "handoff_jobs.py"], tmp_path,
                 wrapper_args=["--unit", ",".join("__main__:" + j for j in JOBS)],
                 env=clean_env(**env))


@pytest.mark.skipif(not has("fastapi", "uvicorn"), reason="python3-fastapi/uvicorn missing")
def test_requests_are_server_spans_in_their_callers_traces(tmp_path, receiver):
    proc, [run] = trace(DEBIAN, [HERE / "otlp_app.py"], tmp_path, env=clean_env(
        FLOWTRACE_OTLP=receiver.url, FLOWTRACE_OTLP_SPANS=10, OTEL_SERVICE_NAME="shop",
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment=staging,team=a%2Cb",
        OTEL_EXPORTER_OTLP_HEADERS="x-api-key=s3cr%3Dt"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "/items/3 200\n/boom 500\n/items/300 200\n"
    assert "OTLP" not in proc.stderr  # nothing lost
    spans = receiver.spans
    assert all(path == "/v1/traces" and headers["x-api-key"] == "s3cr=t"
               for path, headers in receiver.requests)
    resource = spans[0]["resource"]
    assert resource["service.name"] == "shop"
    assert resource["deployment.environment"] == "staging" and resource["team"] == "a,b"
    assert resource["process.pid"] == str(run.tree["pid"])
    assert resource["flowtrace.run.id"] == run.tree["run"]

    servers = [s for s in spans if s["kind"] == 2]
    assert [(s["name"], s["attrs"]["url.path"], s["attrs"]["http.response.status_code"])
            for s in servers] == [("GET /items/{item_id}", "/items/3", "200"),
                                  ("GET /boom", "/boom", "500"),
                                  ("GET /items/{item_id}", "/items/300", "200")]
    ok, boom, big = servers
    assert ok["attrs"]["http.request.method"] == "GET"
    assert ok["attrs"]["http.route"] == "/items/{item_id}"
    assert ok["attrs"]["client.address"] == "127.0.0.1"
    assert ok["status"] == {"code": 0} and "parentSpanId" not in ok  # no caller: a root
    assert len({ok["traceId"], boom["traceId"], big["traceId"]}) == 3

    # The caller's trace context: /boom's span is a child of the caller's span.
    assert boom["traceId"] == CALLER_TRACE and boom["parentSpanId"] == CALLER_SPAN
    assert boom["traceState"] == "vendor=x"
    assert boom["status"]["code"] == 2 and boom["attrs"]["error.type"] == "500"
    [event] = boom["events"]
    assert event["name"] == "exception"
    attrs = {a["key"]: a["value"]["stringValue"] for a in event["attributes"]}
    assert attrs == {"exception.type": "ValueError", "exception.message": "negative: -1",
                     "exception.stacktrace": "boom > leaf"}

    # The calls, under their callers, the hand-offs' threads named.
    [item] = children(spans, ok)
    assert item["name"] == "item" and item["kind"] == 1
    assert item["attrs"]["code.function.name"] == "__main__.item"
    assert item["attrs"]["code.file.path"].endswith("otlp_app.py")
    assert item["attrs"]["thread.name"] == "AnyIO worker thread"
    [work] = children(spans, item)
    [gen] = children(spans, work)
    assert [c["name"] for c in children(spans, gen)] == ["leaf"] * 3
    [handler] = children(spans, boom)
    [failed] = children(spans, handler)
    assert failed["attrs"]["thread.name"] == "pool_0" and failed["status"]["code"] == 2
    assert failed["events"][0]["name"] == "exception"

    # Bounded: at most FLOWTRACE_OTLP_SPANS calls per unit, the rest counted; what is kept
    # is the shallowest, so every kept call's caller is there too.
    kept = [s for s in spans if s["traceId"] == big["traceId"] and s is not big]
    assert len(kept) == 10
    assert int(big["attrs"]["flowtrace.calls"]) == 304
    assert int(big["attrs"]["flowtrace.calls_not_exported"]) == 304 - 1 - 10
    ids = by_id(kept + [big])
    assert all(s["parentSpanId"] in ids for s in kept)

    # And the run itself: a span of its own trace, its top-level calls under it.
    [run_span] = [s for s in spans if s["name"] == "otlp_app.py"]
    assert run_span["attrs"]["process.exit.code"] == "0"
    assert run_span["attrs"]["flowtrace.units_failed"] == "1"
    assert [c["name"] for c in children(spans, run_span)] == ["<module>"]


@pytest.mark.skipif(not has("pytest"), reason="python3-pytest missing")
def test_tests_are_spans_of_the_runs_trace(tmp_path, receiver):
    (tmp_path / "test_suite.py").write_text((HERE / "pytest_suite.py").read_text())
    proc, [run] = trace(DEBIAN, ["-m", "pytest", "-q", "-p", "no:cacheprovider", "test_suite.py"],
                        tmp_path, env=clean_env(FLOWTRACE_OTLP=receiver.url, CI="1"))
    assert proc.returncode == 1, proc.stderr
    spans = receiver.spans
    [run_span] = [s for s in spans if s["name"] == "-m pytest"]
    tests = [s for s in spans if "test.case.name" in s["attrs"]]
    assert [(s["attrs"]["test.case.name"], s["attrs"]["test.case.result.status"],
             s["status"]["code"]) for s in tests] == [
        ("test_suite.py::test_pass", "pass", 0), ("test_suite.py::test_fail", "fail", 2),
        ("test_suite.py::test_error", "fail", 2), ("test_suite.py::test_skip", "skipped", 0)]
    assert all(s["traceId"] == run_span["traceId"] and s["parentSpanId"] == run_span["spanId"]
               for s in tests)
    assert tests[1]["events"][0]["name"] == "exception"


def test_a_failing_collector_gets_retries_with_back_off(tmp_path):
    receiver = Receiver(fail=[503, 503])
    try:
        proc, [run] = run_jobs(tmp_path, FLOWTRACE_OTLP=receiver.url)
    finally:
        receiver.close()
    assert proc.returncode == 0, proc.stderr
    assert "OTLP" not in proc.stderr
    assert receiver.answers[:3] == [503, 503, 200]
    units = [s for s in receiver.spans if s["attrs"].get("flowtrace.unit.kind") == "function"]
    # (in the order the units' last records reached the writer)
    assert sorted(s["name"] for s in units) == sorted("__main__:" + j for j in JOBS)


def test_the_wrappers_otlp_option_sends_there(tmp_path, receiver):
    proc, [run] = trace(DEBIAN, [HERE / "handoff_jobs.py"], tmp_path,
                        wrapper_args=["--otlp=" + receiver.url, "--unit", "__main__:job_pool"],
                        env=clean_env())
    assert proc.returncode == 0, proc.stderr
    assert [s["name"] for s in receiver.spans if s["name"] == "__main__:job_pool"] == [
        "__main__:job_pool"]


def test_an_unreachable_collector_costs_a_counted_loss_and_nothing_else(tmp_path):
    receiver = Receiver()
    url = receiver.url
    receiver.close()  # nobody listens there any more
    proc, [run] = run_jobs(tmp_path, FLOWTRACE_OTLP=url)
    assert proc.returncode == 0
    assert "job_fails raised negative: -1\noutside 13\n" in proc.stdout
    lost = [line for line in proc.stderr.splitlines() if "spans not delivered" in line]
    assert len(lost) == 1, proc.stderr
    assert url in lost[0] and "Couldn't connect" in lost[0]
    # The run is written as ever.
    units = [json.loads(line) for line in open(run.path / "units.jsonl")]
    assert sorted(u["name"] for u in units) == sorted("__main__:" + j for j in JOBS)


def test_a_rejected_batch_is_lost_at_once_and_said(tmp_path):
    receiver = Receiver(fail=[400] * 10)
    try:
        proc, [run] = run_jobs(tmp_path, FLOWTRACE_OTLP=receiver.url)
    finally:
        receiver.close()
    assert proc.returncode == 0
    assert set(receiver.answers) == {400}
    # Each batch once: a 400 is never retried.
    assert len(set(receiver.bodies)) == len(receiver.bodies)
    assert "HTTP 400" in proc.stderr and "spans not delivered" in proc.stderr
