"""Ed25519 keys of the record, and how their private halves rest: always sealed.

A private key is never stored in the clear. It is sealed (AES-256-GCM) under a key that
is either derived from a password with Argon2id (the owner's key, opened only with their
password) or is itself a random secret (a session's copy of the owner's key, whose secret
only the session's holder has; the instance key, under a key derived from the instance
secret). Sealing also authenticates: a wrong password or secret fails to open the seal,
which is how a password is checked.

Keys are named by `key_id`: the hex SHA-256 of the raw 32-byte public key.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from portfolio.errors import AuthenticationRequired, InvalidInput

_RAW = serialization.Encoding.Raw
_RAW_PUBLIC = serialization.PublicFormat.Raw
_RAW_PRIVATE = serialization.PrivateFormat.Raw


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key as the record names it: `id` and the raw key, base64url."""

    id: str
    public: str

    @classmethod
    def of(cls, key: Ed25519PublicKey) -> PublicKey:
        raw = key.public_bytes(_RAW, _RAW_PUBLIC)
        return cls(id=hashlib.sha256(raw).hexdigest(), public=b64url(raw))

    @classmethod
    def from_json(cls, value: object) -> PublicKey:
        """Read `{"id", "public"}`; raises InvalidInput unless the id is the key's digest."""
        if not isinstance(value, dict) or set(value) != {"id", "public"}:
            raise InvalidInput("a public key is {id, public}", rule="must be {id, public}")
        try:
            raw = unb64url(str(value["public"]))
            Ed25519PublicKey.from_public_bytes(raw)
        except ValueError as exc:
            raise InvalidInput(f"not an Ed25519 public key: {exc}", rule="must be Ed25519") from exc
        if hashlib.sha256(raw).hexdigest() != value["id"]:
            raise InvalidInput("a key id is the SHA-256 of the key", rule="id must match key")
        return cls(id=str(value["id"]), public=str(value["public"]))

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "public": self.public}

    def verify(self, signature: bytes, data: bytes) -> None:
        """Raises InvalidSignature unless `signature` is this key's over `data`."""
        Ed25519PublicKey.from_public_bytes(unb64url(self.public)).verify(signature, data)


