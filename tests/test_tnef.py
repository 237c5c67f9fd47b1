"""Tests for unpacking winmail.dat (TNEF) attachments."""

from __future__ import annotations

import struct

from tnefbuild import SIGNATURE, tnef_blob

from mailbot.mail.tnef import MAX_OBJECTS, unpack_tnef


def test_files_are_unpacked_with_names_and_bytes() -> None:
    blob = tnef_blob([("rota.xlsx", b"spreadsheet"), ("notes.txt", b"room 12")])
    assert unpack_tnef(blob) == [("rota.xlsx", b"spreadsheet"), ("notes.txt", b"room 12")]


def test_blob_without_files_gives_an_empty_list() -> None:
    assert unpack_tnef(tnef_blob([])) == []


def test_data_that_is_not_tnef_is_unreadable() -> None:
    assert unpack_tnef(b"Fixture") is None


def test_cut_off_blob_is_unreadable_rather_than_cut_files() -> None:
    blob = tnef_blob([("rota.xlsx", b"spreadsheet" * 50)])
    assert unpack_tnef(blob[: len(blob) // 2]) is None


def test_blob_of_too_many_objects_is_not_handed_to_the_library() -> None:
    empty_object = struct.pack("<BHHI", 1, 0x8004, 0x0001, 0) + b"\x00\x00"
    blob = struct.pack("<IH", SIGNATURE, 0) + empty_object * (MAX_OBJECTS + 1)
    assert unpack_tnef(blob) is None
