"""A real TCP socket standing in for a network receipt printer on 127.0.0.1."""

from __future__ import annotations

import socket
import threading


class FakePrinter:
    """Accepts connections and keeps every byte received; ``stop()`` closes the port."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received = bytearray()
        self._lock = threading.Lock()
        self._running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self._running:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(2)
                while True:
                    try:
                        chunk = conn.recv(65536)
                    except (TimeoutError, OSError):
                        break
                    if not chunk:
                        break
                    with self._lock:
                        self.received += chunk

    @property
    def data(self) -> bytes:
        with self._lock:
            return bytes(self.received)

    def stop(self) -> None:
        self._running = False
        self.thread.join(2)
        self.sock.close()
