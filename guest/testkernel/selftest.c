/*
 * The self-tests: one for every hypercall and every way a trap or an interrupt can
 * reach a lguest guest, printed as TAP ("1..N", then "ok 3 - name" or "not ok 3 -
 * name" with "#" lines saying what was wrong, then a "# passed P failed F" line).
 *
 * Each test makes the host do one thing and then looks for the effect from inside
 * the guest, where the effect is all that counts: a page we remapped reads back the
 * new page, a fault arrives at our handler with the right vector, address and error
 * code, an interrupt arrives only when we can take it. The host's shadow page
 * tables are what make many of these observable: a guest page table change the host
 * was not told about stays invisible until the hypercall that tells it.
 *
 * Kernel arguments (the output formats are relied on by hot-swap stress tests):
 *
 *   loop=N            run the whole list N times (0: until powered off from outside).
 *                     The plan is printed once and gets one more test, the loop's
 *                     verdict on passes 2 and on; right after it comes the line
 *                     "# loop=N: test lines for pass 1 and failures only". Pass 1
 *                     prints as without loop=; later passes run muted and print
 *                     only a failing test, as "# pass K: not ok 7 - name" and its
 *                     "#   " notes (the virtio console test's own line, which is
 *                     its output, still comes every pass). Every pass ends with
 *                     "# pass K: passed P failed F", and the end (N > 0) with the
 *                     verdict test line and the usual "# passed P failed F" over
 *                     the TAP lines.
 *   blockcheck=N      one more test: N passes (0 counts as 1) of the block
 *                     write-and-verify workload (blockcheck.c) in every pass.
 *   console-input=S   the console input test reads a line and wants S (pass 1 only).
 *
 * Before every pass after the first, pass_reset() puts back what boot left: the test
 * windows' page tables emptied (and the host told), the page arena rewound (to a
 * slightly different start each pass, so a stale mapping the host kept would show
 * other data), the clock stopped, the trap records zeroed. What the host itself
 * keeps for us (GDT, IDT, kernel stack, page directory) is deliberately not loaded
 * again: a component swapped between passes must keep it, and a pass that re-armed
 * it would hide one that did not.
 */
#include "kernel.h"
#include "initrd.h"
#include "virtio.h"

/* ---- checking ---- */

#define MAX_NOTES 6
static struct note {
        const char *what;
        u32 got, want;
        int values;
} notes[MAX_NOTES];
static int note_count;

static int check(u32 condition, const char *what)
{
        if (!condition && note_count < MAX_NOTES)
                notes[note_count++] = (struct note){ what, 0, 0, 0 };
        return condition != 0;
}

static int check_eq(u32 got, u32 want, const char *what)
{
        if (got != want && note_count < MAX_NOTES)
                notes[note_count++] = (struct note){ what, got, want, 1 };
        return got == want;
}

/* ---- helpers ---- */

#define KERNEL_PTE (PTE_PRESENT | PTE_RW | PTE_ACCESSED | PTE_DIRTY)
#define USER_PTE (PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED | PTE_DIRTY)

/* A fresh page whose first word says which it is. */
static u32 marked_page(u32 marker)
{
        u32 page = page_alloc();
        *(u32 *)va(page) = marker;
        return page;
}

static u32 peek(u32 address)
{
        return *(volatile u32 *)address;
}

static void poke(u32 address, u32 value)
{
        *(volatile u32 *)address = value;
}

static void timer_unblock(void)
{
        lguest_data.blocked_interrupts &= ~1u;
}

static void timer_stop(void)
{
        timer_rearm_nanos = 0;
        hcall(LHCALL_SET_CLOCKEVENT, 0, 0, 0);
        lguest_data.blocked_interrupts |= 1;
        irq_disable();
}

/* Gives the host control until a tick arrives or the time is up. */
static int wait_for_tick(u32 before, s64 limit)
{
        s64 start = host_nanos();
        while (timer_ticks == before && host_nanos() - start < limit)
                hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
        return timer_ticks != before;
}

#define MILLISECOND 1000000

/* ---- hypercalls ---- */

static int test_lguest_init(void)
{
        int ok = check(lguest_data.pgdir != 0 && !(lguest_data.pgdir & 0xfff)
                       && lguest_data.pgdir < ram_bytes, "pgdir is a page of our RAM");
        ok &= check(lguest_data.reserve_mem != 0, "reserve_mem is set");
        ok &= check(lguest_data.time_sec != 0, "the wall clock is set");
        return ok;
}

static int test_notify(void)
{
        /* Everything this kernel says goes through NOTIFY; this line is the proof. */
        print("# the early console speaks through NOTIFY\n");
        return 1;
}

static int test_load_gdt(void)
{
        load_gdt();
        u32 cs, first, last;
        __asm__ __volatile__("movl %%cs, %0" : "=r"(cs));
        /* A DPL 0 data segment is only loadable at ring 1 because the host fixed it. */
        __asm__ __volatile__("movl %2, %%eax\n\t"
                             "movl %%eax, %%fs\n\t"
                             "movl %%fs:0, %0\n\t"
                             "movl %%fs:12, %1\n\t"
                             "xorl %%eax, %%eax\n\t"
                             "movl %%eax, %%fs"
                             : "=r"(first), "=r"(last) : "i"(PERCPU_SEL) : "eax", "memory");
        int ok = check_eq(cs, KERNEL_CS, "cs after the far jump");
        ok &= check_eq(first, percpu_area[0], "%fs:0 through the per-cpu segment");
        ok &= check_eq(last, percpu_area[3], "%fs:12 through the per-cpu segment");
        return ok;
}

static u32 tls_values[3] = { 0x7150, 0x7151, 0x7152 };

