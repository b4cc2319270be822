"""The bulk sweep at a glance: `python -m benchmarks.plot [results/bulk.json] [results/bulk.png]`.

Draws, from the bulk results JSON alone, wall time and client CPU per request against the width, for both
clients (medians, with the lowest and highest run as error bars), and the latency-bound ideal (requests ×
latency ÷ width) on the wall-time panel. Needs matplotlib (the `bench` extra); `python -m benchmarks` calls
it after a full bulk run and from `--report`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display, no GUI toolkit

import matplotlib.pyplot as plt  # after choosing the backend
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from ._report import RESULTS_DIR

STYLE = {
    "aiospaces": {"color": "#1f6fb4", "marker": "o", "label": "aiospaces (one event loop, fleet)"},
    "huggingface_hub": {
        "color": "#e07b00",
        "marker": "s",
        "label": "huggingface_hub (HfApi in a thread pool)",
    },
}


def _series(sweep: list[dict[str, Any]], client: str, metric: str) -> tuple[list[float], list[list[float]]]:
    """Medians of `metric` per width, and the distances down to the lowest and up to the highest run."""
    medians, low, high = [], [], []
    for point in sweep:
        value = float(point["summary"][client][metric])
        lo, hi = point.get("spread", {}).get(client, {}).get(metric, [value, value])
        medians.append(value)
        low.append(max(0.0, value - lo))
        high.append(max(0.0, hi - value))
    return medians, [low, high]


def _highest(point: dict[str, Any], client: str, metric: str) -> float:
    """The top of a point's error bar (its highest run), so a label above it never covers a bar."""
    value = float(point["summary"][client][metric])
    return float(point.get("spread", {}).get(client, {}).get(metric, [value, value])[1])


def _ratio_label(ax: Any, x: float, y: float, ratio: float) -> None:
    ax.annotate(
        f"{ratio:.2f}×",
        (x, y),
        textcoords="offset points",
        xytext=(0, 9),
        ha="center",
        fontsize=9,
        color=STYLE["aiospaces"]["color"],
        fontweight="bold",
    )


def plot_bulk(source: Path, target: Path) -> Path:
    """Draw the bulk sweep of `source` (results JSON) into `target` (PNG); return `target`."""
    data = json.loads(source.read_text())
    sweep = data["sweep"]
    params = data["params"]
    widths = [int(point["concurrency"]) for point in sweep]
    calls = 3 * int(params["spaces"])
    latency_ms = float(params["latency_s"]) * 1000

    fig, (wall_ax, cpu_ax) = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
    for ax in (wall_ax, cpu_ax):
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_locator(FixedLocator(widths))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.set_xlim(widths[0] / 1.5, widths[-1] * 1.5)
        ax.set_xlabel("width (concurrent requests: fleet concurrency / thread-pool size)")
        ax.grid(True, which="major", alpha=0.3)

    ideal = [calls * float(params["latency_s"]) / width for width in widths]
    wall_ax.plot(
        widths,
        ideal,
        linestyle="--",
        color="0.45",
        marker="",
        label=f"latency-bound ideal: {calls:,} × {latency_ms:g} ms ÷ width",
    )
    for client, style in STYLE.items():
        for ax, metric in ((wall_ax, "wall_s"), (cpu_ax, "cpu_s_per_1000_requests")):
            values, errors = _series(sweep, client, metric)
            ax.errorbar(
                widths,
                values,
                yerr=errors,
                color=style["color"],
                marker=style["marker"],
                markersize=6,
                linewidth=2,
                capsize=4,
                label=style["label"],
            )
    for point, width in zip(sweep, widths, strict=True):
        ratios = point["summary"]["ratio_aiospaces_over_huggingface_hub"]
        top_wall = max(_highest(point, c, "wall_s") for c in STYLE)
        top_cpu = max(_highest(point, c, "cpu_s_per_1000_requests") for c in STYLE)
        _ratio_label(wall_ax, width, top_wall, ratios["wall_s"])
        _ratio_label(cpu_ax, width, top_cpu, ratios["cpu_s_per_1000_requests"])

    wall_ax.set_yscale("log")
    low, high = wall_ax.get_ylim()
    wall_ax.set_ylim(low, high * 1.5)  # room for the ratio labels above the highest points
    wall_ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    wall_ax.yaxis.set_minor_formatter(
        FuncFormatter(lambda v, _pos: f"{v:g}" if v in (0.2, 0.5, 2, 5) else "")
    )
    wall_ax.set_ylabel("wall time (s), log scale")
    wall_ax.set_title(f"Wall time for {calls:,} calls (lower is better)")
    wall_ax.legend(fontsize=8.5, loc="lower left")

    cpu_ax.set_ylim(bottom=0, top=cpu_ax.get_ylim()[1] * 1.12)
    cpu_ax.set_ylabel("client CPU per request (ms)")
    cpu_ax.set_title("Client CPU per request (lower is better)")
    cpu_ax.legend(fontsize=8.5, loc="lower left")

    runs = data.get("repetitions")
    commit = data.get("machine", {}).get("git_commit")
    started = str(data.get("started_at", "")).replace("T", " ").replace("+00:00", " UTC")
    fig.suptitle(
        f"Bulk: {int(params['spaces']):,} Spaces × (secret, variable, hardware) = {calls:,} calls, "
        f"{latency_ms:g} ms latency, simulated Hub on 127.0.0.1\n"
        f"medians of {runs} runs per client and width (bars: lowest to highest run); "
        f"in bold: aiospaces ÷ huggingface_hub\nrun started {started}, git {commit}",
        fontsize=10,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return target


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    source = Path(args[0]) if args else RESULTS_DIR / "bulk.json"
    target = Path(args[1]) if len(args) > 1 else source.with_suffix(".png")
    print(plot_bulk(source, target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
