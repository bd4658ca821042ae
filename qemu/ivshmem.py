#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The host side of the exporter's device-memory tests.

The guest's ivshmem BAR2 is a host file. Before boot, `prefill` writes a
pattern the guest must read through an exported, mmap-ed buffer (host to
device). After the guest wrote its own pattern through an exported buffer,
`verify` checks that those bytes reached the file (device to host), and
prints the result as TAP.

Layout (offsets into BAR2), shared with selftests/fencebuf_exporter_test.c:
  1 MiB, 64 KiB: host pattern, byte i = (i * 7 + 3) & 0xff
  2 MiB, 64 KiB: guest pattern, byte i = (i * 13 + 5) & 0xff
"""

import sys

HOST_OFF, GUEST_OFF, LEN = 1 << 20, 2 << 20, 64 << 10


def pattern(mul, add):
    return bytes((i * mul + add) & 0xFF for i in range(LEN))


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    with open(path, "r+b") as f:
        if cmd == "prefill":
            f.seek(HOST_OFF)
            f.write(pattern(7, 3))
            return 0
        f.seek(GUEST_OFF)
        got = f.read(LEN)
    want = pattern(13, 5)
    if got == want:
        print("ok 1 ivshmem: the guest's pattern reached device memory (host file)")
        return 0
    bad = next(i for i in range(LEN) if i >= len(got) or got[i] != want[i])
    print(f"not ok 1 ivshmem: device memory differs from the guest's pattern at byte {bad}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
