"""The cashier's Textual UI. Talks only to the till's services; nothing imports it."""
