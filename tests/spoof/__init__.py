"""A spoofing corpus for masbot's verification: crafted forgeries and genuine controls."""
