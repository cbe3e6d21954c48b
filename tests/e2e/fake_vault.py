#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# fake_vault.py - a stand-in for kurad's deletion requests, for client tests
# only (tests/e2e/vault_forget_client.sh): HTTPS with a self-signed key,
# GET of a local repository's listings and files under /v1/repos/REPO/, and
# POST/GET /v1/repos/REPO/deletions answered from a scripted answer file.
#
#   fake_vault.py CERT KEY PORTFILE REPO_DIR REPO TOKEN STATE_DIR
#
# STATE_DIR/answer holds "STATUS\n" and the JSON body to send to the next
# POST; every POST's headers and body are appended to STATE_DIR/posts as
# one JSON line.  The port it listens on is written to PORTFILE.
import http.server, json, os, socketserver, ssl, sys

cert, key, portfile, repo_dir, repo, token, state = sys.argv[1:8]
DIRS = {"config": "config", "keys": "keys", "snapshots": "snapshots", "index": "index", "data": "data"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, body, ctype="application/json"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorized(self):
        if self.headers.get("Authorization") != "Bearer " + token:
            self.send(401, json.dumps({"error": "bad token"}))
            return False
        return True

    def files(self, kind):
        base = os.path.join(repo_dir, DIRS[kind])
        out = []
        for root, _, names in os.walk(base):
            for n in names:
                if len(n) == 64:
                    out.append((n, os.path.join(root, n)))
        return out

    def do_GET(self):
        if not self.authorized():
            return
        parts = self.path.split("/")
        # ['', 'v1', 'repos', REPO, TYPE, NAME]
        if len(parts) != 6 or parts[1:3] != ["v1", "repos"] or parts[3] != repo:
            return self.send(404, json.dumps({"error": "no such path"}))
        kind, name = parts[4], parts[5]
        if kind == "deletions" and name == "":
            return self.send(200, open(os.path.join(state, "list")).read())
        if kind not in DIRS:
            return self.send(404, json.dumps({"error": "no such type"}))
        if name == "":
            return self.send(200, json.dumps(
                [{"name": n, "size": os.path.getsize(p)} for n, p in self.files(kind)]))
        for n, p in self.files(kind):
            if n == name:
                data = open(p, "rb").read()
                rng = self.headers.get("Range")
                if rng:
                    a, b = rng[len("bytes="):].split("-")
                    chunk = data[int(a):int(b) + 1]
                    self.send_response(206)
                    self.send_header("Content-Length", str(len(chunk)))
                    self.send_header("Content-Range", "bytes %s-%d/%d" % (a, int(a) + len(chunk) - 1, len(data)))
                    self.end_headers()
                    self.wfile.write(chunk)
                    return
                return self.send(200, data, "application/octet-stream")
        self.send(404, json.dumps({"error": "not found"}))

    def do_POST(self):
        if not self.authorized():
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(os.path.join(state, "posts"), "a") as f:
            f.write(json.dumps({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                "body": body.decode("utf-8", "replace")}) + "\n")
        if self.path != "/v1/repos/%s/deletions" % repo:
            return self.send(404, json.dumps({"error": "no such path"}))
        status, answer = open(os.path.join(state, "answer")).read().split("\n", 1)
        self.send(int(status), answer)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = Server(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
