"""The audit log's hash chains: seq, prev_digest and digest on every row, a head per chain.

The constraints follow in the next migration: PostgreSQL refuses to alter a table in the
transaction that updated its rows.

Rows written before this migration are chained in the order they were written (time, id).
"""

from typing import Any

from django.db import migrations, models

from tenants.auditchain import GENESIS, chain_of, link


def chain_existing_rows(apps: Any, schema_editor: Any) -> None:
    AuditLog = apps.get_model("tenants", "AuditLog")
    AuditChainHead = apps.get_model("tenants", "AuditChainHead")
    tenant_ids = AuditLog.objects.values_list("tenant_id", flat=True).distinct()
    for tenant_id in sorted(set(tenant_ids), key=lambda pk: (pk is not None, pk or 0)):
        rows = list(AuditLog.objects.filter(tenant_id=tenant_id).order_by("time", "id"))
        seq, digest = link(rows, seq=0, prev_digest=GENESIS)
        AuditLog.objects.bulk_update(rows, ["seq", "prev_digest", "digest"], batch_size=500)
        AuditChainHead.objects.create(chain=chain_of(tenant_id), seq=seq, digest=digest)


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0006_tenant_disabled_tools"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("chain", models.CharField(max_length=32, unique=True)),
                ("seq", models.BigIntegerField(default=0)),
                ("digest", models.CharField(default="", max_length=64)),
            ],
        ),
        migrations.AddField(
            model_name="auditlog",
            name="event_id",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="auditlog",
            name="seq",
            field=models.BigIntegerField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="auditlog",
            name="prev_digest",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditlog",
            name="digest",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing_rows, migrations.RunPython.noop),
    ]
