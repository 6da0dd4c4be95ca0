"""Pi kiosk till: a Textual NF525 cash register for small French shops."""

__version__ = "0.1.0"
