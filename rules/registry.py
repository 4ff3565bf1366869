"""``RuleRegistry``: holds the active ``RuleSet`` and swaps in a new one when the directory changes.

Last good wins. A reload that finds any problem keeps the current set active and exposes the
problems as ``.error`` (for ``/readyz``, ``/metrics`` and logs) until a later reload succeeds.
Readers just use ``.current``: the swap is a single attribute assignment, so a reader sees the
old set or the new one, never a mix. Reloads happen on demand (``reload()``, e.g. on SIGHUP) or
from a daemon thread that polls the directory's ``*.yaml`` names, sizes, inodes and mtimes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from rules.errors import RuleSetError
from rules.loader import load_rule_dir
from rules.matcher import RuleSet

__all__ = ["RuleRegistry"]

log = logging.getLogger(__name__)

_Fingerprint = tuple[tuple[object, ...], ...]


class RuleRegistry:
    """The active rule set of one directory, reloaded when its files change.

    The constructor loads the directory and raises ``RuleSetError`` if it is invalid: a service
    should not start on broken rules. ``on_change(new_set)`` is called after each reload that
    activates a different set (not for the initial load); an exception it raises is logged.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        on_change: Callable[[RuleSet], None] | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._path = Path(path)
        self._on_change = on_change
        self._clock = clock
        self._lock = threading.Lock()
        self._seen = self._fingerprint()
        self._current = load_rule_dir(self._path)
        self._error: str | None = None
        self._generation = 1
        self._loaded_at = clock()
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def path(self) -> Path:
        """The rules directory."""
        return self._path

    @property
    def current(self) -> RuleSet:
        """The active rule set (the last one that loaded without problems)."""
        return self._current

    @property
    def error(self) -> str | None:
        """Why the last reload failed, or None if it succeeded (the active set is then current)."""
        return self._error

    @property
    def loaded_at(self) -> float:
        """When the active set was loaded (seconds since the epoch, from the clock)."""
        return self._loaded_at

    @property
    def generation(self) -> int:
        """1 for the initial set, plus one for each different set activated since."""
        return self._generation

    @property
    def polling(self) -> bool:
        """True while the polling thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def reload(self) -> bool:
        """Load the directory again. True if a new, different set became active.

        On any problem the current set stays active, ``error`` says why, and False is returned.
        A successful load clears ``error`` even when the set is unchanged.
        """
        with self._lock:
            self._seen = self._fingerprint()
            try:
                new = load_rule_dir(self._path)
            except RuleSetError as exc:
                return self._failed(str(exc))
            except Exception as exc:  # a bug must not stop the poller or drop the good set
                log.exception("unexpected error while loading rules from %s", self._path)
                return self._failed(f"unexpected error while loading rules: {type(exc).__name__}: {exc}")
            self._error = None
            if new.version == self._current.version:
                return False
            self._current = new
            self._generation += 1
            self._loaded_at = self._clock()
        log.info("activated rule set %s (%d rules, generation %d)", new.version, len(new), self._generation)
        if self._on_change is not None:
            try:
                self._on_change(new)
            except Exception:
                log.exception("rule registry on_change callback failed")
        return True

    def reload_if_changed(self) -> bool:
        """Reload only if a ``*.yaml`` file was added, removed, renamed or modified since the last load."""
        if self._fingerprint() == self._seen:
            return False
        return self.reload()

    def start_polling(self, interval_s: float) -> None:
        """Start a daemon thread that calls ``reload_if_changed()`` every ``interval_s`` seconds."""
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        if self.polling:
            raise RuntimeError("the rule registry is already polling")
        stop = threading.Event()
        thread = threading.Thread(
            target=self._poll, args=(interval_s, stop), name=f"rules-poll:{self._path.name}", daemon=True
        )
        self._stop, self._thread = stop, thread
        thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the polling thread (if any) and wait up to ``timeout_s`` for it to end."""
        if self._stop is not None:
            self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._stop = self._thread = None

    def _poll(self, interval_s: float, stop: threading.Event) -> None:
        while not stop.wait(interval_s):
            try:
                self.reload_if_changed()
            except Exception:  # keep polling whatever happens
                log.exception("rule registry poll failed")

    def _failed(self, error: str) -> bool:
        if error != self._error:
            log.warning(
                "rules in %s not reloaded; keeping set %s: %s", self._path, self._current.version, error
            )
        self._error = error
        return False

    def _fingerprint(self) -> _Fingerprint:
        try:
            with os.scandir(self._path) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError as exc:
            return (("error", str(exc)),)
        items: list[tuple[object, ...]] = []
        for entry in entries:
            if entry.name.startswith(".") or not entry.name.endswith((".yaml", ".yml")):
                continue
            try:
                info = entry.stat()  # follows symlinks, as ConfigMap volumes use them
            except OSError:
                items.append((entry.name, None))
                continue
            items.append((entry.name, info.st_mtime_ns, info.st_size, info.st_ino))
        return tuple(items)
