"""Report writers for `opsctl verify`: JSON, JUnit XML, Markdown, SARIF and GitHub Actions."""
