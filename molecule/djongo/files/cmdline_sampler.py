"""Append every process's command line to a log, every 0.1 s, until a stop file exists.

    python3 cmdline_sampler.py STOP_FILE LOG [MAX_SAMPLES]

Each sample is a line "COMMAND" followed by one line per process: its /proc/<pid>/cmdline with
the NULs as spaces (what `ps -eo args` shows; kernel threads, which have none, are left out).
One process reading /proc, instead of a shell loop starting `ps` ten times a second: the same
samples for about a tenth of the CPU on the host under test.
"""

import os
import sys
import time


def sample() -> list[str]:
    lines = ["COMMAND"]
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                args = cmdline.read().replace(b"\0", b" ").strip()
        except OSError:  # the process ended meanwhile
            continue
        if args:
            lines.append(args.decode(errors="replace"))
    return lines


def main() -> None:
    stop, log = sys.argv[1], sys.argv[2]
    max_samples = int(sys.argv[3]) if len(sys.argv) > 3 else 9000
    with open(log, "a", encoding="utf-8") as out:
        for _ in range(max_samples):
            if os.path.exists(stop):
                break
            out.write("\n".join(sample()) + "\n")
            out.flush()
            time.sleep(0.1)


if __name__ == "__main__":
    main()
