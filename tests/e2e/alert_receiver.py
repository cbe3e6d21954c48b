#!/usr/bin/env python3
"""alert_receiver.py - a webhook receiver on loopback for the alert tests.

alert_receiver.py MODE PORTFILE LOG [CERT KEY]: listens on 127.0.0.1 on a
free port (over TLS with the certificate CERT and its key KEY if given),
writes the port to PORTFILE once listening, and appends one JSON line per
POST to LOG ({"headers": {...}, "body": "...", "status": N}).
MODE: ok (answer 200), fail-once (500 to the first POST, then 200),
hang (accept connections and never answer: a receiver that is down).
"""
import http.server
import json
import socket
import sys
import time

mode, portfile, log = sys.argv[1], sys.argv[2], sys.argv[3]
tls = sys.argv[4:6]

if mode == "hang":
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    conns = []
    with open(portfile + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    import os
    os.rename(portfile + ".tmp", portfile)
    while True:
        c, _ = s.accept()
        conns.append(c)  # kept open, never read or answered

seen = {"n": 0}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        seen["n"] += 1
        status = 500 if mode == "fail-once" and seen["n"] == 1 else 200
        with open(log, "a") as f:
            f.write(json.dumps({"headers": dict(self.headers.items()), "path": self.path,
                                "body": body.decode(), "status": status,
                                "time": time.time()}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
if tls:
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls[0], tls[1])
    # a client that refuses the certificate fails the handshake in accept():
    # socketserver drops that connection and goes on serving
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
