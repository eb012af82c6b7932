"""Charts of market analyses as PNG bytes (matplotlib's object API with the Agg canvas: no display, no pyplot
global state, so safe in worker processes and threads, and a lighter import).

Each function takes plain numbers and returns the PNG; the services decide what to draw.
"""

import io
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 110
SIZE = (8.0, 4.8)


def _figure(size: tuple[float, float] = SIZE):
    figure = Figure(figsize=size)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def ratio_scatter(prices: np.ndarray, ratios: np.ndarray, *, median: float, title: str) -> bytes:
    """Ratio against sale price (log scale), with the median and the 0.90-1.10 band of the level standard."""
    figure, axes = _figure()
    axes.axhspan(0.90, 1.10, color="#2e7d32", alpha=0.08, label="level standard 0.90-1.10")
    axes.scatter(prices, ratios, s=6, alpha=0.35, color="#1565c0", edgecolors="none")
    axes.axhline(median, color="#c62828", linewidth=1.2, label=f"median ratio {median:.3f}")
    axes.set_xscale("log")
    axes.set_xlabel("sale price ($, log scale)")
    axes.set_ylabel("assessment ratio")
    axes.set_title(title)
    axes.legend(loc="upper right", fontsize=8)
    return _png(figure)


def ratio_histogram(ratios: np.ndarray, *, median: float, title: str) -> bytes:
    figure, axes = _figure()
    upper = float(np.quantile(ratios, 0.995)) if ratios.size else 2.0
    axes.hist(ratios, bins=80, range=(0.0, max(upper, 1.2)), color="#1565c0", alpha=0.8)
    axes.axvline(median, color="#c62828", linewidth=1.2, label=f"median {median:.3f}")
    axes.axvline(1.0, color="#424242", linewidth=0.8, linestyle="--", label="1.00")
    axes.set_xlabel("assessment ratio")
    axes.set_ylabel("sales")
    axes.set_title(title)
    axes.legend(fontsize=8)
    return _png(figure)


def vei_groups(groups: Sequence[dict], *, sample_median: float, title: str) -> bytes:
    """Each VEI value group's median ratio with its interval, against the sample median."""
    figure, axes = _figure()
    x = np.arange(1, len(groups) + 1)
    medians = np.array([g["median"] for g in groups])
    low = medians - np.array([g["ci"]["low"] for g in groups])
    high = np.array([g["ci"]["high"] for g in groups]) - medians
    axes.errorbar(x, medians, yerr=[low, high], fmt="o", color="#1565c0", capsize=4, label="group median, 90% CI")
    axes.axhline(sample_median, color="#c62828", linewidth=1.0, label=f"sample median {sample_median:.3f}")
    axes.set_xticks(x, [f"{i}\n(n={g['n']})" for i, g in enumerate(groups, start=1)], fontsize=8)
    axes.set_xlabel("value group (lowest to highest value proxy)")
    axes.set_ylabel("median ratio")
    axes.set_title(title)
    axes.legend(fontsize=8)
    return _png(figure)


def lines(series: dict[str, tuple[Sequence, Sequence]], *, ylabel: str, title: str, xlabel: str = "") -> bytes:
    """One line per named series of (x labels or dates, y values); the first series drawn heavier."""
    figure, axes = _figure()
    for position, (name, (x, y)) in enumerate(series.items()):
        axes.plot(x, y, linewidth=2.2 if position == 0 else 1.0, alpha=1.0 if position == 0 else 0.7, label=name)
    axes.set_ylabel(ylabel)
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    axes.legend(fontsize=7, ncol=2)
    figure.autofmt_xdate()
    return _png(figure)


def bars(labels: Sequence[str], values: Sequence[float], *, reference: float | None, ylabel: str, title: str) -> bytes:
    figure, axes = _figure((max(8.0, 0.22 * len(labels)), 4.8))
    axes.bar(range(len(labels)), values, color="#1565c0")
    if reference is not None:
        axes.axhline(reference, color="#c62828", linewidth=1.0)
    axes.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    return _png(figure)
