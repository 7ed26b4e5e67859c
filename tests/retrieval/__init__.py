"""tests/retrieval"""
