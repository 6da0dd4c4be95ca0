"""Catalogue and price updates from the portal: versioned, applied once, the applied version reported.

The portal publishes the shop's catalogue changes, retained, on `till/{shop}/{till}/catalogue`:

    {"id": "catalogue-S001-12", "type": "catalogue_update",
     "payload": {"version": 12, "articles": [{"reference": "BOUL-001", "price_cents": 130,
                                              "name": "Baguette", "vat_bp": 550, "archived": false}]}}

A till applies a version newer than the one it has (Meta `catalogue_version`), in one transaction with
an outbox event `catalogue_applied` {version, updated, unknown} that tells the portal what it did; the
status carries the version too. Only existing articles change (by reference); unknown references are
reported, never guessed.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from kiosk.uplink.inbound import register
from kiosk.uplink.outbox import emit

TYPE = "catalogue_update"
VAT_RATES_BP = (0, 210, 550, 1000, 2000)
FIELDS = {
    "price_cents": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10_000_000,
    "name": lambda v: isinstance(v, str) and 0 < len(v.strip()) <= 200,
    "vat_bp": lambda v: v in VAT_RATES_BP,
    "archived": lambda v: isinstance(v, bool),
}


class CatalogueUpdateError(ValueError):
    pass


def applied_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'catalogue_version'").fetchone()
    return int(row[0]) if row else 0


def check(payload: Any) -> tuple[int, list[dict[str, Any]]]:
    """(version, article changes), or CatalogueUpdateError naming the first bad field."""
    if not isinstance(payload, dict) or not isinstance(payload.get("version"), int):
        raise CatalogueUpdateError("mise à jour du catalogue sans numéro de version")
    articles = payload.get("articles")
    if not isinstance(articles, list):
        raise CatalogueUpdateError("mise à jour du catalogue sans liste d'articles")
    for article in articles:
        if not isinstance(article, dict) or not isinstance(article.get("reference"), str):
            raise CatalogueUpdateError("article sans référence")
        for field, value in article.items():
            if field != "reference" and (field not in FIELDS or not FIELDS[field](value)):
                raise CatalogueUpdateError(f"article {article['reference']} : {field} invalide ({value!r})")
    return int(payload["version"]), articles


def apply_update(conn: sqlite3.Connection, event: dict[str, Any]) -> None:
    """Inbound handler (inside the inbound transaction): apply a newer version, report it."""
    try:
        version, articles = check(event.get("payload"))
    except CatalogueUpdateError as exc:
        emit(conn, "catalogue_refused", {"id": str(event.get("id", "")), "reason": str(exc)})
        return
    current = applied_version(conn)
    if version <= current:
        return
    updated, unknown = 0, []
    for article in articles:
        changes = {k: (int(v) if isinstance(v, bool) else v) for k, v in article.items() if k != "reference"}
        if not changes:
            continue
        assignments = ", ".join(f"{field} = ?" for field in changes)  # field names from FIELDS only
        cur = conn.execute(
            f"UPDATE article SET {assignments} WHERE reference = ?", (*changes.values(), article["reference"])
        )
        if cur.rowcount:
            updated += 1
        else:
            unknown.append(article["reference"])
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('catalogue_version', ?)", (str(version),))
    emit(
        conn,
        "catalogue_applied",
        {"version": version, "previous": current, "updated": updated, "unknown": unknown},
    )


register(TYPE, apply_update)


def publish_catalogue(settings: Any, shop: str, tills: list[str], payload: dict[str, Any]) -> int:
    """The portal's side: the update, checked, retained on each till's catalogue topic."""
    import json

    from kiosk.uplink import topics
    from kiosk.uplink.fleet import _connected

    version, _ = check(payload)
    message = json.dumps({"id": f"catalogue-{shop}-{version}", "type": TYPE, "payload": payload}).encode()
    client = _connected(settings, "portal-catalogue", 10)
    try:
        for till in tills:
            client.publish(topics.catalogue(shop, till), message, qos=1, retain=True).wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()
    return version
