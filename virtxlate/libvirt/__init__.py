"""libvirt's translation of a domain for one release: placement, then each device's
options in libvirt's order (as qemuBuildCommandLine).

The argv package only writes the result down and the graph package only places it in a tree.
"""
