"""duban_require(ok, what) on PostgreSQL: a statement sent with others in one string
(core.sql.batch) that fails their transaction when `ok` is not true — with SQLSTATE DU001,
so the caller can tell it from any other error. accounts.tokens.api_client_confirm uses
it to check, in an intake's transaction, that the API client it remembered is unchanged."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION duban_require(ok boolean, what text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION USING ERRCODE = 'DU001',
            MESSAGE = 'duban: ' || what || ' changed since it was read';
    END IF;
    RETURN true;
END
$$
"""
DROP = "DROP FUNCTION IF EXISTS duban_require(boolean, text)"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_stamp")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
