"""Remote LRS secrets, sealed under the instance secret (AES-256-GCM, key from HKDF).

The store holds only the sealed form: a copy of the database alone opens no remote LRS.
The name of the source or destination is bound as associated data, so a sealed secret
cannot be moved to another entry. A changed CPDFOLIO_SECRET_KEY cannot open old seals;
the message says to enter the credentials again.
"""

from __future__ import annotations

import os

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from portfolio.errors import InvalidInput
from portfolio.record.keys import b64url, unb64url

_INFO = b"cpdfolio remote LRS credential"


def _key(instance_secret: bytes, salt: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=salt, info=_INFO).derive(instance_secret)


def seal_secret(secret: str, *, name: str, instance_secret: bytes) -> str:
    """The JSON to store for `secret`, the credential of the entry called `name`."""
    salt, nonce = os.urandom(16), os.urandom(12)
    ciphertext = AESGCM(_key(instance_secret, salt)).encrypt(nonce, secret.encode(), name.encode())
    return orjson.dumps(
        {"salt": b64url(salt), "nonce": b64url(nonce), "ciphertext": b64url(ciphertext)}
    ).decode()


def open_secret(sealed: str, *, name: str, instance_secret: bytes) -> str:
    """The secret inside `sealed`; raises InvalidInput when this instance cannot open it."""
    try:
        value = orjson.loads(sealed)
        return (
            AESGCM(_key(instance_secret, unb64url(value["salt"])))
            .decrypt(unb64url(value["nonce"]), unb64url(value["ciphertext"]), name.encode())
            .decode()
        )
    except (InvalidTag, KeyError, TypeError, ValueError, orjson.JSONDecodeError):
        raise InvalidInput(
            f"the stored credentials of {name!r} cannot be opened (was CPDFOLIO_SECRET_KEY"
            " changed?): add it again with --replace and its key and secret",
            path="secret",
            rule="must be sealed under this instance's secret key",
        ) from None
