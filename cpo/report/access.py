"""Who may receive a report: the roles of roles.yml, their modules and the
organisations each may see."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cpo.report.definitions import (
    AccessRefused, Report, ReportError, _listing, closest_first,
)
from runner.errors import ProjectError

ROLES_FILE = "roles.yml"


@dataclass
class Role:
    name: str
    modules: list[str]
    organisations: list[str] | None       # None: every organisation


def load_roles(root: Path) -> dict[str, Role]:
    """roles.yml: `roles: {name: {modules: [...], organisations: all | [...]}}`."""
    from runner.project.loader import read_yaml
    path = root / ROLES_FILE
    if not path.is_file():
        raise ReportError(f"--role needs {ROLES_FILE} in the project ({path}), and there is "
                          "none.", hint="write one (see README, 'Reports for CPO staff'), or "
                                        "leave --role out.")
    doc = read_yaml(path)
    roles = doc.get("roles") if isinstance(doc, dict) else None
    if not isinstance(roles, dict) or not roles:
        raise ProjectError(f"{ROLES_FILE} must hold a 'roles:' mapping of role names.",
                           path=str(path),
                           hint="e.g. roles: {cpo_staff: {modules: [Reports, Stations], "
                                "organisations: [ORG00001]}}")
    out: dict[str, Role] = {}
    for name, body in roles.items():
        name = str(name)
        if not isinstance(body, dict):
            raise ProjectError(f"role {name!r} must be a mapping with 'modules' and "
                               "'organisations'.", path=str(path))
        modules = body.get("modules")
        if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
            raise ProjectError(f"role {name!r}: 'modules' must be a list of module names.",
                               path=str(path), hint="e.g. modules: [Reports, Stations]")
        orgs = body.get("organisations")
        if isinstance(orgs, str) and orgs.strip().lower() == "all":
            scope = None
        elif isinstance(orgs, list) and all(isinstance(o, (str, int)) for o in orgs):
            scope = [str(o).strip() for o in orgs]
        else:
            raise ProjectError(f"role {name!r}: 'organisations' must be 'all' or a list of "
                               "organisation IDs.", path=str(path),
                               hint="e.g. organisations: [ORG00001, ORG00007]")
        out[name] = Role(name, [m.strip() for m in modules], scope)
    return out


def check_role(roles: dict[str, Role], role: str, report: Report,
               orgs: list[str]) -> list[str] | None:
    """Refuse unless the role has every module the report needs and may see every asked
    organisation; return the role's organisations (None: all)."""
    if role not in roles:
        known = closest_first(role, roles)
        raise AccessRefused(f"there is no role {role!r} in {ROLES_FILE}; no file was written.",
                            hint=f"roles (closest first): {_listing(known)}.")
    granted = roles[role]
    have = {m.lower() for m in granted.modules}
    missing = [m for m in report.required_modules if m.lower() not in have]
    if missing:
        needed = " and ".join(report.required_modules)
        raise AccessRefused(
            f"role {role!r} may not receive {report.title}: it needs the {needed} modules, "
            f"and the role lacks {', '.join(missing)}. No file was written.",
            hint="ask with a role that has those modules, or add the missing ones to the "
                 f"role in {ROLES_FILE}.")
    if granted.organisations is not None:
        allowed = set(granted.organisations)
        outside = [o for o in orgs if o not in allowed]
        if outside:
            raise AccessRefused(
                f"role {role!r} may not see organisation{'s' if len(outside) > 1 else ''} "
                f"{', '.join(outside)}. No file was written.",
                hint=f"the role sees {_listing(sorted(allowed)) or 'no organisation'}.")
    return granted.organisations

