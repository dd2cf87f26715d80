#!/usr/bin/env python3
"""Builds bootable disk and CD images of the boot-test guest, cached.

  tests/functional/bootdisk.py FIXTURES_DIR

Reads FIXTURES_DIR/vmlinuz and FIXTURES_DIR/initrd.gz (fixtures.py's) and
writes, in FIXTURES_DIR/boot/, the images a firmware boots from, all made
from files as an unprivileged user would (no loop devices, no mounts):

  disk-a.img    raw, MBR (syslinux's mbr.bin), one active FAT16 partition
                at 1 MiB with syslinux installed through mtools; its
                syslinux.cfg boots the kernel with hyvm.disk=a on the
                command line
  disk-b.img    the same with hyvm.disk=b
  disk-a.qcow2  disk-a.img converted (qemu-img, the oracle's tool)
  cd.iso        ISO 9660 with isolinux, El Torito "no emulation", boots
                with hyvm.disk=cd
  blank.img     1 MiB of zeros: no boot signature, nothing to boot

Every kernel command line is "console=ttyS0 hyvm.test=poweroff
hyvm.disk=NAME", so the guest prints HYVM-BOOT-OK and HYVM-CMDLINE (which
tells which image booted) and powers off.  syslinux and isolinux talk on
COM1 too (SERIAL 0 115200), and print "HYVM-LOADER-NAME" before loading.

Exit status: 0 with the images in place; 77 (skip) when a tool is missing
and cannot be installed (the reason on stdout); 1 on anything else.  A
second run with the same inputs (this script, the kernel and initrd, the
syslinux version) does nothing.
"""
import hashlib
import os
import shutil
import subprocess
import sys

TOOLS = {
    "syslinux": "syslinux",
    "mcopy": "mtools",
    "mformat": "mtools",
    "sfdisk": "fdisk",
    "xorriso": "xorriso",
    "qemu-img": "qemu-utils",
}
FILES = {
    "/usr/lib/syslinux/mbr/mbr.bin": "syslinux-common",
    "/usr/lib/syslinux/modules/bios/ldlinux.c32": "syslinux-common",
    "/usr/lib/ISOLINUX/isolinux.bin": "isolinux",
}
DISK_MIB = 32
PART_START = 2048          # sectors: 1 MiB


def run(*cmd, **kw):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)


def missing_packages():
    pkgs = {pkg for tool, pkg in TOOLS.items() if not shutil.which(tool)}
    pkgs |= {pkg for path, pkg in FILES.items() if not os.path.exists(path)}
    return sorted(pkgs)


def ensure_tools():
    pkgs = missing_packages()
    if not pkgs:
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print("bootdisk: missing " + " ".join(pkgs) + " (scripts/install-deps.sh --test)")
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends"] + pkgs,
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode != 0 or missing_packages():
        print("bootdisk: cannot install " + " ".join(pkgs))
        return False
    return True


def loader_cfg(name, prompt):
    return ("SERIAL 0 115200\n"
            f"SAY HYVM-LOADER-{name}\n"
            "DEFAULT linux\n"
            f"PROMPT {prompt}\n"
            "TIMEOUT 1\n"
            "LABEL linux\n"
            "  KERNEL /vmlinuz\n"
            "  INITRD /initrd.gz\n"
            f"  APPEND console=ttyS0 hyvm.test=poweroff hyvm.disk={name}\n")


def make_disk(path, name, fixtures, tmp):
    """An MBR disk: syslinux's boot code, one active FAT partition from 1 MiB."""
    with open(path, "wb") as f:
        f.truncate(DISK_MIB << 20)
    run("sfdisk", "--no-reread", "--no-tell-kernel", "-q", path,
        input=f"label: dos\nstart={PART_START}, type=6, bootable\n".encode())
    with open("/usr/lib/syslinux/mbr/mbr.bin", "rb") as f:
        mbr = f.read()
    with open(path, "r+b") as f:          # the boot code only, not the table
        f.write(mbr[:440])
    img = f"{path}@@{PART_START * 512}"
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    run("mformat", "-i", img, "-v", "HYVM" + name.upper()[:7], "::", env=env)
    run("syslinux", "--offset", str(PART_START * 512), "--install", path, env=env)
    cfg = os.path.join(tmp, "syslinux.cfg")
    with open(cfg, "w") as f:
        f.write(loader_cfg(name, 0))
    run("mcopy", "-i", img, os.path.join(fixtures, "vmlinuz"),
        os.path.join(fixtures, "initrd.gz"), cfg, "::/", env=env)


def make_iso(path, fixtures, tmp):
    root = os.path.join(tmp, "iso")
    os.makedirs(os.path.join(root, "isolinux"))
    shutil.copy("/usr/lib/ISOLINUX/isolinux.bin", os.path.join(root, "isolinux"))
    shutil.copy("/usr/lib/syslinux/modules/bios/ldlinux.c32", os.path.join(root, "isolinux"))
    shutil.copy(os.path.join(fixtures, "vmlinuz"), root)
    shutil.copy(os.path.join(fixtures, "initrd.gz"), root)
    with open(os.path.join(root, "isolinux", "isolinux.cfg"), "w") as f:
        f.write(loader_cfg("cd", 0))
    run("xorriso", "-as", "mkisofs", "-quiet", "-o", path, "-V", "HYVMCD",
        "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
        "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", root,
        stderr=subprocess.DEVNULL)


def inputs_digest(fixtures):
    h = hashlib.sha256()
    with open(__file__, "rb") as f:
        h.update(f.read())
    for name in ("vmlinuz", "initrd.gz"):
        st = os.stat(os.path.join(fixtures, name))
        h.update(f"{name} {st.st_size} {st.st_mtime_ns}\n".encode())
    for path in FILES:
        st = os.stat(path)
        h.update(f"{path} {st.st_size} {st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 1
    fixtures = sys.argv[1]
    for name in ("vmlinuz", "initrd.gz"):
        if not os.path.exists(os.path.join(fixtures, name)):
            print(f"bootdisk: {name} missing in {fixtures} (run fixtures.py first)")
            return 1
    if not ensure_tools():
        return 77
    out = os.path.join(fixtures, "boot")
    stamp = os.path.join(out, "inputs")
    digest = inputs_digest(fixtures)
    try:
        with open(stamp) as f:
            if f.read() == digest:
                return 0
    except OSError:
        pass
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    work = os.path.join(tmp, "work")
    os.makedirs(work)
    for name in ("a", "b"):
        make_disk(os.path.join(tmp, f"disk-{name}.img"), name, fixtures, work)
    run("qemu-img", "convert", "-f", "raw", "-O", "qcow2",
        os.path.join(tmp, "disk-a.img"), os.path.join(tmp, "disk-a.qcow2"))
    make_iso(os.path.join(tmp, "cd.iso"), fixtures, work)
    with open(os.path.join(tmp, "blank.img"), "wb") as f:
        f.truncate(1 << 20)
    shutil.rmtree(work)
    with open(os.path.join(tmp, "inputs"), "w") as f:
        f.write(digest)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
