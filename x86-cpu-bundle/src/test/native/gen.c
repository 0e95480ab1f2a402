/*
 * Generates the CPU's differential-test vectors: builds cases from a table of integer
 * instruction forms with a seeded PRNG (so the same binary on the same CPU writes the
 * same files), runs each one on the real CPU through harness.c, and writes case and
 * outcome in the compact format the Java test (NativeVectorTest) reads:
 *
 *   header: "X86V", u16 version (2), u16 selectors[6] (CS SS DS ES FS GS: what cases
 *           start with unless they say otherwise), u32 code address, u32 data address,
 *           u16 form count, then per form u8 length + name, u16 LDT entries, then per
 *           entry u32 low + u32 high (the harness's LDT as the CPU sees it)
 *   record: u16 form, u8 length + code bytes,
 *           u8 mask + u32 per set bit: registers that differ from the previous record's,
 *           u16 flags in, u16 defined-flags mask,
 *           u8 mask + u16 per set bit: selectors in that differ from the header's,
 *           u8 mask of registers whose outcome is not compared,
 *           u8 patch count, per patch u16 offset, u8 length, bytes (into the data buffer),
 *           u8 vector, u32 EIP after, [u32 error code for vectors with one], [u32 CR2 for #PF],
 *           u8 mask + u32 per set bit: registers after that differ from before,
 *           u32 EFLAGS after, u8 mask + u16 per set bit: selectors after that differ
 *           from before, u16 run count, per run u16 offset, u8 length, bytes
 *           (data bytes that differ after the case from before it).
 *
 * Files hold at most RECORDS_PER_FILE records; all integers are little-endian. The
 * defined-flags mask says which of CF PF AF ZF SF DF OF the Intel manual defines for
 * this instruction with these operands (and IF and IOPL for POPF and IRET, which must
 * not change at ring 3 with IOPL 0); the test compares only those.
 *
 * What the vectors cannot cover, because a 32-bit Linux process is not a bare CPU: INT
 * 0x80 (a DPL-3 gate: it would make a real system call), SYSENTER and SYSCALL (they
 * enter the kernel), far transfers to 0x33 (64-bit code: this CPU has no long mode),
 * SGDT/SIDT/SMSW/SLDT/STR (the host sets CR4.UMIP, the CPU raises #GP and the kernel
 * answers for it with values of its own: SIDT's limit reads 0), #TS (no task switches
 * here), RDPMC and INT1 (not implemented here), the CPUNODE segment's limit (0x7b: it
 * holds the number of whichever CPU ran the case), and two AMD habits the Intel manual
 * does not describe (see K_FAR's RETF imm16 and ss47's POPA). The host runs a 32-bit
 * process in compatibility mode; every recorded form behaves there as in legacy
 * protected mode.
 *
 * Usage: gen OUTPUT-DIRECTORY (writes NNN.bin; the Makefile gzips them and the index).
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORDS_PER_FILE 20000
#define CF 0x1u
#define PF 0x4u
#define AF 0x10u
#define ZF 0x40u
#define SF 0x80u
#define DF 0x400u
#define OF 0x800u
#define ALL FLAGS_SETTABLE

enum { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI };

enum {
    K_ALU, K_LOGIC, K_INCDEC, K_NOT, K_MUL, K_DIV, K_IMUL, K_SHIFT, K_SHXD, K_BT, K_BSF, K_SETCC,
    K_CMOV, K_JCC, K_MOV, K_LEA, K_CMPXCHG, K_CX8, K_BCD, K_STRING, K_FLAGOP, K_XLAT, K_ENTER,
    K_LEAVE, K_STACK, K_POPF, K_RET, K_BRANCH, K_LOOP, K_BOUND, K_NOP, K_SEL, K_SEGLOAD, K_SEGSTORE, K_FAR,
    K_INT, K_PRIV, K_MASKED
};

/* Where the r/m operand may point. */
enum { RM_NONE, RM_ANY, RM_MEM, RM_REG };

typedef struct {
    char name[40];
    int kind, sub;
    int o16;           /* operand-size prefix 66 */
    int a16;           /* address-size prefix 67 */
    int prefix;        /* F2/F3 or 0 */
    uint8_t op[2];
    int oplen;
    int opreg;         /* low 3 bits of the last opcode byte name a register, chosen at random */
    int modrm;         /* 0: none, 1: reg field is a register operand, 2: reg field is digit */
    int digit;
    int rm;
    int rmsize;        /* bytes the r/m operand covers */
    int regsize;       /* size of the reg-field register operand */
    int imm;           /* immediate bytes */
    int count;
    int segvary;       /* the case starts with DS, ES, FS and GS chosen at random */
    int seg16;         /* 16-bit addressing into the buffer through segments based on it */
    int ss47;          /* the stack is SS 0x47: based at the buffer, limit 0x1fff */
    int code16;        /* runs in the 16-bit code segment: 1 with 66 and 67 toggled to keep its
                        * sizes, 2 as it is (a branch's target is then cut to 16 bits) */
} Form;

static Form forms[2048];
/* The selectors every case starts with unless it chooses: the host's. A case's own are
 * RPL 3 or null 0, as the kernel's sigreturn leaves them (it turns a null 3 into 0). */
static uint16_t default_segs[6];
static int form_count;
static uint32_t seed = 0x6c677374u; /* "lgst" */
static uint8_t pristine[DATA_PAGES * 4096];

static uint32_t rnd(void) {
    return xorshift32(&seed);
}

