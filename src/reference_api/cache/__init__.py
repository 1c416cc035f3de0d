"""Caches of hot reads (membership roles): Redis when configured, none otherwise."""
