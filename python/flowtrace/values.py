"""A recorded value as FlowTrace shows it (docs/format.md, "Showing a value").

A run's values (`args`, `result`, `argsAfter`, `locals` in events.jsonl and tree.json)
are, from format 3 on, JSON values: None, booleans, numbers, strings, lists and dicts of
them as themselves, and every other value described as {"type": T, "repr": R}. In
formats 1 and 2 every value is a string holding its repr. shown() turns either back into
the text the terminal shows:

    >>> import json
    >>> from flowtrace.values import shown
    >>> shown(json.loads('{"user": "ana", "n": 2}'))
    "{'user': 'ana', 'n': 2}"
    >>> shown("'ana'", format=2)
    "'ana'"

Pure Python, no import of the tracer: reading a run never loads libflowtrace.so.
"""

_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def described(value):
    """Whether a decoded format-3 value is a described value: an object with a string
    member "repr" (any other object is a dict)."""
    return isinstance(value, dict) and isinstance(value.get("repr"), str)


def _quoted(text):
    # The tracer's str rendering: repr()'s quote choice and escapes for ASCII control
    # characters; other text as it is.
    quote = '"' if "'" in text and '"' not in text else "'"
    out = [quote]
    for c in text:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif c == quote:
            out.append("\\" + c)
        elif c < " " or c == "\x7f":
            out.append("\\x%02x" % ord(c))
        else:
            out.append(c)
    out.append(quote)
    return "".join(out)


def shown(value, format=3):
    """The text a recorded value stands for: Python's repr of the value it was. value is
    decoded JSON (json.loads); format is the run's output format (tree.json "format")."""
    if format < 3:
        return value if isinstance(value, str) else shown(value)
    if value is None:
        return "None"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, list):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    if described(value):
        return value["repr"]
    if isinstance(value, dict):
        return "{" + ", ".join(_quoted(k) + ": " + shown(v) for k, v in value.items()) + "}"
    raise TypeError(f"not a decoded JSON value: {type(value).__name__}")