static uint32_t mask_of(int size) {
    return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

/* A value whose low `size` bytes favour the edges: 0, 1, -1, the sign boundaries. */
static uint32_t edge(int size) {
    uint32_t m = mask_of(size), sign = 1u << (size * 8 - 1), v;
    switch (rnd() % 16) {
        case 0: v = 0; break;
        case 1: v = 1; break;
        case 2: v = m; break;
        case 3: v = sign; break;
        case 4: v = sign - 1; break;
        case 5: v = sign + 1; break;
        case 6: v = m - 1; break;
        case 7: v = rnd() % 16; break;
        case 8: v = m - rnd() % 16; break;
        case 9: v = 1u << (rnd() % (size * 8)); break;
        case 10: v = (rnd() & 0xff) << (8 * (rnd() % size)); break;
        default: v = rnd(); break;
    }
    return (rnd() & ~m) | (v & m);
}

static void set_reg(uint32_t *regs, int r, int size, uint32_t v) {
    if (size == 1 && r >= 4) {
        regs[r - 4] = (regs[r - 4] & ~0xff00u) | ((v & 0xff) << 8);
    } else {
        regs[r] = (regs[r] & ~mask_of(size)) | (v & mask_of(size));
    }
}

static uint32_t get_reg(const uint32_t *regs, int r, int size) {
    if (size == 1 && r >= 4) {
        return (regs[r - 4] >> 8) & 0xff;
    }
    return regs[r] & mask_of(size);
}

static Form *add(const char *name, int kind, int sub, int o16, int op0, int op1, int oplen) {
    Form *f = &forms[form_count++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s%s", name, o16 ? "/16" : "");
    f->kind = kind;
    f->sub = sub;
    f->o16 = o16;
    f->op[0] = (uint8_t) op0;
    f->op[1] = (uint8_t) op1;
    f->oplen = oplen;
    f->count = 500;
    return f;
}

static Form *modrm(Form *f, int mode, int digit, int rm, int rmsize, int regsize, int imm) {
    f->modrm = mode;
    f->digit = digit;
    f->rm = rm;
    f->rmsize = rmsize;
    f->regsize = regsize;
    f->imm = imm;
    return f;
}

static const char *ALU_NAMES[] = {"ADD", "OR", "ADC", "SBB", "AND", "SUB", "XOR", "CMP"};
static const char *SHIFT_NAMES[] = {"ROL", "ROR", "RCL", "RCR", "SHL", "SHR", "SAL", "SAR"};
static const char *CC[] = {"O", "NO", "B", "AE", "E", "NE", "BE", "A", "S", "NS", "P", "NP", "L", "GE", "LE", "G"};

static void build_forms(void) {
    char n[64];
    for (int a = 0; a < 8; a++) {
        int kind = a == 1 || a == 4 || a == 6 ? K_LOGIC : K_ALU;
        const char *m = ALU_NAMES[a];
        snprintf(n, sizeof n, "%s Eb,Gb", m);
        modrm(add(n, kind, a, 0, a * 8, 0, 1), 1, 0, RM_ANY, 1, 1, 0);
        snprintf(n, sizeof n, "%s Gb,Eb", m);
        modrm(add(n, kind, a, 0, a * 8 + 2, 0, 1), 1, 0, RM_ANY, 1, 1, 0);
        snprintf(n, sizeof n, "%s AL,Ib", m);
        modrm(add(n, kind, a, 0, a * 8 + 4, 0, 1), 0, 0, RM_NONE, 0, 0, 1);
        snprintf(n, sizeof n, "%s Eb,Ib", m);
        modrm(add(n, kind, a, 0, 0x80, 0, 1), 2, a, RM_ANY, 1, 0, 1);
        snprintf(n, sizeof n, "%s Eb,Ib (82)", m);
        modrm(add(n, kind, a, 0, 0x82, 0, 1), 2, a, RM_ANY, 1, 0, 1);
        for (int o16 = 0; o16 < 2; o16++) {
            int s = o16 ? 2 : 4;
            snprintf(n, sizeof n, "%s Ev,Gv", m);
            modrm(add(n, kind, a, o16, a * 8 + 1, 0, 1), 1, 0, RM_ANY, s, s, 0);
            snprintf(n, sizeof n, "%s Gv,Ev", m);
            modrm(add(n, kind, a, o16, a * 8 + 3, 0, 1), 1, 0, RM_ANY, s, s, 0);
            snprintf(n, sizeof n, "%s eAX,Iz", m);
            modrm(add(n, kind, a, o16, a * 8 + 5, 0, 1), 0, 0, RM_NONE, 0, 0, s);
            snprintf(n, sizeof n, "%s Ev,Iz", m);
            modrm(add(n, kind, a, o16, 0x81, 0, 1), 2, a, RM_ANY, s, 0, s);
            snprintf(n, sizeof n, "%s Ev,Ib", m);
            modrm(add(n, kind, a, o16, 0x83, 0, 1), 2, a, RM_ANY, s, 0, 1);
        }
    }
    /* Sign-extended Ib (83) and the 16-bit immediate forms take an 8-bit immediate. */
    modrm(add("TEST Eb,Gb", K_LOGIC, 4, 0, 0x84, 0, 1), 1, 0, RM_ANY, 1, 1, 0);
    modrm(add("TEST AL,Ib", K_LOGIC, 4, 0, 0xa8, 0, 1), 0, 0, RM_NONE, 0, 0, 1);
    modrm(add("TEST Eb,Ib", K_LOGIC, 4, 0, 0xf6, 0, 1), 2, 0, RM_ANY, 1, 0, 1);
    modrm(add("TEST Eb,Ib (F6 /1)", K_LOGIC, 4, 0, 0xf6, 0, 1), 2, 1, RM_ANY, 1, 0, 1);
    modrm(add("NOT Eb", K_NOT, 0, 0, 0xf6, 0, 1), 2, 2, RM_ANY, 1, 0, 0);
    modrm(add("NEG Eb", K_ALU, 5, 0, 0xf6, 0, 1), 2, 3, RM_ANY, 1, 0, 0);
    modrm(add("MUL Eb", K_MUL, 0, 0, 0xf6, 0, 1), 2, 4, RM_ANY, 1, 0, 0);
    modrm(add("IMUL Eb", K_MUL, 1, 0, 0xf6, 0, 1), 2, 5, RM_ANY, 1, 0, 0);
    modrm(add("DIV Eb", K_DIV, 0, 0, 0xf6, 0, 1), 2, 6, RM_ANY, 1, 0, 0)->count = 1500;
    modrm(add("IDIV Eb", K_DIV, 1, 0, 0xf6, 0, 1), 2, 7, RM_ANY, 1, 0, 0)->count = 1500;
    modrm(add("INC Eb", K_INCDEC, 0, 0, 0xfe, 0, 1), 2, 0, RM_ANY, 1, 0, 0);
    modrm(add("DEC Eb", K_INCDEC, 1, 0, 0xfe, 0, 1), 2, 1, RM_ANY, 1, 0, 0);
    for (int o16 = 0; o16 < 2; o16++) {
        int s = o16 ? 2 : 4;
        modrm(add("TEST Ev,Gv", K_LOGIC, 4, o16, 0x85, 0, 1), 1, 0, RM_ANY, s, s, 0);
        modrm(add("TEST eAX,Iz", K_LOGIC, 4, o16, 0xa9, 0, 1), 0, 0, RM_NONE, 0, 0, s);
        modrm(add("TEST Ev,Iz", K_LOGIC, 4, o16, 0xf7, 0, 1), 2, 0, RM_ANY, s, 0, s);
        modrm(add("TEST Ev,Iz (F7 /1)", K_LOGIC, 4, o16, 0xf7, 0, 1), 2, 1, RM_ANY, s, 0, s);
        modrm(add("NOT Ev", K_NOT, 0, o16, 0xf7, 0, 1), 2, 2, RM_ANY, s, 0, 0);
        modrm(add("NEG Ev", K_ALU, 5, o16, 0xf7, 0, 1), 2, 3, RM_ANY, s, 0, 0);
        modrm(add("MUL Ev", K_MUL, 0, o16, 0xf7, 0, 1), 2, 4, RM_ANY, s, 0, 0);
        modrm(add("IMUL Ev", K_MUL, 1, o16, 0xf7, 0, 1), 2, 5, RM_ANY, s, 0, 0);
        modrm(add("DIV Ev", K_DIV, 0, o16, 0xf7, 0, 1), 2, 6, RM_ANY, s, 0, 0)->count = 1500;
        modrm(add("IDIV Ev", K_DIV, 1, o16, 0xf7, 0, 1), 2, 7, RM_ANY, s, 0, 0)->count = 1500;
        modrm(add("INC Ev", K_INCDEC, 0, o16, 0xff, 0, 1), 2, 0, RM_ANY, s, 0, 0);
        modrm(add("DEC Ev", K_INCDEC, 1, o16, 0xff, 0, 1), 2, 1, RM_ANY, s, 0, 0);
        add("INC r", K_INCDEC, 0, o16, 0x40, 0, 1)->opreg = 1;
        add("DEC r", K_INCDEC, 1, o16, 0x48, 0, 1)->opreg = 1;
        modrm(add("IMUL Gv,Ev", K_IMUL, 0, o16, 0x0f, 0xaf, 2), 1, 0, RM_ANY, s, s, 0);
        modrm(add("IMUL Gv,Ev,Iz", K_IMUL, 0, o16, 0x69, 0, 1), 1, 0, RM_ANY, s, s, s);
        modrm(add("IMUL Gv,Ev,Ib", K_IMUL, 0, o16, 0x6b, 0, 1), 1, 0, RM_ANY, s, s, 1);
    }
    for (int d = 0; d < 8; d++) {
        snprintf(n, sizeof n, "%s Eb,Ib", SHIFT_NAMES[d]);
        modrm(add(n, K_SHIFT, d, 0, 0xc0, 0, 1), 2, d, RM_ANY, 1, 0, 1)->count = 700;
        snprintf(n, sizeof n, "%s Eb,1", SHIFT_NAMES[d]);
        modrm(add(n, K_SHIFT, d, 0, 0xd0, 0, 1), 2, d, RM_ANY, 1, 0, 0)->count = 300;
        snprintf(n, sizeof n, "%s Eb,CL", SHIFT_NAMES[d]);
        modrm(add(n, K_SHIFT, d, 0, 0xd2, 0, 1), 2, d, RM_ANY, 1, 0, 0)->count = 700;
        for (int o16 = 0; o16 < 2; o16++) {
            int s = o16 ? 2 : 4;
            snprintf(n, sizeof n, "%s Ev,Ib", SHIFT_NAMES[d]);
            modrm(add(n, K_SHIFT, d, o16, 0xc1, 0, 1), 2, d, RM_ANY, s, 0, 1)->count = 700;
            snprintf(n, sizeof n, "%s Ev,1", SHIFT_NAMES[d]);
            modrm(add(n, K_SHIFT, d, o16, 0xd1, 0, 1), 2, d, RM_ANY, s, 0, 0)->count = 300;
            snprintf(n, sizeof n, "%s Ev,CL", SHIFT_NAMES[d]);
            modrm(add(n, K_SHIFT, d, o16, 0xd3, 0, 1), 2, d, RM_ANY, s, 0, 0)->count = 700;
        }
    }
    for (int o16 = 0; o16 < 2; o16++) {
        int s = o16 ? 2 : 4;
        modrm(add("SHLD Ev,Gv,Ib", K_SHXD, 0, o16, 0x0f, 0xa4, 2), 1, 0, RM_ANY, s, s, 1)->count = 1000;
        modrm(add("SHLD Ev,Gv,CL", K_SHXD, 0, o16, 0x0f, 0xa5, 2), 1, 0, RM_ANY, s, s, 0)->count = 1000;
        modrm(add("SHRD Ev,Gv,Ib", K_SHXD, 1, o16, 0x0f, 0xac, 2), 1, 0, RM_ANY, s, s, 1)->count = 1000;
        modrm(add("SHRD Ev,Gv,CL", K_SHXD, 1, o16, 0x0f, 0xad, 2), 1, 0, RM_ANY, s, s, 0)->count = 1000;
        const char *bt[] = {"BT", "BTS", "BTR", "BTC"};
        for (int b = 0; b < 4; b++) {
            snprintf(n, sizeof n, "%s Ev,Gv", bt[b]);
            modrm(add(n, K_BT, 0, o16, 0x0f, 0xa3 + b * 8, 2), 1, 0, RM_ANY, s, s, 0)->count = 800;
            snprintf(n, sizeof n, "%s Ev,Ib", bt[b]);
            modrm(add(n, K_BT, 1, o16, 0x0f, 0xba, 2), 2, 4 + b, RM_ANY, s, 0, 1);
        }
        modrm(add("BSF Gv,Ev", K_BSF, 0, o16, 0x0f, 0xbc, 2), 1, 0, RM_ANY, s, s, 0);
        modrm(add("BSR Gv,Ev", K_BSF, 1, o16, 0x0f, 0xbd, 2), 1, 0, RM_ANY, s, s, 0);
        for (int c = 0; c < 16; c++) {
            snprintf(n, sizeof n, "CMOV%s Gv,Ev", CC[c]);
            modrm(add(n, K_CMOV, c, o16, 0x0f, 0x40 + c, 2), 1, 0, RM_ANY, s, s, 0)->count = 200;
        }
        modrm(add("MOVZX Gv,Eb", K_MOV, 0, o16, 0x0f, 0xb6, 2), 1, 0, RM_ANY, 1, s, 0);
        modrm(add("MOVZX Gv,Ew", K_MOV, 0, o16, 0x0f, 0xb7, 2), 1, 0, RM_ANY, 2, s, 0);
        modrm(add("MOVSX Gv,Eb", K_MOV, 0, o16, 0x0f, 0xbe, 2), 1, 0, RM_ANY, 1, s, 0);
        modrm(add("MOVSX Gv,Ew", K_MOV, 0, o16, 0x0f, 0xbf, 2), 1, 0, RM_ANY, 2, s, 0);
        modrm(add("XCHG Ev,Gv", K_MOV, 0, o16, 0x87, 0, 1), 1, 0, RM_ANY, s, s, 0);
        add("XCHG eAX,r", K_MOV, 0, o16, 0x90, 0, 1)->opreg = 1;
        modrm(add("XADD Ev,Gv", K_ALU, 0, o16, 0x0f, 0xc1, 2), 1, 0, RM_ANY, s, s, 0);
        modrm(add("CMPXCHG Ev,Gv", K_CMPXCHG, 0, o16, 0x0f, 0xb1, 2), 1, 0, RM_ANY, s, s, 0)->count = 1000;
        modrm(add("LEA Gv,M", K_LEA, 0, o16, 0x8d, 0, 1), 1, 0, RM_ANY, 0, s, 0)->count = 1000;
        Form *f = modrm(add("LEA Gv,M (67)", K_LEA, 0, o16, 0x8d, 0, 1), 1, 0, RM_ANY, 0, s, 0);
        f->a16 = 1;
        f->count = 1000;
        modrm(add("MOV Ev,Gv", K_MOV, 0, o16, 0x89, 0, 1), 1, 0, RM_ANY, s, s, 0);
        modrm(add("MOV Gv,Ev", K_MOV, 0, o16, 0x8b, 0, 1), 1, 0, RM_ANY, s, s, 0);
        modrm(add("MOV Ev,Iz", K_MOV, 0, o16, 0xc7, 0, 1), 2, 0, RM_ANY, s, 0, s);
        add("MOV r,Iz", K_MOV, 0, o16, 0xb8, 0, 1)->opreg = 1;
        f = add("MOV eAX,Ov", K_MOV, 0, o16, 0xa1, 0, 1);
        f->imm = -4; /* a 32-bit memory offset */
        f = add("MOV Ov,eAX", K_MOV, 0, o16, 0xa3, 0, 1);
        f->imm = -4;
        modrm(add("MOV Ev,Sw", K_MOV, 0, o16, 0x8c, 0, 1), 1, 0, RM_ANY, 2, 0, 0);
        add("CBW/CWDE", K_MOV, 0, o16, 0x98, 0, 1);
        add("CWD/CDQ", K_MOV, 0, o16, 0x99, 0, 1);
        add("PUSH r", K_STACK, 0, o16, 0x50, 0, 1)->opreg = 1;
        add("POP r", K_STACK, 0, o16, 0x58, 0, 1)->opreg = 1;
        add("PUSH Iz", K_STACK, 0, o16, 0x68, 0, 1)->imm = s;
        add("PUSH Ib", K_STACK, 0, o16, 0x6a, 0, 1)->imm = 1;
        modrm(add("PUSH Ev", K_STACK, 0, o16, 0xff, 0, 1), 2, 6, RM_ANY, s, 0, 0);
        modrm(add("POP Ev", K_STACK, 0, o16, 0x8f, 0, 1), 2, 0, RM_ANY, s, 0, 0);
        add("PUSH ES", K_STACK, 0, o16, 0x06, 0, 1)->count = 100;
        add("PUSH CS", K_STACK, 0, o16, 0x0e, 0, 1)->count = 100;
        add("PUSH SS", K_STACK, 0, o16, 0x16, 0, 1)->count = 100;
        add("PUSH DS", K_STACK, 0, o16, 0x1e, 0, 1)->count = 100;
        add("PUSH FS", K_STACK, 0, o16, 0x0f, 0xa0, 2)->count = 100;
        add("PUSH GS", K_STACK, 0, o16, 0x0f, 0xa8, 2)->count = 100;
        add("PUSHA", K_STACK, 0, o16, 0x60, 0, 1);
        add("POPA", K_STACK, 0, o16, 0x61, 0, 1);
        add("PUSHF", K_STACK, 0, o16, 0x9c, 0, 1);
        add("POPF", K_POPF, 0, o16, 0x9d, 0, 1);
        add("ENTER Iw,Ib", K_ENTER, 0, o16, 0xc8, 0, 1)->imm = 3;
        add("LEAVE", K_LEAVE, 0, o16, 0xc9, 0, 1);
        add("RET", K_RET, 0, o16, 0xc3, 0, 1);
        add("RET Iw", K_RET, 0, o16, 0xc2, 0, 1)->imm = 2;
        modrm(add("CALL Ev", K_BRANCH, 0, o16, 0xff, 0, 1), 2, 2, RM_ANY, s, 0, 0);
        modrm(add("JMP Ev", K_BRANCH, 0, o16, 0xff, 0, 1), 2, 4, RM_ANY, s, 0, 0);
        add("CALL Jz", K_BRANCH, 1, o16, 0xe8, 0, 1)->imm = s;
        add("JMP Jz", K_BRANCH, 1, o16, 0xe9, 0, 1)->imm = s;
        modrm(add("BOUND Gv,Ma", K_BOUND, 0, o16, 0x62, 0, 1), 1, 0, RM_ANY, 2 * s, s, 0);
        modrm(add("LAR Gv,Ew", K_SEL, 0, o16, 0x0f, 0x02, 2), 1, 0, RM_ANY, 2, s, 0);
        modrm(add("LSL Gv,Ew", K_SEL, 1, o16, 0x0f, 0x03, 2), 1, 0, RM_ANY, 2, s, 0);
        const char *strings[] = {"MOVS", "CMPS", "STOS", "LODS", "SCAS"};
        const int string_ops[] = {0xa4, 0xa6, 0xaa, 0xac, 0xae};
        const char *reps[] = {"", "REP ", "REPNE "};
        for (int i = 0; i < 5; i++) {
            for (int r = 0; r < 3; r++) {
                for (int b = o16; b < 2; b++) {
                    snprintf(n, sizeof n, "%s%s%s", reps[r], strings[i], b == 0 ? "B" : o16 ? "W" : "D");
                    f = add(n, K_STRING, i, o16, string_ops[i] + b, 0, 1);
                    f->prefix = r == 0 ? 0 : r == 1 ? 0xf3 : 0xf2;
                    f->count = 400;
                }
            }
        }
        f = add("REP MOVSB (67)", K_STRING, 0, o16, 0xa4, 0, 1);
        f->prefix = 0xf3;
        f->a16 = 1;
        f->count = 100;
        f = add("REP STOSD (67)", K_STRING, 2, o16, 0xab, 0, 1);
        f->prefix = 0xf3;
        f->a16 = 1;
        f->count = 100;
        add("Jcc Jz", K_JCC, 1, o16, 0x0f, 0x80, 2)->imm = s;
        f = add("JCXZ/LOOP (67)", K_LOOP, 0, o16, 0xe0, 0, 1);
        f->a16 = 1;
        f->imm = 1;
    }
    modrm(add("XCHG Eb,Gb", K_MOV, 0, 0, 0x86, 0, 1), 1, 0, RM_ANY, 1, 1, 0);
    modrm(add("XADD Eb,Gb", K_ALU, 0, 0, 0x0f, 0xc0, 2), 1, 0, RM_ANY, 1, 1, 0);
    modrm(add("CMPXCHG Eb,Gb", K_CMPXCHG, 0, 0, 0x0f, 0xb0, 2), 1, 0, RM_ANY, 1, 1, 0)->count = 1000;
    modrm(add("CMPXCHG8B Mq", K_CX8, 0, 0, 0x0f, 0xc7, 2), 2, 1, RM_ANY, 8, 0, 0)->count = 1000;
    modrm(add("MOV Eb,Gb", K_MOV, 0, 0, 0x88, 0, 1), 1, 0, RM_ANY, 1, 1, 0);
    modrm(add("MOV Gb,Eb", K_MOV, 0, 0, 0x8a, 0, 1), 1, 0, RM_ANY, 1, 1, 0);
    modrm(add("MOV Eb,Ib", K_MOV, 0, 0, 0xc6, 0, 1), 2, 0, RM_ANY, 1, 0, 1);
    add("MOV r8,Ib", K_MOV, 0, 0, 0xb0, 0, 1)->opreg = 1;
    add("MOV AL,Ob", K_MOV, 0, 0, 0xa0, 0, 1)->imm = -4;
    add("MOV Ob,AL", K_MOV, 0, 0, 0xa2, 0, 1)->imm = -4;
    add("BSWAP r", K_MOV, 0, 0, 0x0f, 0xc8, 2)->opreg = 1;
    for (int c = 0; c < 16; c++) {
        snprintf(n, sizeof n, "SET%s Eb", CC[c]);
        modrm(add(n, K_SETCC, c, 0, 0x0f, 0x90 + c, 2), 1, 0, RM_ANY, 1, 0, 0)->count = 200;
        snprintf(n, sizeof n, "J%s Jb", CC[c]);
        add(n, K_JCC, 0, 0, 0x70 + c, 0, 1)->imm = 1;
        snprintf(n, sizeof n, "J%s Jz", CC[c]);
        add(n, K_JCC, 1, 0, 0x0f, 0x80 + c, 2)->imm = 4;
    }
    add("DAA", K_BCD, 0, 0, 0x27, 0, 1)->count = 3000;
    add("DAS", K_BCD, 1, 0, 0x2f, 0, 1)->count = 3000;
    add("AAA", K_BCD, 2, 0, 0x37, 0, 1)->count = 3000;
    add("AAS", K_BCD, 3, 0, 0x3f, 0, 1)->count = 3000;
    add("AAM Ib", K_BCD, 4, 0, 0xd4, 0, 1)->imm = 1;
    add("AAD Ib", K_BCD, 5, 0, 0xd5, 0, 1)->imm = 1;
    forms[form_count - 1].count = forms[form_count - 2].count = 2000;
    add("SALC", K_FLAGOP, 0, 0, 0xd6, 0, 1)->count = 100;
    add("LAHF", K_FLAGOP, 0, 0, 0x9f, 0, 1)->count = 200;
    add("SAHF", K_FLAGOP, 0, 0, 0x9e, 0, 1)->count = 200;
    add("CMC", K_FLAGOP, 0, 0, 0xf5, 0, 1)->count = 100;
    add("CLC", K_FLAGOP, 0, 0, 0xf8, 0, 1)->count = 100;
    add("STC", K_FLAGOP, 0, 0, 0xf9, 0, 1)->count = 100;
    add("CLD", K_FLAGOP, 0, 0, 0xfc, 0, 1)->count = 100;
    add("STD", K_FLAGOP, 0, 0, 0xfd, 0, 1)->count = 100;
    add("INTO", K_FLAGOP, 0, 0, 0xce, 0, 1)->count = 100;
    add("XLAT", K_XLAT, 0, 0, 0xd7, 0, 1);
    add("JMP Jb", K_BRANCH, 1, 0, 0xeb, 0, 1)->imm = 1;
    add("LOOPNE Jb", K_LOOP, 0, 0, 0xe0, 0, 1)->imm = 1;
    add("LOOPE Jb", K_LOOP, 0, 0, 0xe1, 0, 1)->imm = 1;
    add("LOOP Jb", K_LOOP, 0, 0, 0xe2, 0, 1)->imm = 1;
    add("JECXZ Jb", K_LOOP, 0, 0, 0xe3, 0, 1)->imm = 1;
    modrm(add("ARPL Ew,Gw", K_MOV, 0, 0, 0x63, 0, 1), 1, 0, RM_ANY, 2, 2, 0);
    add("NOP", K_NOP, 0, 0, 0x90, 0, 1)->count = 50;
    add("PAUSE", K_NOP, 0, 0, 0x90, 0, 1)->prefix = 0xf3;
    add("UD2", K_NOP, 0, 0, 0x0f, 0x0b, 2)->count = 50;
    for (int h = 0x19; h <= 0x1f; h++) {
        snprintf(n, sizeof n, "NOP Ev (0F %02X)", h);
        modrm(add(n, K_NOP, 0, 0, 0x0f, h, 2), 2, -1, RM_ANY, 4, 0, 0)->count = 100;
    }
    modrm(add("VERR Ew", K_SEL, 2, 0, 0x0f, 0x00, 2), 2, 4, RM_ANY, 2, 0, 0);
    modrm(add("VERW Ew", K_SEL, 3, 0, 0x0f, 0x00, 2), 2, 5, RM_ANY, 2, 0, 0);

    /* ---- segments, far transfers, interrupts, I/O and the privileged instructions ---- */
    static const char *SREG[] = {"ES", "CS", "SS", "DS", "FS", "GS", "Sreg6", "Sreg7"};
    for (int i = 0; i < form_count; i++) {
        /* PUSH Sreg pushes whatever the case starts with. */
        if (strncmp(forms[i].name, "PUSH ", 5) == 0 && strlen(forms[i].name) >= 7 && forms[i].name[6] == 'S') {
            forms[i].segvary = 1;
        }
    }
    for (int o16 = 0; o16 < 2; o16++) {
        int s = o16 ? 2 : 4;
        for (int r = 0; r < 8; r++) {
            snprintf(n, sizeof n, "MOV %s,Ew", SREG[r]);
            modrm(add(n, K_SEGLOAD, r, o16, 0x8e, 0, 1), 2, r, RM_ANY, 2, 0, 0)->count = r == 1 || r > 5 ? 100 : 800;
            snprintf(n, sizeof n, "MOV Ev,%s", SREG[r]);
            Form *f = modrm(add(n, K_SEGSTORE, r, o16, 0x8c, 0, 1), 2, r, RM_ANY, 2, 0, 0);
            f->count = r > 5 ? 100 : 300;
            f->segvary = 1;
        }
        static const uint8_t pops[][2] = {{0x07, 0}, {0x17, 0}, {0x1f, 0}, {0x0f, 0xa1}, {0x0f, 0xa9}};
        static const int pop_sreg[] = {0, 2, 3, 4, 5};
        for (int i = 0; i < 5; i++) {
            snprintf(n, sizeof n, "POP %s", SREG[pop_sreg[i]]);
            add(n, K_SEGLOAD, pop_sreg[i], o16, pops[i][0], pops[i][1], pops[i][1] ? 2 : 1)->count = 800;
        }
        /* C4/C5 with a register operand are VEX prefixes on this CPU: memory only. */
        modrm(add("LES Gv,Mp", K_SEGLOAD, 0, o16, 0xc4, 0, 1), 1, 0, RM_MEM, s + 2, s, 0)->count = 800;
        modrm(add("LDS Gv,Mp", K_SEGLOAD, 3, o16, 0xc5, 0, 1), 1, 0, RM_MEM, s + 2, s, 0)->count = 800;
        modrm(add("LSS Gv,Mp", K_SEGLOAD, 2, o16, 0x0f, 0xb2, 2), 1, 0, RM_ANY, s + 2, s, 0)->count = 800;
        modrm(add("LFS Gv,Mp", K_SEGLOAD, 4, o16, 0x0f, 0xb4, 2), 1, 0, RM_ANY, s + 2, s, 0)->count = 800;
        modrm(add("LGS Gv,Mp", K_SEGLOAD, 5, o16, 0x0f, 0xb5, 2), 1, 0, RM_ANY, s + 2, s, 0)->count = 800;
        add("JMP far Ap", K_FAR, 0, o16, 0xea, 0, 1)->count = 1000;
        add("CALL far Ap", K_FAR, 1, o16, 0x9a, 0, 1)->count = 1000;
        modrm(add("JMP far Mp", K_FAR, 2, o16, 0xff, 0, 1), 2, 5, RM_ANY, s + 2, 0, 0)->count = 1000;
        modrm(add("CALL far Mp", K_FAR, 3, o16, 0xff, 0, 1), 2, 3, RM_ANY, s + 2, 0, 0)->count = 1000;
        add("RETF", K_FAR, 4, o16, 0xcb, 0, 1)->count = 1000;
        add("RETF Iw", K_FAR, 5, o16, 0xca, 0, 1)->count = 1000;
        add("IRET", K_FAR, 6, o16, 0xcf, 0, 1)->count = 1500;
        add("IN eAX,Ib", K_PRIV, 0, o16, 0xe5, 0, 1)->imm = 1;
        add("OUT Ib,eAX", K_PRIV, 0, o16, 0xe7, 0, 1)->imm = 1;
        add("IN eAX,DX", K_PRIV, 0, o16, 0xed, 0, 1);
        add("OUT DX,eAX", K_PRIV, 0, o16, 0xef, 0, 1);
        for (int r = 0; r < 2; r++) {
            snprintf(n, sizeof n, "%sINS%s", r ? "REP " : "", o16 ? "W" : "D");
            add(n, K_PRIV, 1, o16, 0x6d, 0, 1)->prefix = r ? 0xf3 : 0;
            snprintf(n, sizeof n, "%sOUTS%s", r ? "REP " : "", o16 ? "W" : "D");
            add(n, K_PRIV, 1, o16, 0x6f, 0, 1)->prefix = r ? 0xf3 : 0;
        }
    }
    add("IN AL,Ib", K_PRIV, 0, 0, 0xe4, 0, 1)->imm = 1;
    add("OUT Ib,AL", K_PRIV, 0, 0, 0xe6, 0, 1)->imm = 1;
    add("IN AL,DX", K_PRIV, 0, 0, 0xec, 0, 1);
    add("OUT DX,AL", K_PRIV, 0, 0, 0xee, 0, 1);
    for (int r = 0; r < 2; r++) {
        snprintf(n, sizeof n, "%sINSB", r ? "REP " : "");
        add(n, K_PRIV, 1, 0, 0x6c, 0, 1)->prefix = r ? 0xf3 : 0;
        snprintf(n, sizeof n, "%sOUTSB", r ? "REP " : "");
        add(n, K_PRIV, 1, 0, 0x6e, 0, 1)->prefix = r ? 0xf3 : 0;
    }
    add("INT Ib", K_INT, 0, 0, 0xcd, 0, 1)->count = 2000;
    add("INT3", K_INT, 1, 0, 0xcc, 0, 1)->count = 100;
    add("CLI", K_PRIV, 0, 0, 0xfa, 0, 1)->count = 200;
    add("STI", K_PRIV, 0, 0, 0xfb, 0, 1)->count = 200;
    add("HLT", K_PRIV, 0, 0, 0xf4, 0, 1)->count = 200;
    add("CLTS", K_PRIV, 0, 0, 0x0f, 0x06, 2)->count = 200;
    add("INVD", K_PRIV, 0, 0, 0x0f, 0x08, 2)->count = 200;
    add("WBINVD", K_PRIV, 0, 0, 0x0f, 0x09, 2)->count = 200;
    add("WRMSR", K_PRIV, 0, 0, 0x0f, 0x30, 2)->count = 200;
    add("RDMSR", K_PRIV, 0, 0, 0x0f, 0x32, 2)->count = 200;
    modrm(add("MOV Rd,Cn", K_PRIV, 0, 0, 0x0f, 0x20, 2), 2, -1, RM_REG, 0, 0, 0);
    modrm(add("MOV Cn,Rd", K_PRIV, 0, 0, 0x0f, 0x22, 2), 2, -1, RM_REG, 0, 0, 0);
    modrm(add("MOV Rd,Dn", K_PRIV, 0, 0, 0x0f, 0x21, 2), 2, -1, RM_REG, 0, 0, 0);
    modrm(add("MOV Dn,Rd", K_PRIV, 0, 0, 0x0f, 0x23, 2), 2, -1, RM_REG, 0, 0, 0);
    modrm(add("LGDT Ms", K_PRIV, 0, 0, 0x0f, 0x01, 2), 2, 2, RM_MEM, 6, 0, 0)->count = 300;
    modrm(add("LIDT Ms", K_PRIV, 0, 0, 0x0f, 0x01, 2), 2, 3, RM_MEM, 6, 0, 0)->count = 300;
    modrm(add("LMSW Ew", K_PRIV, 0, 0, 0x0f, 0x01, 2), 2, 6, RM_ANY, 2, 0, 0)->count = 300;
    modrm(add("INVLPG M", K_PRIV, 0, 0, 0x0f, 0x01, 2), 2, 7, RM_MEM, 1, 0, 0)->count = 300;
    modrm(add("LLDT Ew", K_PRIV, 0, 0, 0x0f, 0x00, 2), 2, 2, RM_ANY, 2, 0, 0)->count = 300;
    modrm(add("LTR Ew", K_PRIV, 0, 0, 0x0f, 0x00, 2), 2, 3, RM_ANY, 2, 0, 0)->count = 300;
    add("CPUID", K_MASKED, 0x0f, 0, 0x0f, 0xa2, 2)->count = 200;
    add("RDTSC", K_MASKED, 0x05, 0, 0x0f, 0x31, 2)->count = 200;
    /* Memory operands through the segment registers a case starts with: null, read-only,
     * expand-down and limited segments, whose checks come before paging's. */
    for (int o16 = 0; o16 < 2; o16++) {
        int s = o16 ? 2 : 4;
        modrm(add("MOV Ev,Gv (segments)", K_MOV, 0, o16, 0x89, 0, 1), 1, 0, RM_MEM, s, s, 0)->segvary = 1;
        modrm(add("MOV Gv,Ev (segments)", K_MOV, 0, o16, 0x8b, 0, 1), 1, 0, RM_MEM, s, s, 0)->segvary = 1;
        Form *f = add("REP MOVSD (segments)", K_STRING, 0, o16, 0xa5, 0, 1);
        f->prefix = 0xf3;
        f->segvary = 1;
        f = add("REP STOSD (segments)", K_STRING, 2, o16, 0xab, 0, 1);
        f->prefix = 0xf3;
        f->segvary = 1;
    }
    /* Every memory form again with 16-bit addressing, into the buffer through segments
     * based on it: the eight 16-bit modes, their wrap at 64 KiB, and the limit checks
     * (#GP(0) through DS, #SS(0) through SS), which come before paging's. */
    int before = form_count;
    for (int i = 0; i < before; i++) {
        const Form *o = &forms[i];
        int k = o->kind;
        int memory_kind = k == K_ALU || k == K_LOGIC || k == K_INCDEC || k == K_NOT || k == K_MUL || k == K_IMUL
                          || k == K_DIV || k == K_SHIFT || k == K_SHXD || k == K_BSF || k == K_SETCC || k == K_CMOV
                          || k == K_MOV || k == K_CMPXCHG || k == K_CX8 || k == K_BOUND || k == K_SEL
                          || k == K_SEGLOAD || k == K_SEGSTORE || (k == K_BT && o->sub == 1)
                          || (k == K_STACK && o->modrm);
        if (!o->modrm || o->rm == RM_REG || o->a16 || o->rmsize == 0 || o->segvary || !memory_kind) continue;
        Form *f = &forms[form_count++];
        *f = *o;
        snprintf(f->name, sizeof f->name, "%.33s (a16)", o->name);
        f->a16 = 1;
        f->seg16 = 1;
        f->rm = RM_MEM;
        f->count = 100;
    }
    /* And the forms that neither branch nor address by hand once more from the 16-bit
     * code segment (0x37), which reverses what 66 and 67 mean. */
    for (int i = 0; i < before; i++) {
        const Form *o = &forms[i];
        int k = o->kind;
        int kind = k == K_ALU || k == K_LOGIC || k == K_INCDEC || k == K_NOT || k == K_MUL || k == K_IMUL
                   || k == K_DIV || k == K_SHIFT || k == K_SHXD || k == K_BT || k == K_BSF || k == K_SETCC
                   || k == K_CMOV || k == K_MOV || k == K_LEA || k == K_CMPXCHG || k == K_CX8 || k == K_BCD
                   || k == K_STRING || k == K_FLAGOP || k == K_XLAT || k == K_ENTER || k == K_LEAVE
                   || k == K_STACK || k == K_POPF || k == K_BOUND || k == K_SEL || k == K_SEGLOAD
                   || k == K_SEGSTORE || k == K_PRIV || k == K_MASKED;
        if (o->a16 || !kind) continue;
        Form *f = &forms[form_count++];
        *f = *o;
        snprintf(f->name, sizeof f->name, "%.32s (CS16)", o->name);
        f->code16 = 1;
        f->count = 60;
    }
    /* The stack forms with SS based at the buffer and limited: its limit checks (#SS(0)). */
    for (int i = 0; i < before; i++) {
        const Form *o = &forms[i];
        int k = o->kind;
        if (o->a16 || !(k == K_STACK || k == K_POPF || k == K_ENTER || k == K_LEAVE || k == K_RET)) continue;
        Form *f = &forms[form_count++];
        *f = *o;
        snprintf(f->name, sizeof f->name, "%.30s (SS 0x47)", o->name);
        f->ss47 = 1;
        f->count = 100;
    }
    /* The branches as they are from the 16-bit code segment: a 16-bit operand size cuts
     * every target to 16 bits, where nothing is mapped (so a wrong guess at what the
     * bytes mean can only fault, never run the harness's code). A Jcc rel32 not taken
     * runs the high half of its displacement, 0000 or FFFF: an ADD to low memory or #UD. */
    for (int i = 0; i < before; i++) {
        const Form *o = &forms[i];
        int k = o->kind;
        if (o->a16 || o->o16 || !(k == K_JCC || k == K_LOOP || k == K_BRANCH || k == K_RET || k == K_FAR)) continue;
        Form *f = &forms[form_count++];
        *f = *o;
        snprintf(f->name, sizeof f->name, "%.32s (CS16)", o->name);
        f->code16 = 2;
        f->count = 60;
    }
}

/* ---- operands ---- */

static int in_writable(uint32_t address, int size) {
    return address >= DATA && address + size <= DATA + (DATA_PAGES - 1) * 4096;
}

/* A memory operand address: mostly well inside the buffer, sometimes on its edges. */
static uint32_t pick_target(int size) {
    int s = size < 1 ? 1 : size;
    uint32_t r = rnd() % 100, end = DATA + (DATA_PAGES - 1) * 4096;
    if (r < 72) return DATA + 0x40 + rnd() % (0x2000 - 0x80 - s);
    if (r < 78) return end - 1 - rnd() % s; /* runs into the read-only page */
    if (r < 85) return end + rnd() % (0x1000 - s); /* the read-only page */
    if (r < 88) return DATA + DATA_PAGES * 4096 - 1 - rnd() % s; /* off the end */
    if (r < 92) return DATA - 1 - rnd() % s; /* off the start */
    if (r < 97) return DATA + 0x1000 - 1 - rnd() % s; /* across the two writable pages */
    return DATA + rnd() % (DATA_PAGES * 4096);
}

static uint32_t pick_stack(void) {
    uint32_t r = rnd() % 100;
    if (r < 80) return DATA + 0x1400 + (rnd() % 0x800 & ~3u);
    if (r < 88) return DATA + 0x1400 + rnd() % 0x800;
    if (r < 94) return DATA + rnd() % 12;
    if (r < 97) return DATA + 0x2000 - rnd() % 12;
    return DATA + 0x2000 + rnd() % 0x100;
}

typedef struct {
    Case *c;
    const Form *f;
    int mod, reg, rm;
    uint32_t target;   /* the memory operand's address, when mod != 3 */
    uint32_t addr_regs;
} Build;

static void emit(Case *c, uint32_t v, int bytes) {
    for (int i = 0; i < bytes; i++) {
        c->code[c->length++] = (uint8_t) (v >> (8 * i));
    }
}

static void patch(Case *c, uint32_t address, const uint8_t *bytes, int length) {
    if (!in_writable(address, length) || c->patch_count == 4) {
        return;
    }
    Patch *p = &c->patches[c->patch_count++];
    p->offset = (uint16_t) (address - DATA);
    p->length = (uint8_t) length;
    memcpy(p->bytes, bytes, length);
}

static void patch_value(Case *c, uint32_t address, uint32_t v, int size) {
    uint8_t b[4] = {(uint8_t) v, (uint8_t) (v >> 8), (uint8_t) (v >> 16), (uint8_t) (v >> 24)};
    patch(c, address, b, size);
}

/* Memory as the case will see it: the pristine buffer with the case's patches. */
static uint32_t memory_value(const Case *c, uint32_t address, int size) {
    uint32_t v = 0;
    for (int i = size - 1; i >= 0; i--) {
        uint32_t a = address + i, byte = 0;
        if (a >= DATA && a < DATA + DATA_PAGES * 4096) {
            byte = pristine[a - DATA];
            for (int p = 0; p < c->patch_count; p++) {
                uint32_t o = a - DATA - c->patches[p].offset;
                if (o < c->patches[p].length) byte = c->patches[p].bytes[o];
            }
        }
        v = (v << 8) | byte;
    }
    return v;
}

/* A register for addressing, avoiding those the instruction uses otherwise (mostly). */
static int pick_address_reg(uint32_t avoid, int allow_esp) {
    for (int tries = 0; tries < 20; tries++) {
        int r = (int) (rnd() % 8);
        if (r == ESP && !allow_esp) continue;
        if ((avoid >> r) & 1 && rnd() % 10 != 0) continue;
        return r;
    }
    return EBX;
}

/* ModRM (+SIB +displacement) for a memory operand at `target` with 32-bit addressing:
 * the registers named are given the values that make the address come out right. */
static void emit_memory32(Build *b, uint32_t avoid) {
    Case *c = b->c;
    uint32_t *regs = c->regs, target = b->target;
    int choice = (int) (rnd() % 4);
    if (choice == 0) {
        c->code[c->length++] = (uint8_t) ((b->reg << 3) | 5);
        emit(c, target, 4);
        return;
    }
    int mod = (int) (rnd() % 3);
    int32_t disp = (int8_t) rnd();
    if (choice == 1) {
        int base = pick_address_reg(avoid, 0);
        if (mod == 0 && base == EBP) mod = 1;
        if (mod == 0) disp = 0;
        if (mod == 2) disp = (int32_t) (rnd() % 2 ? rnd() : rnd() % 0x2000 - 0x1000);
        c->code[c->length++] = (uint8_t) ((mod << 6) | (b->reg << 3) | base);
        regs[base] = target - (uint32_t) disp;
        b->addr_regs |= 1u << base;
    } else {
        int base = pick_address_reg(avoid, 1), index = pick_address_reg(avoid, 0), scale = (int) (rnd() % 4);
        if (rnd() % 8 == 0) index = 4; /* no index */
        int no_base = mod == 0 && base == EBP;
        int same = index == base && !no_base;
        if (base == ESP || same) mod = 2; /* a 32-bit displacement makes up the difference */
        if (mod == 0) disp = 0;
        c->code[c->length++] = (uint8_t) ((mod << 6) | (b->reg << 3) | 4);
        c->code[c->length++] = (uint8_t) ((scale << 6) | (index << 3) | base);
        uint32_t scaled = 0;
        if (index != 4) {
            if (!same) regs[index] = rnd() % 3 == 0 ? rnd() : (uint32_t) ((int32_t) (rnd() % 256) - 128);
            scaled = regs[index] << scale;
            b->addr_regs |= 1u << index;
        }
        if (no_base) {
            disp = (int32_t) (target - scaled);
        } else if (base == ESP || same) {
            disp = (int32_t) (target - regs[base] - scaled);
        } else {
            if (mod == 2) disp = (int32_t) (rnd() % 2 ? rnd() : rnd() % 0x2000 - 0x1000);
            regs[base] = target - (uint32_t) disp - scaled;
            b->addr_regs |= 1u << base;
        }
        if (no_base) {
            emit(c, (uint32_t) disp, 4);
            return;
        }
    }
    if (mod == 1) emit(c, (uint32_t) disp, 1);
    if (mod == 2) emit(c, (uint32_t) disp, 4);
}

/* ModRM and displacement for a 16-bit memory operand (67 prefix) at a chosen offset:
 * mostly inside the buffer-based segments, sometimes across or past their limit, at the
 * 64 KiB wrap, or across a page. The registers the mode names get the values (high
 * halves random, since only the low 16 bits count) that make the offset come out, and
 * the target is the linear address through DS, or SS for the BP-based modes. */
static void emit_memory16(Build *b) {
    static const int base_reg[8] = {EBX, EBX, EBP, EBP, ESI, EDI, EBP, EBX};
    static const int index_reg[8] = {ESI, EDI, ESI, EDI, -1, -1, -1, -1};
    Case *c = b->c;
    uint32_t size = b->f->rmsize < 1 ? 1 : (uint32_t) b->f->rmsize, r = rnd() % 100, offset;
    if (r < 80) offset = 0x40 + rnd() % (0x1f00 - size);
    else if (r < 86) offset = 0x2000 - 1 - rnd() % size;
    else if (r < 92) offset = 0x2000 + rnd() % 0xe000;
    else if (r < 96) offset = 0xffff - rnd() % size;
    else offset = 0x1000 - 1 - rnd() % size;
    int mod = (int) (rnd() % 3), rm = (int) (rnd() % 8);
    c->code[c->length++] = (uint8_t) ((mod << 6) | (b->reg << 3) | rm);
    if (mod == 0 && rm == 6) {
        emit(c, offset, 2);
    } else {
        int32_t disp = mod == 1 ? (int8_t) rnd() : mod == 2 ? (int16_t) rnd() : 0;
        uint32_t rest = offset - (uint32_t) disp;
        int base = base_reg[rm], index = index_reg[rm];
        if (index >= 0) {
            c->regs[base] = rnd();
            rest -= c->regs[base];
            b->addr_regs |= 1u << base;
        }
        int last = index >= 0 ? index : base;
        c->regs[last] = (rnd() & 0xffff0000u) | (rest & 0xffff);
        b->addr_regs |= 1u << last;
        if (mod) emit(c, (uint32_t) disp, mod);
    }
    int ss_based = rm == 2 || rm == 3 || (rm == 6 && mod != 0);
    uint16_t sel = c->segs[ss_based ? 1 : 2];
    b->target = (sel == 0x47 || sel == 0x3f ? DATA : 0) + (offset & 0xffff);
}

/* ModRM and operands for the form; fills b->mod/reg/rm/target. */
static void emit_modrm(Build *b, uint32_t avoid) {
    const Form *f = b->f;
    Case *c = b->c;
    b->reg = f->modrm == 2 ? (f->digit < 0 ? (int) (rnd() % 8) : f->digit) : (int) (rnd() % 8);
    if (f->modrm == 1 && f->regsize) {
        if (!(f->regsize == 4 && b->reg == ESP)) {
            set_reg(c->regs, b->reg, f->regsize, edge(f->regsize));
        }
        avoid |= 1u << (f->regsize == 1 ? b->reg & 3 : b->reg);
    }
    int memory = f->rm == RM_MEM || (f->rm == RM_ANY && rnd() % 3 != 0);
    if (!memory) {
        b->mod = 3;
        b->rm = (int) (rnd() % 8);
        /* ESP holds the stack pointer, not a value the case can choose. */
        while ((f->kind == K_BRANCH || f->kind == K_SEL || f->kind == K_SEGLOAD) && b->rm == ESP) b->rm = (int) (rnd() % 8);
        if (f->rmsize && f->rmsize <= 4 && !(f->rmsize == 4 && b->rm == ESP)) {
            set_reg(c->regs, b->rm, f->rmsize, edge(f->rmsize));
        }
        c->code[c->length++] = (uint8_t) (0xc0 | (b->reg << 3) | b->rm);
        return;
    }
    b->mod = 0;
    if (f->seg16) {
        emit_memory16(b);
    } else if (f->a16) {
        /* 16-bit addressing reaches only the first 64 KiB, which is never mapped: the
         * access faults, and CR2 shows the effective address the CPU computed. */
        int mod = (int) (rnd() % 3), rm = (int) (rnd() % 8);
        c->code[c->length++] = (uint8_t) ((mod << 6) | (b->reg << 3) | rm);
        if (mod == 1) emit(c, rnd(), 1);
        if (mod == 2 || (mod == 0 && rm == 6)) emit(c, rnd(), 2);
        b->target = 0;
        return;
    } else {
        b->target = pick_target(f->rmsize);
        /* A branch target read from memory the case cannot set could point anywhere,
         * including the harness's own code: keep such operands where patches reach. */
        while ((f->kind == K_BRANCH || f->kind == K_FAR) && !in_writable(b->target, f->rmsize)) {
            b->target = pick_target(f->rmsize);
        }
        emit_memory32(b, avoid);
    }
    if (f->rmsize > 0) {
        for (int i = 0; i < f->rmsize; i += 4) {
            int n = f->rmsize - i < 4 ? f->rmsize - i : 4;
            patch_value(c, b->target + i, edge(n), n);
        }
    }
}

/* The r/m operand's value as the case starts. */
static uint32_t rm_value(const Build *b, int size) {
    if (b->mod == 3) return get_reg(b->c->regs, b->rm, size);
    return memory_value(b->c, b->target, size);
}

static void set_rm_value(Build *b, int size, uint32_t v) {
    if (b->mod == 3) {
        if (!(size == 4 && b->rm == ESP)) set_reg(b->c->regs, b->rm, size, v);
    } else {
        patch_value(b->c, b->target, v, size);
    }
}

/* A selector to load into a data segment register: the host's GDT (null, user code and
 * data at every RPL, kernel segments, the TSS, the LDT descriptor, the TLS entries, past
 * the limit) and the harness's LDT (every entry, and past its end). */
static uint16_t data_selector(void) {
    static const uint16_t table[] = {0x00, 0x01, 0x02, 0x03, 0x2b, 0x2b, 0x2b, 0x28, 0x29, 0x2a, 0x23, 0x20, 0x33,
                                     0x08, 0x0b, 0x10, 0x13, 0x18, 0x1b, 0x38, 0x3b, 0x40, 0x43, 0x48, 0x4b, 0x53,
                                     0x63, 0x60, 0x6b, 0x73, 0x7b, 0x80, 0x83, 0xfff8, 0xfffb, 0x04, 0x07, 0x07,
                                     0x0c, 0x0f, 0x14, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x44, 0x4f, 0x7f};
    return table[rnd() % (sizeof table / sizeof table[0])];
}

/* A selector for a far transfer: mostly 32-bit user code, and every way to get it wrong. */
static uint16_t code_selector(void) {
    static const uint16_t table[] = {0x23, 0x23, 0x23, 0x23, 0x23, 0x23, 0x20, 0x21, 0x22, 0x1f, 0x1f, 0x1c,
                                     0x37, 0x37, 0x27, 0x2f, 0x2b, 0x07, 0x17, 0x08, 0x0b, 0x10, 0x13, 0x00,
                                     0x03, 0x40, 0x43, 0x53, 0x63, 0x6b, 0x80, 0x4f, 0xfff8};
    return table[rnd() % (sizeof table / sizeof table[0])];
}

/* A code address to branch to: mostly INT3s in the code page, never the instruction. */
static uint32_t pick_code_target(int length) {
    uint32_t r = rnd() % 100;
    if (r < 85) {
        for (;;) {
            uint32_t t = CODE_PAGE + rnd() % 0x1000;
            if (t < CODE_PAGE + CODE_OFFSET || t >= CODE_PAGE + CODE_OFFSET + (uint32_t) length) return t;
        }
    }
    if (r < 93) return FAR_AWAY + rnd() % 0x1000;
    return 0x1000 + rnd() % 0xf000;
}

static int is_shift_undefined_cf(int op) {
    return op == 4 || op == 5 || op == 6;
}

/* The same instruction for a 16-bit code segment: there 66 and 67 select the 32-bit
 * sizes, so each is dropped where the case had it and added where it did not. */
static void to_code16(Case *c) {
    int n = 0, has66 = 0, has67 = 0;
    uint8_t prefixes[8];
    int at = 0;
    for (; at < c->length; at++) {
        uint8_t p = c->code[at];
        if (p == 0x66) has66 = 1;
        else if (p == 0x67) has67 = 1;
        else if (p == 0xf2 || p == 0xf3 || p == 0xf0 || p == 0x26 || p == 0x2e || p == 0x36 || p == 0x3e || p == 0x64
                 || p == 0x65) prefixes[n++] = p;
        else break;
    }
    if (!has66) prefixes[n++] = 0x66;
    if (!has67) prefixes[n++] = 0x67;
    uint8_t rest[16];
    int rest_length = c->length - at;
    memcpy(rest, c->code + at, (size_t) rest_length);
    memcpy(c->code, prefixes, (size_t) n);
    memcpy(c->code + n, rest, (size_t) rest_length);
    c->length = n + rest_length;
    c->segs[0] = 0x37;
}

static int generate(int index, Case *c) {
    const Form *f = &forms[index];
    memset(c, 0, sizeof *c);
    c->form = index;
    for (int r = 0; r < 8; r++) {
        c->regs[r] = edge(1 + (int) (rnd() % 4) % 4);
        if (rnd() % 2) c->regs[r] = edge(4);
    }
    c->regs[ESP] = pick_stack();
    c->flags = rnd() & FLAGS_SETTABLE;
    c->defined = ALL;
    memcpy(c->segs, default_segs, sizeof c->segs);
    if (f->segvary) {
        static const uint16_t data_in[] = {0x2b, 0x2b, 0x07, 0x17, 0x47, 0x3f, 0x00, 0x23};
        static const uint16_t fs_in[] = {0x00, 0x2b, 0x07, 0x17, 0x47, 0x3f};
        static const uint16_t gs_in[] = {0x63, 0x00, 0x2b, 0x07};
        c->segs[2] = data_in[rnd() % 8];
        c->segs[3] = data_in[rnd() % 8];
        c->segs[4] = fs_in[rnd() % 6];
        c->segs[5] = gs_in[rnd() % 4];
    }
    if (f->seg16) {
        /* DS and ES based at the buffer (limit 0x1fff, or expand-down from 0x1000), or
         * flat; SS based at the buffer (then ESP is an offset in it) or the host's. No
         * 16-bit SS: returning to one, Linux's espfix leaves ESP's high half its own. */
        static const uint16_t data16[] = {0x47, 0x47, 0x47, 0x47, 0x3f, 0x3f, 0x07};
        c->segs[2] = c->segs[3] = data16[rnd() % 7];
        if (rnd() % 2) {
            c->segs[1] = 0x47;
            c->regs[ESP] -= DATA;
        }
    }
    Build b = {.c = c, .f = f, .mod = 3};
    int size = f->o16 ? 2 : 4;
    if (f->prefix) c->code[c->length++] = (uint8_t) f->prefix;
    int lockable = f->modrm && (f->kind == K_ALU || f->kind == K_LOGIC || f->kind == K_INCDEC || f->kind == K_NOT
                                || f->kind == K_CMPXCHG || f->kind == K_CX8 || f->kind == K_BT);
    /* LOCK on a form that cannot take it is #UD; without a memory operand there is no
     * question of which fault a CPU checks first. */
    if ((lockable && rnd() % 16 == 0) || (!f->modrm && rnd() % 64 == 0)) c->code[c->length++] = 0xf0;
    if (f->modrm && !f->seg16 && rnd() % 20 == 0) {
        static const uint8_t segments[] = {0x26, 0x36, 0x3e, 0x3e, 0x2e, 0x64};
        c->code[c->length++] = segments[rnd() % 6];
    }
    if (f->o16) c->code[c->length++] = 0x66;
    if (f->a16) c->code[c->length++] = 0x67;
    uint32_t opreg = f->opreg ? rnd() % 8 : 0;
    if (f->kind == K_MOV && f->op[0] == 0x90) opreg = 1 + rnd() % 7;
    for (int i = 0; i < f->oplen; i++) {
        c->code[c->length++] = (uint8_t) (f->op[i] | (i == f->oplen - 1 ? opreg : 0));
    }
    if (f->kind == K_JCC && f->op[0] == 0x0f && f->o16) {
        c->code[c->length - 1] |= (uint8_t) (rnd() % 16);
    }
    if (f->kind == K_LOOP && f->a16) c->code[c->length - 1] |= (uint8_t) (rnd() % 4);

    /* Registers the instruction uses implicitly, kept out of addressing (mostly). */
    uint32_t implicit = 0;
    switch (f->kind) {
        case K_MUL: case K_DIV: implicit = 1u << EAX | 1u << EDX; break;
        case K_SHIFT: case K_SHXD: implicit = 1u << ECX; break;
        case K_CMPXCHG: implicit = 1u << EAX; break;
        case K_CX8: implicit = 0xf; break;
        default: break;
    }
    if (f->modrm) emit_modrm(&b, implicit);

    /* Immediates. */
    int imm_at = c->length;
    if (f->imm > 0) emit(c, edge(f->imm > 2 ? 4 : f->imm), f->imm);
    if (f->imm == -4) {
        uint32_t t = pick_target(f->op[0] & 1 ? size : 1);
        emit(c, t, 4);
        b.target = t;
        patch_value(c, t, edge(4), f->op[0] & 1 ? size : 1);
    }

    switch (f->kind) {
        case K_LOGIC:
            c->defined = ALL & ~AF;
            break;
        case K_MUL: case K_IMUL:
            c->defined = CF | OF | DF;
            break;
        case K_DIV: {
            int s = f->rmsize;
            if (rnd() % 10 == 0) set_rm_value(&b, s, 0);
            uint32_t divisor = rm_value(&b, s);
            if (rnd() % 10 < 7 && divisor != 0 && !(b.addr_regs & (1u << EAX | 1u << EDX))
                && !(b.mod == 3 && (b.rm == EAX || b.rm == EDX || (s == 1 && b.rm == 4)))) {
                uint64_t q = edge(s) & mask_of(s), d = divisor & mask_of(s);
                int64_t dividend;
                if (f->sub == 0) {
                    dividend = (int64_t) (q * d + rnd() % d);
                } else {
                    int64_t sd = s == 1 ? (int8_t) d : s == 2 ? (int16_t) d : (int32_t) d;
                    int64_t sq = s == 1 ? (int8_t) q : s == 2 ? (int16_t) q : (int32_t) q;
                    int64_t ad = sd < 0 ? -sd : sd;
                    int64_t rem = (int64_t) (rnd() % (uint64_t) ad);
                    dividend = sq * sd + ((sq * sd) < 0 ? -rem : rem);
                }
                if (s == 1) {
                    set_reg(c->regs, EAX, 2, (uint32_t) dividend);
                } else if (s == 2) {
                    set_reg(c->regs, EAX, 2, (uint32_t) dividend);
                    set_reg(c->regs, EDX, 2, (uint32_t) (dividend >> 16));
                } else {
                    c->regs[EAX] = (uint32_t) dividend;
                    c->regs[EDX] = (uint32_t) ((uint64_t) dividend >> 32);
                }
            }
            c->defined = DF;
            break;
        }
        case K_SHIFT: case K_SHXD: {
            int s = f->kind == K_SHXD ? size : f->rmsize, bits = s * 8, count;
            do {
                count = rnd() % 10 < 7 ? (int) (rnd() % 34) : (int) (rnd() & 0xff);
                if (f->imm == 0 && f->op[0] == 0xd0) count = 1;
                if (f->op[0] == 0xd1) count = 1;
            } while (f->kind == K_SHXD && s == 2 && (count & 31) > 16);
            if (f->imm) c->code[imm_at] = (uint8_t) count;
            else if (f->op[0] == 0xd2 || f->op[0] == 0xd3 || f->kind == K_SHXD) {
                if (!(b.addr_regs & (1u << ECX))) set_reg(c->regs, ECX, 1, (uint32_t) count);
                count = (int) (c->regs[ECX] & 0xff);
            }
            int masked = count & 31;
            /* SHLD/SHRD of a word by more than 16: the result is undefined. */
            if (f->kind == K_SHXD && s == 2 && masked > 16) return 0;
            if (masked == 0) break;
            int op = f->kind == K_SHXD ? 8 : f->sub;
            if (op >= 4) c->defined &= ~AF; /* shifts: AF undefined */
            if (masked != 1) c->defined &= ~OF;
            if (op < 8 && is_shift_undefined_cf(op) && masked >= bits) c->defined &= ~CF;
            (void) bits;
            break;
        }
        case K_BT:
            c->defined = CF | ZF | DF;
            if (f->sub == 0 && b.mod != 3) {
                /* A register bit offset addresses memory beyond the operand: pick where. */
                uint32_t final = pick_target(size), ea = b.target;
                int32_t delta = (int32_t) (final - ea) / size;
                if (size == 2 && (delta > 2000 || delta < -2000)) delta = (int32_t) (rnd() % 200) - 100;
                uint32_t offset = (uint32_t) (delta * size * 8) + rnd() % (size * 8);
                if (!(b.addr_regs & (1u << b.reg))) set_reg(c->regs, b.reg, size, offset);
                patch_value(c, ea + (uint32_t) delta * size, edge(size), size);
            }
            break;
        case K_BSF:
            c->defined = ZF | DF;
            if (rnd() % 4 == 0) set_rm_value(&b, f->rmsize, 0);
            break;
        case K_CMPXCHG:
            if (rnd() % 2 && !(b.addr_regs & 1)) set_reg(c->regs, EAX, f->rmsize, rm_value(&b, f->rmsize));
            break;
        case K_CX8:
            if (rnd() % 2 && !(b.addr_regs & 5) && b.mod != 3) {
                c->regs[EAX] = memory_value(c, b.target, 4);
                c->regs[EDX] = memory_value(c, b.target + 4, 4);
            }
            break;
        case K_BCD:
            set_reg(c->regs, EAX, 1, rnd() % 3 ? (rnd() % 10) << 4 | rnd() % 16 : rnd());
            if (f->sub == 2 || f->sub == 3) c->defined = AF | CF | DF;
            if (f->sub < 2) c->defined = ALL & ~OF;
            if (f->sub >= 4) {
                uint32_t r = rnd() % 10;
                c->code[imm_at] = r < 6 ? 10 : r < 9 ? (uint8_t) rnd() : 0;
                c->defined = SF | ZF | PF | DF;
            }
            break;
        case K_STRING: {
            int s = (f->op[0] & 1) ? size : 1;
            uint32_t count = rnd() % 10 < 8 ? rnd() % 9 : rnd() % 40;
            if (f->a16) count |= rnd() & 0xffff0000u;
            c->regs[ECX] = f->prefix ? count : rnd();
            int down = (c->flags & DF) != 0;
            uint32_t span = (count ? count : 1) * (uint32_t) s;
            for (int r = ESI; r <= EDI; r++) {
                uint32_t p = DATA + 0x100 + rnd() % 0x1c00;
                uint32_t k = rnd() % 20;
                if (k == 0) p = down ? DATA + rnd() % span : DATA + 0x2000 - rnd() % span;
                if (k == 1) p = down ? DATA + 0x1000 + rnd() % span : DATA + 0x1000 - rnd() % span;
                if (k == 2) p = DATA + 0x2000 + rnd() % 0x800;
                c->regs[r] = p;
            }
            /* Runs of equal and unequal elements, so REPE/REPNE stop at different places. */
            uint32_t a = edge(s), other = edge(s);
            set_reg(c->regs, EAX, s, rnd() % 2 ? a : other);
            for (int r = ESI; r <= EDI; r++) {
                uint8_t bytes[64];
                int n = (int) (span < 64 ? span : 64);
                for (int i = 0; i < n; i += s) {
                    uint32_t v = rnd() % 3 ? a : other;
                    for (int j = 0; j < s && i + j < n; j++) bytes[i + j] = (uint8_t) (v >> (8 * j));
                }
                uint32_t start = down ? c->regs[r] + s - n : c->regs[r];
                patch(c, start, bytes, n);
            }
            break;
        }
        case K_XLAT:
            /* Elsewhere only where nothing is mapped: a random address could reach the
             * harness's own heap, whose place changes from run to run. */
            c->regs[EBX] = rnd() % 10 ? DATA + rnd() % 0x1f00 : FAR_AWAY + rnd() % 0xf00;
            break;
        case K_ENTER: {
            uint32_t r = rnd() % 10;
            int level = r < 6 ? 0 : r < 9 ? 1 + (int) (rnd() % 4) : (int) (rnd() & 0xff);
            uint32_t alloc = rnd() % 2 ? rnd() % 64 : rnd() & 0xffff;
            c->code[imm_at] = (uint8_t) alloc;
            c->code[imm_at + 1] = (uint8_t) (alloc >> 8);
            c->code[imm_at + 2] = (uint8_t) level;
            c->regs[EBP] = rnd() % 10 ? DATA + 0x1000 + rnd() % 0x1000 : FAR_AWAY + rnd() % 0x1000;
            break;
        }
        case K_LEAVE:
            if (rnd() % 10) c->regs[EBP] = c->regs[ESP] + (rnd() % 64);
            if (rnd() % 10 == 0) c->regs[EBP] = pick_stack();
            break;
        case K_POPF: {
            c->defined = ALL | FLAGS_SYSTEM;
            while (!in_writable(c->regs[ESP], 4)) c->regs[ESP] = pick_stack();
            /* Not TF (a trap after the next instruction), AC, NT, ID, RF or VM. */
            patch_value(c, c->regs[ESP], rnd() & ~0x374100u, 4);
            break;
        }
        case K_RET:
        case K_BRANCH: {
            uint32_t t = pick_code_target(c->length);
            if (f->sub == 1) {
                /* Relative: the target sets the displacement. */
                int32_t disp = (int32_t) (t - (CODE_PAGE + CODE_OFFSET + (uint32_t) c->length));
                if (f->imm == 1) {
                    do {
                        disp = (int8_t) rnd();
                    } while (disp >= -c->length && disp < 0);
                }
                c->length = imm_at;
                emit(c, (uint32_t) disp, f->imm);
            } else if (f->kind == K_RET) {
                /* The return address must be one the case chose (see K_BRANCH above). */
                while (!in_writable(c->regs[ESP], 4)) c->regs[ESP] = pick_stack();
                patch_value(c, c->regs[ESP], t, 4);
                if (f->imm == 2) {
                    uint32_t release = rnd() % 2 ? rnd() % 32 : rnd() & 0xffff;
                    c->code[imm_at] = (uint8_t) release;
                    c->code[imm_at + 1] = (uint8_t) (release >> 8);
                }
            } else {
                set_rm_value(&b, size, t);
            }
            break;
        }
        case K_JCC: case K_LOOP: {
            int32_t disp;
            do {
                disp = f->imm == 1 ? (int8_t) rnd() : (int32_t) (rnd() % 0xe00) - 0x700;
            } while (disp >= -c->length && disp < 0);
            c->length = imm_at;
            emit(c, (uint32_t) disp, f->imm);
            if (f->kind == K_LOOP) {
                static const uint32_t counts[] = {0, 1, 2, 3, 0x10000, 0x10001, 0xffff, 0xffffffff};
                c->regs[ECX] = rnd() % 4 ? counts[rnd() % 8] : rnd();
            }
            break;
        }
        case K_BOUND:
            if (b.mod != 3 && rnd() % 2 && !(b.addr_regs & (1u << b.reg))) {
                uint32_t lo = memory_value(c, b.target, size), hi = memory_value(c, b.target + size, size);
                uint32_t m = mask_of(size);
                int32_t l = size == 2 ? (int16_t) lo : (int32_t) lo, h = size == 2 ? (int16_t) hi : (int32_t) hi;
                if (l > h) { int32_t t = l; l = h; h = t; patch_value(c, b.target, (uint32_t) l & m, size);
                             patch_value(c, b.target + size, (uint32_t) h & m, size); }
                set_reg(c->regs, b.reg, size, (uint32_t) ((int64_t) l + (int64_t) (rnd() % ((uint64_t) ((int64_t) h - l) + 1))));
            }
            break;
        case K_SEGLOAD: {
            /* The selector comes from the r/m operand, the stack, or after the offset. */
            uint16_t sel = data_selector();
            if (f->op[0] == 0x8e) {
                set_rm_value(&b, 2, sel);
            } else if (!f->modrm) {
                while (!in_writable(c->regs[ESP], size)) c->regs[ESP] = pick_stack();
                patch_value(c, c->regs[ESP], (rnd() & 0xffff0000u) | sel, size);
            } else if (b.mod != 3) {
                patch_value(c, b.target + size, sel, 2);
            }
            break;
        }
        case K_SEGSTORE:
            /* A 32-bit register gets the selector zero-extended (P6 and later; older CPUs
             * left the high half undefined), a memory operand only its 16 bits. */
            break;
        case K_FAR: {
            int far = f->sub <= 3;
            uint32_t offset = size == 4 ? pick_code_target(c->length + 2 + size) : rnd() & 0xffff;
            uint16_t sel = code_selector();
            if (f->sub <= 1) {
                c->length = imm_at;
                emit(c, offset, size);
                emit(c, sel, 2);
            } else if (far) {
                if (b.mod != 3) {
                    patch_value(c, b.target, offset, size);
                    patch_value(c, b.target + size, sel, 2);
                }
            } else {
                int words = f->sub == 6 ? 3 : 2;
                while (!in_writable(c->regs[ESP], words * size)) c->regs[ESP] = pick_stack();
                patch_value(c, c->regs[ESP], offset, size);
                patch_value(c, c->regs[ESP] + size, (rnd() & 0xffff0000u) | sel, size);
                if (f->sub == 6) {
                    /* Not TF, NT, RF, VM, AC, VIF, VIP or ID: IF and IOPL are what matter. */
                    patch_value(c, c->regs[ESP] + 2 * size, rnd() & ~0x3f4100u, size);
                    c->defined = ALL | FLAGS_SYSTEM;
                }
                if (f->sub == 5) {
                    /* AMD reads the outer SS:ESP slots above the released bytes even for a
                     * return to the same level (#PF if unmapped); the Intel manual reads
                     * nothing there. Keep them in mapped memory: that read is AMD's own. */
                    uint32_t release = rnd() % 2 ? rnd() % 32 : rnd() & 0xffff;
                    while (c->regs[ESP] + 2 * size + release + 2 * size > DATA + DATA_PAGES * 4096) {
                        release = rnd() % 32;
                    }
                    emit(c, release, 2);
                }
            }
            break;
        }
        case K_INT: {
            if (f->sub == 0) {
                uint32_t r = rnd() % 10, v;
                do {
                    v = r < 6 ? rnd() & 0xff : r < 8 ? rnd() % 32 : 3 + rnd() % 2;
                } while (v == 0x80); /* a DPL-3 gate into the kernel's system calls */
                emit(c, v, 1);
            }
            break;
        }
        case K_PRIV:
            if (f->sub == 1) c->regs[ECX] = rnd() % 4 ? rnd() % 4 : rnd();
            break;
        case K_MASKED:
            c->unchecked = (uint8_t) f->sub;
            break;
        case K_SEL: {
            static const uint16_t selectors[] = {0, 1, 2, 3, 4, 7, 0x08, 0x0b, 0x10, 0x13, 0x18, 0x1b, 0x20, 0x21,
                                                 0x22, 0x23, 0x28, 0x29, 0x2a, 0x2b, 0x30, 0x31, 0x32, 0x33, 0x38,
                                                 0x3b, 0x40, 0x43, 0x48, 0x63, 0x6b, 0x73, 0x80, 0x83, 0xfff8,
                                                 0x2c, 0x24, 0x27, 0x2f, 0x0f, 0x17, 0x1f, 0x37, 0x3f, 0x47, 0x44,
                                                 0x4f, 0x53, 0x7f};
            uint32_t sel = selectors[rnd() % (sizeof selectors / sizeof selectors[0])];
            if (b.mod == 3 && b.rm == ESP) break;
            set_rm_value(&b, 2, sel);
            c->defined = ZF | DF;
            break;
        }
        default:
            break;
    }
    if (f->ss47) {
        /* The stack through the byte-granular segment based at the buffer: the case was
         * built with linear addresses, which become offsets in it. */
        c->segs[1] = 0x47;
        c->regs[ESP] -= DATA;
        if (f->kind == K_ENTER || f->kind == K_LEAVE) c->regs[EBP] -= DATA;
        /* A POPA that starts inside the limit and ends past it: AMD pops the first
         * registers before its #SS(0); the Intel manual checks both ends first. */
        uint32_t frame = 8u * (f->o16 ? 2 : 4);
        if (f->op[0] == 0x61 && c->regs[ESP] < 0x2000 && c->regs[ESP] + frame > 0x2000) return 0;
    }
    if (f->code16 == 1) to_code16(c);
    if (f->code16 == 2) c->segs[0] = 0x37;
    return 1;
}

/* ---- output ---- */

static FILE *out;
static int out_records, out_files;
static uint32_t previous_regs[8];
static const char *out_directory;
static char index_names[256][32];

static void put8(uint32_t v) { fputc((int) (v & 0xff), out); }
static void put16(uint32_t v) { put8(v); put8(v >> 8); }
static void put32(uint32_t v) { put16(v); put16(v >> 16); }

static void open_next_file(void) {
    if (out) fclose(out);
    char path[512];
    snprintf(index_names[out_files], sizeof index_names[0], "%03d.bin.gz", out_files);
    snprintf(path, sizeof path, "%s/%03d.bin", out_directory, out_files++);
    out = fopen(path, "wb");
    if (!out) { perror(path); exit(1); }
    fwrite("X86V", 1, 4, out);
    put16(2);
    for (int i = 0; i < 6; i++) put16(default_segs[i]);
    put32(CODE_PAGE + CODE_OFFSET);
    put32(DATA);
    put16((uint32_t) form_count);
    for (int i = 0; i < form_count; i++) {
        put8((uint32_t) strlen(forms[i].name));
        fputs(forms[i].name, out);
    }
    put16(LDT_ENTRIES);
    for (int i = 0; i < LDT_ENTRIES * 2; i++) put32(harness_ldt()[i]);
    memset(previous_regs, 0, sizeof previous_regs);
    out_records = 0;
}

static int has_error_code(int v) {
    return v == 8 || (v >= 10 && v <= 14) || v == 17;
}

static void write_record(const Case *c, const Outcome *o, const uint8_t *before) {
    if (!out || out_records == RECORDS_PER_FILE) open_next_file();
    out_records++;
    put16((uint32_t) c->form);
    put8((uint32_t) c->length);
    fwrite(c->code, 1, (size_t) c->length, out);
    uint32_t m = 0;
    for (int r = 0; r < 8; r++) if (c->regs[r] != previous_regs[r]) m |= 1u << r;
    put8(m);
    for (int r = 0; r < 8; r++) if (m >> r & 1) put32(c->regs[r]);
    memcpy(previous_regs, c->regs, sizeof previous_regs);
    put16(c->flags);
    put16(c->defined);
    m = 0;
    for (int r = 0; r < 6; r++) if (c->segs[r] != default_segs[r]) m |= 1u << r;
    put8(m);
    for (int r = 0; r < 6; r++) if (m >> r & 1) put16(c->segs[r]);
    put8(c->unchecked);
    put8((uint32_t) c->patch_count);
    for (int i = 0; i < c->patch_count; i++) {
        put16(c->patches[i].offset);
        put8(c->patches[i].length);
        fwrite(c->patches[i].bytes, 1, c->patches[i].length, out);
    }
    put8((uint32_t) o->trap);
    put32(o->eip);
    if (has_error_code(o->trap)) put32(o->error);
    if (o->trap == 14) put32(o->cr2);
    /* A register not compared is not recorded either (RDTSC's would change every run). */
    m = 0;
    for (int r = 0; r < 8; r++) if (o->regs[r] != c->regs[r] && !(c->unchecked >> r & 1)) m |= 1u << r;
    put8(m);
    for (int r = 0; r < 8; r++) if (m >> r & 1) put32(o->regs[r]);
    put32(o->eflags);
    m = 0;
    for (int r = 0; r < 6; r++) if (o->segs[r] != c->segs[r]) m |= 1u << r;
    put8(m);
    for (int r = 0; r < 6; r++) if (m >> r & 1) put16(o->segs[r]);
    /* Runs of changed bytes, at most 255 long. */
    int size = (DATA_PAGES - 1) * 4096, runs = 0;
    long count_at = ftell(out);
    put16(0);
    for (int i = 0; i < size;) {
        if (o->data_after[i] == before[i]) { i++; continue; }
        int j = i;
        while (j < size && j - i < 255 && o->data_after[j] != before[j]) j++;
        put16((uint32_t) i);
        put8((uint32_t) (j - i));
        fwrite(o->data_after + i, 1, (size_t) (j - i), out);
        runs++;
        i = j;
    }
    long end = ftell(out);
    fseek(out, count_at, SEEK_SET);
    put16((uint32_t) runs);
    fseek(out, end, SEEK_SET);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: gen OUTPUT-DIRECTORY\n");
        return 2;
    }
    out_directory = argv[1];
    build_forms();
    pristine_fill(pristine);
    harness_init();
    for (int i = 0; i < 6; i++) default_segs[i] = harness_selectors()[i];
    static Case c;
    static Outcome o;
    static uint8_t before[(DATA_PAGES - 1) * 4096];
    long total = 0, skipped = 0;
    for (int i = 0; i < form_count; i++) {
        for (int k = 0; k < forms[i].count; k++) {
            while (!generate(i, &c)) {
            }
            harness_run(&c, &o);
            if (o.trap == TRAP_TIMEOUT) {
                skipped++;
                continue;
            }
            memcpy(before, pristine, sizeof before);
            for (int p = 0; p < c.patch_count; p++) {
                memcpy(before + c.patches[p].offset, c.patches[p].bytes, c.patches[p].length);
            }
            write_record(&c, &o, before);
            total++;
        }
    }
    fclose(out);
    char path[512];
    snprintf(path, sizeof path, "%s/index.txt", out_directory);
    FILE *index = fopen(path, "w");
    for (int i = 0; i < out_files; i++) fprintf(index, "%s\n", index_names[i]);
    fclose(index);
    fprintf(stderr, "gen: %d forms, %ld vectors in %d files, %ld timed out and skipped\n", form_count, total,
            out_files, skipped);
    return 0;
}
