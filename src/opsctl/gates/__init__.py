"""Gates: the checks of the Definition of Done that `opsctl verify` runs."""
