#!/usr/bin/env python3
# tests/e2e/ui_helper.py - HTTP helpers for tests/e2e/ui_chromium.sh and
# metrics_prometheus.sh, talking to a real kurad over TLS on loopback.
#
#   login ADDR CERT TOKEN             POST token to /ui/login; print the session cookie
#   forward ADDR CERT COOKIE PORTFILE LOG
#                                     a plain-HTTP forwarder on a free loopback port
#                                     (written to PORTFILE) that passes GETs under /ui/
#                                     to kurad with the session cookie added and relays
#                                     kurad's answer unchanged (status, headers, body);
#                                     every path asked for is appended to LOG
#   page FILE                         check a dumped DOM (Chromium's --dump-dom) and
#                                     print its figures as JSON
#   hammer ADDR CERT COOKIE TOKEN N   N hostile requests at /ui/ and /metrics
#
# Why a forwarder: headless Chromium cannot post a form without JavaScript
# and has no switch to take a cookie, and writing into a profile's
# encrypted cookie database depends on Chromium's version.  The forwarder
# adds only the Cookie header; everything Chromium renders (the HTML, the
# CSP and other headers, the style sheet) is kurad's own answer.
import http.client
import http.server
import json
import socket
import ssl
import sys
import threading
import urllib.parse
from html.parser import HTMLParser


_contexts = {}


def context(cert):
    # The vault's self-signed certificate is the trust anchor; it names no host.
    if cert not in _contexts:
        ctx = ssl.create_default_context(cafile=cert)
        ctx.check_hostname = False
        _contexts[cert] = ctx
    return _contexts[cert]


def conn(addr, cert):
    host, port = addr.rsplit(":", 1)
    return http.client.HTTPSConnection(host, int(port), context=context(cert), timeout=30)


def login(addr, cert, token):
    c = conn(addr, cert)
    body = urllib.parse.urlencode({"token": token})
    c.request("POST", "/ui/login", body=body,
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    r.read()
    if r.status != 303:
        sys.exit("login: status %d" % r.status)
    cookie = r.getheader("Set-Cookie") or ""
    attrs = [a.strip() for a in cookie.split(";")]
    for want in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/ui/"):
        if want not in attrs:
            sys.exit("login: cookie lacks %s: %s" % (want, cookie))
    if r.getheader("Location") != "/ui/":
        sys.exit("login: Location %r" % r.getheader("Location"))
    print(attrs[0].split("=", 1)[1])


def forward(addr, cert, cookie, portfile, log):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            with open(log, "a") as f:
                f.write(self.path + "\n")
            if not self.path.startswith("/ui/"):
                self.send_error(404)
                return
            c = conn(addr, cert)
            c.request("GET", self.path, headers={"Cookie": "kura_ui=" + cookie})
            r = c.getresponse()
            body = r.read()
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "date", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


class Page(HTMLParser):
    """Sections, rows' data-* attributes, and anything that must not be there."""

    def __init__(self):
        super().__init__()
        self.sections, self.rows, self.bad, self.text = [], [], [], []
        self.section = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.section = a.get("id")
            self.sections.append(self.section)
        if tag in ("script", "iframe", "object", "embed", "base"):
            self.bad.append(tag)
        for k, v in attrs:
            if k.startswith("on") or k == "style":
                self.bad.append("%s attribute on %s" % (k, tag))
            if k in ("src", "href", "action") and v and (
                    "//" in v or v.lower().startswith(("javascript:", "http"))):
                self.bad.append("external %s=%s" % (k, v))
        data = {k[5:]: v for k, v in attrs if k.startswith("data-")}
        if data:
            data["_section"] = self.section
            data["_tag"] = tag
            self.rows.append(data)

    def handle_data(self, d):
        self.text.append(d)


def page(path):
    p = Page()
    p.feed(open(path, encoding="utf-8").read())
    print(json.dumps({"sections": p.sections, "rows": p.rows, "bad": p.bad,
                      "text": "".join(p.text)}))


def raw(addr, cert, data):
    """Send raw bytes over TLS; the status code answered, or 0 if the vault closed."""
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=30)
    t = context(cert).wrap_socket(s)
    try:
        t.sendall(data)
        buf = b""
        while b"\r\n" not in buf:
            chunk = t.recv(4096)
            if not chunk:
                break
            buf += chunk
    except (ConnectionError, ssl.SSLError, socket.timeout):
        return 0
    finally:
        t.close()
    line = buf.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) >= 2 and line[1].isdigit() else 0


def hammer(addr, cert, cookie, token, n):
    import random
    rnd = random.Random(15)
    paths = ["/ui/", "/ui", "/ui/login", "/ui/style.css", "/metrics", "/ui/../v1/status",
             "/ui/%2e%2e/v1/status", "/ui/%00", "/ui/<script>", "/ui/?a=1", "/metrics?x",
             "/metrics/", "/ui//", "/ui/" + "A" * 3000, "/ui/%ff%fe", "/ui/login/..",
             "//ui/", "/UI/", "/ui/\x7f", "/metrics%00"]
    headers = [
        "Cookie: kura_ui=" + cookie + "; kura_ui=" + cookie,
        "Cookie: kura_ui=" + cookie.upper(),
        "Cookie: kura_ui=" + cookie[:-1],
        "Cookie: kura_ui=" + "0" * 64,
        "Cookie: " + "a=b; " * 500,
        "Cookie: kura_ui=" + cookie + "\x00",
        "Authorization: Bearer " + token + "x",
        "Authorization: Bearer " + "x" * 300,
        "Authorization: Basic " + token,
        "Content-Length: -1",
        "Content-Length: 99999999999999999999999",
        "Transfer-Encoding: chunked",
        "X-HTTP-Method-Override: POST",
        "Host: " + "h" * 5000,
    ]
    methods = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "TRACE", "G\x01T"]
    allowed = {0, 200, 303, 400, 401, 403, 404, 405, 411, 413, 414, 429, 431, 501, 505}
    seen = {}
    for i in range(n):
        path = rnd.choice(paths)
        hs = rnd.sample(headers, rnd.randint(0, 3))
        method = rnd.choice(methods)
        req = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n" % (
            method, path, "".join(h + "\r\n" for h in hs))
        if method == "POST" and rnd.random() < 0.5:
            body = rnd.choice(["token=" + token, "token=%zz", "token=", "a=b&token=1&token=2",
                               "token=" + "%41" * 300])
            req = req[:-2] + "Content-Length: %d\r\n\r\n%s" % (len(body), body)
        code = raw(addr, cert, req.encode("latin-1"))
        seen[code] = seen.get(code, 0) + 1
        if code not in allowed:
            sys.exit("hammer: %r answered %d" % (req[:200], code))
        # The valid session and token still work (nothing above broke them, or the vault).
        if i % 50 == 0:
            ok = raw(addr, cert, ("GET /ui/ HTTP/1.1\r\nHost: x\r\nCookie: kura_ui=%s\r\n\r\n" %
                                  cookie).encode())
            if ok != 200:
                sys.exit("hammer: the session stopped working after %d requests (%d)" % (i, ok))
    print(json.dumps({str(k): v for k, v in sorted(seen.items())}))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "login":
        login(*args)
    elif cmd == "forward":
        forward(*args)
    elif cmd == "page":
        page(*args)
    elif cmd == "hammer":
        hammer(args[0], args[1], args[2], args[3], int(args[4]))
    else:
        sys.exit("unknown command " + cmd)
