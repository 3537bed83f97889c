"""Demo orders and the order-status lookup."""
