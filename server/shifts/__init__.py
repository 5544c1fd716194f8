"""Shifts and their X/Z reports for managers: GET /shifts, a shift's report (JSON, PDF),
the store's day across its tills (issue 14)."""
