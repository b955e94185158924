"""chartaudit: documentation audit for physical, occupational and speech therapy charts."""

__version__ = "0.1.0"