static int test_load_tls(void)
{
        u32 tls[3][2];
        for (int i = 0; i < 3; i++) {
                u32 base = (u32)&tls_values[i];
                tls[i][0] = (base << 16) | 3;
                tls[i][1] = (base & 0xff000000) | ((base >> 16) & 0xff) | 0x0040f200;
        }
        hcall(LHCALL_LOAD_TLS, pa(tls), 0, 0);
        u32 first, third;
        __asm__ __volatile__("movl %2, %%eax\n\t"
                             "movl %%eax, %%gs\n\t"
                             "movl %%gs:0, %0\n\t"
                             "movl %3, %%eax\n\t"
                             "movl %%eax, %%gs\n\t"
                             "movl %%gs:0, %1\n\t"
                             "xorl %%eax, %%eax\n\t"
                             "movl %%eax, %%gs"
                             : "=r"(first), "=r"(third)
                             : "i"(TLS_SEL), "i"(TLS_SEL + 16) : "eax", "memory");
        int ok = check_eq(first, tls_values[0], "first TLS entry");
        ok &= check_eq(third, tls_values[2], "third TLS entry");
        return ok;
}

#define GATE_SYSTEM_INTERRUPT 0xee00

static int test_load_idt_entry(void)
{
        u32 before = alternate_breakpoints;
        set_idt_gate(3, (u32)vector_alternate_breakpoint, GATE_SYSTEM_INTERRUPT);
        __asm__ __volatile__("int3" : : : "memory");
        u32 after = alternate_breakpoints;
        set_idt_gate(3, exception_stubs[3], GATE_SYSTEM_INTERRUPT);
        u32 count = last_breakpoint.count;
        __asm__ __volatile__("int3" : : : "memory");
        int ok = check_eq(after, before + 1, "int3 reached the new handler");
        ok &= check_eq(alternate_breakpoints, after, "the old handler is back");
        ok &= check_eq(last_breakpoint.count, count + 1, "int3 after restoring");
        return ok;
}

static int in_stack(u32 address, int which)
{
        u32 base = (u32)trap_stack[which];
        return address >= base && address < base + sizeof(trap_stack[which]);
}

static int test_set_stack(void)
{
        u32 first = run_user(user_exit, 1);
        u32 frame_first = last_syscall.frame;
        set_kernel_stack((u32)trap_stack[1] + sizeof(trap_stack[1]));
        u32 second = run_user(user_exit, 2);
        u32 frame_second = last_syscall.frame;
        set_kernel_stack((u32)trap_stack[0] + sizeof(trap_stack[0]));
        u32 third = run_user(user_exit, 3);
        int ok = check_eq(first, 1, "exit value") & check_eq(second, 2, "exit value")
                 & check_eq(third, 3, "exit value");
        ok &= check(in_stack(frame_first, 0), "first trap frame on the first stack");
        ok &= check(in_stack(frame_second, 1), "second trap frame on the second stack");
        ok &= check(in_stack(last_syscall.frame, 0), "third trap frame back on the first stack");
        /* Ring 3 to ring 1 pushes ss, esp, eflags, cs, eip: the stack's top 20 bytes. */
        ok &= check_eq(frame_first, (u32)trap_stack[0] + sizeof(trap_stack[0]) - 20, "frame at the stack top");
        return ok;
}

static int test_new_pgtable(void)
{
        u32 address = USER_TEST_AREA;
        u32 first = marked_page(0xA1A1A1A1), second = marked_page(0xB2B2B2B2);
        map_page(kernel_pgdir, address, first | USER_PTE);

        /* A second directory: the same kernel half, another page at address. */
        u32 *other = va(page_alloc());
        memcpy(other, kernel_pgdir, PAGE_SIZE);
        u32 table = page_alloc();
        other[address >> 22] = table | PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED;
        ((u32 *)va(table))[(address >> 12) & 1023] = second | USER_PTE;

        u32 before = peek(address);
        hcall(LHCALL_NEW_PGTABLE, pa(other), 0, 0);
        current_pgdir = other;
        u32 during = peek(address);
        hcall(LHCALL_NEW_PGTABLE, pa(kernel_pgdir), 0, 0);
        current_pgdir = kernel_pgdir;
        u32 after = peek(address);
        /* Torn down as Linux would, so that a copy of this directory the host keeps
         * refers to nothing once the self-test loop hands its pages out again. */
        other[address >> 22] = 0;
        hcall(LHCALL_SET_PMD, pa(other), address >> 22, 0);
        int ok = check_eq(before, 0xA1A1A1A1, "first directory");
        ok &= check_eq(during, 0xB2B2B2B2, "second directory");
        ok &= check_eq(after, 0xA1A1A1A1, "first directory again");
        return ok;
}

static int test_set_pte(void)
{
        u32 address = KERNEL_TEST_AREA;
        map_page(kernel_pgdir, address, marked_page(0x11111111) | KERNEL_PTE);
        u32 before = peek(address);
        map_page(kernel_pgdir, address, marked_page(0x22222222) | KERNEL_PTE);
        u32 after = peek(address);
        /* Without accessed and dirty bits the host cannot map it ahead: it must
         * fault it in from our table when we touch it. */
        map_page(kernel_pgdir, address, marked_page(0x33333333) | PTE_PRESENT | PTE_RW);
        u32 lazy = peek(address);
        int ok = check_eq(before, 0x11111111, "first page");
        ok &= check_eq(after, 0x22222222, "after SET_PTE");
        ok &= check_eq(lazy, 0x33333333, "after SET_PTE of a pte not yet accessed");
        ok &= check(*pte_slot(kernel_pgdir, address) & PTE_ACCESSED, "the host set the accessed bit");
        return ok;
}

