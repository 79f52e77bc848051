/* PCI passthrough: whether a driver VM can be given its PCI devices, and
 * moving them to vfio-pci and back (docs/vfio.md).
 *
 * Everything goes through sysfs under SYSFS_ROOT ("/sys" on a host) so that
 * the logic runs against a directory tree that reproduces sysfs in the
 * tests: a host with an IOMMU and a spare device is not needed to check
 * it. No exec, no modprobe: loading vfio-pci is the caller's job (it needs
 * modprobe and privileges this code has no other use for); vfio_bind only
 * reports that it is missing, before touching the device.
 *
 * Addresses are the topology parser's: "dddd:bb:dd.f", lower case, which is
 * how sysfs names PCI devices. */
#ifndef BULKHEAD_VFIO_H
#define BULKHEAD_VFIO_H

#include <stddef.h>

/* Room for a driver name in vfio_bind's PREV_DRIVER. Linux's PCI drivers'
 * names are short ("e1000e", "mlx5_core"); a longer one is refused rather
 * than cut, since a cut name would later hand the device to nobody. */
#define VFIO_DRIVER_NAME_MAX 64

/* Checks, before anything starts, that the PCI devices LISTED[0..N) of one
 * driver VM can all be passed through to it, so that `bulkhead up` fails
 * with a reason instead of half-way through. For each device, in order:
 *
 * - it exists (SYSFS/bus/pci/devices/BDF): -ENODEV;
 * - the IOMMU is on (SYSFS/kernel/iommu_groups has entries; Linux creates
 *   none when the IOMMU is off or absent): -ENXIO. Without an IOMMU the
 *   device's DMA could reach all of host memory;
 * - it has an IOMMU group (an iommu_group link): -ENXIO;
 * - every other device in its group is listed too, or is one the kernel
 *   itself lets stay in a group given to a VM: -EBUSY. VFIO gives a VM the
 *   whole group, because the IOMMU cannot keep the group's devices from
 *   reaching each other. Accepted unlisted members:
 *     class 0x0604xx, PCI-to-PCI bridges: the kernel lets any non-endpoint
 *       (header type 1) stay; a bridge's group holds the devices behind it
 *       exactly because the bridge does not isolate them, so it adds
 *       nothing they could not already reach;
 *     class 0x0600xx, host bridges, only while no driver holds them: such
 *       a "dummy" host bridge sits in many groups on AMD hosts; it is an
 *       ordinary (header type 0) device to the kernel, which accepts it
 *       only while driver-less. One a host driver (EDAC, say) holds would
 *       make the group unusable, so it is refused here, not at start;
 * - it is not the host's boot display (boot_vga is 1): -EBUSY. The host's
 *   console would go with it;
 * - none of its network interfaces is up on the host (IFF_UP in
 *   net/IFNAME/flags): -EBUSY. Unbinding its driver would pull a live
 *   interface, perhaps the host's own uplink, from under the host. Whether
 *   an interface has an address is not checked: that needs netlink, outside
 *   sysfs, and an interface that is down carries no traffic whatever its
 *   addresses.
 *
 * LISTED is one driver VM's devices: a device another driver VM lists in
 * the same group counts as unlisted, since one group goes to one VM.
 * Returns 0, or the negative errno above with ERR holding one line that
 * names the device and the problem. Reads only. */
int vfio_check(const char *sysfs_root, const char *const *listed, unsigned n,
	       char *err, size_t err_len);

/* Moves BDF to vfio-pci the way the kernel documents for driver_override
 * (Documentation/ABI/testing/sysfs-bus-pci): "vfio-pci" into
 * driver_override, so that only vfio-pci can match it from now on, even
 * after a host driver is loaded again; BDF into driver/unbind (when a
 * driver holds it); BDF into SYSFS/bus/pci/drivers_probe. The kernel
 * probes synchronously on that write, so the driver link is checked right
 * after it: not vfio-pci is -EIO.
 *
 * PREV_DRIVER (PREV_LEN >= VFIO_DRIVER_NAME_MAX is enough) gets the driver
 * that held BDF, "" for none, before anything is written. A failure after
 * driver_override was written leaves no half-moved device behind: vfio_bind
 * gives it back (vfio_unbind) and ERR ends with how that went. Already on
 * vfio-pci: returns 0, writes nothing, and PREV_DRIVER is "vfio-pci": what
 * held the device before Bulkhead touched it is then only known to
 * whoever recorded it the first time, so the caller keeps an earlier
 * record over this one.
 *
 * -ENODEV: no such device; -ENOENT: vfio-pci is not loaded (checked
 * before any write, so the device keeps its driver); -ENAMETOOLONG: the
 * driver's name does not fit PREV_DRIVER; a write's errno; -EIO. */
int vfio_bind(const char *sysfs_root, const char *bdf, char *prev_driver,
	      size_t prev_len, char *err, size_t err_len);

/* Gives BDF back after vfio_bind: BDF into driver/unbind (when vfio-pci
 * holds it), an empty line into driver_override (which clears it), BDF
 * into drivers_probe so that ordinary matching picks the driver again,
 * which is PREV_DRIVER's unless another was loaded since. When PREV_DRIVER
 * is not "" the driver link is checked after the probe: -EIO when it is
 * not PREV_DRIVER. With PREV_DRIVER "" nothing is checked, since whatever
 * driver matches now is the host's normal choice.
 *
 * Safe to repeat and after a bind that stopped half-way: driver-less, it
 * clears the override and reprobes; already on PREV_DRIVER, it only
 * clears the override. PREV_DRIVER "vfio-pci" (it was there before
 * Bulkhead) leaves the device alone. A device on any other driver was
 * taken by someone else since: -EBUSY, nothing written. */
int vfio_unbind(const char *sysfs_root, const char *bdf,
		const char *prev_driver, char *err, size_t err_len);

#endif
