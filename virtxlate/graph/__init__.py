"""The QOM device graph QEMU builds for a release: devices, the buses they own, renderers."""

from .build import GraphError, build_graph
from .nodes import Bus, Device, Graph

__all__ = ["Bus", "Device", "Graph", "GraphError", "build_graph"]
