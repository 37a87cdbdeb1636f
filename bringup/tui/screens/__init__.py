"""The TUI's screens: start (pick a runbook), live (a run as it goes), history, and a confirmation."""
