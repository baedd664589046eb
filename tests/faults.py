"""A small TCP proxy for fault tests: it sits between the sync client and the real server and can
drop a connection while the request is being sent, drop the answer after the server has handled
the request, or slow everything down."""

from __future__ import annotations

import socket
import threading
import time

#: 'cut_request' lets this many bytes of the request through, then closes the connection
REQUEST_CUT_AT = 200


def _cut_request(dst: socket.socket, data: bytes, sent: int) -> bool:
    """Forward ``data`` (after ``sent`` bytes of the request) only up to REQUEST_CUT_AT; True when
    the cut was made here, False when all of ``data`` may still pass."""
    if sent + len(data) <= REQUEST_CUT_AT:
        return False
    dst.sendall(data[: max(0, REQUEST_CUT_AT - sent)])
    return True


class FaultProxy:
    """Forward loopback connections to ``target_port``; ``faults`` is a list consumed one per
    connection: 'pass', 'cut_request' (close after part of the request), 'lose_answer' (let the
    server answer, then close without relaying it), 'cut_answer_headers' (relay the answer's
    status line only: "200 OK" with no headers and no body)."""

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

    #: seconds between the end of relaying and closing both sockets
    linger = 0.05

    def _serve(self, client: socket.socket, fault: str) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:  # the server is down: the client sees its connection closed at once
            client.close()
            return
        done = threading.Event()
        self._relay(client, upstream, fault, done)
        done.wait()
        time.sleep(self.linger)
        for s in (client, upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _relay(self, client: socket.socket, upstream: socket.socket, fault: str, done: threading.Event) -> None:
        """Start relaying both ways; ``done`` is set when either direction ends."""

        def pump(src: socket.socket, dst: socket.socket, direction: str) -> None:
            sent = 0
            try:
                while True:
                    data = src.recv(self.chunk)
                    if not data:
                        break
                    if self.delay:
                        time.sleep(self.delay)
                    if direction == "up" and fault == "cut_request" and _cut_request(dst, data, sent):
                        break  # the request never arrives whole
                    if direction == "down" and fault == "lose_answer":
                        break  # the server has answered; the client never hears it
                    if direction == "down" and fault == "cut_answer_headers":
                        dst.sendall(data[: data.find(b"\r\n") + 2])  # the status line, no headers
                        break
                    dst.sendall(data)
                    sent += len(data)
            except OSError:
                pass
            finally:
                done.set()

        threading.Thread(target=pump, args=(client, upstream, "up"), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client, "down"), daemon=True).start()


class SlowLink(FaultProxy):
    """A slow, lossy link: ``rate`` bytes per second in each direction (shared by all
    connections, like one line), ``latency`` seconds one way, and each connection cut at a random
    point of the server's answers with probability ``loss`` (seeded, so runs repeat). ``faults``
    work as in :class:`FaultProxy`, plus 'cut_answer' (cut this connection during its answer)."""

    def __init__(self, target_port: int, *, rate: float, latency: float = 0.0, loss: float = 0.0,
                 seed: int = 7, chunk: int = 1024) -> None:
        import random

        self.rate = rate
        self.latency = latency
        self.loss = loss
        self.cuts = 0
        self.bytes = {"up": 0, "down": 0}
        self._rng = random.Random(seed)
        self._free_at = {"up": 0.0, "down": 0.0}
        self._line = threading.Lock()
        super().__init__(target_port, chunk=chunk)

    def _transmit(self, direction: str, ready: float, size: int) -> None:
        """Wait until ``size`` bytes, ready at ``ready``, have crossed the line."""
        with self._line:
            start = max(ready, self._free_at[direction])
            finish = start + size / self.rate
            self._free_at[direction] = finish
            self.bytes[direction] += size
        pause = finish - time.monotonic()
        if pause > 0:
            time.sleep(pause)

    linger = 0.0

    def _relay(self, client: socket.socket, upstream: socket.socket, fault: str, done: threading.Event) -> None:
        import queue

        with self._line:
            doomed = fault == "cut_answer" or self._rng.random() < self.loss
            cut_at = self._rng.randrange(200, 4000)

        def read(src: socket.socket, line: queue.Queue) -> None:
            try:
                while not done.is_set():
                    data = src.recv(self.chunk)
                    if not data:
                        break
                    line.put((time.monotonic() + self.latency, data))
            except OSError:
                pass
            line.put(None)

        def write(dst: socket.socket, line: queue.Queue, direction: str) -> None:
            sent = 0
            try:
                while True:
                    item = line.get()
                    if item is None or done.is_set():
                        break
                    ready, data = item
                    if direction == "up" and fault == "cut_request" and _cut_request(dst, data, sent):
                        break  # the request never arrives whole
                    if direction == "down" and doomed and sent + len(data) > cut_at:
                        self._transmit(direction, ready, cut_at - sent)
                        dst.sendall(data[: cut_at - sent])
                        self.cuts += 1
                        break  # the line drops in the middle of an answer
                    self._transmit(direction, ready, len(data))
                    dst.sendall(data)
                    sent += len(data)
            except OSError:
                pass
            finally:
                done.set()

        up: queue.Queue = queue.Queue()
        down: queue.Queue = queue.Queue()
        for target, args in ((read, (client, up)), (read, (upstream, down)),
                             (write, (upstream, up, "up")), (write, (client, down, "down"))):
            threading.Thread(target=target, args=args, daemon=True).start()
