"""PostgreSQL servers opsctl uses: the embedded one, and throwaway databases for checks."""
