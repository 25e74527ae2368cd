"""Who pyarn acts as and what proves it: users, tokens, credentials files, SASL."""
