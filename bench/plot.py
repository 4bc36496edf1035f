#!/usr/bin/env python3
"""Draw one deploy under load: requests/s and p99 latency per second, the deploy window shaded.

Usage: plot.py OUT.png TITLE < under-load-entry.json (one entry of results["under_load"]).
Run with the matplotlib of .cache/bench/venv (make bench installs it there).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    out, kind = sys.argv[1], sys.argv[2]
    data = json.load(sys.stdin)
    series = data["series"]
    t = [s["second"] for s in series]
    fig, (ax1, ax2) = plt.subplots(2, 1, sharex=True, figsize=(9, 5.5))
    ax1.plot(t, [s["requests"] for s in series], label="requests/s")
    bad = [s["non2xx"] + s["errors"] for s in series]
    failed = [(sec, n) for sec, n in zip(t, bad) if n]
    for i, (sec, n) in enumerate(failed):
        for ax in (ax1, ax2):
            ax.axvline(sec, color="red", linewidth=1,
                       label="second with non-2xx or socket errors" if ax is ax1 and i == 0 else None)
        ax1.annotate(str(n), (sec, 0), color="red", xytext=(3, 3), textcoords="offset points")
    ax1.set_ylabel("requests/s")
    ax1.legend(loc="lower left")
    ax2.plot(t, [s["p99_ms"] if s["p99_ms"] is not None else float("nan") for s in series],
             color="tab:orange")
    ax2.set_ylabel("p99 latency (ms)")
    ax2.set_yscale("log")
    ax2.set_xlabel("seconds since the load started")
    start, end = data["window_s"]
    for ax in (ax1, ax2):
        ax.axvspan(start, end, color="grey", alpha=0.2, label="deploy")
    title = "code-only" if kind == "code" else "requirements-change"
    fig.suptitle(f"{title} redeploy under load: {data['non2xx']} non-2xx, {data['errors']} socket errors, "
                 f"deploy {data['deploy_s']} s (shaded)")
    fig.tight_layout()
    fig.savefig(out, dpi=100)


if __name__ == "__main__":
    main()
