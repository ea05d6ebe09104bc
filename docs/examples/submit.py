"""Submit a transfer package to the archive and wait for its outcome (example client, httpx only).

    ARCHIVE_API_KEY=ak_... python submit.py package.zip --url https://archive.example.gov.vn

The Idempotency-Key is derived from the package's SHA-256, so running the script again after a
network failure or a crash never creates a second transfer: the archive answers with the
original transfer. Exit status: 0 accepted, 2 rejected, 3 failed, 1 anything else.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

FINAL = {"accepted", "rejected", "failed", "tested"}
CHUNK = 1024 * 1024
RETRY_STATUSES = {429, 502, 503, 504}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _wait(response: httpx.Response | None, attempt: int) -> float:
    """Seconds before the next attempt: the server's Retry-After, else exponential backoff."""
    retry_after = response.headers.get("Retry-After", "") if response is not None else ""
    return float(retry_after) if retry_after.isdigit() else min(60.0, 0.5 * 2**attempt)


def upload(client: httpx.Client, package: Path, key: str, attempts: int, profile: str | None) -> dict[str, Any]:
    """POST the package (streamed, never read whole into memory), retrying what can be retried."""
    headers = {
        "Content-Type": "application/zip",
        "Content-Length": str(package.stat().st_size),
        "Idempotency-Key": key,
    }
    params = {"profile": profile} if profile else {}
    for attempt in range(attempts):
        response: httpx.Response | None = None
        try:
            response = client.post("/api/v1/transfers", content=_chunks(package), headers=headers, params=params)
        except httpx.TransportError as exc:
            print(f"upload attempt {attempt + 1} failed: {exc}", file=sys.stderr)
        else:
            if response.status_code == 202:
                body: dict[str, Any] = response.json()
                return body
            if response.status_code not in RETRY_STATUSES:
                raise SystemExit(f"refused ({response.status_code}): {response.text}")
        time.sleep(_wait(response, attempt))
    raise SystemExit(f"gave up after {attempts} attempts")


def poll(client: httpx.Client, status_url: str, timeout: float) -> dict[str, Any]:
    """Follow the transfer until it reaches a final state."""
    deadline = time.monotonic() + timeout
    attempt = 0
    while time.monotonic() < deadline:
        try:
            response = client.get(status_url)
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code == 200:
            state: dict[str, Any] = response.json()
            if state["status"] in FINAL:
                return state
            attempt = 0
        elif response is not None and response.status_code not in RETRY_STATUSES:
            raise SystemExit(f"cannot read the transfer ({response.status_code}): {response.text}")
        time.sleep(1.0 if response is not None and response.status_code == 200 else _wait(response, attempt))
        attempt += 1
    raise SystemExit(f"the transfer did not finish within {timeout} s; follow it at {status_url}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="the SIP as a ZIP file")
    parser.add_argument("--url", default=os.environ.get("ARCHIVE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--key", default=os.environ.get("ARCHIVE_API_KEY"), help="or ARCHIVE_API_KEY")
    parser.add_argument("--profile", choices=["tt02-2019", "tt05-2025"], default=None)
    parser.add_argument("--attempts", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for the outcome")
    parser.add_argument("--receipt", type=Path, default=None, help="write the signed receipt here")
    args = parser.parse_args(argv)
    if not args.key:
        parser.error("an API key is needed (--key or ARCHIVE_API_KEY)")

    key = f"sha256-{sha256_of(args.package)}"
    auth = {"Authorization": f"Bearer {args.key}"}
    with httpx.Client(base_url=args.url, headers=auth, timeout=httpx.Timeout(30.0, write=300.0)) as client:
        accepted = upload(client, args.package, key, args.attempts, args.profile)
        print(f"transfer {accepted['transfer_id']} queued; following {accepted['status_url']}")
        state = poll(client, accepted["status_url"], args.timeout)

    print(f"status: {state['status']}" + (" (retryable)" if state["retryable"] else ""))
    for finding in state["findings"]:
        where = finding["path"] + (f" [{finding['field']}]" if finding.get("field") else "")
        print(f"  [{finding['severity']}] {finding['rule']} {where}\n    {finding['message_en']}")
    if state.get("receipt"):
        receipt = state["receipt"]
        print(f"dossier {receipt['dossier']['code']} stored as {receipt['dossier']['aip_id']}")
        if args.receipt:
            args.receipt.write_text(json.dumps(receipt, ensure_ascii=False, indent=2), encoding="utf-8")
    return {"accepted": 0, "tested": 0, "rejected": 2, "failed": 3}.get(state["status"], 1)


if __name__ == "__main__":
    sys.exit(main())
