"""SPDY/3.1 framing: frames written by one end are read back by the other, byte for byte where it matters."""

from __future__ import annotations

import hashlib
import struct
import zlib

import pytest

from kubenest.server import spdy


def test_dictionary_is_the_spdy3_dictionary() -> None:
    # 1423 bytes, starting with the length-prefixed "options" and ending with "enq=0." (draft-mbelshe 2.6.10.1).
    assert len(spdy.DICTIONARY) == 1423
    assert spdy.DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert spdy.DICTIONARY.endswith(b",*,enq=0.")
    assert hashlib.sha256(spdy.DICTIONARY).hexdigest() == (
        "51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02")


def test_frames_round_trip_between_two_ends() -> None:
    client, server = spdy.Codec(), spdy.Codec()
    frames: list[spdy.Frame] = [
        spdy.SynStream(1, {"streamtype": ["error"], "port": ["8080"], "requestid": ["0"]}, spdy.FLAG_FIN, 0, 2),
        spdy.SynStream(3, {"streamtype": ["data"], "port": ["8080"], "requestid": ["0"]}),
        spdy.DataFrame(3, b"GET / HTTP/1.1\r\n\r\n"),
        spdy.DataFrame(3, b"", spdy.FLAG_FIN),
        spdy.Ping(1),
        spdy.Settings([(0, 4, 1000), (1, 7, 65536)]),
        spdy.WindowUpdate(3, 4096),
        spdy.RstStream(5, spdy.CANCEL),
        spdy.HeadersFrame(3, {"x": ["a", "b"]}),
        spdy.GoAway(3, 0),
    ]
    wire = b"".join(client.encode(f) for f in frames)
    assert server.feed(wire) == frames


def test_partial_bytes_wait_for_the_rest_of_the_frame() -> None:
    writer, reader = spdy.Codec(), spdy.Codec()
    wire = writer.encode(spdy.SynReply(1, {"a": ["b"]})) + writer.encode(spdy.DataFrame(1, b"x" * 100))
    got: list[spdy.Frame] = []
    for i in range(0, len(wire), 7):
        got += reader.feed(wire[i:i + 7])
    assert got == [spdy.SynReply(1, {"a": ["b"]}), spdy.DataFrame(1, b"x" * 100)]


def test_header_blocks_share_one_zlib_stream_per_direction() -> None:
    writer = spdy.Codec()
    first = writer.encode(spdy.SynReply(1, {"streamtype": ["data"]}))
    second = writer.encode(spdy.SynReply(3, {"streamtype": ["data"]}))
    # The second block refers back to the first, so it is shorter, and only a reader that saw the first
    # can read it.
    assert len(second) < len(first)
    with pytest.raises(spdy.ProtocolError):
        spdy.Codec().feed(second)
    reader = spdy.Codec()
    assert reader.feed(first + second)[1] == spdy.SynReply(3, {"streamtype": ["data"]})


def test_reads_a_header_block_compressed_by_another_zlib() -> None:
    # What spdystream (Go's compress/zlib with the dictionary) sends: a sync-flushed zlib stream.
    raw = struct.pack(">I", 2) + b"".join(
        struct.pack(">I", len(n)) + n + struct.pack(">I", len(v)) + v
        for n, v in ((b"streamtype", b"data"), (b"port", b"80")))
    z = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, zdict=spdy.DICTIONARY)
    block = z.compress(raw) + z.flush(zlib.Z_SYNC_FLUSH)
    payload = struct.pack(">IIBB", 7, 0, 0, 0) + block
    frame = struct.pack(">HHB", 0x8003, spdy.SYN_STREAM, 0) + len(payload).to_bytes(3, "big") + payload
    (syn,) = spdy.Codec().feed(frame)
    assert isinstance(syn, spdy.SynStream)
    assert syn.stream_id == 7 and syn.header("streamType") == "data" and syn.header("port") == "80"


def test_wrong_version_is_a_protocol_error() -> None:
    frame = struct.pack(">HHB", 0x8002, spdy.PING, 0) + (4).to_bytes(3, "big") + struct.pack(">I", 1)
    with pytest.raises(spdy.ProtocolError):
        spdy.Codec().feed(frame)
