"""libvirt's policy for QEMU storage: implicit controllers, addresses, aliases, options.

This package decides *what* libvirt would give QEMU for a domain and release; the
argv package only writes it down and the graph package only places it in a tree.
"""
