#!/usr/bin/env python3
# Write a fuzzer input that fuzz-fpb-validate.c accepts end to end: a valid
# header at 64 KiB answering request 5 with seq 2, one chunk whose bitmap
# sits in the input-filled top 128 KiB of the harness's 1 MiB RAM.
import struct
import sys

gpa, size, request, seq = 0x10000, 16384, 5, 2
args = struct.pack("<4Q", gpa, size, request, (seq << 1) | 1)
# struct kvm_fpb_header: three 64-byte groups, then chunk[].
hdr = struct.pack("<IHHII", 0x31425046, 1, 192, 15, 1) + bytes(48)
hdr += struct.pack("<Q", 0) + bytes(56)
hdr += struct.pack("<QQQ", seq, request, 3) + bytes(40)
hdr += struct.pack("<Q", (1024 * 1024 - 128 * 1024) | 1)
body = hdr + bytes(4096 - len(hdr)) + b"\x07" + bytes(100)
open(sys.argv[1], "wb").write(args + body)
