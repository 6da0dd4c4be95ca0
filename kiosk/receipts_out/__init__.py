"""Receipts that leave the till other than on paper: by e-mail (SMTP), by SMS (through the portal), and the
handwritten card slip (« ticket manuel ») for international swipe cards."""
