"""The technician's command line (over SSH) and the entry point of the till."""
