"""Two asyncio tasks running at once under one coroutine."""
import asyncio


async def fetch(name, delay):
    await asyncio.sleep(delay)
    return parse(name)


def parse(name):
    return name.upper()


async def main():
    first = asyncio.create_task(fetch("a", 0.02))
    second = asyncio.create_task(fetch("b", 0.01))
    return await first, await second


print(asyncio.run(main()))
