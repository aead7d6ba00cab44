"""SPDY/3.1 framing, as much of it as Kubernetes port-forward uses (moby/spdystream on the client side).

A connection is a byte stream of frames. Control frames: `1 | version(15) | type(16) | flags(8) |
length(24)` then the payload; data frames: `0 | stream id(31) | flags(8) | length(24)` then the data.
Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are zlib streams, one per direction for the whole
connection, primed with the SPDY/3 dictionary and flushed with Z_SYNC_FLUSH after each block.

`Codec` turns bytes into frames and frames into bytes for one end of one connection.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3

SYN_STREAM = 1
SYN_REPLY = 2
RST_STREAM = 3
SETTINGS = 4
PING = 6
GOAWAY = 7
HEADERS = 8
WINDOW_UPDATE = 9

FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02

# RST_STREAM status codes
PROTOCOL_ERROR = 1
INVALID_STREAM = 2
REFUSED_STREAM = 3
CANCEL = 5
INTERNAL_ERROR = 6

Headers = dict[str, list[str]]


def _dictionary() -> bytes:
    """The SPDY/3 header compression dictionary (draft-mbelshe-httpbis-spdy-00, 2.6.10.1): length-prefixed
    words, then a run of status codes, status lines, dates and common values."""
    words = (
        "options head post put delete trace accept accept-charset accept-encoding accept-language "
        "accept-ranges age allow authorization cache-control connection content-base content-encoding "
        "content-language content-length content-location content-md5 content-range content-type date etag "
        "expect expires from host if-match if-modified-since if-none-match if-range if-unmodified-since "
        "last-modified location max-forwards pragma proxy-authenticate proxy-authorization range referer "
        "retry-after server te trailer transfer-encoding upgrade user-agent vary via warning www-authenticate "
        "method get status |200 OK| version HTTP/1.1 url public set-cookie keep-alive origin"
    )
    out = bytearray()
    rest = words
    while rest:
        if rest.startswith("|"):
            word, _, rest = rest[1:].partition("|")
            rest = rest.lstrip()
        else:
            word, _, rest = rest.partition(" ")
        out += struct.pack(">I", len(word)) + word.encode()
    out += (
        b"100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
        b"203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
        b"403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
        b"Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
        b"chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
        b"text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
    )
    return bytes(out)


DICTIONARY = _dictionary()


@dataclass
class DataFrame:
    stream_id: int
    data: bytes = b""
    flags: int = 0

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


@dataclass
class SynStream:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    flags: int = 0
    associated_id: int = 0
    priority: int = 0

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower())
        return values[0] if values else ""


@dataclass
class SynReply:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    flags: int = 0


@dataclass
class RstStream:
    stream_id: int
    status: int


@dataclass
class Settings:
    entries: list[tuple[int, int, int]] = field(default_factory=list)  # (flags, id, value)
    flags: int = 0


@dataclass
class Ping:
    id: int


@dataclass
class GoAway:
    last_good_stream_id: int
    status: int = 0


@dataclass
class HeadersFrame:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    flags: int = 0


@dataclass
class WindowUpdate:
    stream_id: int
    delta: int


Frame = DataFrame | SynStream | SynReply | RstStream | Settings | Ping | GoAway | HeadersFrame | WindowUpdate


class ProtocolError(Exception):
    """The peer sent bytes that are not SPDY/3.1."""


class Codec:
    """Frame parsing and writing for one end of a connection (its own zlib contexts)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY,
                                         zdict=DICTIONARY)

    # -- reading --------------------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Frame]:
        """Frames completed by `data` (bytes of a partial frame stay buffered)."""
        self._buf += data
        frames: list[Frame] = []
        while len(self._buf) >= 8:
            length = int.from_bytes(self._buf[5:8], "big")
            if len(self._buf) < 8 + length:
                break
            head = bytes(self._buf[:8])
            payload = bytes(self._buf[8:8 + length])
            del self._buf[:8 + length]
            frame = self._parse(head, payload)
            if frame is not None:
                frames.append(frame)
        return frames

    def _parse(self, head: bytes, payload: bytes) -> Frame | None:
        word, flags = struct.unpack(">IB", head[:5])
        if not word & 0x80000000:
            return DataFrame(word & 0x7FFFFFFF, payload, flags)
        version = (word >> 16) & 0x7FFF
        kind = word & 0xFFFF
        if version != VERSION:
            raise ProtocolError(f"unsupported SPDY version {version}")
        try:
            if kind == SYN_STREAM:
                sid, assoc, prio = struct.unpack(">IIB", payload[:9])
                return SynStream(sid & 0x7FFFFFFF, self._headers(payload[10:]), flags, assoc & 0x7FFFFFFF, prio >> 5)
            if kind == SYN_REPLY:
                (sid,) = struct.unpack(">I", payload[:4])
                return SynReply(sid & 0x7FFFFFFF, self._headers(payload[4:]), flags)
            if kind == HEADERS:
                (sid,) = struct.unpack(">I", payload[:4])
                return HeadersFrame(sid & 0x7FFFFFFF, self._headers(payload[4:]), flags)
            if kind == RST_STREAM:
                sid, status = struct.unpack(">II", payload[:8])
                return RstStream(sid & 0x7FFFFFFF, status)
            if kind == SETTINGS:
                (n,) = struct.unpack(">I", payload[:4])
                entries = []
                for i in range(n):
                    fid, value = struct.unpack(">II", payload[4 + 8 * i:12 + 8 * i])
                    entries.append((fid >> 24, fid & 0xFFFFFF, value))
                return Settings(entries, flags)
            if kind == PING:
                return Ping(struct.unpack(">I", payload[:4])[0])
            if kind == GOAWAY:
                last, status = struct.unpack(">II", payload[:8])
                return GoAway(last & 0x7FFFFFFF, status)
            if kind == WINDOW_UPDATE:
                sid, delta = struct.unpack(">II", payload[:8])
                return WindowUpdate(sid & 0x7FFFFFFF, delta & 0x7FFFFFFF)
        except (struct.error, zlib.error) as e:
            raise ProtocolError(f"malformed control frame type {kind}: {e}") from e
        return None  # unknown control frames are ignored, as the spec asks

    def _headers(self, block: bytes) -> Headers:
        raw = self._inflate.decompress(block)
        (n,) = struct.unpack(">I", raw[:4])
        pos = 4
        out: Headers = {}
        for _ in range(n):
            (ln,) = struct.unpack(">I", raw[pos:pos + 4])
            name = raw[pos + 4:pos + 4 + ln].decode("latin-1").lower()
            pos += 4 + ln
            (lv,) = struct.unpack(">I", raw[pos:pos + 4])
            value = raw[pos + 4:pos + 4 + lv].decode("latin-1")
            pos += 4 + lv
            out.setdefault(name, []).extend(value.split("\x00"))
        return out

    # -- writing --------------------------------------------------------------------------------------

    def encode(self, frame: Frame) -> bytes:
        if isinstance(frame, DataFrame):
            return struct.pack(">IB", frame.stream_id & 0x7FFFFFFF, frame.flags) + len(frame.data).to_bytes(3, "big") \
                + frame.data
        if isinstance(frame, SynStream):
            payload = struct.pack(">IIBB", frame.stream_id, frame.associated_id, (frame.priority & 7) << 5, 0) \
                + self._block(frame.headers)
            return _control(SYN_STREAM, frame.flags, payload)
        if isinstance(frame, SynReply):
            return _control(SYN_REPLY, frame.flags, struct.pack(">I", frame.stream_id) + self._block(frame.headers))
        if isinstance(frame, HeadersFrame):
            return _control(HEADERS, frame.flags, struct.pack(">I", frame.stream_id) + self._block(frame.headers))
        if isinstance(frame, RstStream):
            return _control(RST_STREAM, 0, struct.pack(">II", frame.stream_id, frame.status))
        if isinstance(frame, Settings):
            body = struct.pack(">I", len(frame.entries)) + b"".join(
                struct.pack(">II", (f << 24) | i, v) for f, i, v in frame.entries)
            return _control(SETTINGS, frame.flags, body)
        if isinstance(frame, Ping):
            return _control(PING, 0, struct.pack(">I", frame.id))
        if isinstance(frame, GoAway):
            return _control(GOAWAY, 0, struct.pack(">II", frame.last_good_stream_id, frame.status))
        if isinstance(frame, WindowUpdate):
            return _control(WINDOW_UPDATE, 0, struct.pack(">II", frame.stream_id, frame.delta))
        raise TypeError(f"not a SPDY frame: {frame!r}")

    def _block(self, headers: Headers) -> bytes:
        raw = bytearray(struct.pack(">I", len(headers)))
        for name, values in headers.items():
            n = name.lower().encode("latin-1")
            v = "\x00".join(values).encode("latin-1")
            raw += struct.pack(">I", len(n)) + n + struct.pack(">I", len(v)) + v
        return self._deflate.compress(bytes(raw)) + self._deflate.flush(zlib.Z_SYNC_FLUSH)


def _control(kind: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHB", 0x8000 | VERSION, kind, flags) + len(payload).to_bytes(3, "big") + payload
