"""The operator's back office: operator accounts and what the dashboard counts."""
