#!/usr/bin/env python3
"""Run one command and write its wall clock, from its start to its exit, in seconds.

    timed.py OUT -- COMMAND [ARG ...]

The command inherits this process's standard streams (redirect them around the call) and
its exit status is passed on. run.sh wraps GNU time with it (GNU time gives peak RSS and CPU
seconds; a process forked from Python would inherit Python's own resident size in its peak):
timing `/usr/bin/time COMMAND` with `date` before and after also counted the shell forking
and executing `date` twice, 10 to 25 ms on this machine, which is nothing next to a
20-second run and a tenth of a 200-millisecond one.
"""
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit("usage: timed.py OUT -- COMMAND [ARG ...]")
    start = time.monotonic()
    rc = subprocess.call(sys.argv[3:])
    wall = time.monotonic() - start
    with open(sys.argv[1], "w") as f:
        f.write(f"{wall:.6f}\n")
    sys.exit(rc)


if __name__ == "__main__":
    main()
