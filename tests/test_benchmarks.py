"""The benchmark runner's own correctness: statistics, counter bookkeeping, report rendering, and the quick
bulk scenario end to end (simulated Hub and both clients in child processes, 127.0.0.1 only).

Nothing here asserts a duration: the benchmarks measure speed, the tests only check that the work was done
and the numbers add up.
"""

from __future__ import annotations

import contextlib
import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks import bulk
from benchmarks.__main__ import main
from benchmarks._common import counter_delta, summarize
from benchmarks._measure import cpu_wait_seconds, median, percentile, ratio
from benchmarks._procs import busy_cores
from benchmarks._report import (
    OVERVIEW_END,
    OVERVIEW_START,
    bulk_targets,
    load_results,
    render_findings,
    render_overview,
    render_tables,
    update_overview,
    update_readme,
)


def test_median_and_percentile_interpolate_between_ranks() -> None:
    """median/percentile follow the closest-ranks definition, and empty input gives NaN, never a fake zero."""
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    assert percentile([7.0], 95) == 7.0
    assert math.isnan(median([]))
    assert math.isnan(percentile([], 50))
    assert math.isnan(ratio(1.0, 0.0))
    with pytest.raises(ValueError, match="q must be"):
        percentile([1.0], 101)


def test_cpu_wait_is_read_from_the_kernel_and_only_grows() -> None:
    """The time a process's threads waited for a CPU is a finite, non-negative count that never drops while
    its threads live (read in a fresh one-thread process: here, a thread of an earlier test ending between
    two reads would take its share out of the sum)."""
    assert math.isfinite(cpu_wait_seconds())
    code = (
        "from benchmarks._measure import cpu_wait_seconds\n"
        "first = cpu_wait_seconds()\n"
        "sum(i * i for i in range(200_000))\n"
        "print(first, cpu_wait_seconds())\n"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    first, second = (float(value) for value in done.stdout.split())
    assert 0 <= first <= second


def test_counter_delta_subtracts_per_route_and_drops_untouched_routes() -> None:
    """The Hub's counters are reported as what one run added, route by route."""
    before = {"requests": 10, "status_429": 1, "by_route": {"GET a": 4, "POST b": 6}, "max_in_flight": 3}
    after = {"requests": 25, "status_429": 3, "by_route": {"GET a": 4, "POST b": 16, "GET c": 5}}
    delta = counter_delta(before, after)
    assert delta["requests"] == 15
    assert delta["status_429"] == 2
    assert delta["by_route"] == {"GET c": 5, "POST b": 10}


def test_route_count_matches_method_and_final_segment() -> None:
    """Write counts are taken from the simulator's route names by method and last path segment."""
    seen = {
        "by_route": {
            "POST /api/spaces/{repo_id}/secrets": 7,
            "DELETE /api/spaces/{repo_id}/secrets": 2,
            "POST /api/spaces/{repo_id}/hardware": 5,
        }
    }
    assert bulk.route_count(seen, "POST", "secrets") == 7
    assert bulk.route_count(seen, "DELETE", "secrets") == 2
    assert bulk.route_count(seen, "POST", "variables") == 0


def _fake_run(client: str, wall: float) -> dict[str, Any]:
    return {"client": client, "wall_s": wall, "calls_failed": 0, "checks": [{"check": "x", "passed": True}]}


def _machine() -> dict[str, Any]:
    return {
        "nproc": 2,
        "cpu_model": "cpu",
        "memory_gib": 1.0,
        "platform": "linux",
        "python": "3.11",
        "packages": {"aiospaces": "0.1.0"},
        "git_commit": "abc",
    }


def _bulk_results(summaries: dict[int, dict[str, Any]]) -> dict[str, Any]:
    return {
        "params": {"spaces": 10, "latency_s": 0.05, "widths": list(summaries), "concurrency": 4},
        "repetitions": 3,
        "sweep": [{"concurrency": w, "summary": s, "spread": {}} for w, s in summaries.items()],
        "checks_passed": True,
        "command": "python -m benchmarks bulk",
        "started_at": "2026-01-01T00:00:00+00:00",
        "machine": _machine(),
    }


def test_summary_takes_medians_and_ratios(tmp_path: Path) -> None:
    """Summaries are per-client medians with an aiospaces ÷ huggingface_hub ratio, rendered per width in the
    README, with the plot linked."""
    runs = [_fake_run("aiospaces", w) for w in (1.0, 3.0, 2.0)]
    runs += [_fake_run("huggingface_hub", w) for w in (4.0, 8.0, 6.0)]
    summary = summarize(runs, ["wall_s", "calls_failed"])
    assert summary["aiospaces"]["wall_s"] == 2.0
    assert summary["huggingface_hub"]["wall_s"] == 6.0
    assert summary["ratio_aiospaces_over_huggingface_hub"]["wall_s"] == pytest.approx(1 / 3)
    results = {"bulk": _bulk_results({4: summary})}
    table = render_tables(results)
    assert "| 4 | — | 2 | 6 | **0.33×** |" in table
    assert "| wall time (s) | 2 | 6 | 0.33× |" in table
    assert "(results/bulk.png)" in table
    assert "`python -m benchmarks bulk`" in table
    readme = tmp_path / "README.md"
    readme.write_text(
        "intro\n<!-- results:start (generated by `python -m benchmarks --report`; do not edit by "
        "hand) -->\nold\n<!-- results:end -->\noutro\n"
    )
    assert update_readme(results, readme)
    text = readme.read_text()
    assert "old" not in text
    assert "| wall time (s) | 2 | 6 | 0.33× |" in text
    assert text.startswith("intro\n")
    assert text.endswith("outro\n")


def test_bulk_sweep_summarizes_each_width_with_its_spread() -> None:
    """Each width gets its own medians, ratios and lowest/highest run per client, from its runs only."""
    runs = []
    for width, walls in ((32, (1.0, 3.0)), (128, (5.0, 7.0))):
        for client, scale in (("aiospaces", 1.0), ("huggingface_hub", 2.0)):
            for wall in walls:
                run = _fake_run(client, wall * scale)
                run.update({"concurrency": width, "cpu_s_per_1000_requests": wall})
                runs.append(run)
    sweep = bulk.summarize_sweep(runs, [32, 128])
    assert [point["concurrency"] for point in sweep] == [32, 128]
    assert sweep[0]["summary"]["aiospaces"]["wall_s"] == 2.0
    assert sweep[1]["summary"]["huggingface_hub"]["wall_s"] == 12.0
    assert sweep[1]["summary"]["ratio_aiospaces_over_huggingface_hub"]["wall_s"] == pytest.approx(0.5)
    assert sweep[0]["spread"]["huggingface_hub"]["wall_s"] == [2.0, 6.0]


def test_bulk_targets_are_judged_per_width_and_reported() -> None:
    """Wall time must be at most 1.0× and CPU per request at most 0.9× at every width; each verdict is listed,
    and a missed one says so."""

    def point(wall: float, cpu: float) -> dict[str, Any]:
        return {
            "aiospaces": {"wall_s": wall, "cpu_s_per_1000_requests": cpu},
            "huggingface_hub": {"wall_s": 1.0, "cpu_s_per_1000_requests": 1.0},
            "ratio_aiospaces_over_huggingface_hub": {"wall_s": wall, "cpu_s_per_1000_requests": cpu},
        }

    data = _bulk_results({32: point(1.0, 0.95), 512: point(0.8, 0.9)})
    assert bulk_targets(data) == [
        (32, "wall_s", 1.0, True),
        (32, "cpu_s_per_1000_requests", 0.95, False),
        (512, "wall_s", 0.8, True),
        (512, "cpu_s_per_1000_requests", 0.9, True),
    ]
    text = render_findings({"bulk": data})
    assert "width 32, client CPU per request: 0.95× — NOT met" in text
    assert "width 512, wall time: 0.80× — met" in text
    assert "1 of 4 not met." in text


def test_plot_draws_a_png_from_the_bulk_json(tmp_path: Path) -> None:
    """The plot is made from the results JSON alone and written as a PNG."""
    pytest.importorskip("matplotlib")
    from benchmarks.plot import plot_bulk

    def point(wall: float) -> dict[str, Any]:
        return {
            "aiospaces": {"wall_s": wall, "cpu_s_per_1000_requests": 0.7},
            "huggingface_hub": {"wall_s": 2 * wall, "cpu_s_per_1000_requests": 0.8},
            "ratio_aiospaces_over_huggingface_hub": {"wall_s": 0.5, "cpu_s_per_1000_requests": 0.875},
        }

    data = _bulk_results({32: point(5.0), 128: point(2.0), 512: point(1.0)})
    data["sweep"][0]["spread"] = {"aiospaces": {"wall_s": [4.5, 5.5]}, "huggingface_hub": {}}
    source = tmp_path / "bulk.json"
    source.write_text(json.dumps(data))
    target = plot_bulk(source, tmp_path / "out" / "bulk.png")
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_scenario_is_rejected_before_anything_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelled scenario name is a usage error (exit status 2) naming the known scenarios."""
    with pytest.raises(SystemExit) as excinfo:
        main(["--quick", "bulkk"])
    assert excinfo.value.code == 2
    assert "bulkk" in capsys.readouterr().err


def test_quick_bulk_sweeps_widths_alternating_and_needs_no_matplotlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quick bulk run, as CI runs it, visits every width with both clients, the first client alternating,
    ends with every write applied and the Hub's counts matching, and neither imports matplotlib nor draws."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # any import of it now fails
    assert main(["--quick", "bulk", "--output", str(tmp_path), "--no-readme"]) == 0
    outcome = json.loads((tmp_path / "bulk.json").read_text())
    runs = outcome["runs"]
    widths = list(bulk.QUICK_WIDTHS)
    assert [(r["concurrency"], r["client"]) for r in runs] == [
        (widths[0], "aiospaces"),
        (widths[0], "huggingface_hub"),
        (widths[1], "huggingface_hub"),
        (widths[1], "aiospaces"),
    ]
    assert [point["concurrency"] for point in outcome["sweep"]] == widths
    assert not (tmp_path / "bulk.png").exists()
    n = outcome["params"]["spaces"]
    for record in runs:
        failed = [c for c in record["checks"] if not c["passed"]]
        assert not failed, (record["client"], failed)
        assert record["calls_failed"] == 0
        assert record["writes_seen"] == {"secrets": n, "variables": n, "hardware": n}
        assert record["server_requests"] >= 3 * n
        assert record["hub_counters"]["max_in_flight"] <= record["concurrency"]


def test_busy_cores_spin_for_the_block_and_are_gone_after_it() -> None:
    """`busy_cores(n)` runs n processes that keep running through the block and are ended when it exits,
    even by an exception."""
    seen: list[list[subprocess.Popen[bytes]]] = []

    def failing_run() -> None:
        with busy_cores(2) as spinners:
            seen.append(spinners)
            assert [spinner.poll() for spinner in spinners] == [None, None]
            raise KeyError("the run failed")

    with pytest.raises(KeyError):
        failing_run()
    assert len(seen[0]) == 2
    assert all(spinner.poll() is not None for spinner in seen[0])


def test_busy_and_trio_runs_keep_their_results_apart_from_the_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full run with `--busy N` has N spinning processes alive while its scenarios run and writes its JSON
    (saying N) under `results/busy/`, one on trio under `results/trio/`; neither touches the READMEs' tables
    (aiospaces on asyncio, quiet machine)."""
    import benchmarks.__main__ as runner

    started: list[list[subprocess.Popen[bytes]]] = []
    alive: list[int] = []

    @contextlib.contextmanager
    def recorded(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
        with busy_cores(count) as spinners:
            started.append(spinners)
            yield spinners

    def scenario(ctx: Any) -> dict[str, Any]:
        alive.append(sum(spinner.poll() is None for spinner in started[0]))
        return {"runs": []}

    def no_readme(*args: object) -> bool:
        raise AssertionError("a busy run must not regenerate the README tables")

    monkeypatch.setitem(runner.SCENARIOS, "bulk", scenario)
    monkeypatch.setattr(runner, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(runner, "update_readme", no_readme)
    monkeypatch.setattr(runner, "update_overview", no_readme)
    monkeypatch.setattr(runner, "_plot", lambda directory: True)
    monkeypatch.setattr(runner, "render_tables", lambda results: "")
    monkeypatch.setattr(runner, "busy_cores", recorded)
    assert main(["bulk", "--busy", "1"]) == 0
    assert alive == [1]
    assert all(spinner.poll() is not None for spinner in started[0])
    assert json.loads((tmp_path / "busy" / "bulk.json").read_text())["busy_processes"] == 1
    assert not (tmp_path / "bulk.json").exists()
    assert main(["bulk", "--backend", "trio"]) == 0
    assert json.loads((tmp_path / "trio" / "bulk.json").read_text())["aiospaces_backend"] == "trio"
    assert not (tmp_path / "bulk.json").exists()
    with pytest.raises(SystemExit) as excinfo:
        main(["bulk", "--busy", "-1"])
    assert excinfo.value.code == 2


def test_findings_name_where_aiospaces_is_behind_with_a_reason() -> None:
    """Every metric where aiospaces' median is worse is listed as "not ahead" with its explanation."""
    summary = {
        "aiospaces": {"wall_s": 8.0, "calls_failed": 0.0},
        "huggingface_hub": {"wall_s": 5.0, "calls_failed": 0.0},
        "ratio_aiospaces_over_huggingface_hub": {"wall_s": 1.6, "calls_failed": math.nan},
    }
    watch = {
        "aiospaces": {"requests_per_space": 0.2},
        "huggingface_hub": {"requests_per_space": 30.0},
        "ratio_aiospaces_over_huggingface_hub": {"requests_per_space": 0.2 / 30.0},
    }
    text = render_findings({"bulk": _bulk_results({32: summary}), "watch": {"summary": watch}})
    ahead, behind = text.split("Where aiospaces is not ahead")
    assert "bulk, width 32 — wall time (s): 8 vs 5 (1.60×). Why: " in behind
    assert "requests per Space" in ahead
    assert "calls failed" not in text


def test_readme_performance_section_comes_from_the_results(tmp_path: Path) -> None:
    """The README's performance section shows the plot, each width's ratios with both figures and the
    Hub's in-flight counts, the targets' verdict (with its reason when missed), each scenario's run date."""

    def side(wall: float, cpu: float) -> dict[str, float]:
        return {"wall_s": wall, "cpu_s_per_1000_requests": cpu, "cpu_wait_s": 1.5}

    summary = {
        "aiospaces": side(6.0, 0.7),
        "huggingface_hub": side(5.0, 0.6),
        "ratio_aiospaces_over_huggingface_hub": {"wall_s": 1.2, "cpu_s_per_1000_requests": 0.7 / 0.6},
    }
    bulk_data = _bulk_results({32: summary})
    bulk_data["runs"] = [
        {"client": "aiospaces", "concurrency": 32, "hub_counters": {"max_in_flight": 32}},
        {"client": "huggingface_hub", "concurrency": 32, "hub_counters": {"max_in_flight": 31}},
    ]
    scale = {
        "params": {"spaces": 10_000},
        "started_at": "2026-02-03T04:05:06+00:00",
        "summary": {
            "aiospaces": {"rss_steady_mib": 80.0, "rss_per_space_kib": 5.0, "steady_requests_per_s": 1}
        },
    }
    text = render_overview({"bulk": bulk_data, "scale": scale})
    assert "(benchmarks/results/bulk.png)" in text
    assert "run of 2026-01-01 00:00:00 UTC" in text
    assert "| 32 | **1.20×** (6 s vs 5 s) | **1.17×** (0.7 vs 0.6 ms) | 32 vs 31 | 1.5 s of its 6 s |" in text
    assert (
        "not met in this run for width 32 wall time (1.20×), width 32 client CPU per request (1.17×)" in text
    )
    flights = {"max_in_flight": 32}
    bulk_data["runs"] += [
        {"client": "aiospaces", "concurrency": 32, "wall_s": 6.1, "hub_counters": flights},
        {"client": "huggingface_hub", "concurrency": 32, "wall_s": 4.9, "hub_counters": flights},
    ]
    bulk_data["runs"][0]["wall_s"], bulk_data["runs"][1]["wall_s"] = 5.9, 5.1
    # With two runs or more per client, a missed target shows each client's range over the runs.
    assert (
        "width 32 wall time (1.20×; over the runs: aiospaces 5.9–6.1 s, huggingface_hub 4.9–5.1 s)"
        in render_overview({"bulk": bulk_data})
    )
    assert "Why: " in text
    met = {
        "aiospaces": side(4.9, 0.5),
        "huggingface_hub": side(5.0, 0.6),
        "ratio_aiospaces_over_huggingface_hub": {"wall_s": 0.98, "cpu_s_per_1000_requests": 0.5 / 0.6},
    }
    met_data = _bulk_results({32: met})
    met_data["runs"] = bulk_data["runs"][:2]
    met_text = render_overview({"bulk": met_data})
    # Met: the verdict says so and gives what puts aiospaces ahead, without a reason for a miss.
    assert "— all met in this run. Each of aiospaces' tasks sends its next request" in met_text
    assert "Why: " not in met_text
    assert "10,000 Spaces from one process** (2026-02-03 04:05:06 UTC): about 80 MiB" in text
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{OVERVIEW_START}\nold\n{OVERVIEW_END}\nrest\n")
    assert update_overview({"scale": scale}, readme)
    assert "old" not in readme.read_text()
    assert readme.read_text().endswith(f"{OVERVIEW_END}\nrest\n")


def test_the_trio_sweep_is_one_line_of_the_performance_section(tmp_path: Path) -> None:
    """The bulk sweep run with aiospaces on trio (kept apart, in `trio/bulk.json`) is loaded with the other
    results and shown in the README's performance section as one line: its date and each width's wall-time and
    CPU ratios, while the tables stay the asyncio run's."""

    def point(wall: float, cpu: float) -> dict[str, Any]:
        return {"ratio_aiospaces_over_huggingface_hub": {"wall_s": wall, "cpu_s_per_1000_requests": cpu}}

    trio = _bulk_results({32: point(0.98, 0.79), 128: point(0.61, 0.57)})
    trio["started_at"] = "2026-12-06T17:56:20+00:00"
    (tmp_path / "trio").mkdir()
    (tmp_path / "trio" / "bulk.json").write_text(json.dumps(trio))
    loaded = load_results(tmp_path)
    assert set(loaded) == {"bulk-trio"}
    assert (
        "- **The bulk writes with aiospaces on trio** (2026-12-06 17:56:20 UTC): wall time 0.98×, 0.61× and "
        "client CPU per request 0.79×, 0.57× at widths 32, 128." in render_overview(loaded)
    )
    assert "trio" not in render_tables(loaded)


def test_watch_plots_draw_lag_and_requests_from_the_watch_json(tmp_path: Path) -> None:
    """The two watch plots (lag distribution; requests per second with the budget line) are drawn from the
    watch JSON alone, as PNGs."""
    pytest.importorskip("matplotlib")
    from benchmarks.plot_watch import plot_watch

    def run(client: str, lags: list[float], per_second: list[int]) -> dict[str, Any]:
        return {
            "client": client,
            "lags_s": lags,
            "lag_p95_s": max(lags),
            "requests_per_s": per_second,
            "poll_budget_per_s": 83.3 if client == "aiospaces" else None,
        }

    data = {
        "params": {"spaces": 3},
        "runs": [
            run("aiospaces", [0.1, 0.3, 0.5], [2, 1, 2]),
            run("huggingface_hub", [0.2, 0.6, 1.0], [9, 8]),
        ],
    }
    source = tmp_path / "watch.json"
    source.write_text(json.dumps(data))
    paths = plot_watch(source, tmp_path)
    assert [p.name for p in paths] == ["watch-lag.png", "watch-requests.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


def test_per_second_counts_requests_in_each_second_of_the_run() -> None:
    """Request times are binned by whole seconds since the start, empty seconds included."""
    from benchmarks.watch import per_second

    assert per_second([10.1, 10.9, 12.5, 12.6, 12.99], 10.0) == [2, 0, 3]
    assert per_second([], 10.0) == []


def test_quick_watch_writes_applies_every_write_with_and_without_the_watch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quick watch-while-writing run writes every secret and variable alone and while watching (every
    watched Space detected), with no failed call, and needs no matplotlib."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["--quick", "watch_writes", "--output", str(tmp_path), "--no-readme"]) == 0
    outcome = json.loads((tmp_path / "watch_writes.json").read_text())
    assert [r["watch"] for r in outcome["runs"]] == [False, True]
    assert all(r["calls_failed"] == 0 for r in outcome["runs"])
    assert outcome["runs"][0]["polls"] == 0 < outcome["runs"][1]["polls"]
    assert outcome["summary"]["writes_slowdown"] > 0
