#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The host side of the exporter's device-memory tests.

The guest's ivshmem BAR2 is a host file. A test asks for a step by printing
`@@fencebuf ivshmem fill|verify SEQ` to its results; qemu/run-vm.sh serves
each request once, while the test waits for the answer:

  fill    writes the host pattern, which the guest then reads through an
          exported, mmap-ed buffer (host to device);
  verify  checks that the guest's pattern, written through an exported
          buffer, reached the file (device to host).

The answer goes to the mailbox: the status word (0: done and right; else
the first differing byte + 1), then SEQ, which the guest polls. Serving a
request while its test waits, rather than once the guest ends, keeps the
check independent of what later suites (the fuzzer) write to device memory.

Layout (offsets into BAR2), shared with selftests/fencebuf_exporter.h:
  1 MiB, 64 KiB: host pattern, byte i = (i * 7 + 3) & 0xff
  2 MiB, 64 KiB: guest pattern, byte i = (i * 13 + 5) & 0xff
  3 MiB, 8 bytes: mailbox, little-endian u32 status, u32 seq
"""

import struct
import sys

HOST_OFF, GUEST_OFF, LEN, MAILBOX_OFF = 1 << 20, 2 << 20, 64 << 10, 3 << 20


def pattern(mul, add):
    return bytes((i * mul + add) & 0xFF for i in range(LEN))


def answer(f, seq, status):
    # Status first, seq last: the guest reads the status once seq matches.
    f.seek(MAILBOX_OFF)
    f.write(struct.pack("<I", status))
    f.flush()
    f.seek(MAILBOX_OFF + 4)
    f.write(struct.pack("<I", seq))
    f.flush()


def main():
    cmd, seq, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(path, "r+b") as f:
        if cmd == "fill":
            f.seek(HOST_OFF)
            f.write(pattern(7, 3))
            f.flush()
            answer(f, seq, 0)
            return 0
        if cmd != "verify":
            print(f"ivshmem.py: unknown request {cmd}", file=sys.stderr)
            return 2
        f.seek(GUEST_OFF)
        got = f.read(LEN)
        want = pattern(13, 5)
        bad = next((i for i in range(LEN) if i >= len(got) or got[i] != want[i]), None)
        answer(f, seq, 0 if bad is None else bad + 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
