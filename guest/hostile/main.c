/*
 * The hostile guest: one lguest 2.6.24 guest that does one thing it must not, so
 * that the host can be seen to stop it. "attack=NAME" on the command line picks the
 * attack from the table at the bottom; "attack=unknown-hcall-N" makes hypercall N.
 *
 * Each attack is a few lines doing exactly what a broken or malicious kernel would:
 * hypercalls with arguments pointing outside guest memory, page tables naming frames
 * it does not own or covering the switcher, descriptors asking for ring 0, a wrecked
 * IDT and stack, virtio ring entries the Launcher must not follow. Almost every
 * attack should end with the host killing us, so after the attack we report that we
 * are still alive and crash with "survived": a test that sees that reason knows the
 * host let the attack through. The segment fix-up attack is the exception: the host
 * must quietly keep us at ring 1, and we print the code selector we really run on
 * before powering off.
 */
#include "early_console.h"

/* Addresses beyond any guest's memory (and its device pages), and a virtual address
 * in a page directory slot the Launcher's tables leave empty. */
#define OUTSIDE         0xE0000000u
#define UNMAPPED        0x40000000u
#define UNMAPPED_SLOT   (UNMAPPED >> 22)
#define SWITCHER_ADDR   0xFFC00000u

static struct lguest_data lguest_data __attribute__((aligned(4096)));
/* A page table and a GDT of our own, to point the host at. */
static u32 page_table[1024] __attribute__((aligned(4096)));
static u32 gdt[GDT_ENTRIES][2] __attribute__((aligned(8)));

/* LGUEST_INIT the way a well-behaved guest does it; most attacks start here. */
static void init(void)
{
        lguest_data.kernel_address = 0;
        lguest_data.syscall_vec = SYSCALL_VECTOR;
        for (int i = 0; i < 64; i++)
                lguest_data.hcall_status[i] = 0xff;
        hcall(LHCALL_LGUEST_INIT, (u32)&lguest_data, 0, 0);
}

/* The page directory we run on: the host tells us in lguest_data, and it lies in
 * RAM, which the Launcher's tables map 1:1. */
static u32 *page_directory(void)
{
        return (u32 *)lguest_data.pgdir;
}

static u32 touch(u32 address)
{
        return *(volatile u32 *)address;
}

/* A flat 4 GiB segment descriptor: code (type 0xb) or data (type 0x3), at this DPL. */
static void flat_segment(int entry, int code, int dpl)
{
        gdt[entry][0] = 0x0000ffff;
        gdt[entry][1] = 0x00cf9000 | (code ? 0xb00 : 0x300) | (dpl << 13);
}

/* A GDT a Linux guest would load: its kernel segments, left at DPL 0 as Linux
 * leaves them (the host moves them to ring 1). */
static void standard_gdt(void)
{
        for (int i = 0; i < GDT_ENTRIES; i++)
                gdt[i][0] = gdt[i][1] = 0;
        flat_segment(12, 1, 0);
        flat_segment(13, 0, 0);
}

/* An IDT gate to handler in the kernel code segment: type 0xe interrupt, 0xf trap. */
static void load_gate(u32 vector, u32 handler, u32 type, u32 dpl)
{
        hcall(LHCALL_LOAD_IDT_ENTRY, vector, (KERNEL_CS << 16) | (handler & 0xffff),
              (handler & 0xffff0000) | 0x8000 | (dpl << 13) | (type << 8));
}

/* ---- the attacks ---- */

static void hypercall_before_init(u32 unused)
{
        hcall(LHCALL_NOTIFY, (u32)"too early", 0, 0);
}

static void unknown_hypercall(u32 number)
{
        init();
        hcall(number, 0, 0, 0);
}

static void init_outside(u32 unused)
{
        hcall(LHCALL_LGUEST_INIT, OUTSIDE, 0, 0);
}

static void init_overflow(u32 unused)
{
        hcall(LHCALL_LGUEST_INIT, 0xfffffff0u, 0, 0);
}

static void init_at_zero(u32 unused)
{
        hcall(LHCALL_LGUEST_INIT, 0, 0, 0);
}

static void init_twice(u32 unused)
{
        init();
        hcall(LHCALL_LGUEST_INIT, (u32)&lguest_data, 0, 0);
}

static void bad_kernel_address(u32 unused)
{
        lguest_data.kernel_address = SWITCHER_ADDR;
        lguest_data.syscall_vec = SYSCALL_VECTOR;
        hcall(LHCALL_LGUEST_INIT, (u32)&lguest_data, 0, 0);
}

