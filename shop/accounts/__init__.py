"""Who acts: operators (API tokens) and, later, customers."""
