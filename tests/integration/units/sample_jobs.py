"""200 calls of job(), each a unit of work under --unit __main__:job; every tenth one
fails (its exception is caught here: the program goes on)."""


def step(n):
    return n + 1


def job(i):
    if i % 10 == 3:
        raise KeyError("job %d" % i)
    return sum(step(k) for k in range(5))


for i in range(200):
    try:
        job(i)
    except KeyError:
        pass
print("done")
