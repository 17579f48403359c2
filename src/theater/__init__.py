"""theater-index: tell real AI adoption from adoption theater."""

__version__ = "0.1.0"
