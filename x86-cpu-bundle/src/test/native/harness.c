/*
 * The native side of the CPU's differential test: runs one x86 instruction at a time
 * on the machine's own CPU, in 32-bit user mode (ring 3), and records what it did.
 *
 * How one case runs: the instruction bytes are copied into a code page that is
 * otherwise full of INT3 (0xCC). An INT3 in the harness raises SIGTRAP; the handler
 * writes the case's registers and flags into the signal context and returns, so
 * sigreturn loads every GPR, EFLAGS and EIP at once. The instruction runs, then falls
 * (or branches) onto an INT3, or faults; either way a second signal arrives and its
 * handler reads the registers, EFLAGS, the trap number, the error code and CR2 out of
 * the context, then siglongjmps back. The handlers run on an alternate stack because
 * the instruction may leave ESP anywhere. The trap number the kernel reports is the
 * hardware vector (0 #DE, 6 #UD, 13 #GP, 14 #PF, 3 for the INT3 that ends a normal
 * run), which is exactly what the Java CPU reports as its exit vector.
 *
 * The address space the instruction sees is laid out by hand and mirrored by the Java
 * test: code at CODE_PAGE, two read-write data pages at DATA, a read-only page after
 * them, and inaccessible pages on both sides so that accesses running off the buffer
 * fault in a known way.
 *
 * Segments: the case's DS, ES, FS and GS go into the signal context too, and sigreturn
 * loads them; the selectors the instruction leaves are read back from the context. Linux
 * gives a 32-bit process no segment it could get wrong in interesting ways, so the
 * harness installs an LDT of its own with modify_ldt: flat data, a not-present data
 * segment (#NP, and #SS for SS), read-only data (SS refuses it), execute-only code (data
 * registers refuse it), not-present code, a 16-bit code segment, an expand-down and a
 * byte-granular data segment. Loads set a descriptor's accessed bit and LAR shows it,
 * so every loadable entry is loaded once here and the vectors never see a bit change.
 * The kernel resets DS and ES when it delivers a signal but not FS and GS, and glibc
 * keeps its thread pointer in GS: the handler puts GS and FS back before anything else.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <asm/ldt.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <unistd.h>

static sigjmp_buf back;
static volatile int phase; /* 0 idle, 1 load the case, 2 the case is running */
static const Case *current;
static Outcome *result;
static uint8_t *code_page, *data;
static uint8_t pristine[DATA_PAGES * 4096];
static uint16_t selectors[6];
static uint32_t ldt[LDT_ENTRIES * 2];

static const int gpr_index[8] = {REG_EAX, REG_ECX, REG_EDX, REG_EBX, REG_ESP, REG_EBP, REG_ESI, REG_EDI};

static const int seg_index[6] = {REG_CS, REG_SS, REG_DS, REG_ES, REG_FS, REG_GS};

__attribute__((no_stack_protector)) static void on_signal(int signo, siginfo_t *info, void *context) {
    __asm__ volatile("mov %0,%%gs; mov %1,%%fs" : : "r"((uint32_t) selectors[5]), "r"((uint32_t) selectors[4]));
    ucontext_t *uc = context;
    greg_t *g = uc->uc_mcontext.gregs;
    (void) info;
    if (phase == 1 && signo == SIGTRAP) {
        for (int r = 0; r < 8; r++) {
            g[gpr_index[r]] = (greg_t) current->regs[r];
        }
        g[REG_EFL] = (g[REG_EFL] & ~(FLAGS_SETTABLE | 0x100 | 0x40000 | 0x4000)) | current->flags;
        g[REG_EIP] = (greg_t) (CODE_PAGE + CODE_OFFSET);
        for (int r = 0; r < 6; r++) {
            g[seg_index[r]] = current->segs[r];
        }
        phase = 2;
        return;
    }
    if (phase != 2) {
        fprintf(stderr, "harness: unexpected signal %d\n", signo);
        _exit(2);
    }
    phase = 0;
    for (int r = 0; r < 8; r++) {
        result->regs[r] = (uint32_t) g[gpr_index[r]];
    }
    for (int r = 0; r < 6; r++) {
        result->segs[r] = (uint16_t) g[seg_index[r]];
    }
    result->eflags = (uint32_t) g[REG_EFL];
    result->eip = (uint32_t) g[REG_EIP];
    result->trap = signo == SIGALRM ? TRAP_TIMEOUT : (int) g[REG_TRAPNO];
    result->error = (uint32_t) g[REG_ERR];
    result->cr2 = (uint32_t) uc->uc_mcontext.cr2;
    siglongjmp(back, 1);
}

