/*
 * -h/-help and -version: the text users read.  The version line keeps the
 * shape of QEMU's first line ("QEMU emulator version X.Y.Z (...)") because
 * tools such as libvirt and avocado parse it; the part in brackets says it
 * is hyvm.
 *
 * Threads: main thread, while parsing the command line.
 */
#include <stdio.h>

#include "hyvm-version.h"
#include "system/config.h"

void config_print_version(void)
{
    printf("QEMU emulator version " HYVM_QEMU_VERSION " (hyvm " HYVM_VERSION ")\n"
           "Copyright (c) 2026 the hyvm developers; "
           "command line of qemu-system-x86_64 " HYVM_QEMU_VERSION "\n");
}

/* The options hyvm parses, in QEMU's layout: option at column 0, text at
 * column 16.  Options a later issue builds are marked. */
static const char help_text[] =
"usage: hyvm [options]\n"
"\n"
"Standard options:\n"
"-h or -help     display this help and exit\n"
"-version        display version information and exit\n"
"-machine [type=]name[,prop[=value][,...]]\n"
"                selects emulated machine ('-machine help' for list,\n"
"                '-machine NAME,help' for its properties)\n"
"                property accel=accel1[:accel2[:...]] selects accelerator\n"
"-M              same as -machine\n"
"-cpu cpu        select CPU ('-cpu help' for list); +feat, -feat, feat=on|off\n"
"-accel [accel=]accelerator[:accelerator...][,prop[=value][,...]]\n"
"                select accelerator (kvm or tcg; use 'help' for a list);\n"
"                repeat it or join names with ':' to try them in order\n"
"                kvm: kernel-irqchip=on (the default)\n"
"                tcg: jit=on|off runs blocks as translated host code (hyvm's own;\n"
"                default on); thread=single|multi: vCPUs take turns or run at\n"
"                once (default multi); tb-size=MiB: each vCPU's code buffer\n"
"                (default 64); split-wx: not supported yet\n"
"-enable-kvm     same as -machine accel=kvm\n"
"-smp [[cpus=]n][,maxcpus=maxcpus][,sockets=sockets][,dies=dies][,cores=cores][,threads=threads]\n"
"                set the number of initial CPUs to 'n' [default=1]\n"
"                and their topology, checked as QEMU checks it\n"
"-m [size=]megs  configure guest RAM (default 128M); a number without\n"
"                suffix is MiB; k, M, G, T, P, E suffixes; fractions (1.5G)\n"
"                slots=, maxmem= (memory hotplug): not supported yet\n"
"-boot [order=drives][,once=drives][,strict=on|off]\n"
"                'drives': floppy (a), hard disk (c), CD-ROM (d), network (n)\n"
"-name [guest=]name[,process=name][,debug-threads=on|off]\n"
"                set the name of the guest\n"
"\n"
"Block device options (not supported yet; checked, then refused):\n"
"-drive [file=file][,if=type][,media=d][,index=i][,format=f][,cache=c]...\n"
"-hda/-hdb/-hdc/-hdd file, -cdrom file\n"
"-snapshot       write to temporary files instead of disk image files\n"
"\n"
"Network options (not supported yet; -nic none and -net none are accepted):\n"
"-netdev type,id=str[,...]   ('-netdev help' for types)\n"
"-nic [type][,...]\n"
"-net [type][,...]\n"
"\n"
"Devices and objects:\n"
"-device driver[,prop[=value][,...]]\n"
"-device {\"driver\":\"...\",...}   (JSON form)\n"
"                add device driver ('-device help' for list,\n"
"                '-device driver,help' for its properties)\n"
"-global driver.prop=value\n"
"-global driver=driver,property=prop,value=value\n"
"                set a default value of driver's property prop\n"
"-object type,id=str[,...]  (not supported yet)\n"
"\n"
"Character devices:\n"
"-chardev backend,id=id[,mux=on|off][,options]\n"
"                backends: null, stdio, file (path=), pipe (path=), pty,\n"
"                socket (path= | host=,port=; server=on|off, wait=on|off)\n"
"-serial dev     redirect the next serial port to character device dev:\n"
"                stdio, mon:stdio, null, none, file:path, pipe:path, pty,\n"
"                unix:path[,server=on,wait=off], tcp:host:port[,server,nowait],\n"
"                chardev:id\n"
"-monitor dev    redirect the monitor to character device dev\n"
"-mon [chardev=]name[,mode=readline]\n"
"-qmp dev        like -monitor but opens in 'control' mode (QMP)\n"
"\n"
"Display options:\n"
"-nographic      no graphical output; the serial port and the monitor share\n"
"                the terminal (Ctrl-A h for help)\n"
"-display none   no display (other displays: not supported yet)\n"
"-vga [std|none] the standard VGA (default on pc) or no graphic card\n"
"\n"
"Linux/Multiboot boot specific:\n"
"-kernel bzImage use 'bzImage' as kernel image (Multiboot images for now)\n"
"-append cmdline use 'cmdline' as kernel command line\n"
"-initrd file    use 'file' as initial ram disk (Multiboot modules)\n"
"\n"
"Debug/Expert options:\n"
"-d item1,...    enable logging of specified items (use '-d help' for a list of log items)\n"
"-D logfile      output log to logfile (default stderr)\n"
"-L path         set the directory for the BIOS, VGA BIOS and keymaps\n"
"-bios file      set the filename for the BIOS\n"
"-rtc [base=utc|localtime|date][,clock=host][,driftfix=none]\n"
"                the RTC defaults (others: not supported yet)\n"
"-S              freeze CPU at startup (use 'c' to start execution)\n"
"-no-reboot      exit instead of rebooting\n"
"-no-shutdown    stop before shutdown\n"
"-action reboot=reset|shutdown\n"
"                action when guest reboots [default=reset]\n"
"-action shutdown=poweroff|pause\n"
"                action when guest shuts down [default=poweroff]\n"
"-action panic=pause|shutdown|exit-failure|none\n"
"                action when guest panics [default=shutdown]\n"
"-action watchdog=reset|shutdown|poweroff|inject-nmi|pause|debug|none\n"
"                action when watchdog fires [default=reset]\n"
"-watchdog-action reset|shutdown|poweroff|inject-nmi|pause|debug|none\n"
"                action when watchdog fires [default=reset]\n"
"-nodefaults     don't create default devices\n"
"-no-user-config do not load default user-provided config files (hyvm has none)\n"
"-daemonize      daemonize QEMU after initializing\n"
"-pidfile file   write PID to 'file'\n"
"\n"
"During emulation, with -nographic or -serial mon:stdio:\n"
"Ctrl-A h        print this help\n"
"Ctrl-A x        exit emulator\n"
"Ctrl-A c        switch between console and monitor\n"
"Ctrl-A Ctrl-A   sends Ctrl-A\n";

void config_print_help(void)
{
    config_print_version();
    fputs(help_text, stdout);
}
