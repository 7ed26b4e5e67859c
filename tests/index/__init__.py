"""tests/index"""