static int test_set_pmd(void)
{
        u32 address = KERNEL_TEST_AREA + 0x1000;
        u32 index = address >> 22;
        map_page(kernel_pgdir, address, marked_page(0x44444444) | KERNEL_PTE);
        u32 before = peek(address);
        u32 table = page_alloc();
        memcpy(va(table), va(kernel_pgdir[index] & PTE_FRAME), PAGE_SIZE);
        ((u32 *)va(table))[(address >> 12) & 1023] = marked_page(0x55555555) | KERNEL_PTE;
        kernel_pgdir[index] = table | KERNEL_PTE;
        hcall(LHCALL_SET_PMD, pa(kernel_pgdir), index, 0);
        u32 after = peek(address);
        return check_eq(before, 0x44444444, "old page table") & check_eq(after, 0x55555555, "new page table");
}

static int test_flush_tlb_user(void)
{
        u32 address = USER_TEST_AREA + 0x1000;
        map_page(kernel_pgdir, address, marked_page(0x66666666) | USER_PTE);
        u32 before = peek(address);
        /* Changed behind the host's back, as a TLB would not notice either. */
        *pte_slot(kernel_pgdir, address) = marked_page(0x77777777) | USER_PTE;
        hcall(LHCALL_FLUSH_TLB, 0, 0, 0);
        u32 after = peek(address);
        return check_eq(before, 0x66666666, "before") & check_eq(after, 0x77777777, "after FLUSH_TLB(0)");
}

static int test_flush_tlb_kernel(void)
{
        u32 address = KERNEL_TEST_AREA + 0x2000;
        map_page(kernel_pgdir, address, marked_page(0x88888888) | KERNEL_PTE);
        u32 before = peek(address);
        *pte_slot(kernel_pgdir, address) = marked_page(0x99999999) | KERNEL_PTE;
        hcall(LHCALL_FLUSH_TLB, 1, 0, 0);
        u32 after = peek(address);
        return check_eq(before, 0x88888888, "before") & check_eq(after, 0x99999999, "after FLUSH_TLB(1)");
}

static u32 ring_pending(void)
{
        u32 pending = 0;
        for (int i = 0; i < 64; i++)
                pending += lguest_data.hcall_status[i] != 0xFF;
        return pending;
}

static int test_flush_async(void)
{
        u32 address = KERNEL_TEST_AREA + 0x3000;
        map_page(kernel_pgdir, address, marked_page(0xAAAA0001) | KERNEL_PTE);
        u32 before = peek(address);
        u32 pte = marked_page(0xAAAA0002) | KERNEL_PTE;
        *pte_slot(kernel_pgdir, address) = pte;
        async_hcall(LHCALL_SET_PTE, pa(kernel_pgdir), address, pte);
        u32 queued = ring_pending();
        hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
        int ok = check_eq(before, 0xAAAA0001, "before");
        ok &= check_eq(queued, 1, "calls waiting in the ring");
        ok &= check_eq(ring_pending(), 0, "calls waiting after FLUSH_ASYNC");
        ok &= check_eq(peek(address), 0xAAAA0002, "the queued SET_PTE ran");
        return ok;
}

static int test_async_ring_wraps(void)
{
        u32 address = KERNEL_TEST_AREA + 0x4000;
        u32 pages[4];
        for (int i = 0; i < 4; i++)
                pages[i] = marked_page(0xBBBB0000 + i);
        map_page(kernel_pgdir, address, pages[0] | KERNEL_PTE);
        peek(address);
        /* More calls than the ring holds: the one that finds it full goes directly,
         * after the host has run the 64 before it. Order must be kept throughout. */
        for (int i = 1; i <= 150; i++) {
                u32 pte = pages[i % 4] | KERNEL_PTE;
                *pte_slot(kernel_pgdir, address) = pte;
                async_hcall(LHCALL_SET_PTE, pa(kernel_pgdir), address, pte);
        }
        hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
        int ok = check_eq(ring_pending(), 0, "calls waiting after FLUSH_ASYNC");
        ok &= check_eq(peek(address), 0xBBBB0000 + 150 % 4, "the last SET_PTE won");
        return ok;
}

/* ---- traps ---- */

static int test_lazy_fpu(void)
{
        u16 control = 0x027f, seen = 0, again = 0;
        __asm__ __volatile__("fninit\n\tfldcw %0" : : "m"(control));
        u32 before = last_nm.count;
        hcall(LHCALL_TS, X86_CR0_TS, 0, 0);
        __asm__ __volatile__("fnstcw %0" : "=m"(seen) : : "memory");
        u32 after = last_nm.count;
        __asm__ __volatile__("fnstcw %0" : "=m"(again) : : "memory");
        int ok = check_eq(after, before + 1, "#NM after TS");
        ok &= check_eq(last_nm.count, after, "no #NM once TS is clear");
        ok &= check_eq(last_nm.vector, 7, "vector");
        ok &= check_eq(seen, 0x027f, "FPU control word survives");
        ok &= check_eq(again, 0x027f, "FPU control word, second read");
        return ok;
}

/* An instruction that must fault: its address and where to resume after it. */
#define EXPECT_FAULT(insn, ...)                                         \
        __asm__ __volatile__("movl $2f, fault_resume\n\t"               \
                             "movl $1f, %[site]\n"                      \
                             "1:\t" insn "\n"                           \
                             "2:"                                       \
                             : [site] "=m"(site) __VA_ARGS__)

static int fault_checks(u32 count_before, u32 vector, u32 error, u32 site)
{
        int ok = check_eq(last_fault.count, count_before + 1, "faults seen");
        ok &= check_eq(last_fault.vector, vector, "vector");
        ok &= check_eq(last_fault.error, error, "error code");
        ok &= check_eq(last_fault.eip, site, "faulting eip");
        ok &= check_eq(last_fault.cs, KERNEL_CS, "cs");
        return ok;
}

static int test_divide_error(void)
{
        u32 site, count = last_fault.count, eax = 1, edx = 0;
        EXPECT_FAULT("divl %[zero]", , "+a"(eax), "+d"(edx) : [zero] "r"(0) : "memory", "cc");
        return fault_checks(count, 0, 0, site);
}

static int test_invalid_opcode(void)
{
        u32 site, count = last_fault.count;
        EXPECT_FAULT("ud2", : : "memory");
        return fault_checks(count, 6, 0, site);
}

