"""Speed and memory harnesses (`main.py bench|bench-model|bench-driving|soak|profile`).

They write runs/bench/ (ignored by git) unless --out says otherwise."""
