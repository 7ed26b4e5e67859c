"""bot/corpus"""
