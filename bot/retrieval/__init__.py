"""bot/retrieval"""
