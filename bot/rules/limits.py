"""The limits on what people type, one place for the form, the answer modal and the API.

Operators may lower or raise some of them (bot.settings), up to the ceilings below.
"""

from __future__ import annotations

__all__ = [
    "MAX_ANSWER_LEN",
    "MAX_NAME_LEN",
    "MAX_PARTICIPANTS",
    "MAX_QUESTIONS",
    "MAX_QUESTION_LEN",
    "PARTICIPANTS_CEILING",
    "QUESTIONS_CEILING",
]

MAX_QUESTIONS = 10
MAX_QUESTION_LEN = 300
MAX_NAME_LEN = 80
MAX_PARTICIPANTS = 100
MAX_ANSWER_LEN = 3000  # Slack's plain_text_input max_length ceiling.

# How far operators may raise the limits: Slack's people picker (multi_users_select) takes at
# most 100 people, and one answer input per question must fit the answer modal and its reply.
PARTICIPANTS_CEILING = 100
QUESTIONS_CEILING = 20
