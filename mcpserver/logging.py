"""Logging helpers: every record carries the current request id."""

import logging

from mcpserver.context import request_id_var


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True
