"""An empty program: Python's start-up, subtracted from every instruction count."""
