"""Writers of small event files in the official formats, for the loader tests."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def events(x, y, t, p) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.int64) for k, v in zip("xytp", (x, y, t, p), strict=True)}


def write_nmnist_bin(path: Path, ev: dict[str, np.ndarray]) -> Path:
    """N-MNIST's 5-byte events: x, y, polarity bit 7 + timestamp bits 22..16, then 15..0."""
    t = ev["t"]
    raw = np.zeros((len(t), 5), np.uint8)
    raw[:, 0] = ev["x"]
    raw[:, 1] = ev["y"]
    raw[:, 2] = (ev["p"] << 7) | ((t >> 16) & 0x7F)
    raw[:, 3] = (t >> 8) & 0xFF
    raw[:, 4] = t & 0xFF
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw.tobytes())
    return path


def write_aedat2(path: Path, ev: dict[str, np.ndarray]) -> Path:
    """jAER AER-DAT 2.0 from a DVS128: '#' header lines, then big-endian int32 address and
    timestamp; x = (a >> 1) & 127, y = (a >> 8) & 127, p = a & 1."""
    address = (ev["y"] << 8) | (ev["x"] << 1) | ev["p"]
    body = np.zeros(len(address), np.dtype([("a", ">u4"), ("t", ">u4")]))
    body["a"], body["t"] = address, ev["t"]
    header = b"#!AER-DAT2.0\r\n# This is a raw AE data file\r\n# AEChip: DVS128\r\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + body.tobytes())
    return path


def random_events(rng: np.random.Generator, count: int, side: int, duration: int = 300_000):
    t = np.sort(rng.integers(0, duration, count))
    return events(rng.integers(0, side, count), rng.integers(0, side, count), t,
                  rng.integers(0, 2, count))  # fmt: skip


def write_aedat31(path: Path, ev: dict[str, np.ndarray], packets: int = 2) -> Path:
    """AEDAT 3.1 as IBM's DVS Gesture recordings: header lines, then packets of a 28-byte
    header (type, source, size, ts offset, ts overflow, capacity, number, valid) and 8-byte
    polarity events (data = x << 17 | y << 2 | p << 1 | valid, timestamp). A special-event
    packet (type 0) is inserted first: readers must skip it."""
    data = (ev["x"] << 17) | (ev["y"] << 2) | (ev["p"] << 1) | 1
    body = [b"#!AER-DAT3.1\r\n#Format: RAW\r\n#!END-HEADER\r\n"]
    special = np.array([(0, 0, 8, 4, 0, 1, 1, 1)], "<i2,<i2,<i4,<i4,<i4,<i4,<i4,<i4")
    body += [special.tobytes(), np.array([(7, 0)], "<u4,<i4").tobytes()]
    for part in np.array_split(np.arange(len(data)), packets):
        head = np.array([(1, 1, 8, 4, 0, len(part), len(part), len(part))],
                        "<i2,<i2,<i4,<i4,<i4,<i4,<i4,<i4")  # fmt: skip
        records = np.zeros(len(part), "<u4,<i4")
        records["f0"], records["f1"] = data[part], ev["t"][part]
        body += [head.tobytes(), records.tobytes()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(body))
    return path


def write_aedat4(path: Path, ev: dict[str, np.ndarray], side: int = 128) -> Path:
    """AEDAT 4 as DV writes it, uncompressed: magic line, u32 length + IOHeader flatbuffer
    ('IOHE', only its description string: the stream XML), then packets of u32 stream id +
    u32 length + size-prefixed EventPacket flatbuffer ('EVTS', a vector of 16-byte structs
    t, x, y, on)."""
    xml = (
        '<dv version="2.0"><node name="outInfo" path="/mainloop/output/outInfo/">'
        '<node name="0" path="/mainloop/output/outInfo/0/">'
        '<attr key="typeIdentifier" type="string">EVTS</attr>'
        '<node name="info" path="/mainloop/output/outInfo/0/info/">'
        f'<attr key="sizeX" type="int">{side}</attr><attr key="sizeY" type="int">{side}</attr>'
        "</node></node></node></dv>"
    ).encode()
    # IOHeader: root u32, "IOHE", vtable (size 10, table 8, compression -, position -, slot 2
    # at +4), 2 pad bytes, table (soffset back to the vtable, u32 offset to the string), string
    header = struct.pack("<I4sHHHHHxxiI", 20, b"IOHE", 10, 8, 0, 0, 4, 12, 4)
    header += struct.pack("<I", len(xml)) + xml + b"\0"
    # EventPacket: root u32, "EVTS", vtable (size 6, table 8, slot 0 at +4), 2 pad bytes, table,
    # 4 pad bytes, vector length at byte 28 so the 8-byte aligned structs start at byte 32
    records = np.zeros(len(ev["t"]), np.dtype(
        {"names": ["t", "x", "y", "on"], "formats": ["<i8", "<i2", "<i2", "?"],
         "offsets": [0, 8, 10, 12], "itemsize": 16}))  # fmt: skip
    records["t"], records["x"], records["y"], records["on"] = ev["t"], ev["x"], ev["y"], ev["p"]
    packet = struct.pack("<I4sHHHxxiIxxxxI", 16, b"EVTS", 6, 8, 4, 8, 8, len(records))
    packet += records.tobytes()
    packet = struct.pack("<I", len(packet)) + packet  # packets are size-prefixed flatbuffers
    body = b"#!AER-DAT4.0\r\n" + struct.pack("<I", len(header)) + header
    body += struct.pack("<II", 0, len(packet)) + packet
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return path
