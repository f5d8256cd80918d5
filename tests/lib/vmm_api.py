"""A client for ringlane-vmm's REST API on its Unix socket (one request per connection)."""
import json
import socket


def request(sock_path, method, path, body=None, timeout=10):
    """Returns (status, parsed JSON body)."""
    data = json.dumps(body).encode() if body is not None else b""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    try:
        head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len(data)}\r\n"
        if data:
            head += "Content-Type: application/json\r\n"
        s.sendall(head.encode() + b"\r\n" + data)
        reply = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    finally:
        s.close()
    header, _, payload = reply.partition(b"\r\n\r\n")
    status = int(header.split(b" ")[1])
    return status, json.loads(payload) if payload else None
