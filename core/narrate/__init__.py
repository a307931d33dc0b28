"""Language-model narration of explanations, behind one small backend interface.

`narrator.narrate` turns an Evidence into checked text; the backends (template, an
OpenAI-compatible HTTP endpoint, an optional in-process llama.cpp model) only complete chats.
"""
