"""Subscriptions: terms, statuses and (with issue 5) renewals and Upgrade or Downgrade."""
