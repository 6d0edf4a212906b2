"""Subcommand modules of `main.py` that run something defined elsewhere (render, params)."""
