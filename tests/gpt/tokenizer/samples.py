"""Sample texts shared by the tokenizer tests."""

SPECIALS = ["<|endoftext|>", "<|pad|>"]

# Text with multi-byte characters, so that a trained vocabulary holds merges inside them.
MULTILINGUAL = (
    "Grüße aus Köln! Ça va très bien, naïve café. Ελληνικά γράμματα. Русский текст здесь. "
    "日本語のテキストと漢字。中文文本。한국어 텍스트. emoji 🎉🎉 👍🏽 🇫🇷 and 2024-06-01 12:30.\n"
)
