#!/usr/bin/env python3
"""A stand-in for an LLM API, for tests/integration/t_keygate.sh.

keygate_upstream.py PORTFILE RECORD [CERT KEY]: listens on the host's 127.0.0.1 (a free port,
written to PORTFILE once it listens; over TLS with CERT and KEY), appends one JSON line per
request to RECORD (method, path, every header as received, the body), and answers JSON. A path
containing "stream" is answered as server-sent events, three of them 0.3 s apart, without a
Content-Length: the test sees the first before the last is sent."""
import http.server
import json
import ssl
import sys
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def record(self, body):
        rec = {"method": self.command, "path": self.path,
               "headers": [[k, v] for k, v in self.headers.items()], "body": body.decode("latin1")}
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps(rec) + "\n")

    def do_any(self):
        n = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(n) if n else b""
        self.record(body)
        if "stream" in self.path:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            for i in range(3):
                self.wfile.write(b"event: tick\ndata: {\"n\": %d, \"t\": %.3f}\n\n" % (i, time.time()))
                self.wfile.flush()
                time.sleep(0.3)
            self.close_connection = True
            return
        out = json.dumps({"ok": True, "path": self.path, "body_bytes": len(body)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_any

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if len(sys.argv) > 4:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()
