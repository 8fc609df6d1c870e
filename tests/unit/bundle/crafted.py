"""Bundles made to order for the tests of untrusted input: a real bundle changed and signed
again (so only what the test changes is wrong), or one made from nothing with keys of its
own making (what anyone could send to POST /api/arrivals)."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from portfolio.bundle.layout import MANIFEST, REQUIRED, SIGNATURES
from portfolio.record.canonical import canonical_json
from portfolio.record.keys import SigningKey, b64url
from portfolio.standards import shipped_packages

STANDARD = "https://cpdfolio.org/frameworks/vsc-cymru-standard"


def signed_zip(
    manifest: dict[str, Any],
    members: Mapping[str, bytes],
    *,
    owner: SigningKey,
    instance: SigningKey,
) -> bytes:
    """A zip of `members`, with `manifest` listing them (its "files" made here) and both
    signatures over it."""
    manifest = {
        **manifest,
        "files": [
            {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in sorted(members.items())
        ],
    }
    manifest_bytes = canonical_json(manifest)
    signatures = {
        role: {
            "key": key.public.id,
            "public": key.public.public,
            "signature": b64url(key.sign(manifest_bytes)),
        }
        for role, key in (("owner", owner), ("instance", instance))
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.writestr(MANIFEST, manifest_bytes)
        archive.writestr(SIGNATURES, orjson.dumps(signatures))
    return out.getvalue()


def resigned(
    source: Path,
    out: Path,
    changes: Mapping[str, bytes],
    *,
    owner: SigningKey,
    instance: SigningKey,
) -> Path:
    """`source` with the members `changes` names replaced (or added), its manifest listing
    them and signed again by `owner` and `instance`, written to `out`."""
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = orjson.loads(members.pop(MANIFEST))
    members.pop(SIGNATURES)
    members.update(changes)
    out.write_bytes(signed_zip(manifest, members, owner=owner, instance=instance))
    return out


def edited_keys(source: Path, edit: Any) -> bytes:
    """keys.json of `source` as `edit` (called with its JSON, changing it) leaves it."""
    with zipfile.ZipFile(source) as archive:
        keys = orjson.loads(archive.read("keys.json"))
    edit(keys)
    return orjson.dumps(keys)


def self_made(
    keys_json: bytes, *, url: str = "https://anyone.example"
) -> tuple[bytes, SigningKey, SigningKey]:
    """A bundle signed by keys made on the spot, with `keys_json` as its keys.json and the
    other required files empty: it gets as far as its signatures, no further."""
    owner, instance = SigningKey.generate(), SigningKey.generate()
    members = {path: b"" for path in REQUIRED}
    members["keys.json"] = keys_json
    manifest = {
        "format": "cpdfolio-bundle",
        "version": 1,
        "created": "2026-11-23T10:00:00.000000Z",
        "person": {"id": "p", "name": "Someone"},
        "instance": {"url": url, "key": instance.public.id},
        "record": {"entries": 1, "head": "0" * 64},
        "statements": 0,
    }
    return signed_zip(manifest, members, owner=owner, instance=instance), owner, instance


def standard_version(version: str, title: str) -> bytes:
    """A CASE package of the Standard (as shipped) under another version and title, with a
    CFDocument identifier of its own: a version an instance could publish."""
    shipped = dict(shipped_packages())["vsc-cymru-standard.json"]
    package = json.loads(shipped)
    package["CFDocument"]["version"] = version
    package["CFDocument"]["title"] = title
    identifier = package["CFDocument"]["identifier"]
    return json.dumps(package).replace(identifier, str(uuid.uuid4())).encode()
