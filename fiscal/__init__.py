"""NF525 fiscal core: signed and chained journals, grand totals, closures, JET, archives, verifier.

Works on a plain `sqlite3.Connection` and imports nothing from `kiosk`, so that an auditor can run the
verifier alone. Documentation of the guarantees: docs/nf525.md.
"""
