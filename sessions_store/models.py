"""The embedded default's tables: the shared tier in the database when there is no Redis.

Names are the hex form of the same digests Redis uses; values are sealed envelopes. Times are
epoch seconds (floats), compared against ``time.time()`` by every process on the machine.
"""

from django.db import models


class StoreEntry(models.Model):
    name = models.CharField(max_length=64, primary_key=True)
    value = models.BinaryField()
    expires_at = models.FloatField(db_index=True)

    class Meta:
        verbose_name_plural = "store entries"

    def __str__(self) -> str:
        return self.name


class StoreGroupMember(models.Model):
    group = models.CharField(max_length=64)
    entry = models.CharField(max_length=64, db_index=True)
    expires_at = models.FloatField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "entry"], name="store_group_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.group}:{self.entry}"


class StoreEvent(models.Model):
    # The auto-increment id is the event id: it increases per stream as the contract requires.
    stream = models.CharField(max_length=64, db_index=True)
    data = models.BinaryField()
    expires_at = models.FloatField(db_index=True)

    def __str__(self) -> str:
        return f"{self.stream}:{self.pk}"


class KeyRingMember(models.Model):
    """What one running server process encrypts and decrypts with, by public key id only.

    Each instance reports itself at start and then periodically; ``rotate_encryption_key``
    reads the live reports to refuse a step that would log users out (``census.py``).
    """

    instance = models.CharField(max_length=100, primary_key=True)
    encrypts = models.CharField(max_length=8)
    # Comma-separated key ids, encrypting key first.
    decrypts = models.CharField(max_length=500)
    seen_at = models.FloatField(db_index=True)

    def __str__(self) -> str:
        return self.instance
