"""tests/discordbot"""