static void bad_syscall_vector(u32 unused)
{
        lguest_data.syscall_vec = 0x30;
        hcall(LHCALL_LGUEST_INIT, (u32)&lguest_data, 0, 0);
}

static void crash_outside(u32 unused)
{
        init();
        hcall(LHCALL_CRASH, OUTSIDE, 0, 0);
}

static void notify_beyond_devices(u32 unused)
{
        init();
        hcall(LHCALL_NOTIFY, OUTSIDE, 0, 0);
}

static void gdt_too_many(u32 unused)
{
        init();
        standard_gdt();
        hcall(LHCALL_LOAD_GDT, (u32)gdt, GDT_ENTRIES + 1, 0);
}

static void gdt_outside(u32 unused)
{
        init();
        hcall(LHCALL_LOAD_GDT, OUTSIDE, GDT_ENTRIES, 0);
}

static void tls_outside(u32 unused)
{
        init();
        hcall(LHCALL_LOAD_TLS, OUTSIDE, 0, 0);
}

static void idt_vector_256(u32 unused)
{
        init();
        load_gate(256, (u32)hypercall_before_init, 0xe, 1);
}

static void idt_bad_type(u32 unused)
{
        init();
        /* A present task gate (type 5): lguest takes interrupt and trap gates only. */
        hcall(LHCALL_LOAD_IDT_ENTRY, 13, KERNEL_CS << 16, 0x8500);
}

static void stack_bad_segment(u32 unused)
{
        init();
        hcall(LHCALL_SET_STACK, KERNEL_DS & ~3, (u32)page_table + 4096, 1);
}

static void stack_too_many_pages(u32 unused)
{
        init();
        hcall(LHCALL_SET_STACK, KERNEL_DS, (u32)page_table + 4096, 3);
}

static void stack_unmapped(u32 unused)
{
        init();
        hcall(LHCALL_SET_STACK, KERNEL_DS, UNMAPPED + 0x2000, 2);
}

static void pgtable_outside(u32 unused)
{
        init();
        hcall(LHCALL_NEW_PGTABLE, OUTSIDE, 0, 0);
}

/* SET_PTE for a page the host already shadows (our own code's 4 MiB), naming a frame
 * far beyond our memory. The accessed bit makes the host install it at once. */
static void set_pte_beyond_limit(u32 unused)
{
        init();
        hcall(LHCALL_SET_PTE, lguest_data.pgdir, 0x00300000,
              0xfffff000 | PTE_PRESENT | PTE_RW | PTE_ACCESSED);
}

/* Our own page table, put in an empty directory slot, then touched. */
static void map_and_touch(u32 pte)
{
        init();
        for (int i = 0; i < 1024; i++)
                page_table[i] = 0;
        page_table[0] = pte;
        page_directory()[UNMAPPED_SLOT] = (u32)page_table | PAGE_TABLE;
        touch(UNMAPPED);
}

static void pte_beyond_limit(u32 unused)
{
        map_and_touch(0xfffff000 | PTE_PRESENT | PTE_RW);
}

static void pte_write_through(u32 unused)
{
        map_and_touch((u32)page_table | PTE_PRESENT | PTE_RW | PTE_PWT);
}

static void pmd_index_beyond(u32 unused)
{
        init();
        hcall(LHCALL_SET_PMD, lguest_data.pgdir, 1024, 0);
}

static void pgd_beyond_limit(u32 unused)
{
        init();
        page_directory()[UNMAPPED_SLOT] = 0xfffff000 | PAGE_TABLE;
        touch(UNMAPPED);
}

/* A 4 MiB page over our own memory from 0: it would need PSE, which we were not
 * offered. */
static void pgd_large_page(u32 unused)
{
        init();
        page_directory()[UNMAPPED_SLOT] = 0 | PTE_PRESENT | PTE_RW | PTE_PSE;
        touch(UNMAPPED);
}

/* A page table of our own where the switcher lives, then a touch of an address in
 * that slot the switcher does not use itself. */
static void pgd_switcher(u32 unused)
{
        init();
        for (int i = 0; i < 1024; i++)
                page_table[i] = (u32)page_table | PTE_PRESENT | PTE_RW;
        page_directory()[1023] = (u32)page_table | PAGE_TABLE;
        touch(0xfffff000);
}