class SigningKey:
    """An open Ed25519 private key, held in memory only as long as it is used."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public = PublicKey.of(key.public_key())

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def _raw(self) -> bytes:
        return self._key.private_bytes(_RAW, _RAW_PRIVATE, serialization.NoEncryption())


# ----------------------------------------------------------------------------- sealing


@dataclass(frozen=True)
class KdfCost:
    """Argon2id's cost. The default is OWASP's minimum for Argon2id (19 MiB, 2 passes, 1
    lane; about 45 ms here); a deployment may raise it, and each seal records its own."""

    memory_kib: int = 19 * 1024
    iterations: int = 2
    lanes: int = 1

    @classmethod
    def from_json(cls, value: object) -> KdfCost:
        """Read `{memory_kib, iterations, lanes}`; raises InvalidInput unless each is a
        positive integer (Argon2 would fail on anything else, deep in a request)."""
        if not isinstance(value, dict) or set(value) != {"memory_kib", "iterations", "lanes"}:
            raise InvalidInput(
                "a KDF cost is {memory_kib, iterations, lanes}",
                rule="must be {memory_kib, iterations, lanes}",
            )
        for name, number in value.items():
            if not isinstance(number, int) or isinstance(number, bool) or number < 1:
                raise InvalidInput(
                    f"the KDF cost's {name} must be a positive integer",
                    path=f"cost.{name}",
                    rule="must be a positive integer",
                )
        if value["memory_kib"] < 8 * value["lanes"]:
            raise InvalidInput(
                "Argon2 needs at least 8 KiB of memory a lane",
                path="cost.memory_kib",
                rule="must be at least 8 KiB a lane",
            )
        return cls(**value)

    def within(self, limit: KdfCost) -> bool:
        """Whether this cost asks for no more memory, passes or lanes than `limit`: a
        seal that came from elsewhere (a bundle) is opened only within this instance's
        means, since its cost is spent before anything says the seal is genuine."""
        return (
            self.memory_kib <= limit.memory_kib
            and self.iterations <= limit.iterations
            and self.lanes <= limit.lanes
        )

    def to_json(self) -> dict[str, int]:
        return {"memory_kib": self.memory_kib, "iterations": self.iterations, "lanes": self.lanes}


@dataclass(frozen=True)
class SealedKey:
    """A private key sealed with AES-256-GCM. `kdf` says how the sealing key was made:
    "argon2id" from a password with `salt` and the cost, "hkdf" from a random secret."""

    kdf: str
    salt: str
    nonce: str
    ciphertext: str
    public: PublicKey
    cost: KdfCost | None = None

    def to_json(self) -> dict[str, object]:
        value: dict[str, object] = {
            "kdf": self.kdf,
            "salt": self.salt,
            "nonce": self.nonce,
            "ciphertext": self.ciphertext,
            "public": self.public.to_json(),
        }
        if self.cost is not None:
            value["cost"] = self.cost.to_json()
        return value

    @classmethod
    def from_json(cls, value: dict[str, object]) -> SealedKey:
        """Read a sealed key; raises InvalidInput for a cost that is not one (KdfCost)."""
        cost = value.get("cost")
        return cls(
            kdf=str(value["kdf"]),
            salt=str(value["salt"]),
            nonce=str(value["nonce"]),
            ciphertext=str(value["ciphertext"]),
            public=PublicKey.from_json(value["public"]),
            cost=None if cost is None else KdfCost.from_json(cost),
        )


def _argon2(password: str, salt: bytes, cost: KdfCost) -> bytes:
    return Argon2id(
        salt=salt,
        length=32,
        iterations=cost.iterations,
        lanes=cost.lanes,
        memory_cost=cost.memory_kib,
    ).derive(password.encode())


def _hkdf(secret: bytes, salt: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=salt, info=b"cpdfolio sealed key").derive(
        secret
    )


def _seal(
    key: SigningKey, sealing_key: bytes, *, kdf: str, salt: bytes, cost: KdfCost | None
) -> SealedKey:
    nonce = os.urandom(12)
    # The public key id is bound as associated data: a seal cannot be moved to another key.
    ciphertext = AESGCM(sealing_key).encrypt(nonce, key._raw(), key.public.id.encode())
    return SealedKey(
        kdf=kdf,
        salt=b64url(salt),
        nonce=b64url(nonce),
        ciphertext=b64url(ciphertext),
        public=key.public,
        cost=cost,
    )


def seal_with_password(key: SigningKey, password: str, *, cost: KdfCost) -> SealedKey:
    """Seal `key` under a key derived from `password` (Argon2id)."""
    if not password:
        raise InvalidInput("a password is needed", path="password", rule="must not be empty")
    salt = os.urandom(16)
    return _seal(key, _argon2(password, salt, cost), kdf="argon2id", salt=salt, cost=cost)


def seal_with_secret(key: SigningKey, secret: bytes) -> SealedKey:
    """Seal `key` under a key derived from a random `secret` (HKDF-SHA256)."""
    salt = os.urandom(16)
    return _seal(key, _hkdf(secret, salt), kdf="hkdf", salt=salt, cost=None)


def open_sealed(
    sealed: SealedKey, *, password: str | None = None, secret: bytes | None = None
) -> SigningKey:
    """The private key inside `sealed`.

    Raises AuthenticationRequired when the password or secret does not open it (the seal
    is authenticated, so a wrong one is detected, never decrypted to garbage).
    """
    salt = unb64url(sealed.salt)
    if sealed.kdf == "argon2id" and password is not None and sealed.cost is not None:
        sealing_key = _argon2(password, salt, sealed.cost)
    elif sealed.kdf == "hkdf" and secret is not None:
        sealing_key = _hkdf(secret, salt)
    else:
        raise AuthenticationRequired("this key cannot be opened with what was given")
    try:
        raw = AESGCM(sealing_key).decrypt(
            unb64url(sealed.nonce), unb64url(sealed.ciphertext), sealed.public.id.encode()
        )
    except InvalidTag:
        raise AuthenticationRequired("wrong password or secret") from None
    key = SigningKey(Ed25519PrivateKey.from_private_bytes(raw))
    if key.public != sealed.public:  # cannot happen with an intact seal; checked anyway
        raise AuthenticationRequired("the sealed key does not match its public key")
    return key


__all__ = [
    "InvalidSignature",
    "KdfCost",
    "PublicKey",
    "SealedKey",
    "SigningKey",
    "open_sealed",
    "seal_with_password",
    "seal_with_secret",
]
