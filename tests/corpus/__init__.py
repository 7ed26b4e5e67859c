"""tests/corpus"""