static void pmd_switcher(u32 unused)
{
        init();
        page_directory()[1023] = (u32)page_table | PAGE_TABLE;
        hcall(LHCALL_SET_PMD, lguest_data.pgdir, 1023, 0);
}

static void pte_switcher(u32 unused)
{
        init();
        hcall(LHCALL_SET_PTE, lguest_data.pgdir, SWITCHER_ADDR,
              (u32)page_table | PTE_PRESENT | PTE_RW | PTE_ACCESSED | PTE_DIRTY);
}

/* The switcher's GDT is mapped into us read-only: writing it must fault. */
static void write_switcher(u32 unused)
{
        init();
        *(volatile u32 *)SWITCHER_ADDR = 0x0000ffff;
}

static void page_fault_no_handler(u32 unused)
{
        init();
        touch(UNMAPPED);
}

/* Queue calls in the asynchronous ring, then have the host run them. */
static void async(u32 number, u32 arg1)
{
        init();
        lguest_data.hcalls[0][0] = number;
        lguest_data.hcalls[0][3] = arg1;
        lguest_data.hcall_status[0] = 0;
        hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
}

static void async_unknown(u32 unused)
{
        async(99, 0);
}

static void async_init(u32 unused)
{
        async(LHCALL_LGUEST_INIT, (u32)&lguest_data);
}

/* A page fault handler that is not mapped, a stack that is not mapped, and a fault:
 * on a real CPU the fault, the fault pushing its frame and the double fault after
 * it end in a triple fault. */
static void triple_fault(u32 unused)
{
        init();
        load_gate(14, UNMAPPED + 0x100, 0xe, 1);
        load_gate(13, UNMAPPED + 0x200, 0xe, 1);
        __asm__ __volatile__("movl %0, %%esp\n\t"
                             "movl (%1), %%eax"
                             : : "r"(UNMAPPED + 0x10000), "r"(UNMAPPED) : "eax", "memory");
}

/* The system call gate goes straight to the guest, without the host: from a stack
 * that is not mapped, the CPU itself faults pushing the frame. */
static void direct_trap_bad_stack(u32 unused)
{
        init();
        load_gate(SYSCALL_VECTOR, (u32)hypercall_before_init, 0xf, 3);
        __asm__ __volatile__("movl %0, %%esp\n\t"
                             "int $0x80"
                             : : "r"(UNMAPPED + 0x10000) : "memory");
}

static void undefined_instruction(u32 unused)
{
        init();
        __asm__ __volatile__("ud2");
}

/* cli at ring 1 with IOPL 0 is a #GP: the guest may only clear lguest_data.irq_enabled. */
static void real_cli(u32 unused)
{
        init();
        __asm__ __volatile__("cli");
}

static void write_cr3(u32 unused)
{
        init();
        __asm__ __volatile__("movl %0, %%cr3" : : "r"((u32)page_table) : "memory");
}

/*
 * Segments asking for ring 0: a code and a data descriptor at DPL 0. The host moves
 * them to ring 1, so the far jump lands at CPL 1 (it would #GP if the DPL had stayed
 * 0) and we print the code selector we run on: its low two bits are the CPL.
 */
static void gdt_ring0(u32 unused)
{
        u32 cs, ds;

        init();
        standard_gdt();
        flat_segment(20, 1, 0);
        flat_segment(21, 0, 0);
        hcall(LHCALL_LOAD_GDT, (u32)gdt, GDT_ENTRIES, 0);
        __asm__ __volatile__("ljmp $(20 << 3), $1f\n"
                             "1:\tmovl %%cs, %0\n\t"
                             "movl $(21 << 3), %1\n\t"
                             "movl %1, %%ds\n\t"
                             "movl %%ds, %1\n\t"
                             "pushl $0x69\n\t"
                             "popl %%ds\n\t"
                             "ljmp $0x61, $2f\n"
                             "2:"
                             : "=&r"(cs), "=&r"(ds) : : "memory");
        early_print("cs ");
        print_hex(cs);
        early_print(" ds ");
        print_hex(ds);
        early_print(" cpl ");
        print_hex(cs & 3);
        early_print("\n");
        hcall(LHCALL_CRASH, (u32)"Power down", 0, 0);
}

/* A call gate in our GDT leading to the host's ring-0 code segment. */
static void ring0_target(void)
{
        hcall(LHCALL_CRASH, (u32)"ring 0 reached through a call gate", 0, 0);
}

