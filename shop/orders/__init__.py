"""Orders and quotes: checkout, numbering, payments received (R1, R5, R7-R12)."""
