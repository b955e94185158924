"""Output formats, one module each: files (csv/json), html, xlsx."""
