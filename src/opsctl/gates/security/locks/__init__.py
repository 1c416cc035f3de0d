"""Lock readers: every format the security gate audits, read into one shape."""
