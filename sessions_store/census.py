"""Which keys the running instances hold, so a key rotation step can be checked before it
logs anyone out.

A value sealed by one instance is opened by whichever instance answers next, so every step of
a rotation must hold for all instances at once: an instance may only start encrypting with a
key once every instance can decrypt it, and ``rotate_encryption_key`` may only re-seal under a
key once every instance encrypts with it (else the stragglers keep writing under the old key,
which the last step removes). Each server process therefore reports its key ring, by public
key id only, to the database at start and every ``KEYRING_REPORT_INTERVAL`` seconds, and
withdraws the report when it exits normally. A report older than three intervals is taken for
an instance that stopped without saying so; so is, at once, a report from this machine (same
host name and process namespace) whose process is gone (a server killed by the signal it
stops on does not run exit handlers).
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass

from django.db import DatabaseError, close_old_connections, connections

from mcpserver.conf import mcp_settings
from sessions_store.crypto import KeyRing, get_keyring
from sessions_store.models import KeyRingMember

logger = logging.getLogger("sessions_store")


def _host() -> str:
    try:
        namespace = str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        namespace = ""
    return f"{socket.gethostname()[:50]}/{namespace}"


HOST = _host()
INSTANCE = f"{HOST}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True, slots=True)
class Member:
    instance: str
    encrypts: str
    decrypts: tuple[str, ...]
    age: float


def describe(keyring: KeyRing) -> str:
    """The key ring by key id, for a log line: never the keys themselves."""
    primary, *rest = (key_id.hex() for key_id in keyring.key_ids)
    return f"encrypts with key {primary}; decrypt-only: {', '.join(rest) or 'none'}"


def report(keyring: KeyRing | None = None) -> None:
    keyring = keyring or get_keyring()
    ids = [key_id.hex() for key_id in keyring.key_ids]
    KeyRingMember.objects.update_or_create(
        instance=INSTANCE,
        defaults={"encrypts": ids[0], "decrypts": ",".join(ids), "seen_at": time.time()},
    )


def withdraw() -> None:
    try:
        KeyRingMember.objects.filter(instance=INSTANCE).delete()
    except DatabaseError:  # exiting anyway: the report goes stale by itself
        logger.warning("could not withdraw this instance's key ring report")


def _gone(instance: str) -> bool:
    """Whether ``instance`` ran on this machine and its process no longer exists."""
    host, pid, _token = ([""] * 3 + instance.rsplit(":", 2))[-3:]
    if host != HOST or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def live_members() -> list[Member]:
    interval = float(mcp_settings.KEYRING_REPORT_INTERVAL) or 60.0
    now = time.time()
    rows = [
        row
        for row in KeyRingMember.objects.filter(seen_at__gte=now - 3 * interval)
        if not _gone(row.instance)
    ]
    rows.sort(key=lambda row: row.instance)
    return [
        Member(
            instance=row.instance,
            encrypts=row.encrypts,
            decrypts=tuple(row.decrypts.split(",")),
            age=max(0.0, now - row.seen_at),
        )
        for row in rows
    ]


def not_ready_to_encrypt(keyring: KeyRing, members: list[Member]) -> list[str]:
    """Instances that could not open what ``keyring`` seals: starting to seal now logs out."""
    primary = keyring.primary_key_id.hex()
    return [
        f"instance {m.instance} cannot decrypt key {primary} (it holds {', '.join(m.decrypts)})"
        for m in members
        if m.instance != INSTANCE and primary not in m.decrypts
    ]


def not_ready_to_rotate(keyring: KeyRing, members: list[Member]) -> list[str]:
    """Why re-sealing everything under ``keyring``'s first key is premature, or nothing."""
    primary = keyring.primary_key_id.hex()
    blockers = not_ready_to_encrypt(keyring, members)
    blockers += [
        f"instance {m.instance} still encrypts with key {m.encrypts}"
        for m in members
        if primary in m.decrypts and m.encrypts != primary
    ]
    return blockers


def _announce(keyring: KeyRing) -> None:
    logger.info("encryption key ring: %s", describe(keyring), extra={"instance": INSTANCE})
    members = live_members()
    for problem in not_ready_to_encrypt(keyring, members):
        # The rotation procedure adds a key everywhere before any instance encrypts with it.
        logger.warning(
            "key rotation out of order: %s; what this instance seals will be refused there. "
            "Add the key to every instance's MCP_ENCRYPTION_KEYS after the current one first.",
            problem,
        )
    own = {key_id.hex() for key_id in keyring.key_ids}
    for member in members:
        if member.instance != INSTANCE and member.encrypts not in own:
            logger.warning(
                "key rotation out of order: instance %s encrypts with key %s, which this "
                "instance cannot decrypt; keep that key in MCP_ENCRYPTION_KEYS until no "
                "instance encrypts with it.",
                member.instance,
                member.encrypts,
            )


def _beat(interval: float) -> None:
    while True:
        time.sleep(interval)
        close_old_connections()
        try:
            report()
        except DatabaseError:
            logger.warning("could not report this instance's key ring", exc_info=True)
        finally:
            connections.close_all()  # this thread's connections only


def report_and_announce(keyring: KeyRing) -> None:
    """Report this instance now and log its key ring, warning of an out-of-order step."""
    try:
        report(keyring)
        _announce(keyring)
    except DatabaseError:
        logger.warning("could not report this instance's key ring", exc_info=True)


def start_reporting() -> None:
    """At server start: report, log what this instance encrypts with, keep the report fresh."""
    interval = float(mcp_settings.KEYRING_REPORT_INTERVAL)
    keyring = get_keyring()
    if interval <= 0:
        logger.info("encryption key ring: %s", describe(keyring))
        return
    report_and_announce(keyring)
    atexit.register(withdraw)
    threading.Thread(target=_beat, args=(interval,), name="keyring-report", daemon=True).start()
