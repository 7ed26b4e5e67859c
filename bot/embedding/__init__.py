"""bot/embedding"""
