"""A local OTLP/HTTP receiver for the tests (no collector is installable here): it takes
POST /v1/traces with the JSON encoding, checks every request against the OTLP/JSON mapping
(ExportTraceServiceRequest: lowerCamelCase fields, trace and span ids as lowercase hex,
64-bit integers as decimal strings, enums as numbers, attribute values as AnyValue) and
keeps the spans. It can answer the first requests with a status of the test's choosing."""
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HEX = re.compile(r"^[0-9a-f]*$")
SPAN_FIELDS = {"traceId", "spanId", "parentSpanId", "traceState", "name", "kind",
               "startTimeUnixNano", "endTimeUnixNano", "attributes", "events", "status"}


def check_value(v):
    assert isinstance(v, dict) and len(v) == 1, v
    [(k, x)] = v.items()
    if k == "stringValue":
        assert isinstance(x, str)
    elif k == "intValue":
        assert isinstance(x, str) and re.fullmatch(r"-?[0-9]+", x), x  # int64: a string
    elif k == "boolValue":
        assert isinstance(x, bool)
    else:
        raise AssertionError("unexpected AnyValue %r" % k)


def check_attrs(attrs):
    assert isinstance(attrs, list)
    for a in attrs:
        assert set(a) == {"key", "value"} and isinstance(a["key"], str), a
        check_value(a["value"])


def check_ids(span):
    assert len(span["traceId"]) == 32 and HEX.match(span["traceId"]), span["traceId"]
    assert span["traceId"] != "0" * 32
    assert len(span["spanId"]) == 16 and HEX.match(span["spanId"]), span["spanId"]
    assert span["spanId"] != "0" * 16
    if "parentSpanId" in span:
        assert len(span["parentSpanId"]) == 16 and HEX.match(span["parentSpanId"])


def check_request(body):
    """Asserts that body is an ExportTraceServiceRequest in OTLP/JSON; returns its spans,
    each with the resource's attributes as "resource"."""
    spans = []
    assert set(body) == {"resourceSpans"}, body.keys()
    for rs in body["resourceSpans"]:
        assert set(rs) == {"resource", "scopeSpans"}, rs.keys()
        check_attrs(rs["resource"]["attributes"])
        resource = {a["key"]: list(a["value"].values())[0] for a in rs["resource"]["attributes"]}
        for ss in rs["scopeSpans"]:
            assert ss["scope"]["name"] == "flowtrace"
            for s in ss["spans"]:
                assert set(s) <= SPAN_FIELDS and {"traceId", "spanId", "name", "kind"} <= set(s)
                check_ids(s)
                assert isinstance(s["kind"], int) and s["kind"] in (1, 2)
                for t in ("startTimeUnixNano", "endTimeUnixNano"):
                    assert isinstance(s[t], str) and s[t].isdigit(), s[t]  # fixed64: a string
                assert int(s["startTimeUnixNano"]) <= int(s["endTimeUnixNano"])
                check_attrs(s["attributes"])
                for e in s.get("events", []):
                    assert set(e) == {"timeUnixNano", "name", "attributes"}
                    assert e["timeUnixNano"].isdigit()
                    check_attrs(e["attributes"])
                assert isinstance(s["status"]["code"], int) and s["status"]["code"] in (0, 1, 2)
                s = dict(s, resource=resource,
                         attrs={a["key"]: list(a["value"].values())[0] for a in s["attributes"]})
                spans.append(s)
    return spans


class Receiver:
    """receiver = Receiver(fail=[503, 503]); receiver.url; receiver.spans; receiver.close()"""

    def __init__(self, fail=(), retry_after=None):
        self.fail = list(fail)
        self.retry_after = retry_after
        self.spans, self.requests, self.errors, self.answers = [], [], [], []
        self.bodies = []  # every request's body, as received
        self.lock = threading.Lock()
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with rec.lock:
                    rec.requests.append((self.path, dict(self.headers)))
                    rec.bodies.append(body)
                    status = rec.fail.pop(0) if rec.fail else 200
                    rec.answers.append(status)
                    if status == 200:
                        try:
                            assert self.path == "/v1/traces"
                            assert self.headers["Content-Type"] == "application/json"
                            rec.spans.extend(check_request(json.loads(body)))
                        except AssertionError as e:  # reported by the test, not the server
                            rec.errors.append(repr(e))
                self.send_response(status)
                if status != 200 and rec.retry_after is not None:
                    self.send_header("Retry-After", str(rec.retry_after))
                reply = b"{}" if status == 200 else b'{"message":"try later"}'
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        assert not self.errors, self.errors
