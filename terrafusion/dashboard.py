"""The admin home page's dashboard: panels that apps register (a function of the request that returns safe HTML,
or "" when it has nothing to show), drawn above the app list by the `dashboard_panels` template tag. The framework
knows no app; reporting registers the county dashboard (reporting/dashboard.py)."""

from collections.abc import Callable

_PANELS: list[Callable] = []


def register(panel: Callable) -> Callable:
    if panel not in _PANELS:
        _PANELS.append(panel)
    return panel


def panels(request) -> list[str]:
    return [html for html in (panel(request) for panel in _PANELS) if html]
