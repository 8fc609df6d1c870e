"""RFC 8785 (JSON Canonicalization Scheme) bytes of a value: what record entries are hashed
and signed as.

JCS fixes key order (UTF-16 code units), number formatting (ECMAScript) and string
escaping, so any implementation in any language gets the same bytes from the same value,
and an offline verifier can recompute a hash without this code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import rfc8785

from portfolio.errors import InvalidInput

# What a record entry may hold: JSON values. JCS represents integers exactly only within
# IEEE 754 doubles' 53 bits; rfc8785 refuses larger ones, and so do we, with a path.
JsonValue = None | bool | int | float | str | Sequence["JsonValue"] | Mapping[str, "JsonValue"]


def canonical_json(value: object) -> bytes:
    """The JCS bytes of a JSON value.

    Raises InvalidInput when the value is not representable in JCS: a non-finite float, an
    integer beyond ±2**53, a key that is not a string, or a value that is not JSON.
    """
    try:
        return rfc8785.dumps(value)  # type: ignore[arg-type]  # any JSON; checked here
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise InvalidInput(
            f"the value cannot be canonicalised (RFC 8785): {exc}",
            rule="must be JSON that RFC 8785 can represent",
        ) from exc


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
