"""Answer readers' questions about a blog with excerpts from its articles.

The pipeline runs one way: corpus → passages → vectors → search → reply → log.
"""

__version__ = "0.1.0"
