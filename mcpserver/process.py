"""Everything one process keeps for itself, owned in one place, with one reset.

Modules declare their per-process state here instead of as module globals with reset
functions of their own:

- ``process_state.cache(name)`` (also ``ordered``, ``counter``): a container this process
  fills as it serves (parsed JSON Web Key Sets, tenant configurations, rate-limit budgets);
- ``process_state.slot(name, build, close=...)``: one lazily built object (the key ring, the
  store with its connections), rebuilt on next use after a reset;
- ``process_state.on_reset(name, hook)``: anything else to forget (an ``lru_cache``).

``reset()`` forgets all of it (tests use it between tests); a slot or hook registered with
``settings=`` is also forgotten when one of those Django settings changes
(``override_settings`` included). Nothing here is shared between processes: what every
instance must see lives in the shared store.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from django.core.signals import setting_changed

T = TypeVar("T")


class Slot(Generic[T]):
    """One object per process, built on first use (once, even if threads race)."""

    def __init__(self, build: Callable[[], T], close: Callable[[T], None] | None) -> None:
        self._build = build
        self._close = close
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
                value = self._value
        return value

    def replace(self, value: T | None) -> T | None:
        """Put ``value`` in the slot and return what was there (a test standing in for
        another instance)."""
        with self._lock:
            previous, self._value = self._value, value
        return previous

    def reset(self) -> None:
        with self._lock:
            value, self._value = self._value, None
        if value is not None and self._close is not None:
            self._close(value)


class ProcessState:
    def __init__(self) -> None:
        self._containers: dict[str, Any] = {}
        self._hooks: dict[str, tuple[Callable[[], None], frozenset[str]]] = {}

    def _own(self, name: str, container: Any) -> Any:
        if name in self._containers:
            raise ValueError(f"per-process state {name!r} is declared twice")
        self._containers[name] = container
        return container

    def cache(self, name: str) -> dict[Any, Any]:
        return self._own(name, {})

    def ordered(self, name: str) -> OrderedDict[Any, Any]:
        return self._own(name, OrderedDict())

    def counter(self, name: str) -> Counter[str]:
        return self._own(name, Counter())

    def slot(
        self,
        name: str,
        build: Callable[[], T],
        *,
        close: Callable[[T], None] | None = None,
        settings: Iterable[str] = (),
    ) -> Slot[T]:
        slot = Slot(build, close)
        self.on_reset(name, slot.reset, settings=settings)
        return slot

    def on_reset(
        self, name: str, hook: Callable[[], None], *, settings: Iterable[str] = ()
    ) -> None:
        if name in self._hooks:
            raise ValueError(f"per-process state {name!r} is declared twice")
        self._hooks[name] = (hook, frozenset(settings))

    def reset(self, prefix: str = "") -> None:
        """Forget everything, or only what is declared under names starting with ``prefix``
        (``"jwks."``: a test's fresh start for one part)."""
        for name, container in self._containers.items():
            if name.startswith(prefix):
                container.clear()
        for name, (hook, _settings) in self._hooks.items():
            if name.startswith(prefix):
                hook()

    def setting_changed(self, setting: str) -> None:
        for hook, settings in self._hooks.values():
            if setting in settings:
                hook()


process_state = ProcessState()


def _on_setting_changed(*, setting: str, **kwargs: object) -> None:
    process_state.setting_changed(setting)


setting_changed.connect(_on_setting_changed)
