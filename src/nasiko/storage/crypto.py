"""Secrets at rest: AES-256-GCM with a key ring that supports rotation.

The master secrets come from ``NASIKO_SECRET_KEY`` (comma-separated, newest first) or from
``<data_dir>/secret.key`` (one per line, newest first; generated with mode 0600 on first
start). Per-purpose keys are derived with HKDF so the JWT signing key and the encryption key
are never the same bytes. Ciphertexts name the key that wrote them, so old keys keep
decrypting while new writes use the newest.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from nasiko.errors import ConfigurationError

PREFIX = "enc1"
PLACEHOLDERS = {"changeme", "secret", "change-me", "dev", "test"}


def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        master
    )


class KeyRing:
    def __init__(self, masters: list[bytes]) -> None:
        if not masters:
            raise ConfigurationError("no secret key configured")
        self._keys: list[tuple[str, AESGCM]] = []
        for master in masters:
            key = _derive(master, "nasiko/encryption")
            kid = hashlib.sha256(key).hexdigest()[:8]
            self._keys.append((kid, AESGCM(key)))
        self._by_id = dict(self._keys)
        self.signing_keys = [_derive(m, "nasiko/jwt") for m in masters]

    @classmethod
    def from_settings(cls, secret_key: str | None, data_dir: Path, *, production: bool) -> KeyRing:
        if secret_key:
            parts = [p.strip() for p in secret_key.split(",") if p.strip()]
            if production and any(p.lower() in PLACEHOLDERS or len(p) < 16 for p in parts):
                raise ConfigurationError(
                    "NASIKO_SECRET_KEY looks like a placeholder; use at least 16 random "
                    "characters (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)"
                )
            return cls([p.encode() for p in parts])
        return cls(load_or_create_key_file(data_dir / "secret.key"))

    def encrypt(self, plaintext: str) -> str:
        kid, aead = self._keys[0]
        nonce = os.urandom(12)
        ct = aead.encrypt(nonce, plaintext.encode(), kid.encode())
        return f"{PREFIX}:{kid}:{base64.urlsafe_b64encode(nonce + ct).decode()}"

    def decrypt(self, token: str) -> str:
        try:
            prefix, kid, body = token.split(":", 2)
        except ValueError as exc:
            raise ConfigurationError("stored secret is not in a known format") from exc
        aead = self._by_id.get(kid) if prefix == PREFIX else None
        if aead is None:
            raise ConfigurationError(
                f"stored secret was encrypted with key {kid}, which is not in the key ring; "
                "add the old key after the new one in NASIKO_SECRET_KEY"
            )
        raw = base64.urlsafe_b64decode(body)
        try:
            return aead.decrypt(raw[:12], raw[12:], kid.encode()).decode()
        except InvalidTag as exc:
            raise ConfigurationError(f"stored secret under key {kid} failed to decrypt") from exc

    def needs_rotation(self, token: str) -> bool:
        return not token.startswith(f"{PREFIX}:{self._keys[0][0]}:")


def load_or_create_key_file(path: Path) -> list[bytes]:
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            os.chmod(path, 0o600)
        lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
        if not lines:
            raise ConfigurationError(f"key file {path} is empty")
        return [ln.encode() for ln in lines]
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return [key.encode()]
