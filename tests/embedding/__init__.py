"""tests/embedding"""
