from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from nasiko.bootstrap import Services, open_services
from nasiko.errors import ConfigurationError
from nasiko.settings import Settings
from nasiko.storage.crypto import KeyRing, load_or_create_key_file
from nasiko.storage.sql.tables import credentials


def test_key_file_created_0600(tmp_path: Path) -> None:
    keys = load_or_create_key_file(tmp_path / "secret.key")
    assert len(keys) == 1 and len(keys[0]) == 64
    mode = stat.S_IMODE((tmp_path / "secret.key").stat().st_mode)
    assert mode == 0o600
    assert load_or_create_key_file(tmp_path / "secret.key") == keys


def test_encrypt_roundtrip_and_tamper() -> None:
    ring = KeyRing([b"k" * 32])
    token = ring.encrypt("ghp_secretvalue")
    assert "ghp_secretvalue" not in token
    assert ring.decrypt(token) == "ghp_secretvalue"
    prefix, kid, body = token.split(":", 2)
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(ConfigurationError):
        ring.decrypt(f"{prefix}:{kid}:{flipped}")


def test_rotation_old_keys_decrypt_new_key_writes() -> None:
    old = KeyRing([b"old-key-0123456789"])
    token = old.encrypt("value")
    rotated = KeyRing([b"new-key-0123456789", b"old-key-0123456789"])
    assert rotated.decrypt(token) == "value"
    assert rotated.needs_rotation(token)
    fresh = rotated.encrypt("value")
    assert not rotated.needs_rotation(fresh)
    with pytest.raises(ConfigurationError, match="not in the key ring"):
        old.decrypt(fresh)


def test_production_refuses_placeholder_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="placeholder"):
        KeyRing.from_settings("changeme", tmp_path, production=True)
    KeyRing.from_settings("changeme", tmp_path, production=False)


async def test_credentials_unreadable_in_raw_database(svc: Services) -> None:
    admin = await svc.storage.users.get_by_username("admin")
    assert admin is not None
    await svc.storage.credentials.put(
        user_id=admin.id, kind="github", secret="ghp_TOPSECRET123", meta={"login": "octo"}
    )
    async with svc.storage.engine.connect() as conn:
        raw = (await conn.execute(select(credentials.c.ciphertext))).scalar_one()
    assert "TOPSECRET" not in raw and raw.startswith("enc1:")
    got = await svc.storage.credentials.get(user_id=admin.id, kind="github")
    assert got is not None and got.secret == "ghp_TOPSECRET123"
    assert got.meta == {"login": "octo"}
    # upsert keeps one row per (owner, kind, name)
    await svc.storage.credentials.put(user_id=admin.id, kind="github", secret="ghp_NEW")
    items = await svc.storage.credentials.list(user_id=admin.id)
    assert [c.secret for c in items] == ["ghp_NEW"]
    assert await svc.storage.credentials.delete(user_id=admin.id, kind="github")
    assert await svc.storage.credentials.get(user_id=admin.id, kind="github") is None


async def test_key_rotation_reencrypts_stored_secrets(settings: Settings) -> None:
    settings.secret_key = SecretStr("first-key-0123456789")
    async with open_services(settings) as svc:
        await svc.storage.credentials.put(user_id=None, kind="n8n", secret="n8n-api-key")
    settings.secret_key = SecretStr("second-key-0123456789,first-key-0123456789")
    async with open_services(settings) as svc:
        got = await svc.storage.credentials.get(user_id=None, kind="n8n")
        assert got is not None and got.secret == "n8n-api-key"
        assert await svc.storage.credentials.rotate() == 1
        assert await svc.storage.credentials.rotate() == 0
    settings.secret_key = SecretStr("second-key-0123456789")
    async with open_services(settings) as svc:
        got = await svc.storage.credentials.get(user_id=None, kind="n8n")
        assert got is not None and got.secret == "n8n-api-key"
