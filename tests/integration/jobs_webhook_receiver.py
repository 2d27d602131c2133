#!/usr/bin/env python3
"""A webhook receiver for the jobs tests: answers 500 to the first FAIL_FIRST deliveries of each
job, then 200; checks X-Corral-Signature (sha256=HMAC-SHA256(secret, raw body)) on every one and
answers 401 when it does not match. Each delivery is appended to LOG as a JSON line.
Usage: jobs_webhook_receiver.py PORT_FILE LOG SECRET FAIL_FIRST"""
import hashlib
import hmac
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port_file, log_path, secret, fail_first = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4])
seen = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        got = self.headers.get("X-Corral-Signature", "")
        signature_ok = hmac.compare_digest(want, got)
        try:
            job = json.loads(body)
        except ValueError:
            job = {}
        job_id = job.get("id", "")
        with lock:
            seen[job_id] = seen.get(job_id, 0) + 1
            n = seen[job_id]
            status = 401 if not signature_ok else (500 if n <= fail_first else 200)
            with open(log_path, "a") as f:
                f.write(json.dumps({"job": job_id, "delivery": n, "signature_ok": signature_ok,
                                    "answered": status, "job_status": job.get("status"),
                                    "attempt_header": self.headers.get("X-Corral-Delivery-Attempt")}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os  # noqa: E402
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
