"""What the bot says, in Japanese and English; replies pick the reader's language.

Discord tells the bot each user's client locale with every interaction, so answering
in it costs nothing. Only Japanese gets its own text; every other locale gets English.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["ja", "en"]

MESSAGES: dict[str, dict[Lang, str]] = {
    "answer": {"ja": "ブログの記事から見つかった答えです。", "en": "Here is what the blog says."},
    "related": {
        "ja": "確かな答えは見つかりませんでしたが、関連しそうな記事です（一致は不確かです）。",
        "en": "No sure answer, but these articles look related (the match is uncertain).",
    },
    "none": {
        "ja": "ごめんなさい、ブログにはまだこの質問に答える記事がないようです。"
        "質問は編集部に届けました。",
        "en": "Sorry, the blog does not cover this yet. Your question was noted for the editors.",
    },
    "label.answer": {"ja": "確度: 高", "en": "confidence: high"},
    "label.related": {"ja": "確度: 低（関連記事）", "en": "confidence: low (related)"},
    "label.none": {"ja": "確度: なし", "en": "confidence: none"},
    "share": {"ja": "チャンネルに共有", "en": "Share to channel"},
    "shared_by": {"ja": "{name} さんが回答を共有しました。", "en": "{name} shared an answer."},
    "already_shared": {
        "ja": "この回答はもうチャンネルに共有されています。",
        "en": "This answer has already been shared to the channel.",
    },
    "share_later": {
        "ja": "いまは共有できません。少し待ってからもう一度押してください。",
        "en": "Sharing is not possible right now. Please try again in a moment.",
    },
    "voted.up": {
        "ja": "👍 ありがとうございます。評価はいつでも変更できます。",
        "en": "👍 Thanks! You can change your vote any time.",
    },
    "voted.down": {
        "ja": "👎 ありがとうございます。編集部の参考にします。評価はいつでも変更できます。",
        "en": "👎 Thanks, the editors will look at it. You can change your vote any time.",
    },
    "vote_gone": {
        "ja": "この回答の記録はもうありません（削除済みです）。",
        "en": "This answer is no longer in the log (it was deleted).",
    },
    "cooldown": {
        "ja": "少し待ってからもう一度質問してください（あと {seconds} 秒）。",
        "en": "Please wait a little before asking again ({seconds} s left).",
    },
    "bad_date": {
        "ja": "`{value}` は日付として読めません。YYYY-MM-DD の形で入力してください。",
        "en": "`{value}` is not a date. Please use YYYY-MM-DD.",
    },
    "bad_range": {
        "ja": "開始日が終了日より後になっています。",
        "en": "The start date is after the end date.",
    },
    "not_admin": {
        "ja": "このコマンドはサーバーの管理者だけが使えます。",
        "en": "Only the server's admins can use this command.",
    },
    "guild_only": {
        "ja": "このコマンドはサーバー内でだけ使えます。",
        "en": "This command only works inside a server.",
    },
    "closing": {
        "ja": "ボットは再起動中です。少ししてからもう一度お試しください。",
        "en": "The bot is restarting. Please try again in a minute.",
    },
    "bug": {
        "ja": "ごめんなさい、エラーが起きました。管理者に記録されています。",
        "en": "Sorry, something went wrong. It has been logged for the admins.",
    },
    "reindex.busy": {
        "ja": "再索引はすでに実行中です。終わったらお知らせします。",
        "en": "A reindex is already running; you will hear when it is done.",
    },
    "reindex.done": {"ja": "再索引が終わりました。", "en": "Reindex finished."},
    "announce.new": {
        "ja": "新しい記事が答えに加わりました：",
        "en": "New articles the bot can now answer from:",
    },
    "announce.more": {"ja": "ほか {count} 件", "en": "and {count} more"},
    "reindex.failed": {
        "ja": "再索引できませんでした（{reason}）。これまでの索引で答え続けます。",
        "en": "The reindex failed ({reason}); answers keep using the current index.",
    },
    "reindex.added": {"ja": "追加", "en": "Added"},
    "reindex.changed": {"ja": "変更", "en": "Changed"},
    "reindex.removed": {"ja": "削除", "en": "Removed"},
    "reindex.skipped": {"ja": "スキップ", "en": "Skipped"},
    "export.done": {
        "ja": "{count} 件の質問をエクスポートしました。",
        "en": "Exported {count} questions.",
    },
    "late_dm": {
        "ja": "時間がかかって Discord 上で返信できなかったため、ダイレクトメッセージで送ります。",
        "en": "This took longer than Discord allows for a reply, so here it is by DM.",
    },
    "export.too_big": {
        "ja": "ファイルが大きすぎます（{size} バイト）。since/until で期間を絞ってください。",
        "en": "The file is too large ({size} bytes); narrow it down with since/until.",
    },
    "forgot": {
        "ja": "あなたの質問と評価を {count} 件削除しました。",
        "en": "Deleted {count} of your questions and votes.",
    },
}


def language_of(locale: object) -> Lang:
    """Japanese for a Japanese client (``ja``), English for everyone else."""
    return "ja" if str(locale or "").lower().startswith("ja") else "en"


def say(key: str, lang: Lang, **values: object) -> str:
    """A fixed message in the reader's language with ``values`` filled in."""
    return MESSAGES[key][lang].format(**values)
