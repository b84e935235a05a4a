"""Layer 6, the chat core: profiles, contacts, messages; one command language; chat events."""