static void map_fixed(uint32_t address, size_t length, int protection) {
    void *p = mmap((void *) (uintptr_t) address, length, protection,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
}

/* One LDT entry as modify_ldt takes it: flat (base 0, 4 GiB) unless base/limit say. */
static void ldt_entry(int n, int contents, int read_exec_only, int not_present, int big, uint32_t base,
                      uint32_t limit, int pages) {
    struct user_desc d;
    memset(&d, 0, sizeof d);
    d.entry_number = (unsigned) n;
    d.base_addr = base;
    d.limit = limit;
    d.seg_32bit = (unsigned) big;
    d.contents = (unsigned) contents;
    d.read_exec_only = (unsigned) read_exec_only;
    d.limit_in_pages = (unsigned) pages;
    d.seg_not_present = (unsigned) not_present;
    d.useable = 1;
    if (syscall(SYS_modify_ldt, 0x11, &d, sizeof d) != 0) {
        perror("modify_ldt");
        exit(1);
    }
}

static void install_ldt(void) {
    ldt_entry(0, 0, 0, 0, 1, 0, 0xfffff, 1);        /* 0x07 flat read-write data */
    ldt_entry(1, 0, 0, 1, 1, 0, 0xfffff, 1);        /* 0x0f the same, not present */
    ldt_entry(2, 0, 1, 0, 1, 0, 0xfffff, 1);        /* 0x17 read-only data */
    ldt_entry(3, 2, 1, 0, 1, 0, 0xfffff, 1);        /* 0x1f execute-only 32-bit code */
    ldt_entry(4, 2, 0, 1, 1, 0, 0xfffff, 1);        /* 0x27 readable code, not present */
    ldt_entry(5, 3, 0, 1, 1, 0, 0xfffff, 1);        /* 0x2f conforming code: Linux wants it not present */
    ldt_entry(6, 2, 0, 0, 0, 0, 0xfffff, 1);        /* 0x37 readable 16-bit code */
    ldt_entry(7, 1, 0, 0, 0, DATA, 0xfff, 0);       /* 0x3f expand-down 16-bit data */
    ldt_entry(8, 0, 0, 0, 1, DATA, 0x1fff, 0);      /* 0x47 byte-granular data over the buffer */
    /* Set the accessed bits now (a far jump for the execute-only code). */
    static const uint16_t loadable[] = {0x07, 0x17, 0x37, 0x3f, 0x47};
    for (unsigned i = 0; i < sizeof loadable / sizeof loadable[0]; i++) {
        __asm__ volatile("mov %0,%%fs" : : "r"((uint32_t) loadable[i]));
    }
    __asm__ volatile("ljmp $0x1f,$1f\n1: ljmp $0x23,$2f\n2: mov %0,%%fs" : : "r"(0u));
    if (syscall(SYS_modify_ldt, 0, ldt, sizeof ldt) != (long) sizeof ldt) {
        perror("modify_ldt read");
        exit(1);
    }
}

const uint32_t *harness_ldt(void) {
    return ldt;
}

void harness_init(void) {
    /* Inaccessible pages where stray accesses must fault, whatever libc maps. */
    map_fixed(0x1000, 0xf000, PROT_NONE);
    map_fixed(DATA - 4096, 4096, PROT_NONE);
    map_fixed(DATA + DATA_PAGES * 4096, 4096, PROT_NONE);
    map_fixed(FAR_AWAY, 4096, PROT_NONE);
    map_fixed(CODE_PAGE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
    map_fixed(DATA, DATA_PAGES * 4096, PROT_READ | PROT_WRITE);
    code_page = (uint8_t *) (uintptr_t) CODE_PAGE;
    data = (uint8_t *) (uintptr_t) DATA;
    memset(code_page, 0xcc, 4096);
    pristine_fill(pristine);
    memcpy(data, pristine, sizeof pristine);
    /* The last data page is read-only; touching it first makes its PTE present, so a
     * write to it is a protection fault (error code 7), not a not-present one. */
    mprotect(data + (DATA_PAGES - 1) * 4096, 4096, PROT_READ);
    volatile uint8_t touch = data[(DATA_PAGES - 1) * 4096];
    (void) touch;

    static uint8_t alternate[65536];
    stack_t ss = {.ss_sp = alternate, .ss_size = sizeof alternate, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    int signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGALRM};
    for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        sigaction(signals[i], &sa, NULL);
    }
    __asm__ volatile("mov %%cs,%0; mov %%ss,%1; mov %%ds,%2; mov %%es,%3; mov %%fs,%4; mov %%gs,%5"
                     : "=m"(selectors[0]), "=m"(selectors[1]), "=m"(selectors[2]), "=m"(selectors[3]),
                       "=m"(selectors[4]), "=m"(selectors[5]));
    install_ldt();
}

const uint16_t *harness_selectors(void) {
    return selectors;
}

void harness_run(const Case *c, Outcome *out) {
    /* Reset what the previous case may have changed: the writable data and the code. */
    memcpy(data, pristine, (DATA_PAGES - 1) * 4096);
    for (int i = 0; i < c->patch_count; i++) {
        memcpy(data + c->patches[i].offset, c->patches[i].bytes, c->patches[i].length);
    }
    memcpy(code_page + CODE_OFFSET, c->code, c->length);
    current = c;
    result = out;
    if (sigsetjmp(back, 1) == 0) {
        phase = 1;
        alarm(2);
        __asm__ volatile("int3");
        /* Not reached: the second signal jumps back. */
        abort();
    }
    alarm(0);
    memset(code_page + CODE_OFFSET, 0xcc, c->length);
    memcpy(out->data_after, data, (DATA_PAGES - 1) * 4096);
}
