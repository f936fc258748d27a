import unittest

class Calc(unittest.TestCase):
    def test_ok(self):
        self.assertEqual(1 + 1, 2)
    def test_bad(self):
        self.assertEqual(compute(), 3)
    def test_err(self):
        raise KeyError("nope")
    @unittest.skip("later")
    def test_skip(self):
        pass

def compute():
    return 2

if __name__ == "__main__":
    unittest.main()