static int test_breakpoint(void)
{
        u32 after, count = last_breakpoint.count;
        /* int3 is a trap: the saved eip is the instruction after it. */
        __asm__ __volatile__("int3\n1:\n\tmovl $1b, %0" : "=r"(after) : : "memory");
        int ok = check_eq(last_breakpoint.count, count + 1, "breakpoints seen");
        ok &= check_eq(last_breakpoint.vector, 3, "vector");
        ok &= check_eq(last_breakpoint.eip, after, "eip after int3");
        return ok;
}

static int test_general_protection(void)
{
        u32 site, count = last_fault.count;
        /* A selector far beyond the GDT's limit. */
        EXPECT_FAULT("movl %%eax, %%fs", : "a"(0x1234) : "memory");
        return fault_checks(count, 13, 0x1234, site);
}

static int test_port_io(void)
{
        u32 count = last_fault.count, byte = 0x12345600, word = 0;
        u32 site;
        /* If the host did not skip them they come to us as #GP: resume, and fail. */
        EXPECT_FAULT("inb $0x60, %%al\n\t"
                     "outb %%al, $0x80\n\t"
                     "movl $0, fault_resume", , "+a"(byte) : : "memory");
        EXPECT_FAULT("inl (%%dx), %%eax\n\t"
                     "outl %%eax, (%%dx)\n\t"
                     "movl $0, fault_resume", , "=a"(word) : "d"(0xcf8) : "memory");
        (void)site;
        int ok = check_eq(last_fault.count, count, "no #GP reached us");
        ok &= check_eq(byte & 0xffffff00, 0x12345600, "in al leaves the rest of eax");
        ok &= check_eq(byte & 0xff, 0xff, "in al reads all ones");
        ok &= check_eq(word, 0xffffffff, "in eax reads all ones");
        return ok;
}

static int test_page_fault(void)
{
        u32 site, count = last_fault.count, value = 0;
        EXPECT_FAULT("movl %c[where], %[value]", , [value] "=r"(value) : [where] "i"(UNMAPPED_ADDRESS) : "memory");
        int ok = fault_checks(count, 14, 0, site);
        ok &= check_eq(last_fault.cr2, UNMAPPED_ADDRESS, "cr2 from lguest_data");

        /* A write to a read-only page: present + write. CR0.WP binds ring 1 too. */
        u32 address = KERNEL_TEST_AREA + 0x5000;
        map_page(kernel_pgdir, address, page_alloc() | PTE_PRESENT | PTE_ACCESSED);
        count = last_fault.count;
        EXPECT_FAULT("movl $1, %c[where]", : [where] "i"(address + 8) : "memory");
        ok &= fault_checks(count, 14, 3, site);
        ok &= check_eq(last_fault.cr2, address + 8, "cr2 of the write");
        return ok;
}

static int test_kernel_demand_paging(void)
{
        u32 faults = demand_faults;
        u32 address = KERNEL_DEMAND_AREA + 0x5000;
        u32 fresh = peek(address + 4);
        poke(address + 4, 0xfeedf00d);
        poke(address + PAGE_SIZE, 0x600d);
        int ok = check_eq(fresh, 0, "a new page reads zero");
        ok &= check_eq(peek(address + 4), 0xfeedf00d, "it keeps what we wrote");
        ok &= check_eq(peek(address + PAGE_SIZE), 0x600d, "the next page too");
        ok &= check_eq(demand_faults, faults + 2, "one fault per page");
        return ok;
}

/* ---- ring 3 ---- */

static int test_syscall_direct_trap(void)
{
        /* Enter ring 3 with interrupts "off" in lguest_data: a trap the host
         * delivered would push EFLAGS with IF clear, but the CPU delivering it
         * straight to us pushes the real flags, where IF is always set. */
        u32 flags = irq_save();
        u32 result = enter_user(user_address(user_exit), USER_STACK_TOP, 0x002, 0x5ca1ab1e, 0);
        irq_restore(flags);
        int ok = check_eq(result, 0x5ca1ab1e, "exit value");
        ok &= check_eq(last_syscall.vector, SYSCALL_VECTOR, "vector");
        ok &= check_eq(last_syscall.cs, USER_CS, "came from ring 3");
        ok &= check_eq(last_syscall.eip, user_address(user_exit) + 7, "eip after int $0x80");
        ok &= check(last_syscall.eflags & X86_EFLAGS_IF, "EFLAGS pushed by the CPU, not the host");
        return ok;
}

static int test_user_demand_paging(void)
{
        u32 page = USER_STACK_TOP - PAGE_SIZE;
        map_page(kernel_pgdir, page, 0);
        u32 faults = demand_faults;
        u32 result = run_user(user_push, 0);
        int ok = check_eq(result, 0x5a5a5a5a, "what ring 3 pushed and read back");
        ok &= check_eq(demand_faults, faults + 1, "the stack page faulted in once");
        ok &= check(*pte_slot(kernel_pgdir, page) & PTE_USER, "mapped for ring 3");
        return ok;
}

static int test_copy_on_write(void)
{
        u32 address = USER_COW_AREA;
        u32 original = marked_page(0x12345678);
        map_page(kernel_pgdir, address, original | PTE_PRESENT | PTE_USER | PTE_ACCESSED | PTE_COW);
        u32 faults = cow_faults;
        u32 result = run_user(user_cow, address);
        u32 pte = *pte_slot(kernel_pgdir, address);
        int ok = check_eq(result, 1, "exit value");
        ok &= check_eq(cow_faults, faults + 1, "one copy-on-write fault");
        ok &= check_eq(user_report[1], 0x12345678, "ring 3 read the shared page");
        ok &= check_eq(user_report[2], 0xc0ffee, "ring 3 read back its write");
        ok &= check_eq(*(u32 *)va(original), 0x12345678, "the shared page is untouched");
        ok &= check((pte & PTE_FRAME) != original && (pte & PTE_RW), "a private writable copy");
        ok &= check_eq(*(u32 *)va(pte & PTE_FRAME), 0xc0ffee, "the copy holds the write");
        return ok;
}

