"""Solver backends, one module each; none imports its solver package at import time."""
