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
         DATA_PAGES | {"manage_users", "view_audit", "load_data", "submit_data"}, record_level=True, borough_scoped=False),
    Role("analyst", "Loads data; all boroughs, record-level.", DATA_PAGES | {"load_data", "submit_data"},
         record_level=True, borough_scoped=False),
    Role("police", "Police analysts and tasking: record-level, all boroughs or a given scope.",
         frozenset({"view_map", "view_premises", "view_tasking", "view_trends", "export"}),
         record_level=True, borough_scoped=False),
    Role("licensing", "Borough licensing officers: aggregates and premises in their boroughs.",
         frozenset({"view_map", "view_premises", "view_trends", "export"}), record_level=False, borough_scoped=True),
    Role("csp", "Community Safety Partnership: aggregates in their boroughs.",
         frozenset({"view_map", "view_trends", "export"}), record_level=False, borough_scoped=True),
    Role("health", "ED data leads: upload and track their own ED sites' submissions, data quality for them; London aggregates.",
         frozenset({"view_map", "view_trends", "view_quality", "export", "submit_data"}), record_level=False,
         borough_scoped=False, ed_site_scoped=True),
)}


# The disclosure policy: how exactly each role sees counts (docs/disclosure.md). Levels:
#   record     exact counts and record-level views and exports (a data-sharing agreement for records);
#   exact      exact counts within scope, no records (an agreement for aggregates of their boroughs);
#   protected  counts through the protection (cell-key perturbation, rounding, a threshold).
# OWN_SITES_EXACT: roles that see their own ED sites' data-quality figures exactly (an ED's data
# lead is the controller of that site's records) whatever their level elsewhere.
# ISTV_DISCLOSURE overrides a role's level, e.g. "licensing=protected".
LEVELS = ("record", "exact", "protected")
DISCLOSURE: dict[str, str] = {
    "admin": "record", "analyst": "record", "police": "record",
    "licensing": "exact", "csp": "protected", "health": "protected",
}
OWN_SITES_EXACT = frozenset({"health"})


def disclosure_levels(overrides: str = "") -> dict[str, str]:
    """The policy table with ISTV_DISCLOSURE's overrides ('role=level,...'); a bad entry is refused by name."""
    levels = dict(DISCLOSURE)
    for part in filter(None, (p.strip() for p in overrides.split(","))):
        role, _, level = part.partition("=")
        role, level = role.strip(), level.strip()
        if role not in ROLES:
            raise ValueError(f"ISTV_DISCLOSURE: unknown role {role!r}; expected one of {', '.join(ROLES)}")
        if level not in LEVELS:
            raise ValueError(f"ISTV_DISCLOSURE: {role}={level!r}; expected one of {', '.join(LEVELS)}")
        if level == "record" and not ROLES[role].record_level:
            raise ValueError(f"ISTV_DISCLOSURE: {role} has no record-level permission; use exact or protected")
        levels[role] = level
    return levels


@dataclass(frozen=True)
class Scope:
    """What one user may see. boroughs/ed_sites None = all.

    record_level: record-level views and exports. level: how counts are shown (LEVELS);
    own_sites_exact: the user's own ED sites' quality figures are exact whatever the level.
    """
    boroughs: tuple[str, ...] | None = None
    ed_sites: tuple[str, ...] | None = None
    record_level: bool = True
    level: str = "record"
    own_sites_exact: bool = False
    whole_months: bool = False  # count whole months even at an exact level (a protected viewer's statistics)

    @property
    def exact(self) -> bool:
        """True when this viewer sees exact counts (record or exact level)."""
        return self.level != "protected"

    @property
    def months_only(self) -> bool:
        """True when periods are counted in whole months: protected viewers, and the exact counts their
        statistics are computed from (so a flag never rests on days the viewer's counts do not cover)."""
        return not self.exact or self.whole_months

    def exact_for_sites(self, sites) -> bool:
        """Exact counts for figures of these ED sites only: the level, or the viewer's own sites."""
        sites = tuple(sites or ())
        return self.exact or (self.own_sites_exact and bool(sites) and self.ed_sites is not None
                              and set(sites) <= set(self.ed_sites))

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