static void gdt_call_gate(u32 unused)
{
        u32 target = (u32)ring0_target;

        init();
        standard_gdt();
        gdt[22][0] = (LGUEST_CS << 16) | (target & 0xffff);
        gdt[22][1] = (target & 0xffff0000) | 0xec00;    /* present, DPL 3, call gate */
        hcall(LHCALL_LOAD_GDT, (u32)gdt, GDT_ENTRIES, 0);
        __asm__ __volatile__("lcall $(22 << 3), $0" : : : "memory");
}

/* Our own descriptor in the host's code segment slot, at ring 1, and a jump to it:
 * the host never takes that slot from us, so it stays the host's ring-0 segment. */
static void gdt_host_slot(u32 unused)
{
        init();
        standard_gdt();
        flat_segment(10, 1, 1);
        hcall(LHCALL_LOAD_GDT, (u32)gdt, GDT_ENTRIES, 0);
        __asm__ __volatile__("ljmp $(10 << 3 | 1), $1f\n1:" : : : "memory");
}

/* A kernel stack whose pages would lie in the switcher's top 4 MiB. */
static void stack_in_switcher(u32 unused)
{
        init();
        hcall(LHCALL_SET_STACK, KERNEL_DS, 0, 1);
}

/* iret to the kernel code segment with RPL 0: the CPU must refuse to go inward. */
static void iret_to_ring0(u32 unused)
{
        init();
        __asm__ __volatile__("pushl $0x68\n\t"
                             "pushl %%esp\n\t"
                             "pushfl\n\t"
                             "pushl $0x60\n\t"
                             "pushl $1f\n\t"
                             "iret\n"
                             "1:" : : : "memory");
}

/* popf asking for IOPL 3 is silently ignored at ring 1, so cli still faults. */
static void raise_iopl(u32 unused)
{
        init();
        __asm__ __volatile__("pushfl\n\t"
                             "orl $0x3000, (%%esp)\n\t"
                             "popfl\n\t"
                             "cli" : : : "memory");
}

/*
 * The virtio rings are guest memory too, and the Launcher reads them on every NOTIFY.
 * We find the console (device type 3) on the descriptor page just above RAM, map the
 * device pages at UNMAPPED (the Launcher's tables cover RAM only), and queue one
 * buffer on its output queue, the second virtqueue field, made as the attack says.
 */
#define DEVICE_PAGES            256
#define VIRTIO_ID_CONSOLE       3
#define CONFIG_VIRTQUEUE        2
#define VRING_DESC_F_NEXT       1

struct vring_desc {
        u32 addr_low, addr_high;
        u32 len;
        unsigned short flags, next;
};

static u32 ram_bytes;

static void virtio_attack(u32 addr, u32 len, int loop)
{
        init();
        for (int i = 0; i < 1024; i++)
                page_table[i] = i < DEVICE_PAGES ? (ram_bytes + i * 4096) | PTE_PRESENT | PTE_RW : 0;
        page_directory()[UNMAPPED_SLOT] = (u32)page_table | PAGE_TABLE;

        u8 *page = (u8 *)UNMAPPED;
        u32 queue_pfn = 0, queue_num = 0;
        for (u32 at = 0; at < 4096 - 3 && page[at] != 0; at += 3 + page[at + 1]) {
                u8 *config = page + at + 3;
                int queues = 0;
                if (page[at] != VIRTIO_ID_CONSOLE)
                        continue;
                for (u32 i = 0; i + 2 <= page[at + 1]; i += 2 + config[i + 1]) {
                        if ((config[i] & 0x7f) != CONFIG_VIRTQUEUE || ++queues != 2)
                                continue;
                        config[i] |= 0x80;
                        queue_num = *(unsigned short *)(config + i + 2);
                        queue_pfn = *(u32 *)(config + i + 6);
                }
        }
        if (!queue_pfn) {
                early_print("no console output queue\n");
                return;
        }
        u8 *ring = (u8 *)(UNMAPPED + queue_pfn * 4096 - ram_bytes);
        struct vring_desc *desc = (struct vring_desc *)ring;
        unsigned short *avail = (unsigned short *)(ring + queue_num * sizeof(*desc));
        desc[0].addr_low = addr;
        desc[0].addr_high = 0;
        desc[0].len = len;
        desc[0].flags = loop ? VRING_DESC_F_NEXT : 0;
        desc[0].next = 0;
        avail[2] = 0;           /* ring[0]: the chain starts at descriptor 0 */
        avail[1] += 1;          /* idx */
        hcall(LHCALL_NOTIFY, queue_pfn * 4096, 0, 0);
}

