"""Roles and what each may do: the one permission table (README documents it).

Scope is decided here and applied in the query layer, never by hiding buttons.
"""
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    permissions: frozenset[str]
    record_level: bool        # may see counts below 5 and record-level exports
    borough_scoped: bool      # must be given boroughs; sees nothing outside them
    ed_site_scoped: bool = False  # data quality limited to its own ED sites


DATA_PAGES = frozenset({"view_map", "view_premises", "view_tasking", "view_trends", "view_quality", "export"})
EVERYONE = frozenset({"view_standard"})  # pages without data: the data standard
ROLES: dict[str, Role] = {r.name: replace(r, permissions=r.permissions | EVERYONE) for r in (
    Role("admin", "Manages users and reads the audit log; sees all data.",
         DATA_PAGES | {"manage_users", "view_audit", "load_data"}, record_level=True, borough_scoped=False),
    Role("analyst", "Loads data; all boroughs, record-level.", DATA_PAGES | {"load_data"},
         record_level=True, borough_scoped=False),
    Role("police", "Police analysts and tasking: record-level, all boroughs or a given scope.",
         frozenset({"view_map", "view_premises", "view_tasking", "view_trends", "export"}),
         record_level=True, borough_scoped=False),
    Role("licensing", "Borough licensing officers: aggregates and premises in their boroughs.",
         frozenset({"view_map", "view_premises", "view_trends", "export"}), record_level=False, borough_scoped=True),
    Role("csp", "Community Safety Partnership: aggregates in their boroughs.",
         frozenset({"view_map", "view_trends", "export"}), record_level=False, borough_scoped=True),
    Role("health", "ED data leads: data quality for their own ED sites; London aggregates.",
         frozenset({"view_map", "view_trends", "view_quality", "export"}), record_level=False,
         borough_scoped=False, ed_site_scoped=True),
)}


@dataclass(frozen=True)
class Scope:
    """What one user may see. boroughs/ed_sites None = all."""
    boroughs: tuple[str, ...] | None = None
    ed_sites: tuple[str, ...] | None = None
    record_level: bool = True

    def boroughs_for(self, wanted: tuple[str, ...]) -> tuple[str, ...] | None:
        """The boroughs a query may read: the wanted ones within scope (empty wanted = all allowed).

        Returns None for "no restriction" and () for "nothing".
        """
        if self.boroughs is None:
            return tuple(wanted) if wanted else None
        if not wanted:
            return self.boroughs
        return tuple(b for b in wanted if b in self.boroughs)


UNRESTRICTED = Scope()  # the CLI and the loaders
