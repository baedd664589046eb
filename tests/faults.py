"""A small TCP proxy for fault tests: it sits between the sync client and the real server and can
drop a connection while the request is being sent, drop the answer after the server has handled
the request, or slow everything down."""

from __future__ import annotations

import socket
import threading
import time


class FaultProxy:
    """Forward loopback connections to ``target_port``; ``faults`` is a list consumed one per
    connection: 'pass', 'cut_request' (close after part of the request), 'lose_answer' (let the
    server answer, then close without relaying it)."""

    def __init__(self, target_port: int, delay: float = 0.0, chunk: int = 65536) -> None:
        self.target_port = target_port
        self.delay = delay
        self.chunk = chunk
        self.faults: list[str] = []
        self.connections = 0
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._stop.set()
        self._server.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            fault = self.faults.pop(0) if self.faults else "pass"
            threading.Thread(target=self._serve, args=(client, fault), daemon=True).start()

    def _serve(self, client: socket.socket, fault: str) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        done = threading.Event()

        def pump(src: socket.socket, dst: socket.socket, direction: str) -> None:
            sent = 0
            try:
                while True:
                    data = src.recv(self.chunk)
                    if not data:
                        break
                    if self.delay:
                        time.sleep(self.delay)
                    if direction == "up" and fault == "cut_request" and sent + len(data) > 200:
                        dst.sendall(data[: max(0, 200 - sent)])
                        break  # the request never arrives whole
                    if direction == "down" and fault == "lose_answer":
                        break  # the server has answered; the client never hears it
                    dst.sendall(data)
                    sent += len(data)
            except OSError:
                pass
            finally:
                done.set()

        threading.Thread(target=pump, args=(client, upstream, "up"), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client, "down"), daemon=True).start()
        done.wait()
        time.sleep(0.05)
        for s in (client, upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
