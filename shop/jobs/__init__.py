"""What `shop jobs run` needs beyond the business steps: retrying busy transactions and
showing progress."""
