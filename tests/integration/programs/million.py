"""Exactly 1,000,000 calls of the program's own code: <module>, main and 999,998 leaves."""


def leaf(i):
    return i


def main():
    for i in range(999_998):
        leaf(i)


main()
