#!/usr/bin/env python3
"""Connection-slot exhaustion, measured: holds N idle sockets (connected, never
sending) from 127.0.0.1 against a push-advisor binary, then counts how many fresh
clients (from 127.0.0.1 and from 127.0.0.2) get 200 for GET /vibe-check within 2 s.
Loopback only, bounded in count and time (about 10 s). No provider is needed: public
routes answer without one.

  tests/bench/idle-sockets.py target/debug/push-advisor [IDLE=600] [FRESH=20]
"""
import os
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_get(port, source):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2, source_address=(source, 0)) as s:
            s.sendall(b"GET /vibe-check HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            head = s.recv(64)
            return head.split(b" ")[1].decode() if head.startswith(b"HTTP/1.1 ") else "no answer"
    except OSError as error:
        return type(error).__name__


def main():
    binary = sys.argv[1]
    idle = int(sys.argv[2]) if len(sys.argv) > 2 else 600
    fresh = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    port = free_port()
    env = dict(os.environ, PUSH_ADVISOR_BIND=f"127.0.0.1:{port}", PUSH_ADVISOR_ISSUER="http://127.0.0.1:9",
               PUSH_ADVISOR_CLIENT_SECRET="unused", PUSH_ADVISOR_LOG="error")
    server = subprocess.Popen([binary], env=env, stderr=subprocess.DEVNULL)
    held = []
    try:
        deadline = time.time() + 10
        while fresh_get(port, "127.0.0.1") != "200":
            assert time.time() < deadline, "server did not start"
            time.sleep(0.1)
        for _ in range(idle):
            held.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        time.sleep(0.5)
        for source in ["127.0.0.1", "127.0.0.2"]:
            statuses = [fresh_get(port, source) for _ in range(fresh)]
            ok = statuses.count("200")
            others = sorted(set(s for s in statuses if s != "200"))
            print(f"{idle} idle sockets from 127.0.0.1: fresh clients from {source}: {ok}/{fresh} got 200"
                  + (f" (others: {', '.join(others)})" if others else ""))
    finally:
        for s in held:
            s.close()
        server.terminate()
        server.wait(timeout=15)


if __name__ == "__main__":
    main()
