def step(n):
    return n * 2


def job(n):
    if n == 3:
        raise KeyError("job %d" % n)
    return step(n)


for i in range(1, 5):
    try:
        job(i)
    except KeyError:
        pass
