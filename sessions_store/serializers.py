"""A django-redis serializer that stores bytes as they are and refuses anything else.

The store only writes sealed envelopes; refusing other types keeps anyone from slipping an
object through the cache API into a format that would need a decoder with more power.
"""

from typing import Any

from django_redis.serializers.base import BaseSerializer


class BytesSerializer(BaseSerializer):
    def dumps(self, value: Any) -> bytes:
        if not isinstance(value, bytes):
            raise TypeError("the store cache holds bytes only")
        return value

    def loads(self, value: bytes) -> bytes:
        return value
