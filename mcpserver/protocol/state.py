"""Where the endpoint keeps shared state: the sessions_store, reached only through here.

Legacy sessions, resumable stream logs and pending server-to-client requests live in the
shared store, never in one process's memory, so any instance can answer any request; the
store's AEAD key ring seals ``requestState``.
"""

from sessions_store.crypto import KeyRing, get_keyring
from sessions_store.store import Store, get_store


def get_shared_store() -> Store:
    return get_store()


def get_sealing_keyring() -> KeyRing:
    return get_keyring()
