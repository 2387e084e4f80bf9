"""Generate recordings in the list endpoint's item shape, as JSON Lines, fast.

    .venv/bin/python bench/gen.py --count 1000000 --meetings 20000 --days 365 --seed 1 --out big.jsonl

Realistic mix: ~85% UPLOADED, ~6% ERRORED, 2-3% each of INVOKED/RECORDING/PAUSED/UPLOADING.
``invoked_time`` is spread uniformly over the last ``--days`` days (random milliseconds).
UPLOADED recordings carry download_url, file_size, recording_duration and
``download_url_expiry = stopped_time + 7 days`` (so all but the last week's are expired).
Meetings are titled ``Weekly sync <word> <n>``; ``--rare`` of them (default 5) carry the word
``Quokka`` instead, so ``search=quokka`` matches a handful of meetings whatever the size.
``storage_config`` never holds secrets. Ids are random UUID-4s drawn from ``--seed``: use a
different seed per app (an import refuses ids that belong to another app).

Lines are built with string formatting (titles and URLs come from fixed ASCII word lists, so
nothing needs escaping); the meeting object is encoded once per meeting with msgspec.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import random
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
RARE_WORD = "quokka"  # what a search for a handful of meetings looks for (titles say "Quokka")

# Weights (out of 1000): the status mix. The hot loop relies on this order (by index).
STATUS_MIX = (
    ("UPLOADED", 850),
    ("ERRORED", 60),
    ("RECORDING", 25),
    ("INVOKED", 20),
    ("PAUSED", 20),
    ("UPLOADING", 25),
)
# fmt: off
WORDS = (
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo",
    "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform",
    "victor", "whiskey", "xray", "yankee", "zulu", "product", "design", "platform", "sales", "support",
    "growth", "infra", "mobile", "web", "data", "security", "finance", "legal", "hiring", "onboarding",
    "roadmap", "release", "retro", "standup", "planning", "review", "demo", "budget", "marketing",
    "research",
)
# fmt: on
assert not any(RARE_WORD in w for w in WORDS)
BUCKETS = ("acme-recordings", "rk-archive", "meetings-prod")
REGIONS = ("us-east-1", "eu-west-1", "ap-south-1")


def _uuid4(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


class _Iso:
    """Epoch ms -> ``2024-05-01T12:34:56.789Z`` from three lookup tables (date, minute, second+ms)."""

    def __init__(self) -> None:
        self.days: dict[int, str] = {}
        self.epoch = dt.date(1970, 1, 1).toordinal()
        self.minutes = [f"{m // 60:02d}:{m % 60:02d}:" for m in range(1440)]
        self.seconds = [f"{s // 1000:02d}.{s % 1000:03d}Z" for s in range(60_000)]

    def date(self, day: int) -> str:
        text = self.days.get(day)
        if text is None:
            text = self.days[day] = dt.date.fromordinal(self.epoch + day).isoformat() + "T"
        return text

    def __call__(self, ms: int) -> str:
        day, rest = divmod(ms, DAY_MS)
        minute, sec = divmod(rest, 60_000)
        return self.date(day) + self.minutes[minute] + self.seconds[sec]

    def fast(self) -> Callable[[int], str]:
        """A closure for the hot loop (dates pre-filled by the caller via ``date``)."""
        days, minutes, seconds, date = self.days, self.minutes, self.seconds, self.date

        def iso(ms: int) -> str:
            day, rest = divmod(ms, DAY_MS)
            minute, sec = divmod(rest, 60_000)
            text = days.get(day) or date(day)
            return text + minutes[minute] + seconds[sec]

        return iso


def _meetings(rng: random.Random, count: int, rare: int, first_ms: int, iso: _Iso) -> list[tuple[str, str]]:
    """(id, encoded meeting object) for each meeting; ``rare`` of them have the rare word in the title."""
    rare_at = set(rng.sample(range(count), min(rare, count)))
    out = []
    for n in range(count):
        mid = _uuid4(rng)
        if n in rare_at:
            title = f"Weekly sync Quokka {rng.choice(WORDS)} {n}"
        else:
            title = f"Weekly sync {rng.choice(WORDS)} {n}"
        created = first_ms - rng.randrange(30 * DAY_MS)
        obj = {
            "id": mid,
            "created_at": iso(created),
            "updated_at": iso(created + rng.randrange(DAY_MS)),
            "live_stream_on_start": False,
            "persist_chat": rng.random() < 0.3,
            "record_on_start": rng.random() < 0.5,
            "session_keep_alive_time_in_secs": 60,
            "status": "ACTIVE" if rng.random() < 0.8 else "INACTIVE",
            "summarize_on_end": False,
            "title": title,
        }
        out.append((mid, msgspec.json.encode(obj).decode()))
    return out


def _storage_configs() -> list[str]:
    configs = ["null"]
    for bucket in BUCKETS:
        for region in REGIONS:
            configs.append(
                msgspec.json.encode(
                    {"type": "aws", "auth_method": "KEY", "bucket": bucket, "region": region, "path": "recordings"}
                ).decode()
            )
    return configs


PARTS_FROM = 200_000  # at or above this many lines, write PARTS slices in parallel processes
PARTS = 4  # fixed, so the output depends only on the arguments, not on the machine


def _write_part(job: tuple[Path, int, int, int, int, int, int, int]) -> list[int]:
    """Write one slice of the lines; returns the count per status (in STATUS_MIX order)."""
    out, part, count, meetings, days, seed, rare, now = job
    span = days * DAY_MS
    first = now - span
    iso = _Iso()
    mtgs = _meetings(random.Random(seed), meetings, rare, first, iso)
    rng = random.Random(f"{seed}/{part}")
    storage = _storage_configs()
    statuses = [s for s, _ in STATUS_MIX]
    cum = []
    acc = 0
    for _, w in STATUS_MIX:
        acc += w
        cum.append(acc)
    counts = [0] * len(statuses)
    rand = rng.random
    getrandbits = rng.getrandbits
    fmt = iso.fast()
    n_storage = len(storage)
    with out.open("w", encoding="ascii", newline="\n") as handle:
        chunk: list[str] = []
        for _ in range(count):
            h = f"{getrandbits(128):032x}"
            rid = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"
            h = f"{getrandbits(128):032x}"
            sid = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"
            mid, meeting = mtgs[int(rand() * meetings)]
            invoked = first + int(rand() * span)
            pick = int(rand() * 1000)
            k = 0
            while pick >= cum[k]:
                k += 1
            status = statuses[k]
            counts[k] += 1
            started_s = stopped_s = url = expiry = size = duration = "null"
            if k != 3:  # not INVOKED
                start_ms = invoked + 1000 + int(rand() * 9000)
                started_s = f'"{fmt(start_ms)}"'
                if k <= 1 or k == 5:  # UPLOADED, ERRORED, UPLOADING
                    dur = 60 + int(rand() * 7140)
                    stop_ms = start_ms + dur * 1000 + int(rand() * 1000)
                    stopped_s = f'"{fmt(stop_ms)}"'
                    if k == 0:
                        duration = str(dur)
                        size = str(dur * (40_000 + int(rand() * 80_000)))
                        url = (
                            f'"https://recordings.example.com/{mid}/{rid}.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256'
                            f'&X-Amz-Expires=604800&X-Amz-Signature={getrandbits(256):064x}"'
                        )
                        expiry = f'"{fmt(stop_ms + WEEK_MS)}"'
            config = storage[int(rand() * n_storage)] if rand() < 0.9 else "null"
            chunk.append(
                f'{{"id":"{rid}","audio_download_url":null,"download_url":{url},'
                f'"download_url_expiry":{expiry},"file_size":{size},"invoked_time":"{fmt(invoked)}",'
                f'"output_file_name":"{rid}.mp4","session_id":"{sid}","started_time":{started_s},'
                f'"status":"{status}","stopped_time":{stopped_s},"meeting":{meeting},'
                f'"recording_duration":{duration},"storage_config":{config}}}\n'
            )
            if len(chunk) >= 10_000:
                handle.write("".join(chunk))
                chunk = []
        handle.write("".join(chunk))
    return counts


def generate(
    out: Path,
    count: int,
    meetings: int | None = None,
    days: int = 365,
    seed: int = 1,
    rare: int = 5,
    now_ms: int | None = None,
) -> dict[str, object]:
    """Write ``count`` lines to ``out``; returns a summary (status mix, seconds, bytes)."""
    started = time.perf_counter()
    now = int(time.time() * 1000) if now_ms is None else now_ms
    meetings = meetings or max(1, count // 50)
    parts = PARTS if count >= PARTS_FROM else 1
    sizes = [count // parts + (1 if i < count % parts else 0) for i in range(parts)]
    paths = [out] if parts == 1 else [out.with_name(f"{out.name}.part{i}") for i in range(parts)]
    jobs = [(paths[i], i, sizes[i], meetings, days, seed, rare, now) for i in range(parts)]
    if parts == 1:
        results = [_write_part(jobs[0])]
    else:
        with multiprocessing.get_context("spawn").Pool(min(parts, os.cpu_count() or 1)) as pool:
            results = pool.map(_write_part, jobs)
        with out.open("wb") as whole:
            for path in paths:
                with path.open("rb") as piece:
                    shutil.copyfileobj(piece, whole, 1 << 22)
                path.unlink()
    written = sum(sizes)
    statuses = [s for s, _ in STATUS_MIX]
    mix = {statuses[i]: sum(r[i] for r in results) for i in range(len(statuses))}
    seconds = time.perf_counter() - started
    return {
        "out": str(out),
        "lines": written,
        "meetings": meetings,
        "rare_meetings": min(rare, meetings),
        "rare_word": RARE_WORD,
        "days": days,
        "seed": seed,
        "now_ms": now,
        "seconds": round(seconds, 3),
        "lines_per_second": round(written / seconds) if seconds else None,
        "bytes": out.stat().st_size,
        "status_mix": dict(sorted(mix.items(), key=lambda kv: -kv[1])),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--meetings", type=int, default=None, help="default: count / 50")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rare", type=int, default=5, help="meetings whose title says Quokka")
    parser.add_argument("--now-ms", type=int, default=None, help="anchor instead of the current time")
    parser.add_argument("--out", type=Path, default=None, help="default: bench/out/recordings-<count>.jsonl")
    parser.add_argument("--quick", action="store_true", help="10,000 lines (smoke run)")
    args = parser.parse_args(argv)
    outdir = Path(__file__).resolve().parent / "out"
    outdir.mkdir(exist_ok=True)
    count = 10_000 if args.quick else args.count
    out = args.out or outdir / f"recordings-{count}.jsonl"
    summary = generate(out, count, args.meetings, args.days, args.seed, args.rare, args.now_ms)
    rows = [
        ("lines", f"{summary['lines']:,}"),
        ("meetings", f"{summary['meetings']:,} ({summary['rare_meetings']} titled Quokka)"),
        ("seconds", f"{summary['seconds']:.2f}"),
        ("lines/s", f"{summary['lines_per_second']:,}"),
        ("MB written", f"{summary['bytes'] / 1e6:,.1f}"),
    ]
    total = summary["lines"] or 1
    for status, n in summary["status_mix"].items():  # type: ignore[union-attr]
        rows.append((f"  {status}", f"{n:,} ({100 * n / total:.1f}%)"))
    width = max(len(k) for k, _ in rows)
    print(f"gen.py -> {out}")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    (outdir / "gen.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
