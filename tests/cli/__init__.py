"""tests/cli"""
