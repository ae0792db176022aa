"""API keys (hashed, roles, revocation) and the append-only audit log."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.api import cli
from services.api.deps import Database
from shared.access import keys
from shared.access import store as access_store
from shared.access.models import ApiKey, AuditEntry
from shared.core.errors import InvalidInput, Unauthorized


class TestKeys:
    async def test_key_is_stored_hashed_never_plain(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            row, plaintext = await access_store.create_key(
                s, name="平台", role="viewer", org=None, pepper="p", actor="t"
            )
            stored = (await s.execute(select(ApiKey).where(ApiKey.id == row.id))).scalar_one()
            assert plaintext not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64
            assert stored.key_hash == keys.hash_key(plaintext, "p")
            assert (await access_store.authenticate(s, plaintext, "p")).id == row.id
            with pytest.raises(Unauthorized):
                await access_store.authenticate(s, plaintext, "other-pepper")

    async def test_revoked_key_is_refused(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            row, plaintext = await access_store.create_key(s, name="x", role="admin", org=None, pepper="", actor="t")
            await access_store.revoke_key(s, prefix=row.prefix, actor="t")
            with pytest.raises(Unauthorized, match="revoked"):
                await access_store.authenticate(s, plaintext, "")
            actions = await s.execute(select(AuditEntry.action).where(AuditEntry.entity_key == row.prefix))
            assert list(actions.scalars()) == ["create", "revoke"]

    async def test_integration_key_needs_an_org(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            with pytest.raises(InvalidInput, match="--org"):
                await access_store.create_key(s, name="x", role="integration", org=None, pepper="", actor="t")


class TestAuditIsAppendOnly:
    @pytest.mark.parametrize(
        "statement", ["UPDATE audit_entries SET actor = 'someone else'", "DELETE FROM audit_entries"]
    )
    async def test_postgres_refuses_update_and_delete(self, session: AsyncSession, statement: str) -> None:
        # Even for the table's owner (the trigger); the application's role cannot even try (test_db_roles.py).
        await access_store.create_key(session, name="x", role="viewer", org=None, pepper="", actor="t")
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(text(statement))


class TestKeysCli:
    def test_create_prints_the_key_once(self, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
        from shared.core import migrations
        from shared.core.settings import get_settings

        url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
        migrations.upgrade(url)
        monkeypatch.setenv("SCORECARD_DB__URL", url)
        get_settings.cache_clear()
        try:
            assert cli.main(["keys", "create", "--name", "看板", "--role", "viewer"]) == 0
            printed = capsys.readouterr().out.splitlines()
            plaintext = printed[-1]
            assert plaintext.startswith("sc_") and "not shown again" in printed[0]
            assert cli.main(["keys", "list"]) == 0
            listing = capsys.readouterr().out
            assert "看板" in listing and plaintext not in listing
            assert cli.main(["keys", "create", "--name", "x", "--role", "integration"]) == 2
            assert "--org" in capsys.readouterr().err  # errors go to stderr
        finally:
            get_settings.cache_clear()
