"""Throughput of the LLM client against the local fake server (tests/fake_openai.py).

    python benchmarks/llm_throughput.py [--requests 2000] [--latency 0.2] [--concurrency 8 32 64]

The server runs in its own process (so its threads do not share the client's GIL) and answers
every request after ``--latency`` seconds. For each concurrency C the client sends ``--requests``
distinct requests through the real path (cache lookup, semaphore, openai AsyncOpenAI, SQLite
commit per answer) and the script prints requests/s against the ideal C / latency, the client's
CPU seconds (user + sys of this process) per request, and the time to answer the same requests
again from the cache.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from builders.backends.openai.cache import ResponseCache, base_url_family  # noqa: E402
from builders.backends.openai.client import ClientSettings, LLMClient  # noqa: E402
from builders.backends.openai.cost import Budget  # noqa: E402
from builders.backends.openai.prompts import load_llm_prompts  # noqa: E402


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "fake_openai.py"), "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


async def run(client: LLMClient, requests: list) -> float:
    started = time.perf_counter()
    async with client:
        await asyncio.gather(*(client.complete(request) for request in requests))
    return time.perf_counter() - started


async def bare(url: str, requests: list, concurrency: int) -> float:
    """The floor: plain AsyncOpenAI calls under a semaphore (no cache, no pacing, no checks)."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key="bench", base_url=url, max_retries=0)
    semaphore = asyncio.Semaphore(concurrency)

    async def one(request) -> None:
        async with semaphore:
            await client.chat.completions.create(**request.body("bench-model"))

    started = time.perf_counter()
    await asyncio.gather(*(one(request) for request in requests))
    await client.close()
    return time.perf_counter() - started


def cpu() -> float:
    times = os.times()
    return times.user + times.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32, 64])
    args = parser.parse_args()
    prompts = load_llm_prompts()
    process, url = start_server(args.latency)
    print(f"server {url}, latency {args.latency}s, {args.requests} requests, cpus {os.cpu_count()}")
    try:
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        for concurrency in args.concurrency:
            settings = ClientSettings(
                model="bench-model",
                base_url=url,
                family=base_url_family(url),
                prompts_sha256=prompts.sha256,
                concurrency=concurrency,
            )
            # Distinct requests (no cache hits, no sharing) of a realistic size.
            requests = [
                prompts.request(
                    "answer", {"user_turn": f"Question {i} ({concurrency}): " + "x" * 400}, 0
                )
                for i in range(args.requests)
            ]
            with tempfile.TemporaryDirectory() as folder:
                cache = ResponseCache(Path(folder))
                client = LLMClient(settings, cache, Budget(None, None))
                cpu_before = cpu()
                seconds = await_run(client, requests)
                cpu_used = cpu() - cpu_before
                assert client.stats.answered == args.requests, client.stats
                ideal = concurrency / args.latency if args.latency else float("inf")
                rate = args.requests / seconds
                rerun_client = LLMClient(settings, cache, Budget(None, None))
                rerun = await_run(rerun_client, requests)
                assert rerun_client.stats.cached == args.requests
                cache.close()
            floor = asyncio.run(bare(url, requests, concurrency))
            print(
                f"concurrency {concurrency:3d}: bare AsyncOpenAI {args.requests / floor:7.1f} req/s; "
                f"backend client {rate:7.1f} req/s, ideal {ideal:7.1f} "
                f"({100 * rate / ideal:5.1f}%), wall {seconds:6.2f}s, client CPU {cpu_used:5.2f}s "
                f"({1000 * cpu_used / args.requests:.2f} ms/request, "
                f"{100 * cpu_used / seconds:.0f}% of one core); rerun from cache {rerun:.2f}s "
                f"({args.requests / rerun:,.0f} req/s)"
            )
    finally:
        process.terminate()
        process.wait()


def await_run(client: LLMClient, requests: list) -> float:
    return asyncio.run(run(client, requests))


if __name__ == "__main__":
    main()
