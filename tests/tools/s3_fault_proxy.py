#!/usr/bin/env python3
# s3_fault_proxy.py - a loopback HTTP proxy in front of an S3 store that
# injects the faults a client must survive (tests/e2e/s3_faults.sh):
#   LISTEN_PORT UPSTREAM_PORT MODE_FILE LOG_FILE
# MODE_FILE holds "pass", "faults" or "always503", read at every request.
# In "faults", request number i (from 1) is answered by:
#   i % 9 == 2  a 503 SlowDown from the proxy (never forwarded)
#   i % 13 == 3 a dropped connection before anything is forwarded
#   i % 17 == 6 forwarded, then the connection dropped halfway through the
#               answer (the store did the work; the client must retry it)
# "short SUBSTR" answers every GET whose path holds SUBSTR with only the
# first half of the store's body, under a Content-Length that says so (a
# store that fails mid-read, every time; tests/e2e/s3_restore_many.sh).
# Each client connection carries one request (the proxy answers with
# Connection: close); SigV4 still matches because the Host header is kept.
# One line per request goes to LOG_FILE: "N ACTION METHOD PATH VERSION
# inflight=K", K the requests being served when this one came in.
import socket, sys, threading

listen_port, upstream_port, mode_file, log_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
lock = threading.Lock()
count = 0
inflight = 0

def read_request(c):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(body) < length:
        chunk = c.recv(65536)
        if not chunk:
            return None
        body += chunk
    lines = [l for l in head.split(b"\r\n") if not l.lower().startswith(b"connection:")]
    return b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n" + body, head.split(b"\r\n")[0]

def shorten(answer):
    # the headers with Content-Length halved, and half the body
    end = answer.find(b"\r\n\r\n")
    if end < 0:
        return answer
    head, body = answer[:end], answer[end + 4:]
    half = len(body) // 2
    lines = [l for l in head.split(b"\r\n") if not l.lower().startswith(b"content-length:")]
    return b"\r\n".join(lines) + b"\r\nContent-Length: %d\r\n\r\n" % half + body[:half]

def serve(c):
    global count, inflight
    counted = False
    try:
        req = read_request(c)
        if req is None:
            return
        raw, first = req
        with lock:
            count += 1
            i = count
            inflight += 1
            busy = inflight
            counted = True
        try:
            mode = open(mode_file).read().strip()
        except OSError:
            mode = "pass"
        action = "pass"
        parts = first.decode("latin-1").split(" ")
        if mode.startswith("short ") and parts[0] == "GET" and mode[6:] in parts[1]:
            action = "short"
        elif mode == "always503" or (mode == "faults" and i % 9 == 2):
            action = "503"
        elif mode == "faults" and i % 13 == 3:
            action = "drop"
        elif mode == "faults" and i % 17 == 6:
            action = "cut"
        with lock, open(log_file, "a") as f:
            f.write("%d %s %s inflight=%d\n" % (i, action, first.decode("latin-1"), busy))
        if action == "503":
            body = b'<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>injected</Message></Error>'
            c.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\n"
                      b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
            return
        if action == "drop":
            return
        u = socket.create_connection(("127.0.0.1", upstream_port))
        u.sendall(raw)
        answer = b""
        while True:
            chunk = u.recv(65536)
            if not chunk:
                break
            answer += chunk
        u.close()
        if action == "short":
            c.sendall(shorten(answer))
            return
        if action == "cut":
            # the headers and half the body; nothing at all for a bodiless answer
            end = answer.find(b"\r\n\r\n") + 4
            if end > 3 and len(answer) - end > 1:
                c.sendall(answer[: end + (len(answer) - end) // 2])
            return
        c.sendall(answer)
    except OSError:
        pass
    finally:
        if counted:
            with lock:
                inflight -= 1
        try:
            c.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        c.close()

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", listen_port))
s.listen(64)
while True:
    conn, _ = s.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