static int test_user_cannot_read_kernel(void)
{
        u32 result = run_user(user_read_kernel, (u32)percpu_area);
        int ok = check_eq(result, USER_KILLED(14), "ring 3 ended by a page fault");
        ok &= check_eq(last_fault.error, 5, "error code: present, user, read");
        ok &= check_eq(last_fault.cr2, (u32)percpu_area, "cr2");
        return ok;
}

static int test_user_cannot_hypercall(void)
{
        u32 result = run_user(user_hypercall, 0);
        int ok = check_eq(result, USER_KILLED(13), "ring 3 ended by #GP");
        ok &= check_eq(last_fault.error, LGUEST_TRAP_ENTRY * 8 + 2, "error code names the gate");
        return ok;
}

/* ---- the clock and interrupts ---- */

static int test_timer_interrupt(void)
{
        u32 before = timer_ticks;
        irq_enable();
        timer_unblock();
        hcall(LHCALL_SET_CLOCKEVENT, MILLISECOND, 0, 0);
        int arrived = wait_for_tick(before, 2000LL * MILLISECOND);
        timer_stop();
        int ok = check(arrived, "a tick within 2 s");
        ok &= check_eq(timer_ticks, before + 1, "exactly one tick from a one-shot clock");
        ok &= check_eq(timer_last_cs, KERNEL_CS, "it interrupted the kernel");
        return ok;
}

static int test_timer_while_spinning(void)
{
        u32 before = timer_ticks;
        irq_enable();
        timer_unblock();
        hcall(LHCALL_SET_CLOCKEVENT, MILLISECOND, 0, 0);
        /* No hypercalls here: the host must stop the CPU on its own when it is time. */
        for (u32 spins = 0; spins < 100000000 && timer_ticks == before; spins++)
                __asm__ __volatile__("" : : : "memory");
        u32 eip = timer_last_eip;
        timer_stop();
        int ok = check_eq(timer_ticks, before + 1, "a tick arrived while spinning");
        ok &= check(eip > (u32)test_timer_while_spinning && eip < (u32)test_timer_while_spinning + 0x400,
                    "it interrupted the spin loop");
        return ok;
}

static int test_timer_in_ring3(void)
{
        u32 before = user_ticks;
        timer_unblock();
        timer_rearm_nanos = MILLISECOND;
        hcall(LHCALL_SET_CLOCKEVENT, MILLISECOND, 0, 0);
        u32 result = enter_user(user_address(user_spin), USER_STACK_TOP, 0x202, 20000000, 0);
        timer_stop();
        int ok = check_eq(result, 0, "exit value");
        ok &= check(user_ticks > before, "ticks arrived in ring 3");
        return ok;
}

static int test_irq_enabled_masks(void)
{
        u32 before = timer_ticks;
        irq_disable();
        timer_unblock();
        hcall(LHCALL_SET_CLOCKEVENT, MILLISECOND, 0, 0);
        wait_host_nanos(5 * MILLISECOND);
        u32 masked = timer_ticks;
        irq_enable();
        /* The host looks at irq_enabled when it next has control. */
        hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
        u32 unmasked = timer_ticks;
        timer_stop();
        return check_eq(masked, before, "no tick while irq_enabled is 0")
               & check_eq(unmasked, before + 1, "the tick right after sti");
}

static int test_blocked_interrupts(void)
{
        u32 before = timer_ticks;
        irq_enable();
        lguest_data.blocked_interrupts |= 1;
        hcall(LHCALL_SET_CLOCKEVENT, MILLISECOND, 0, 0);
        wait_host_nanos(5 * MILLISECOND);
        u32 blocked = timer_ticks;
        timer_unblock();
        hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
        u32 unblocked = timer_ticks;
        timer_stop();
        return check_eq(blocked, before, "no tick while blocked")
               & check_eq(unblocked, before + 1, "the tick once unblocked");
}

static int test_iret_keeps_interrupts_off(void)
{
        u32 before = timer_ticks;
        irq_disable();
        timer_unblock();
        hcall(LHCALL_SET_CLOCKEVENT, MILLISECOND, 0, 0);
        wait_host_nanos(5 * MILLISECOND);
        /* The host pushes EFLAGS with IF clear for us; lguest_iret copies that whole
         * EFLAGS into irq_enabled. Only the IF bit may count. */
        __asm__ __volatile__("int3" : : : "memory");
        u32 flags_after_iret = lguest_data.irq_enabled;
        hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
        u32 masked = timer_ticks;
        irq_enable();
        hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
        u32 unmasked = timer_ticks;
        timer_stop();
        int ok = check_eq(flags_after_iret & X86_EFLAGS_IF, 0, "IF after iret");
        ok &= check_eq(masked, before, "no tick after an iret with IF clear");
        ok &= check_eq(unmasked, before + 1, "the tick right after sti");
        return ok;
}

/*
 * lguest's stop (SET_CLOCKEVENT 0) cancels the host timer and nothing more: a tick
 * whose deadline passed before the stop is already pending and still arrives, as
 * on lguest, where hrtimer_cancel leaves the pending bit the timer set. So the
 * check is strict only when the stop surely came before the deadline: the host time
 * read before arming is no later than the arming, and the time read after one more
 * hypercall past the stop is no earlier than the stop. On a loaded host that stalls
 * 50 ms between the two calls, one tick may come.
 */
