"""Customers and loyalty: directory, three programmes, an append-only loyalty ledger, card tokens, RGPD."""
