"""Token format constants shared by auth dependencies and enrollment."""

TERMINAL_TOKEN_PREFIX = "tt_"
