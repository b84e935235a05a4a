"""Pure data and encodings of every wire format: no I/O."""
