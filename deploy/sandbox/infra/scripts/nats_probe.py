#!/usr/bin/env python3
"""Connects to NATS with a service's rendered credential file, as the service would.

    nats_probe.py SERVICE_ENV_FILE [--publish SUBJECT] [--consume STREAM CONSUMER]

The credential is read from the file (never from argv). Speaks the NATS client protocol over a
plain socket: CONNECT + PING must get PONG; --publish sends to a JetStream subject and requires
the stream's ack; --consume pulls one message from a durable pull consumer and acks it.
"""
import json
import socket
import sys
import urllib.parse


def read_env(path):
    values = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                name, value = line.rstrip("\n").split("=", 1)
                values[name] = value
    return values


class Conn:
    def __init__(self, url, user, password):
        parts = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port or 4222), timeout=10)
        self.file = self.sock.makefile("rb")
        info = self.file.readline()
        if not info.startswith(b"INFO "):
            raise SystemExit(f"not a NATS server at {url}")
        connect = {"user": user, "pass": password, "verbose": False, "pedantic": False, "headers": True, "no_responders": True, "name": "nats_probe"}
        self.sock.sendall(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
        reply = self.line()
        if reply != b"PONG":
            raise SystemExit(f"NATS refused {user}: {reply.decode(errors='replace')}")

    def line(self):
        while True:
            line = self.file.readline().rstrip(b"\r\n")
            if line == b"PING":
                self.sock.sendall(b"PONG\r\n")
                continue
            return line

    def request(self, subject, payload, inbox):
        self.sock.sendall(f"SUB {inbox} 1\r\nPUB {subject} {inbox} {len(payload)}\r\n".encode() + payload + b"\r\n")
        head = self.line().split(b" ")
        if head[0] == b"MSG":  # MSG subject sid [reply] size
            reply_to = head[3].decode() if len(head) == 5 else None
            body = self.file.read(int(head[-1]) + 2)[:-2]
            return None, reply_to, body
        if head[0] == b"HMSG":  # HMSG subject sid [reply] header_size total_size
            total, header_size = int(head[-1]), int(head[-2])
            data = self.file.read(total + 2)[:-2]
            status = data[:header_size].split(b"\r\n")[0].decode()
            return status, None, data[header_size:]
        raise SystemExit(f"unexpected reply from NATS: {b' '.join(head).decode(errors='replace')}")


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    env = read_env(argv[1])
    conn = Conn(env["NATS_URL"], env["NATS_USER"], env["NATS_PASSWORD"])
    print(f"connected to {env['NATS_URL']} as {env['NATS_USER']}")
    args = argv[2:]
    if args[:1] == ["--publish"]:
        status, _, body = conn.request(args[1], b'{"probe":true}', "_INBOX.probe.pub")
        ack = json.loads(body or b"{}")
        if status or "stream" not in ack:
            raise SystemExit(f"JetStream did not store the message on {args[1]}: {status or body.decode(errors='replace')}")
        print(f"published to {args[1]}: stream {ack['stream']} seq {ack['seq']}")
    elif args[:1] == ["--consume"]:
        stream, consumer = args[1], args[2]
        status, reply_to, body = conn.request(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}", b'{"batch":1,"no_wait":true}', "_INBOX.probe.next")
        if status and status.split(" ")[1] not in ("404", "408"):
            raise SystemExit(f"cannot pull from {stream}/{consumer}: {status}")
        if reply_to:
            conn.sock.sendall(f"PUB {reply_to} 4\r\n+ACK\r\nPING\r\n".encode())
            conn.line()
            print(f"consumed and acked one message from {stream}/{consumer}")
        else:
            print(f"{stream}/{consumer} is reachable and has no pending message")


if __name__ == "__main__":
    main(sys.argv)
