"""aims-graph: an ISO/IEC 42001 AI management system as a knowledge graph."""

__version__ = "0.1.0"
