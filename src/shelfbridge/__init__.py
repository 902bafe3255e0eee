"""Shelfbridge: an open-source technology-transfer platform (科技成果转化平台)."""

__version__ = "0.1.0"
