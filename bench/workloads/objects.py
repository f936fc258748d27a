"""Object-oriented: a small simulation of accounts, orders and a ledger."""


class Account:
    def __init__(self, owner, balance=0):
        self.owner = owner
        self.balance = balance

    def deposit(self, amount):
        self.balance += amount
        return self.balance

    def withdraw(self, amount):
        if amount > self.balance:
            raise ValueError("insufficient funds")
        self.balance -= amount
        return self.balance


class Ledger:
    def __init__(self):
        self.entries = []

    def record(self, kind, account, amount):
        self.entries.append((kind, account.owner, amount))


class Bank:
    def __init__(self, n):
        self.accounts = [Account(f"user{i}", 100) for i in range(n)]
        self.ledger = Ledger()

    def transfer(self, src, dst, amount):
        try:
            src.withdraw(amount)
        except ValueError:
            self.ledger.record("refused", src, amount)
            return False
        dst.deposit(amount)
        self.ledger.record("transfer", src, amount)
        return True

    def day(self, seed):
        n = len(self.accounts)
        for i in range(n):
            self.transfer(self.accounts[i], self.accounts[(i * seed + 7) % n], (i * seed) % 150)


def main():
    bank = Bank(500)
    for seed in range(1, 1200):
        bank.day(seed)
    return len(bank.ledger.entries)


main()
