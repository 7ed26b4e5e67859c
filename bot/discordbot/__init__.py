"""bot/discordbot"""