static int test_clockevent_stop(void)
{
        irq_enable();
        timer_unblock();
        /* A tick an earlier test left pending arrives here, before we count. */
        hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
        u32 before = timer_ticks;
        s64 armed_no_later = host_nanos();
        hcall(LHCALL_SET_CLOCKEVENT, 50 * MILLISECOND, 0, 0);
        hcall(LHCALL_SET_CLOCKEVENT, 0, 0, 0);
        hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
        s64 gap = host_nanos() - armed_no_later;
        wait_host_nanos(80 * MILLISECOND);
        u32 after = timer_ticks;
        timer_stop();
        if (gap < 50 * MILLISECOND)
                return check_eq(after, before, "no tick from a stopped clock");
        print("# the host took ");
        print_u32((u32)divide_u64((u64)gap, 1000));
        print(" us from arming to stopping: the tick may have been pending\n");
        return check(after - before <= 1, "at most the one pending tick from a stopped clock");
}

static int test_halt(void)
{
        u32 before = timer_ticks;
        /* Linux halts with interrupts off; HALT is its "sti; hlt". */
        irq_disable();
        timer_unblock();
        hcall(LHCALL_SET_CLOCKEVENT, 2 * MILLISECOND, 0, 0);
        s64 start = host_nanos();
        hcall(LHCALL_HALT, 0, 0, 0);
        s64 slept = host_nanos() - start;
        u32 woke = timer_ticks;
        u32 enabled = lguest_data.irq_enabled;
        timer_stop();
        int ok = check_eq(woke, before + 1, "the tick woke us");
        ok &= check(enabled & X86_EFLAGS_IF, "interrupts are on after HALT");
        /* How long is not checked: a host that stalls for 2 ms between the clock
         * hypercall and HALT fires the clock first, and HALT then returns at once. */
        print("# HALT slept ");
        print_u32((u32)slept / 1000);
        print(" us\n");
        return ok;
}

/*
 * The window inside lguest_iret: once irq_enabled says "on" we still have the old
 * frame to pop. We put the iret frame across a page boundary so that the iret
 * itself, reading the user stack pointer from the second page, page faults: the
 * host gets control with our eip in the window, irq_enabled on and the timer
 * pending. It must wait, and deliver the tick only after the iret is done.
 */
static int test_noirq_iret(void)
{
        u32 first = KERNEL_NOIRQ_AREA, second = KERNEL_NOIRQ_AREA + PAGE_SIZE;
        map_page(kernel_pgdir, first, page_alloc() | KERNEL_PTE);
        map_page(kernel_pgdir, second, page_alloc() | KERNEL_PTE);
        u32 before = timer_ticks, violations = noirq_violations;

        irq_disable();
        timer_unblock();
        hcall(LHCALL_SET_CLOCKEVENT, MILLISECOND, 0, 0);
        wait_host_nanos(5 * MILLISECOND);
        u32 pending = timer_ticks;

        /* Our pte without accessed/dirty: the host forgets its copy of the page. */
        noirq_unmap_pgdir = pa(kernel_pgdir);
        noirq_unmap_pte = *pte_slot(kernel_pgdir, second) & ~(PTE_ACCESSED | PTE_DIRTY);
        noirq_unmap_va = second;
        /* The frame: eip, cs, eflags end the first page; esp, ss begin the second. */
        u32 result = enter_user(user_address(user_exit), USER_STACK_TOP, 0x202, 0x90091, second + 8);
        noirq_unmap_va = 0;
        hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
        u32 after = timer_ticks;
        timer_stop();
        int ok = check_eq(pending, before, "the tick waited while irq_enabled was 0");
        ok &= check_eq(result, 0x90091, "exit value");
        ok &= check_eq(after, before + 1, "the tick arrived after the iret");
        ok &= check_eq(noirq_violations, violations, "interrupts inside lguest_noirq_start..end");
        return ok;
}

/* ---- the initrd and the virtio devices (skipped when the Launcher gave none) ---- */

/* A test that cannot run here sets this and passes: TAP's "# SKIP why". */
static const char *skip_reason;

static int skip(const char *why)
{
        skip_reason = why;
        return 1;
}

static int test_initrd(void)
{
        if (!initrd_present)
                return skip("no initrd");
        print("# initrd: ");
        print_u32(initrd_file_count < 0 ? 0 : initrd_file_count);
        print(initrd_was_gzip ? " files, gzip'ed cpio\n" : " files, cpio\n");
        for (int i = 0; i < initrd_file_count; i++) {
                print("#   ");
                print(initrd_files[i].name);
                print(" ");
                print_u32(initrd_files[i].size);
                print(" bytes\n");
        }
        return check(initrd_file_count > 0, "the archive is a cpio archive with files");
}

static int test_virtio_console(void)
{
        if (!virtio_console.descriptor)
                return skip("no virtio console");
        static const char line[] = "# this line came through the virtio console's output queue\n";
        u16 used_before = virtio_console.vq[1].used->idx;
        int ok = check_eq(console_write(line, sizeof(line) - 1), sizeof(line) - 1, "console_write took it all");
        ok &= check_eq((u16)(virtio_console.vq[1].used->idx - used_before), 1, "used ring entries added");
        ok &= check_eq(virtio_console.descriptor[2], 7, "status: ACKNOWLEDGE | DRIVER | DRIVER_OK");
        return ok;
}

static int test_block_capacity(void)
{
        if (!virtio_block.descriptor)
                return skip("no block device");
        print("# block device: ");
        print_u32(virtio_block.capacity);
        print(" sectors, seg_max ");
        print_u32(virtio_block.seg_max);
        print("\n");
        return check(virtio_block.capacity >= 3, "capacity is at least 3 sectors");
}

/* The self-test pass now running, from 1. */
static u32 pass_number = 1;

/* Sectors 1 and 2 get a line naming them, then bytes the IT can compute: (n * 7 +
 * sector) in pass 1, shifted by 16 each pass after it so that no pass finds the
 * previous one's data where its own should be. */
static u8 block_written[2 * SECTOR_SIZE], block_read[3 * SECTOR_SIZE];

