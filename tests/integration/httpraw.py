"""Minimal HTTP/1.1 client over a unix socket that sends exactly the bytes a
test wants and parses responses strictly, so malformed or streamed cases can
be checked byte by byte (the real clients hide those details)."""
import socket


class Response:
    def __init__(self, status, reason, headers, body, raw_head):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-case name -> value (last wins)
        self.body = body
        self.raw_head = raw_head

    def header(self, name):
        return self.headers.get(name.lower())


class Conn:
    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def request(self, method, target, headers=None, body=None):
        lines = [f"{method} {target} HTTP/1.1", "Host: berth"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        if body is not None and not any(k.lower() == "transfer-encoding" for k in (headers or {})):
            lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode()
        if body is not None:
            data += body if isinstance(body, bytes) else body.encode()
        self.send(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by the server")
        self.buf += chunk

    def _read_until(self, marker):
        while marker not in self.buf:
            self._fill()
        idx = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:idx], self.buf[idx:]
        return out

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_head(self):
        head = self._read_until(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        _, status, reason = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        return int(status), reason, headers, head

    def read_chunk(self):
        """Next chunk of a chunked body; b"" at the terminating chunk."""
        size_line = self._read_until(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        data = self._read_exact(size)
        assert self._read_exact(2) == b"\r\n"
        return data

    def response(self, head_request=False):
        status, reason, headers, head = self.read_head()
        body = b""
        if head_request or status in (204, 304) or 100 <= status < 200:
            pass
        elif headers.get("transfer-encoding") == "chunked":
            while True:
                c = self.read_chunk()
                if not c:
                    break
                body += c
        else:
            body = self._read_exact(int(headers.get("content-length", "0")))
        return Response(status, reason, headers, body, head)

    def read_to_eof(self):
        out = self.buf
        self.buf = b""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return out
            out += chunk


def get(path, target, method="GET", headers=None, body=None):
    c = Conn(path)
    try:
        c.request(method, target, headers, body)
        return c.response(head_request=(method == "HEAD"))
    finally:
        c.close()
