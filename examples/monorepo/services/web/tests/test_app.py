import unittest

import app


class OrderStatusTest(unittest.TestCase):
    def test_known_order(self):
        self.assertEqual(app.order_status("1001"), "shipped")

    def test_unknown_order(self):
        self.assertIsNone(app.order_status("9999"))


if __name__ == "__main__":
    unittest.main()
