"""A client for ringlane-vmm's REST API on its Unix socket (one request per connection)."""
import json
import socket


def exchange(sock_path, data, timeout=10, shut_write=False):
    """Sends `data` as it is on a new connection and returns every byte of the answer."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    try:
        s.sendall(data)
        if shut_write:
            s.shutdown(socket.SHUT_WR)
        reply = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                # The server answered before reading all we sent, and closed: the answer stays.
                break
            if not chunk:
                break
            reply += chunk
    finally:
        s.close()
    return reply


def request(sock_path, method, path, body=None, timeout=10):
    """Returns (status, parsed JSON body)."""
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len(data)}\r\n"
    if data:
        head += "Content-Type: application/json\r\n"
    reply = exchange(sock_path, head.encode() + b"\r\n" + data, timeout)
    header, _, payload = reply.partition(b"\r\n\r\n")
    status = int(header.split(b" ")[1])
    return status, json.loads(payload) if payload else None
