"""asyncio.gather: three tasks that run at the same time and end in another order."""
import asyncio


async def work(name, delay):
    await asyncio.sleep(delay)
    return step(name)


def step(name):
    return name.upper()


async def main():
    return await asyncio.gather(work("a", 0.02), work("b", 0.04), work("c", 0.01))


print(asyncio.run(main()))
