"""Speed and memory harnesses (`main.py bench|bench-model|bench-driving|soak|profile`); they write benchmarks/."""
