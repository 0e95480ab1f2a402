/*
 * The demo guest: the smallest program that is a real lguest 2.6.24 guest. It says
 * hello to the host with LGUEST_INIT, prints through the early console (NOTIFY with a
 * string, as Linux's lguest console does before virtio is up) and powers off with
 * CRASH("Power down"), which is how a Linux guest powers off under lguest.
 *
 * Given "spin=N" on its command line it first runs N rounds of a checksum loop and
 * prints the result, so that tests have a guest that runs long enough to have its
 * components swapped underneath it, and a number that proves nothing went wrong.
 * Given "forever" it then goes on running that loop until the host stops it: a guest
 * that never ends on its own, for tests that stop or kill a running guest whatever
 * the speed of the CPU under it. Given "crash" it dies with a reason of its own
 * instead of powering off, and given
 * "ud2" it executes an undefined instruction with no IDT to catch it: the two ways a
 * guest dies that the Launcher must report.
 */
#include "early_console.h"
#include "checksum.h"

/* Guest-physical = guest-virtual here: the Launcher's page tables map RAM 1:1. */
static struct lguest_data lguest_data __attribute__((aligned(16)));

/* Where the endless loop leaves its sums, so that the compiler keeps the work. */
static volatile u32 forever_sum;

/* The number after "spin=" on the command line; 0 if absent. */
static u32 spin_rounds(const char *cmdline)
{
        const char *p = cmdline_find(cmdline, "spin=");
        u32 n = 0;
        while (p && *p >= '0' && *p <= '9')
                n = n * 10 + (u32)(*p++ - '0');
        return n;
}

void guest_main(u32 boot_params)
{
        lguest_data.kernel_address = 0;
        lguest_data.syscall_vec = SYSCALL_VECTOR;
        hcall(LHCALL_LGUEST_INIT, (u32)&lguest_data, 0, 0);

        early_print("Hello from the guest\n");

        const char *cmdline = *(const char *const *)(boot_params + BOOT_CMD_LINE_PTR);
        if (!cmdline)
                cmdline = "";
        u32 rounds = spin_rounds(cmdline);
        if (rounds) {
                early_print("checksum ");
                print_hex(checksum(rounds));
                early_print("\n");
        }

        if (cmdline_find(cmdline, "forever"))
                for (;;)
                        forever_sum = checksum(1u << 20);

        if (cmdline_find(cmdline, "crash"))
                hcall(LHCALL_CRASH, (u32)"demo guest crashed on request", 0, 0);
        if (cmdline_find(cmdline, "ud2"))
                __asm__ __volatile__("ud2");

        hcall(LHCALL_CRASH, (u32)"Power down", 0, 0);
}