static void virtio_buffer_outside(u32 unused)
{
        virtio_attack(OUTSIDE, 16, 0);
}

/* Any buffer inside guest memory: the loop is the attack, not the buffer. */
static char loop_buffer[16];

static void virtio_descriptor_loop(u32 unused)
{
        virtio_attack((u32)loop_buffer, 1, 1);
}

/* Nothing wrong at all: the control run. */
static void harmless(u32 unused)
{
        init();
        early_print("harmless\n");
        hcall(LHCALL_CRASH, (u32)"Power down", 0, 0);
}

/* ---- choosing the attack ---- */

struct attack {
        const char *name;       /* a name ending in '-' takes a number after it */
        void (*run)(u32 number);
};

static const struct attack attacks[] = {
        { "harmless", harmless },
        { "hypercall-before-init", hypercall_before_init },
        { "unknown-hcall-", unknown_hypercall },
        { "init-outside", init_outside },
        { "init-overflow", init_overflow },
        { "init-at-zero", init_at_zero },
        { "init-twice", init_twice },
        { "bad-kernel-address", bad_kernel_address },
        { "bad-syscall-vector", bad_syscall_vector },
        { "crash-outside", crash_outside },
        { "notify-beyond-devices", notify_beyond_devices },
        { "gdt-too-many", gdt_too_many },
        { "gdt-outside", gdt_outside },
        { "tls-outside", tls_outside },
        { "idt-vector-256", idt_vector_256 },
        { "idt-bad-type", idt_bad_type },
        { "stack-bad-segment", stack_bad_segment },
        { "stack-too-many-pages", stack_too_many_pages },
        { "stack-unmapped", stack_unmapped },
        { "stack-in-switcher", stack_in_switcher },
        { "pgtable-outside", pgtable_outside },
        { "set-pte-beyond-limit", set_pte_beyond_limit },
        { "pte-beyond-limit", pte_beyond_limit },
        { "pte-write-through", pte_write_through },
        { "pmd-index-beyond", pmd_index_beyond },
        { "pgd-beyond-limit", pgd_beyond_limit },
        { "pgd-large-page", pgd_large_page },
        { "pgd-switcher", pgd_switcher },
        { "pmd-switcher", pmd_switcher },
        { "pte-switcher", pte_switcher },
        { "write-switcher", write_switcher },
        { "page-fault-no-handler", page_fault_no_handler },
        { "async-unknown", async_unknown },
        { "async-init", async_init },
        { "triple-fault", triple_fault },
        { "direct-trap-bad-stack", direct_trap_bad_stack },
        { "ud2", undefined_instruction },
        { "cli", real_cli },
        { "write-cr3", write_cr3 },
        { "iret-to-ring0", iret_to_ring0 },
        { "raise-iopl", raise_iopl },
        { "gdt-ring0", gdt_ring0 },
        { "gdt-call-gate", gdt_call_gate },
        { "gdt-host-slot", gdt_host_slot },
        { "virtio-buffer-outside", virtio_buffer_outside },
        { "virtio-descriptor-loop", virtio_descriptor_loop },
};

static int is_end(char c)
{
        return c == '\0' || c == ' ';
}

void guest_main(u32 boot_params)
{
        const char *cmdline = *(const char *const *)(boot_params + BOOT_CMD_LINE_PTR);
        const char *wanted = cmdline ? cmdline_find(cmdline, "attack=") : 0;

        /* The RAM size, from the one e820 entry the Launcher writes. */
        ram_bytes = *(const u32 *)(boot_params + 0x2d8);

        /* Nothing here may make a hypercall before the attack: some attacks are
         * about the very first one. */
        for (unsigned i = 0; wanted && i < sizeof(attacks) / sizeof(attacks[0]); i++) {
                const char *name = attacks[i].name;
                int k = 0;
                while (name[k] && wanted[k] == name[k])
                        k++;
                if (name[k])
                        continue;
                u32 number = 0;
                if (name[k - 1] == '-') {
                        while (wanted[k] >= '0' && wanted[k] <= '9')
                                number = number * 10 + (u32)(wanted[k++] - '0');
                }
                if (!is_end(wanted[k]))
                        continue;
                attacks[i].run(number);
                /* Still here: the host let the attack through. */
                hcall(LHCALL_CRASH, (u32)"survived the attack", 0, 0);
        }
        init();
        early_print("no such attack\n");
        hcall(LHCALL_CRASH, (u32)"no such attack", 0, 0);
}
