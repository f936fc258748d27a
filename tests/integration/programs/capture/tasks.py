"""Two asyncio tasks running at once under one coroutine. b finishes while a is suspended,
whatever the machine's load: b's sleep(0) only yields (its next step is already queued when
a's timer comes due; the loop runs what was queued first), where a timer of 10 ms against
one of 20 ms set a moment apart raced (a loaded machine that took over 10 ms between the
two tasks' first steps woke a first)."""
import asyncio


async def fetch(name, delay):
    await asyncio.sleep(delay)
    return parse(name)


def parse(name):
    return name.upper()


async def main():
    first = asyncio.create_task(fetch("a", 0.02))
    second = asyncio.create_task(fetch("b", 0))
    return await first, await second


print(asyncio.run(main()))
