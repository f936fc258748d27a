"""Library-heavy: the program's few calls spend their time in the standard library."""
import collections
import sys
import json
import re
import textwrap

DOC = {"users": [{"id": i, "name": f"user {i}", "tags": ["a", "b", str(i)]} for i in range(200)]}
WORD = re.compile(r"[a-z]+")


def parse_and_count(text):
    data = json.loads(text)
    counts = collections.Counter()
    for user in data["users"]:
        counts.update(WORD.findall(user["name"]))
    return counts


def report(counts):
    return textwrap.fill(" ".join(f"{k}={v}" for k, v in counts.most_common(5)), width=40)


def main():
    text = json.dumps(DOC)
    for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 1500):
        report(parse_and_count(text))


main()
