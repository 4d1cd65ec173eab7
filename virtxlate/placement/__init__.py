"""Where libvirt puts each device: PCI slots, root ports and bridges it adds, USB ports and
hubs, drive addresses, ccw devnos and zPCI ids (as qemuDomainAssignAddresses).

Placement reads the model and the capability table and decides places only; the props
package builds each device's QEMU properties from a finished placement.
"""
