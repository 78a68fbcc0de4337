"""Slow clients of the soak (soak.sh): each connection sends its requests one byte at a
time, with a pause between bytes, reads the answer, and goes on with the next request on
the same connection until the deadline. Prints `SLOW requests=N unexpected=N errors=N`.

    python3 soak-slow.py PORT CONNECTIONS SECONDS
"""

import socket
import sys
import threading
import time

PORT, CONNECTIONS, SECONDS = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
BYTE_PAUSE = 0.05  # a 45-byte request takes about 2.3 s, within the 10 s head timeout
REQUEST = b"GET /vibe-check HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
counts = {"requests": 0, "unexpected": 0, "errors": 0}
lock = threading.Lock()


def read_answer(conn, pending):
    """One answer (head plus Content-Length body); returns its status and what follows."""
    while b"\r\n\r\n" not in pending:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the answer")
        pending += chunk
    head, rest = pending.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("closed inside the body")
        rest += chunk
    return status, rest[length:]


def client(deadline):
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", PORT), timeout=15) as conn:
                pending = b""
                while time.monotonic() < deadline:
                    for byte in REQUEST:
                        conn.sendall(bytes([byte]))
                        time.sleep(BYTE_PAUSE)
                    status, pending = read_answer(conn, pending)
                    with lock:
                        counts["requests"] += 1
                        counts["unexpected"] += status != 200
        except (OSError, ValueError, IndexError) as error:
            with lock:
                counts["errors"] += 1
            print(f"slow client: {error}", file=sys.stderr)
            time.sleep(1)


deadline = time.monotonic() + SECONDS
workers = [threading.Thread(target=client, args=(deadline,)) for _ in range(CONNECTIONS)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print(f"SLOW requests={counts['requests']} unexpected={counts['unexpected']} errors={counts['errors']}")
