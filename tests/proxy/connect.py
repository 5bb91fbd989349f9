"""A corporate network's proxy in miniature, for tests: an HTTP proxy that accepts
`CONNECT host:port`, appends "host:port" to LOG, and tunnels to 127.0.0.1:BACKEND_PORT whatever
the host (so a name that resolves nowhere still works: only the proxy knows where it is).

Usage: connect.py BACKEND_PORT LOG
Prints "proxy <port>" once it listens; stops when stdin closes.
"""
import socket
import sys
import threading

backend_port, log = int(sys.argv[1]), sys.argv[2]


def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def both_ways(a, b):
    # Small writes go out at once: Nagle's algorithm with delayed ACKs would stall each
    # request and answer by 40 ms here, which no real proxy does.
    for sock in (a, b):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
    threading.Thread(target=pipe, args=(a, b), daemon=True).start()
    threading.Thread(target=pipe, args=(b, a), daemon=True).start()


proxy = socket.socket()
proxy.bind(("127.0.0.1", 0))
proxy.listen(16)


def handle(conn):
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(4096)
        if not chunk:
            conn.close()
            return
        head += chunk
    method, target = head.split(b" ")[:2]
    if method != b"CONNECT":
        conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
        conn.close()
        return
    with open(log, "a") as f:
        f.write(target.decode() + "\n")
    upstream = socket.create_connection(("127.0.0.1", backend_port))
    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    both_ways(conn, upstream)


def serve():
    while True:
        conn, _ = proxy.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


threading.Thread(target=serve, daemon=True).start()
print(f"proxy {proxy.getsockname()[1]}", flush=True)
sys.stdin.read()
