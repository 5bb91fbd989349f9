"""A corporate network in miniature, for tests: a CONNECT proxy and a TLS endpoint.

Usage: servers.py BACKEND_PORT CERT KEY LOG
- a TLS listener with CERT/KEY that forwards each connection, decrypted, to 127.0.0.1:BACKEND_PORT
  (the local Amplify endpoint, which then checks the signature as usual);
- an HTTP proxy that accepts `CONNECT host:port`, appends "host:port" to LOG, and tunnels to the
  TLS listener whatever the host (so a name that resolves nowhere still works: only the proxy
  knows where it is).
Prints "proxy <port>" and "tls <port>" once both listen; stops when stdin closes.
"""
import socket
import ssl
import sys
import threading

backend_port, cert, key, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


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
    # request and answer by 40 ms here, which no real endpoint does.
    for sock in (a, b):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
    threading.Thread(target=pipe, args=(a, b), daemon=True).start()
    threading.Thread(target=pipe, args=(b, a), daemon=True).start()


def listen():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s


tls = listen()
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)


def serve_tls():
    while True:
        conn, _ = tls.accept()

        def handle(conn=conn):
            try:
                wrapped = context.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                conn.close()
                return
            both_ways(wrapped, socket.create_connection(("127.0.0.1", backend_port)))

        threading.Thread(target=handle, daemon=True).start()


proxy = listen()


def serve_proxy():
    while True:
        conn, _ = proxy.accept()

        def handle(conn=conn):
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
            upstream = socket.create_connection(("127.0.0.1", tls.getsockname()[1]))
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            both_ways(conn, upstream)

        threading.Thread(target=handle, daemon=True).start()


threading.Thread(target=serve_tls, daemon=True).start()
threading.Thread(target=serve_proxy, daemon=True).start()
print(f"proxy {proxy.getsockname()[1]}", flush=True)
print(f"tls {tls.getsockname()[1]}", flush=True)
sys.stdin.read()
