"""The watch protocol of Chinese GPS watches and elder bracelets (3G / SG / CS / ZJ firmwares)."""
