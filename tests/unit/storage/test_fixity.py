from __future__ import annotations

import hashlib
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.fixity import HashingReader, normalise_sha256, sha256_stream


@given(st.binary(max_size=5000), st.integers(min_value=1, max_value=700))
def test_sha256_stream_matches_hashlib_for_any_chunk_size(data: bytes, chunk: int) -> None:
    assert sha256_stream(io.BytesIO(data), chunk) == (hashlib.sha256(data).hexdigest(), len(data))


def test_hashing_reader_hashes_and_counts_what_is_read_through_it() -> None:
    data = "Hồ sơ lưu trữ".encode()
    reader = HashingReader(io.BytesIO(data))
    assert reader.read(3) + reader.read() == data
    assert reader.size == len(data)
    assert reader.hexdigest() == hashlib.sha256(data).hexdigest()


def test_sha256_digests_are_normalised_to_lower_case() -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    assert normalise_sha256(digest.upper()) == digest
    for bad in ("", digest[:-1], digest + "0", "z" * 64, f" {digest[1:]}"):
        with pytest.raises(ValueError, match="SHA-256"):
            normalise_sha256(bad)
