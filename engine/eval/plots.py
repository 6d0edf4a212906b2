"""Figures of the evaluation report: metric bars, frame differences at chunk borders, drift, contact sheets.

matplotlib (Agg backend) is imported inside each function, so importing this module stays cheap.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def metric_bars(names: list[str], values: dict[str, list[float]], labels: dict[str, str], path: Path) -> None:
    """One bar panel per metric (`values[key]` has one number per system in `names`)."""
    plt = _pyplot()
    keys = list(values)
    cols = 4
    rows = (len(keys) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    colours = plt.cm.tab10(np.arange(len(names)) % 10)
    for ax, key in zip(axes.ravel(), keys, strict=False):
        heights = np.nan_to_num(np.asarray(values[key], float), nan=0.0)
        ax.bar(range(len(names)), heights, color=colours)
        ax.set_title(labels.get(key, key), fontsize=10)
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes.ravel()[len(keys):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def frame_difference_plot(series: dict[str, tuple[np.ndarray, np.ndarray]], path: Path) -> None:
    """Frame difference over time per system; dots mark pairs that straddle a chunk border.

    series: name -> ((T-1,) differences, (T-1,) bool border flags).
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(11, 3.8))
    for name, (diffs, borders) in series.items():
        x = np.arange(1, len(diffs) + 1)
        line, = ax.plot(x, diffs, lw=1.0, label=name)
        ax.plot(x[borders], diffs[borders], "o", ms=3, color=line.get_color())
    ax.set_xlabel("frame")
    ax.set_ylabel("mean |frame t - frame t-1| (grey levels)")
    ax.set_title("Frame difference; dots: pairs across a chunk border")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def drift_plot(names: list[str], early: dict[str, list[float]], late: dict[str, list[float]],
               labels: tuple[str, str], path: Path) -> None:
    """Identity and sharpness at the early and late marks, side by side per system."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(early), figsize=(6 * len(early), 3.8), squeeze=False)
    x = np.arange(len(names))
    for ax, key in zip(axes[0], early, strict=True):
        ax.bar(x - 0.2, np.nan_to_num(early[key]), 0.4, label=labels[0])
        ax.bar(x + 0.2, np.nan_to_num(late[key]), 0.4, label=labels[1])
        ax.set_title(key)
        ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def contact_sheet(columns: list[tuple[str, list[np.ndarray]]], row_labels: list[str], path: Path,
                  title: str) -> None:
    """A grid of RGB tiles: one titled column per source, one labelled row per time sample."""
    plt = _pyplot()
    rows = len(row_labels)
    fig, axes = plt.subplots(rows, len(columns), figsize=(1.7 * len(columns), 1.75 * rows + 0.5), squeeze=False)
    for c, (name, tiles) in enumerate(columns):
        for r in range(rows):
            ax = axes[r, c]
            ax.imshow(tiles[r])
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(name, fontsize=8)
            if c == 0:
                ax.set_ylabel(row_labels[r], fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
