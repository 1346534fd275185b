"""The shape of one mutant (bench/mutants.py, bench/mutants_dbt.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str
    original: str
    replacement: str
    description: str
    tests: tuple[str, ...] = ()
