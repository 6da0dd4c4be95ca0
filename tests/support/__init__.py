"""Helpers shared by the test groups: factories, simulated peers, running brokers and portals."""
