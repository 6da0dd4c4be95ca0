"""What the verifiers find: one Problem per fault, naming the record, gathered in a Report."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from .journal import JOURNAL_LABELS


@dataclass(frozen=True)
class Problem:
    journal: str
    seq: int | None
    code: str
    message: str

    def line(self) -> str:
        label = JOURNAL_LABELS.get(self.journal, self.journal)
        where = f"{label} n°{self.seq}" if self.seq is not None else label
        return f"{where} : {self.message}"


@dataclass
class Report:
    records: int = 0
    journals: dict[str, int] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # not problems: e.g. gaps a manager acknowledged

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "journals": self.journals,
            "keys": self.keys,
            "problems": [asdict(p) | {"text": p.line()} for p in self.problems],
            "notes": list(self.notes),
        }


def print_report(report: Report, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    for problem in report.problems:
        print(problem.line())
    for note in report.notes:
        print(note)
    journals = ", ".join(f"{JOURNAL_LABELS.get(j, j)} {n}" for j, n in sorted(report.journals.items()))
    verdict = "intègre" if report.ok else f"{len(report.problems)} problème(s)"
    print(
        f"Vérification : {report.records} enregistrements ({journals}) ; clés {', '.join(report.keys)} ; {verdict}"
    )
