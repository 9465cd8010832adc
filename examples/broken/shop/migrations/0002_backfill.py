import os

from django.conf import settings
from django.db import migrations


def backfill(apps, schema_editor):
    if settings.BREAK == "migration":
        # As a data migration that calls out with a credential and is refused: dz masks the value in what it shows.
        raise RuntimeError("backfill refused: the payment API rejected token %s" % os.environ.get("BROKEN_API_TOKEN"))


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
