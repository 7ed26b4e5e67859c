"""Japanese names and descriptions for the slash commands (Discord shows them by locale).

Commands are written in English with :class:`discord.app_commands.locale_str`; the
translator looks each string up here.
"""

from __future__ import annotations

import discord
from discord import app_commands

JA: dict[str, str] = {
    # /ask
    "ask": "質問",
    "Ask the blog a question; the answer quotes its articles": (
        "ブログに質問します（記事から引用して答えます）"
    ),
    "question": "内容",
    "Your question, in Japanese or English": "質問の内容（日本語または英語）",
    "category": "カテゴリ",
    "Only articles in this category": "このカテゴリの記事だけを探します",
    "tag": "タグ",
    "Only articles with this tag": "このタグの記事だけを探します",
    "since": "開始日",
    "Only articles published on or after this day (YYYY-MM-DD)": (
        "この日以降の記事だけ（YYYY-MM-DD）"
    ),
    "until": "終了日",
    "Only articles published on or before this day (YYYY-MM-DD)": (
        "この日以前の記事だけ（YYYY-MM-DD）"
    ),
    "private": "非公開",
    "Only you see the answer": "回答を自分だけに表示します",
    # /reindex and /export
    "reindex": "再索引",
    "Re-read the blog's articles and update the index (admins)": (
        "記事を読み直して索引を更新します（管理者）"
    ),
    "export": "エクスポート",
    "Download this server's questions as a file (admins)": (
        "このサーバーの質問をファイルで取得します（管理者）"
    ),
    "format": "形式",
    "File format": "ファイル形式",
    "CSV (spreadsheets)": "CSV（表計算ソフト用）",
    "JSON Lines (programs)": "JSON Lines（プログラム用）",
    "Only questions asked on or after this day (YYYY-MM-DD)": "この日以降の質問だけ（YYYY-MM-DD）",
    "Only questions asked on or before this day (YYYY-MM-DD)": "この日以前の質問だけ（YYYY-MM-DD）",
    "unanswered_only": "未回答のみ",
    "Only questions the blog could not answer": "ブログで答えられなかった質問だけ",
    # /forget-me
    "forget-me": "履歴を削除",
    "Delete the questions you asked and your votes": "自分の質問と評価を削除します",
}


class CommandTranslator(app_commands.Translator):
    """Japanese names and descriptions for every command, option and choice."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        if locale is not discord.Locale.japanese:
            return None
        return JA.get(string.message)
