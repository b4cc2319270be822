"""The watch scenario at a glance: `python -m benchmarks.plot_watch [results/watch.json] [results/]`.

Draws, from the watch results JSON alone (the first repetition of each client):

- `watch-lag.png`: the distribution of detection lag (seconds from the Hub making a Space RUNNING to the
  client reporting it), both clients, as cumulative fractions of the Spaces;
- `watch-requests.png`: the requests the Hub received in each second of the run, both clients, with
  aiospaces' polling budget (its share of the quota the Hub advertised) as a line.

Needs matplotlib (the `bench` extra); `python -m benchmarks` calls it after a full watch run and from
`--report`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display, no GUI toolkit

import matplotlib.pyplot as plt  # after choosing the backend

from ._report import RESULTS_DIR
from .plot import STYLE


def _first_run(data: dict[str, Any], client: str) -> dict[str, Any] | None:
    return next((r for r in data["runs"] if r["client"] == client and "lags_s" in r), None)


def plot_watch(source: Path, directory: Path) -> list[Path]:
    """Draw `watch-lag.png` and `watch-requests.png` into `directory` from the watch JSON at `source`."""
    data = json.loads(source.read_text())
    runs = {c: run for c in STYLE if (run := _first_run(data, c)) is not None}
    if not runs:
        raise ValueError(f"{source} holds no run with per-Space lags (rerun python -m benchmarks watch)")
    spaces = data["params"]["spaces"]

    fig, ax = plt.subplots(figsize=(7, 4))
    for client, run in runs.items():
        lags = sorted(run["lags_s"])
        fractions = [(i + 1) / len(lags) for i in range(len(lags))]
        style = STYLE[client]
        ax.step(lags, fractions, where="post", color=style["color"], label=style["label"])
        p95 = run["lag_p95_s"]
        ax.axvline(p95, color=style["color"], linestyle=":", linewidth=1)
        ax.annotate(f"p95 {p95:.2f} s", (p95, 0.05), color=style["color"], rotation=90, fontsize=8)
    ax.set_xlabel("detection lag after the Hub made the Space RUNNING (s)")
    ax.set_ylabel(f"fraction of the {spaces} Spaces detected")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("Watch: detection lag (cumulative)")
    fig.tight_layout()
    lag_path = directory / "watch-lag.png"
    fig.savefig(lag_path, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    for client, run in runs.items():
        counts = run["requests_per_s"]
        style = STYLE[client]
        ax.step(range(len(counts)), counts, where="post", color=style["color"], label=style["label"])
    budget = runs.get("aiospaces", {}).get("poll_budget_per_s")
    if budget:
        ax.axhline(budget, color="#444444", linestyle="--", linewidth=1)
        ax.annotate(
            f"aiospaces' polling budget ({budget:.3g}/s)", (0.5, budget * 1.1), fontsize=8, color="#444444"
        )
    ax.set_yscale("symlog", linthresh=1)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("seconds since the builds started")
    ax.set_ylabel("requests the Hub received per second")
    ax.grid(alpha=0.3)
    ax.legend(loc="center right", fontsize=8)
    ax.set_title(f"Watch: requests per second ({spaces} Spaces)")
    fig.tight_layout()
    rate_path = directory / "watch-requests.png"
    fig.savefig(rate_path, dpi=110)
    plt.close(fig)
    return [lag_path, rate_path]


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else RESULTS_DIR / "watch.json"
    directory = Path(argv[1]) if len(argv) > 1 else source.parent
    for path in plot_watch(source, directory):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
