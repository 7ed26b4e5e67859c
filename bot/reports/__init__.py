"""bot/reports"""
