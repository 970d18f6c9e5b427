"""A second process using the store: reports when a key appears, is cached, and disappears.

Run as ``python -m tests.sessions_store.store_child KEY`` with the parent's settings in the
environment. Prints ``present``, ``cached`` (served by its process tier) and ``absent``.
"""

import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")


def main(key: str) -> None:
    import django

    django.setup()
    from sessions_store import metrics
    from sessions_store.store import get_store

    store = get_store()
    state = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        present = store.get(key) is not None
        if present and metrics.get("store.hit.process") > 0:
            now = "cached"
        else:
            now = "present" if present else "absent"
        if now != state:
            print(now, flush=True)
            state = now
            if now == "absent" and metrics.get("store.hit.process") > 0:
                return
        time.sleep(0.005)


if __name__ == "__main__":
    main(sys.argv[1])
