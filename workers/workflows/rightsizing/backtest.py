"""The backtest: size on the first days of the window, then replay the held-out last days against it.

Fit: the same formula (``recommend.size``) on the figures of the window minus its last
``backtest_days``. Check: the maxima of those last days. ``oom`` when the working set went above the
fitted memory limit (the kernel would have killed the container); ``throttled`` when CPU use went above
the fitted CPU limit (no limit: never). A recommendation whose backtest fails is not proposed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from workers.settings import RightsizingSettings
from workers.workflows.rightsizing import recommend
from workers.workflows.rightsizing.model import Figures, Resources


@dataclass(frozen=True)
class Backtest:
    oom: bool | None
    throttled: bool | None
    fitted: dict[str, float | None]
    checked: dict[str, float | None]
    detail: str

    @property
    def failed(self) -> bool:
        return bool(self.oom or self.throttled)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run(figures: Figures, current: Resources, settings: RightsizingSettings, stable: bool) -> Backtest:
    fit = [figures.get(k) for k in ("fit_cpu_p95", "fit_cpu_max", "fit_memory_p95", "fit_memory_max")]
    check_cpu, check_memory = figures.get("check_cpu_max"), figures.get("check_memory_max")
    if any(v is None for v in fit) or check_cpu is None or check_memory is None:
        return Backtest(None, None, {}, {}, "not enough data before and in the held-out days")
    usage = recommend.Usage(*(float(v) for v in fit if v is not None))
    sized = recommend.size(usage, current, settings, stable).resources
    oom = check_memory > (sized.memory_limit or float("inf"))
    throttled = sized.cpu_limit is not None and check_cpu > sized.cpu_limit
    days = settings.backtest_days
    detail = (
        f"fitted on days 1-{settings.history_days - days}, checked on the last {days}: "
        + ("working set above the fitted memory limit (OOM kill); " if oom else "")
        + ("CPU above the fitted CPU limit (throttling); " if throttled else "")
        + ("passed" if not (oom or throttled) else "failed")
    )
    return Backtest(
        oom,
        throttled,
        {
            "cpu_limit": sized.cpu_limit,
            "memory_limit": sized.memory_limit,
            "cpu_request": sized.cpu_request,
            "memory_request": sized.memory_request,
        },
        {"cpu_max": check_cpu, "memory_max": check_memory},
        detail,
    )
