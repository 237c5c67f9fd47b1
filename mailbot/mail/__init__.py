"""Email itself: IMAP, SMTP, parsing, MIME, charsets, quotes, screening. Knows nothing of calls."""
