"""The sale: a basket being rung up, its tenders, and the checkout that makes it a fiscal ticket."""
