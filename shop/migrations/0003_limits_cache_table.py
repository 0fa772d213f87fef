"""The table of the `limits` cache (shop.limits) when there is no Redis.

Django makes a database cache's table with `createcachetable`, which `migrate` does
not run; this migration runs it, so `make run` and every server find the table.
"""

from django.core.management import call_command
from django.db import migrations

TABLE = "shop_limits_cache"


def create_table(apps, schema_editor):
    call_command("createcachetable", TABLE, database=schema_editor.connection.alias, verbosity=0)


def drop_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_accountcart")]

    operations = [migrations.RunPython(create_table, drop_table)]
