"""Benchmarks: aiospaces against the official huggingface_hub client, side by side, on the simulated Hub.

Run `python -m benchmarks --help`; results and how to read them are in `benchmarks/README.md`.
"""
