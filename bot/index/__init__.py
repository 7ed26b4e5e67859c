"""bot/index"""
