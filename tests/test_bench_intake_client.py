"""bench/cases_intake.py's own HTTP client (Connection): what it reads of a response must
be what the server sent, however the bytes arrive, or the benchmark counts wrong cases."""

from __future__ import annotations

import socket
import threading

import pytest

from bench.cases_intake import Connection, _request


class Server:
    """A loopback server that answers each request with the next scripted reply, sent in
    the given pieces, and records what it received."""

    def __init__(self, replies: list[list[bytes]], *, close_after: bool = False):
        self.replies, self.close_after = replies, close_after
        self.received: list[bytes] = []
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.replies:
            conn, _ = self.listener.accept()
            self.connections += 1
            with conn:
                while self.replies:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    if not data:
                        break
                    head, _, body = data.partition(b"\r\n\r\n")
                    length = int(
                        next(
                            line.split(b":", 1)[1]
                            for line in head.split(b"\r\n")
                            if line.lower().startswith(b"content-length:")
                        )
                    )
                    while len(body) < length:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        body += chunk
                    self.received.append(head + b"\r\n\r\n" + body)
                    for piece in self.replies.pop(0):
                        conn.sendall(piece)
                    if self.close_after:
                        break
        self.listener.close()


def test_reads_status_and_body_sent_in_pieces_and_keeps_the_connection():
    body = b'{"service_request_id": "C-1"}'
    first = b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: "
    server = Server(
        [
            [first, str(len(body)).encode() + b"\r\n\r", b"\n" + body[:5], body[5:]],
            [b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\nno"],
        ]
    )
    conn = Connection(server.port, timeout=5)
    request = _request("/api/v1/cases/", "application/json", "占道".encode(), "X-API-Key: k\r\n")
    assert conn.post(request) == (201, body)
    assert conn.post(request) == (400, b"no")
    server.thread.join(5)
    assert server.connections == 1
    assert server.received[0].endswith("占道".encode())
    assert b"Content-Length: 6\r\n" in server.received[0]
    assert b"X-API-Key: k\r\n" in server.received[0]


def test_connection_close_opens_a_new_socket_for_the_next_request():
    reply = [b"HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"]
    server = Server([reply, reply], close_after=True)
    conn = Connection(server.port, timeout=5)
    request = _request("/x", "text/plain", b"a")
    assert conn.post(request) == (201, b"ok")
    assert conn.sock is None
    assert conn.post(request) == (201, b"ok")
    server.thread.join(5)
    assert server.connections == 2


def test_a_response_cut_short_is_an_error_not_a_short_body():
    server = Server([[b"HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\nabc"]], close_after=True)
    conn = Connection(server.port, timeout=5)
    with pytest.raises(ConnectionResetError):
        conn.post(_request("/x", "text/plain", b"a"))


def test_a_body_without_length_ends_with_the_connection():
    server = Server([[b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\nno", b" good"]])
    server.close_after = True
    conn = Connection(server.port, timeout=5)
    assert conn.post(_request("/x", "text/plain", b"a")) == (400, b"no good")
    assert conn.sock is None


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 400 Bad Request\r\n\r\nno",  # no length, and the connection stays
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 OK\r\nContent-Length: 0\r\n\r\n",
    ],
)
def test_a_response_it_cannot_read_is_an_error_it_counts(reply):
    """ValueError, which the client records as a failed request (status 0)."""
    server = Server([[reply]], close_after=True)
    conn = Connection(server.port, timeout=5)
    with pytest.raises(ValueError):
        conn.post(_request("/x", "text/plain", b"a"))
