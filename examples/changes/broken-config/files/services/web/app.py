"""A tiny order-status web service for the acme/shop demo."""

import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

ORDERS = {"1001": "shipped", "1002": "processing", "1003": "returned"}


def order_status(order_id):
    """Returns the status of an order, or None when it is unknown."""
    return ORDERS.get(order_id)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            self._reply(200, {"ok": True})
            return
        if self.path.startswith("/orders/"):
            status = order_status(self.path.rsplit("/", 1)[-1])
            if status is None:
                self._reply(404, {"error": "unknown order"})
            else:
                self._reply(200, {"status": status})
            return
        self._reply(404, {"error": "not found"})

    def _reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    HTTPServer(("", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