static void fill_test_sector(u8 *sector, u32 number)
{
        static const char text[] = "testkernel wrote sector ";
        u32 n = 0;
        for (; text[n]; n++)
                sector[n] = text[n];
        sector[n++] = '0' + number;
        sector[n++] = '\n';
        for (; n < SECTOR_SIZE; n++)
                sector[n] = (u8)(n * 7 + number + (pass_number - 1) * 16);
}

static int test_block_write_read(void)
{
        if (!virtio_block.descriptor)
                return skip("no block device");
        if (virtio_block.capacity < 3)
                return check(0, "capacity is at least 3 sectors");
        fill_test_sector(block_written, 1);
        fill_test_sector(block_written + SECTOR_SIZE, 2);
        int ok = check_eq(block_request(VIRTIO_BLK_T_OUT | VIRTIO_BLK_T_BARRIER, 1, block_written,
                                        sizeof(block_written)), VIRTIO_BLK_S_OK, "status of the write (barrier)");
        memset(block_read, 0xee, sizeof(block_read));
        ok &= check_eq(block_request(VIRTIO_BLK_T_IN, 0, block_read, sizeof(block_read)), VIRTIO_BLK_S_OK,
                       "status of the read");
        u32 differ = 0;
        for (u32 i = 0; i < sizeof(block_written); i++)
                differ += block_written[i] != block_read[SECTOR_SIZE + i];
        ok &= check_eq(differ, 0, "bytes of sectors 1-2 that read back differently");
        /* Sector 0 is the host's: show its first line so a test can see we read it. */
        char line[64];
        u32 n = 0;
        while (n < sizeof(line) - 1 && block_read[n] >= ' ' && block_read[n] < 127)
                line[n] = block_read[n], n++;
        line[n] = '\0';
        print("# sector 0 says: ");
        print(line);
        print("\n");
        return ok;
}

