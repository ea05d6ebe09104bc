"""Who may see what: effective access regimes and the checks `show`, `get` and `search` share.

A document's effective regime is the stricter of its dossier's (`Rights`) and its own (`Mode`)
(interfaces.md). Public regimes (`Công khai` by default, configurable) are open to every reader;
any other regime needs a grant for that regime on that fonds; administrators see everything.
Submitters read only their own transfers, and auditors see fixity, events and the log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from archive_service.states import Role
from search.protocol import label_key as regime_key


def effective_regime(dossier_regime: str, document_regime: str | None, public: Iterable[str]) -> str:
    """The stricter of the two: a public one yields to the other; of two restrictions the
    document's own, more specific, one holds."""
    open_keys = {regime_key(r) for r in public}
    if not document_regime:
        return dossier_regime
    if regime_key(document_regime) in open_keys:
        return dossier_regime
    return document_regime


@dataclass(frozen=True)
class Reader:
    """The person (or system) asking, with what they may see."""

    name: str
    role: Role
    organisation: str | None
    grants: frozenset[tuple[str, str]]
    public_regimes: frozenset[str]

    @property
    def may_download(self) -> bool:
        """Archivists and administrators take files out; auditors check fixity, not content."""
        return self.role in (Role.ARCHIVIST, Role.ADMIN)

    def may_see(self, fonds: str, regime: str) -> bool:
        """Whether a record of `regime` in `fonds` exists for this reader at all."""
        if self.role is Role.ADMIN:
            return True
        if self.role is Role.SUBMITTER:
            return False
        key = regime_key(regime)
        if key in {regime_key(r) for r in self.public_regimes}:
            return True
        return self.role is Role.ARCHIVIST and any(f == fonds and regime_key(r) == key for f, r in self.grants)
