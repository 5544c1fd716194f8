"""The server's journal: audit entries made append-only and hash-chained per
organization, checked on a schedule, and the check of a receipt's code (docs/journal.md)."""