static int test_block_flush(void)
{
        if (!virtio_block.descriptor)
                return skip("no block device");
        return check_eq(block_request(VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK, "status of the flush");
}

static int test_block_out_of_range(void)
{
        if (!virtio_block.descriptor)
                return skip("no block device");
        int ok = check_eq(block_request(VIRTIO_BLK_T_IN, virtio_block.capacity, block_read, SECTOR_SIZE),
                          VIRTIO_BLK_S_IOERR, "status of a read at the capacity");
        ok &= check_eq(block_request(VIRTIO_BLK_T_IN, virtio_block.capacity - 1, block_read, 2 * SECTOR_SIZE),
                       VIRTIO_BLK_S_IOERR, "status of a read running past the end");
        return ok;
}

/* ---- console input and the block workload (on request) ---- */

static char console_expected[128];
static int console_input_wanted;
static u32 block_passes;

/* The IT types console-input's value and a newline; it may come in pieces. */
static int test_console_input(void)
{
        if (!console_input_wanted)
                return skip("no console-input= argument");
        if (pass_number > 1)
                return skip("console input is read in pass 1 only");
        if (!virtio_console.descriptor)
                return check(0, "a virtio console to read from");
        static char line[sizeof(console_expected) + 64];
        u32 n = 0;
        int newline = 0;
        while (!newline && n < sizeof(line) - 1) {
                int got = console_read(line + n, sizeof(line) - 1 - n);
                if (got <= 0)
                        break;          /* the input ended */
                for (int i = 0; i < got && !newline; i++, n++)
                        newline = line[n] == '\n';
        }
        if (newline)
                n--;
        if (n && line[n - 1] == '\r')
                n--;
        line[n] = '\0';
        print("# console input: read \"");
        print(line);
        print("\"\n");
        int same = 1;
        for (u32 i = 0; i <= n; i++)
                same &= line[i] == console_expected[i];
        int ok = check(newline, "a whole line (ending in a newline) arrived");
        ok &= check(same, "the line is the console-input= argument");
        return ok;
}

static int test_blockcheck(void)
{
        if (!virtio_block.descriptor)
                return skip("no block device");
        return check_eq(blockcheck_run(block_passes, 0), 0, "blockcheck passes that failed");
}

/* ---- the list ---- */

static const struct test {
        const char *name;
        int (*run)(void);
} tests[] = {
        { "LGUEST_INIT fills in lguest_data", test_lguest_init },
        { "NOTIFY prints on the early console", test_notify },
        { "LOAD_GDT installs our segments at ring 1", test_load_gdt },
        { "LOAD_TLS installs the TLS descriptors", test_load_tls },
        { "LOAD_IDT_ENTRY re-points a vector", test_load_idt_entry },
        { "SET_STACK moves where ring-3 traps land", test_set_stack },
        { "NEW_PGTABLE switches page directories", test_new_pgtable },
        { "SET_PTE updates a mapping", test_set_pte },
        { "SET_PMD replaces a page table", test_set_pmd },
        { "FLUSH_TLB(0) drops user mappings", test_flush_tlb_user },
        { "FLUSH_TLB(1) drops kernel mappings", test_flush_tlb_kernel },
        { "FLUSH_ASYNC runs the queued hypercalls", test_flush_async },
        { "async hypercall ring wraps around in order", test_async_ring_wraps },
        { "TS and #NM: lazy FPU switching", test_lazy_fpu },
        { "#DE divide error is reflected", test_divide_error },
        { "#UD invalid opcode is reflected", test_invalid_opcode },
        { "#BP int3 reaches the guest", test_breakpoint },
        { "#GP is reflected with its error code", test_general_protection },
        { "in/out at ring 1 are skipped by the host", test_port_io },
        { "#PF is reflected with cr2 in lguest_data", test_page_fault },
        { "demand paging of kernel pages", test_kernel_demand_paging },
        { "int $0x80 from ring 3 is a direct trap", test_syscall_direct_trap },
        { "demand paging of the ring-3 stack", test_user_demand_paging },
        { "copy-on-write at ring 3", test_copy_on_write },
        { "ring 3 cannot read kernel pages", test_user_cannot_read_kernel },
        { "ring 3 cannot make hypercalls", test_user_cannot_hypercall },
        { "SET_CLOCKEVENT: timer interrupt arrives", test_timer_interrupt },
        { "timer interrupt stops a spinning guest", test_timer_while_spinning },
        { "timer interrupt arrives in ring 3", test_timer_in_ring3 },
        { "irq_enabled masks and unmasks the timer", test_irq_enabled_masks },
        { "blocked_interrupts masks the timer", test_blocked_interrupts },
        { "iret with IF clear keeps interrupts masked", test_iret_keeps_interrupts_off },
        { "SET_CLOCKEVENT 0 stops the clock", test_clockevent_stop },
        { "HALT sleeps until the timer wakes it", test_halt },
        { "no interrupt inside the noirq iret path", test_noirq_iret },
        { "initrd: the cpio archive unpacks", test_initrd },
        { "virtio console takes output on its queue", test_virtio_console },
        { "virtio block capacity comes from its config", test_block_capacity },
        { "virtio block writes sectors and reads them back", test_block_write_read },
        { "virtio block flush succeeds", test_block_flush },
        { "virtio block read past the end gives IOERR", test_block_out_of_range },
        { "virtio console reads a typed line from its input queue", test_console_input },
};

#define TEST_COUNT (sizeof(tests) / sizeof(tests[0]))

/* Only with blockcheck=N, after the list. */
static const struct test blockcheck_test = {
        "virtio block write-and-verify workload (blockcheck)", test_blockcheck
};

/* Runs one test; prints its TAP line when loud, else only a failure, as a comment. */
static int run_test(u32 number, const struct test *t, int loud)
{
        note_count = 0;
        skip_reason = 0;
        print_muted = !loud;
        int ok = t->run();
        print_muted = 0;
        if (!loud && ok)
                return 1;
        if (!loud) {
                print("# pass ");
                print_u32(pass_number);
                print(": ");
        }
        print(ok ? "ok " : "not ok ");
        print_u32(number);
        print(" - ");
        print(t->name);
        if (skip_reason) {
                print(" # SKIP ");
                print(skip_reason);
        }
        print("\n");
        for (int n = 0; n < note_count; n++) {
                print("#   ");
                print(notes[n].what);
                if (notes[n].values) {
                        print(": got ");
                        print_hex(notes[n].got);
                        print(", want ");
                        print_hex(notes[n].want);
                }
                print("\n");
        }
        return ok;
}

/* Back to what boot left before another pass: see the comment at the top. */
static void pass_reset(u32 memory_mark)
{
        timer_stop();
        fault_resume = 0;
        noirq_unmap_va = 0;
        if (current_pgdir != kernel_pgdir) {
                hcall(LHCALL_NEW_PGTABLE, pa(kernel_pgdir), 0, 0);
                current_pgdir = kernel_pgdir;
        }
        test_windows_reset();
        page_rewind(memory_mark + ((pass_number - 1) % 8) * PAGE_SIZE);
        hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
        memset((void *)&last_fault, 0, sizeof(last_fault));
        memset((void *)&last_breakpoint, 0, sizeof(last_breakpoint));
        memset((void *)&last_syscall, 0, sizeof(last_syscall));
        memset((void *)&last_nm, 0, sizeof(last_nm));
        timer_ticks = timer_last_eip = timer_last_cs = noirq_violations = spurious_irqs = 0;
        alternate_breakpoints = user_ticks = demand_faults = cow_faults = 0;
        user_report[0] = user_report[1] = user_report[2] = 0;
}

void selftest(const char *command_line)
{
        u32 loops = 1;
        int looping = arg_u32(command_line, "loop=", &loops);
        console_input_wanted = arg_string(command_line, "console-input=", console_expected,
                                          sizeof(console_expected));
        int blockcheck = arg_u32(command_line, "blockcheck=", &block_passes);
        if (blockcheck && block_passes == 0)
                block_passes = 1;

        const struct test *list[TEST_COUNT + 1];
        u32 count = 0;
        for (u32 i = 0; i < TEST_COUNT; i++)
                list[count++] = &tests[i];
        if (blockcheck)
                list[count++] = &blockcheck_test;

        print("1..");
        print_u32(count + (looping ? 1 : 0));
        print("\n");
        if (looping) {
                print("# loop=");
                print_u32(loops);
                print(": test lines for pass 1 and failures only\n");
        }

        u32 memory_mark = page_mark();
        u32 passed = 0, failed = 0, later_failed = 0, bad_passes = 0;
        for (pass_number = 1; loops == 0 || pass_number <= loops; pass_number++) {
                if (pass_number > 1)
                        pass_reset(memory_mark);
                u32 pass_passed = 0, pass_failed = 0;
                for (u32 i = 0; i < count; i++) {
                        if (run_test(i + 1, list[i], pass_number == 1))
                                pass_passed++;
                        else
                                pass_failed++;
                }
                if (pass_number == 1) {
                        passed = pass_passed;
                        failed = pass_failed;
                } else {
                        later_failed += pass_failed;
                        bad_passes += pass_failed != 0;
                }
                if (looping) {
                        print("# pass ");
                        print_u32(pass_number);
                        print(": passed ");
                        print_u32(pass_passed);
                        print(" failed ");
                        print_u32(pass_failed);
                        print("\n");
                }
        }
        if (looping) {
                print(bad_passes ? "not ok " : "ok ");
                print_u32(count + 1);
                print(" - loop: every pass after the first passes too\n");
                if (bad_passes) {
                        print("#   passes with failures: ");
                        print_u32(bad_passes);
                        print(", failed tests in them: ");
                        print_u32(later_failed);
                        print("\n");
                        failed++;
                } else {
                        passed++;
                }
        }
        print("# passed ");
        print_u32(passed);
        print(" failed ");
        print_u32(failed);
        print("\n");
}
