#!/usr/bin/env python3
"""Latency on the wire: the truth a tool's recorded latency is compared with.

Reads a pcap of the loopback traffic to the benchmark's server (tcpdump -i lo, nanosecond
stamps, only segments that carry data) and pairs, on each client connection, every request
segment with the answer segments after it (HTTP/1.1 without pipelining: one request at a
time per connection). The latency of a request is the time from its first request segment
entering the loopback to its last answer segment doing so, which is what a client that
stamps "request left" and "answer's last byte arrived" should record. The probe's own connection (its requests
carry "content":"probe") is reported apart.

    wire.py CAPTURE.pcap SERVER_PORT   ->   "<tool p50 ms> <tool n> <probe p50 ms> <probe n>"
"""
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        head = f.read(24)
        magic = struct.unpack("<I", head[:4])[0]
        scale = 1 if magic == 0xA1B23C4D else 1000  # nanosecond or microsecond stamps
        link = struct.unpack("<I", head[20:24])[0]
        l2 = 14 if link == 1 else 16 if link == 113 else 4 if link == 0 else 0
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            sec, frac, incl, _ = struct.unpack("<IIII", rec)
            data = f.read(incl)
            yield sec * 1_000_000_000 + frac * scale, data[l2:]


def median(v):
    v = sorted(v)
    return v[(len(v) - 1) // 2] / 1e6 if v else float("nan")


def main():
    path, port = sys.argv[1], int(sys.argv[2])
    pending = {}   # client port -> time of its request, until the next request
    answered = {}  # client port -> the request's answer has begun
    lat = {}       # client port -> latencies (ns)
    probe = set()
    for t, ip in packets(path):
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        tcp = ip[ihl:]
        sport, dport = struct.unpack(">HH", tcp[:4])
        off = (tcp[12] >> 4) * 4
        if total - ihl - off <= 0:
            continue
        if dport == port:        # a request (or the next segment of one)
            if b'"content":"probe"' in tcp[off:]:
                probe.add(sport)
            if sport not in pending or answered.get(sport):
                pending[sport] = t
                answered[sport] = False
        elif sport == port and dport in pending:  # an answer segment: the latest one counts
            v = lat.setdefault(dport, [])
            if answered[dport]:
                v[-1] = t - pending[dport]
            else:
                v.append(t - pending[dport])
                answered[dport] = True
    tool = [x for p, v in lat.items() if p not in probe for x in v]
    prb = [x for p, v in lat.items() if p in probe for x in v]
    print(f"{median(tool):.3f} {len(tool)} {median(prb):.3f} {len(prb)}")


if __name__ == "__main__":
    main()
