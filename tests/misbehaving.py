"""Servers that misbehave on purpose, shared by the fetcher's and the pipeline's hostile tests."""

from __future__ import annotations

import struct
import time
import zlib
from http.server import BaseHTTPRequestHandler

from tests.localserver import Seen

MiB = 2**20


def gzip_bomb(inflated_mib: int = 1024) -> bytes:
    """A valid single-member gzip of `inflated_mib` MiB of zeros (about 1 KB per MiB), built fast.

    After a full flush the compressor starts afresh, so every further MiB of zeros compresses to
    the same bytes: compress three, repeat the middle one, and write the true CRC and size.
    """
    block = bytes(MiB)
    squeezer = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = squeezer.compress(block) + squeezer.flush(zlib.Z_FULL_FLUSH)
    middle = squeezer.compress(block) + squeezer.flush(zlib.Z_FULL_FLUSH)
    end = squeezer.flush(zlib.Z_FINISH)[:-8]
    crc = 0
    for _ in range(inflated_mib):
        crc = zlib.crc32(block, crc)
    trailer = struct.pack("<II", crc, (inflated_mib * MiB) & 0xFFFFFFFF)
    return first + middle * (inflated_mib - 1) + end + trailer


def endless_chunks(seen: Seen, raw: BaseHTTPRequestHandler) -> None:
    """A chunked body that never ends (until the client hangs up or 20 s pass)."""
    raw.send_response(200)
    raw.send_header("Content-Type", "application/rss+xml")
    raw.send_header("Transfer-Encoding", "chunked")
    raw.end_headers()
    chunk = b"<item><title>" + b"x" * 16_000 + b"</title></item>"
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    give_up = time.monotonic() + 20
    try:
        while time.monotonic() < give_up:
            raw.wfile.write(framed)
    except OSError:
        pass
    raw.close_connection = True


def never_answer(seen: Seen, raw: BaseHTTPRequestHandler) -> None:
    """Read the request, say nothing, and wait until the client hangs up."""
    raw.connection.settimeout(20)
    try:
        while raw.connection.recv(1024):
            pass
    except OSError:
        pass
    raw.close_connection = True
