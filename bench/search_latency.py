"""Query latency (p50/p95) for typical archivist queries at 10 000 and 100 000 documents.

Usage: PYTHONPATH=. .venv/bin/python bench/search_latency.py [--backend embedded|http://127.0.0.1:9201]
       [--sizes 10000,100000]
Documents are generated from real Vietnamese corpus sentences; the printed figures are
milliseconds per query, each size measured in the same run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from search.factory import open_index
from search.protocol import AccessFilter, IndexedRecord, RecordKind, SearchQuery
from tests.relevance.collection import collection

QUERIES = [
    "tuyen dung cong chuc",
    "15/QD-BNV",
    "quyết định khen thưởng",
    '"dịch vụ viễn thông"',
    "covid hoc sinh",
    "chuyen doi so 2025",
    "giai phong mat bang",
    "huong dan su dung",
]


def generate(count: int, seed: int = 7) -> list[IndexedRecord]:
    rng = random.Random(seed)
    base = collection()
    sentences = [s for r in base for s in (r.title, r.full_text[:400]) if s]
    fonds = ["000.00.00.G09", "000.00.00.H49", "000.00.00.H17", "G09.20", "H49.15"]
    regimes = ["Công khai"] * 4 + ["Hạn chế"]
    records = []
    for i in range(count):
        template = base[i % len(base)]
        records.append(
            IndexedRecord(
                kind=RecordKind.DOCUMENT,
                code=f"GEN.{i:07d}",
                title=f"{template.title} ({i})",
                fonds=rng.choice(fonds),
                year=rng.randint(2000, 2025),
                doc_type=template.doc_type,
                organ=template.organ,
                retention="Vĩnh viễn",
                access_regime=rng.choice(regimes),
                number_notation=f"{i}/{template.number_notation.split('/')[-1]}" if template.number_notation else "",
                subject=rng.choice(sentences)[:300],
                full_text=" ".join(rng.sample(sentences, 3))[:850],
            )
        )
    return records


def measure(setting: str, size: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        index = open_index(setting, Path(folder))
        start = time.perf_counter()
        index.rebuild(generate(size))
        built = time.perf_counter() - start
        access = AccessFilter(open_regimes=frozenset({"Công khai"}))
        timings = []
        for _ in range(5):
            for text in QUERIES:
                start = time.perf_counter()
                index.query(SearchQuery(text=text, access=access, limit=20))
                timings.append((time.perf_counter() - start) * 1000)
        index.close()
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(
        f"{setting:>10} {size:>7} docs: rebuild {built:6.1f} s, p50 {statistics.median(timings):7.1f} ms, "
        f"p95 {p95:7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="embedded")
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        measure(args.backend, size)


if __name__ == "__main__":
    main()
