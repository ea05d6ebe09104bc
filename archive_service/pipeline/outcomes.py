"""How a step ends a transfer early: refused with findings, or failed (retryable or not)."""

from __future__ import annotations

from collections.abc import Sequence

from ingest_rules.findings import Finding


class TransferRejectedError(Exception):
    """The package breaks rules: the transfer ends `rejected` with every finding."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        super().__init__(f"{len(findings)} findings")
        self.findings = list(findings)


class TransferTestedError(Exception):
    """A RECORDSTATUS=TEST package passed validation: the transfer ends `tested`, nothing stored."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        super().__init__(f"{len(findings)} findings")
        self.findings = list(findings)


class TransferFailedError(Exception):
    """The archive could not finish (e.g. no valid PDF/A copy): the transfer waits in `failed`."""

    def __init__(self, findings: Sequence[Finding], *, retryable: bool) -> None:
        super().__init__(f"{len(findings)} findings")
        self.findings = list(findings)
        self.retryable = retryable
