/*
 * The x87 half of the differential test: runs one x87 instruction at a time on this
 * machine's FPU and records the FPU state before and after it, as FSAVE images.
 *
 * Each case is a stub in a code page at CODE_PAGE: set EFLAGS and EAX, FRSTOR the
 * case's 108-byte image, then the instruction at CODE_PAGE + CODE_OFFSET (so the FPU
 * instruction pointer is the same address the Java test runs it at), FNSAVE, and store
 * EAX (for FNSTSW AX) and EFLAGS (for FCOMI). Memory operands are absolute addresses in
 * the data page at DATA, like the Java test's. Input states never hold an unmasked
 * exception flag, so no instruction raises #MF here; the unmasked exceptions an
 * instruction raises show as ES in the saved status word. FISTTP (SSE3) is left out:
 * the emulated i686 does not have it.
 *
 * Output: x87-NNN.bin files in the vector directory. Deterministic: a fixed seed.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "harness.h"

#define OPERAND (DATA + 0x100u)
#define IN_IMAGE (DATA + 0x400u)
#define OUT_IMAGE (DATA + 0x500u)
#define EAX_OUT (DATA + 0x600u)
#define FLAGS_OUT (DATA + 0x604u)
#define PER_FILE 12000

typedef struct {
    const char *name;
    uint8_t prefix;   /* 0x66 or 0 */
    uint8_t opcode;   /* D8-DF */
    int8_t reg;       /* memory form: reg field; register form: -1 */
    uint8_t modrm;    /* register form: ModRM (low 3 bits randomised if stack_i) */
    uint8_t stack_i;  /* the low 3 bits name ST(i) */
    uint8_t operand;  /* memory operand kind, see below */
    int count;
} Form;

enum { NONE, F32, F64, F80, I16, I32, I64, BCD, ENV32, ENV16, SAVE32, SAVE16, M16 };
static const int operand_size[] = {0, 4, 8, 10, 2, 4, 8, 10, 28, 14, 108, 94, 2};

static Form forms[200];
static int form_count;
static uint32_t rng = 0x87654321u;

static uint32_t rnd(void) { return xorshift32(&rng); }
static uint64_t rnd64(void) { return ((uint64_t) rnd() << 32) | rnd(); }

static void mem(const char *name, uint8_t prefix, uint8_t opcode, int reg, int operand, int count) {
    forms[form_count++] = (Form){name, prefix, opcode, (int8_t) reg, 0, 0, (uint8_t) operand, count};
}

static void regf(const char *name, uint8_t opcode, uint8_t modrm, int stack_i, int count) {
    forms[form_count++] = (Form){name, 0, opcode, -1, modrm, (uint8_t) stack_i, NONE, count};
}

static void define_forms(void) {
    static const char *arith[] = {"FADD", "FMUL", "FCOM", "FCOMP", "FSUB", "FSUBR", "FDIV", "FDIVR"};
    static char names[200][40];
    int n = 0;
    static const struct { uint8_t op; int kind; const char *suffix; } groups[] = {
        {0xd8, F32, "m32"}, {0xdc, F64, "m64"}, {0xda, I32, "m32int"}, {0xde, I16, "m16int"}};
    for (int g = 0; g < 4; g++) {
        for (int r = 0; r < 8; r++) {
            snprintf(names[n], 40, "%s%s %s", groups[g].kind >= I16 ? "FI" : "", arith[r] + (groups[g].kind >= I16 ? 1 : 0),
                     groups[g].suffix);
            mem(names[n++], 0, groups[g].op, r, groups[g].kind, 1500);
        }
    }
    for (int r = 0; r < 8; r++) {
        if (r == 2 || r == 3) {
            snprintf(names[n], 40, "%s ST(i)", arith[r]);
            regf(names[n++], 0xd8, 0xc0 | r << 3, 1, 800);
            continue;
        }
        snprintf(names[n], 40, "%s ST0,ST(i)", arith[r]);
        regf(names[n++], 0xd8, 0xc0 | r << 3, 1, 1500);
        snprintf(names[n], 40, "%s ST(i),ST0", arith[r]);
        regf(names[n++], 0xdc, 0xc0 | r << 3, 1, 1000);
        snprintf(names[n], 40, "%sP ST(i),ST0", arith[r]);
        regf(names[n++], 0xde, 0xc0 | r << 3, 1, 800);
    }
    mem("FLD m32", 0, 0xd9, 0, F32, 1000);
    mem("FST m32", 0, 0xd9, 2, F32, 1500);
    mem("FSTP m32", 0, 0xd9, 3, F32, 800);
    mem("FLDENV m28", 0, 0xd9, 4, ENV32, 500);
    mem("FLDCW m16", 0, 0xd9, 5, M16, 500);
    mem("FNSTENV m28", 0, 0xd9, 6, ENV32, 300);
    mem("FNSTCW m16", 0, 0xd9, 7, M16, 100);
    mem("FILD m32", 0, 0xdb, 0, I32, 500);
    mem("FIST m32", 0, 0xdb, 2, I32, 1500);
    mem("FISTP m32", 0, 0xdb, 3, I32, 500);
    mem("FLD m80", 0, 0xdb, 5, F80, 1000);
    mem("FSTP m80", 0, 0xdb, 7, F80, 500);
    mem("FLD m64", 0, 0xdd, 0, F64, 1000);
    mem("FST m64", 0, 0xdd, 2, F64, 1500);
    mem("FSTP m64", 0, 0xdd, 3, F64, 800);
    mem("FRSTOR m108", 0, 0xdd, 4, SAVE32, 500);
    mem("FNSAVE m108", 0, 0xdd, 6, SAVE32, 300);
    mem("FNSTSW m16", 0, 0xdd, 7, M16, 100);
    mem("FILD m16", 0, 0xdf, 0, I16, 500);
    mem("FIST m16", 0, 0xdf, 2, I16, 1000);
    mem("FISTP m16", 0, 0xdf, 3, I16, 500);
    mem("FBLD m80", 0, 0xdf, 4, BCD, 800);
    mem("FILD m64", 0, 0xdf, 5, I64, 500);
    mem("FBSTP m80", 0, 0xdf, 6, BCD, 1500);
    mem("FISTP m64", 0, 0xdf, 7, I64, 1500);
    mem("FLDENV m14", 0x66, 0xd9, 4, ENV16, 300);
    mem("FNSTENV m14", 0x66, 0xd9, 6, ENV16, 200);
    mem("FRSTOR m94", 0x66, 0xdd, 4, SAVE16, 300);
    mem("FNSAVE m94", 0x66, 0xdd, 6, SAVE16, 200);

    regf("FLD ST(i)", 0xd9, 0xc0, 1, 500);
    regf("FXCH ST(i)", 0xd9, 0xc8, 1, 500);
    regf("FNOP", 0xd9, 0xd0, 0, 100);
    regf("FCHS", 0xd9, 0xe0, 0, 300);
    regf("FABS", 0xd9, 0xe1, 0, 300);
    regf("FTST", 0xd9, 0xe4, 0, 500);
    regf("FXAM", 0xd9, 0xe5, 0, 800);
    static const char *consts[] = {"FLD1", "FLDL2T", "FLDL2E", "FLDPI", "FLDLG2", "FLDLN2", "FLDZ"};
    for (int k = 0; k < 7; k++) {
        regf(consts[k], 0xd9, 0xe8 + k, 0, 200);
    }
    static const char *group7[] = {"F2XM1", "FYL2X", "FPTAN", "FPATAN", "FXTRACT", "FPREM1", "FDECSTP", "FINCSTP",
                                   "FPREM", "FYL2XP1", "FSQRT", "FSINCOS", "FRNDINT", "FSCALE", "FSIN", "FCOS"};
    for (int k = 0; k < 16; k++) {
        int count = (k == 6 || k == 7) ? 200 : 1500;
        regf(group7[k], 0xd9, 0xf0 + k, 0, count);
    }
    static const char *fcmov[] = {"FCMOVB", "FCMOVE", "FCMOVBE", "FCMOVU", "FCMOVNB", "FCMOVNE", "FCMOVNBE", "FCMOVNU"};
    for (int k = 0; k < 8; k++) {
        regf(fcmov[k], k < 4 ? 0xda : 0xdb, 0xc0 | (k & 3) << 3, 1, 300);
    }
    regf("FUCOMPP", 0xda, 0xe9, 0, 800);
    regf("FNCLEX", 0xdb, 0xe2, 0, 200);
    regf("FNINIT", 0xdb, 0xe3, 0, 100);
    regf("FUCOMI ST(i)", 0xdb, 0xe8, 1, 800);
    regf("FCOMI ST(i)", 0xdb, 0xf0, 1, 800);
    regf("FFREE ST(i)", 0xdd, 0xc0, 1, 200);
    regf("FST ST(i)", 0xdd, 0xd0, 1, 300);
    regf("FSTP ST(i)", 0xdd, 0xd8, 1, 300);
    regf("FUCOM ST(i)", 0xdd, 0xe0, 1, 800);
    regf("FUCOMP ST(i)", 0xdd, 0xe8, 1, 500);
    regf("FCOMPP", 0xde, 0xd9, 0, 500);
    regf("FNSTSW AX", 0xdf, 0xe0, 0, 200);
    regf("FUCOMIP ST(i)", 0xdf, 0xe8, 1, 500);
    regf("FCOMIP ST(i)", 0xdf, 0xf0, 1, 500);
}

/* ---- operand values: the special cases first, then random ones ---- */

static void put80(uint8_t *p, uint16_t se, uint64_t m) {
    memcpy(p, &m, 8);
    memcpy(p + 8, &se, 2);
}

/* An extended value from the interesting classes. */
static void random80(uint8_t *p) {
    uint16_t sign = (rnd() & 1) ? 0x8000 : 0;
    uint64_t m = rnd64() | 0x8000000000000000ull;
    uint32_t r = rnd() % 40;
    uint16_t e;
    switch (r) {
    case 0: put80(p, sign, 0); return;                                         /* zero */
    case 1: put80(p, sign, rnd64() >> (rnd() % 64)); return;                   /* denormal */
    case 2: put80(p, sign, m); return;                                         /* pseudo-denormal */
    case 3: put80(p, sign | 0x7fff, 0x8000000000000000ull); return;            /* infinity */
    case 4: put80(p, sign | 0x7fff, m | 0x4000000000000000ull); return;        /* QNaN */
    case 5: put80(p, sign | 0x7fff, (m & ~0x4000000000000000ull) | 1); return; /* SNaN */
    case 6: put80(p, 0xffff, 0xc000000000000000ull); return;                   /* indefinite */
    case 7: put80(p, sign | (1 + rnd() % 0x7ffe), m >> 1); return;             /* unnormal */
    case 8: put80(p, sign | 0x7fff, rnd64() >> 1); return;                     /* pseudo-NaN / pseudo-infinity */
    case 9: put80(p, sign | (1 + rnd() % 80), m); return;                      /* tiny normal */
    case 10: put80(p, sign | (0x7ffe - rnd() % 80), m); return;                /* huge normal */
    case 11: put80(p, sign | (0x3fff + rnd() % 64), m & ~(rnd64() >> (rnd() % 64))); return; /* integers-ish */
    case 12: put80(p, sign | 0x3fff, 0x8000000000000000ull | (rnd() & 1)); return; /* near one */
    case 13: put80(p, sign | (0x3fff - 1 + rnd() % 3), m); return;
    case 14: put80(p, sign | (0x3c00 + rnd() % 0x800), m); return;
    case 15: put80(p, sign | (0x3fff + 60 + rnd() % 8), m); return;            /* near 2^63 */
    default:
        e = (uint16_t) (0x3fff - 70 + rnd() % 140);
        if ((rnd() & 3) == 0) {
            m &= ~0ull << (rnd() % 64);                                        /* short significands */
        }
        put80(p, sign | e, m);
        return;
    }
}

static uint64_t random_ieee(int size) {
    int fb = size == 4 ? 23 : 52, eb = size == 4 ? 8 : 11;
    uint64_t sign = (uint64_t) (rnd() & 1) << (fb + eb);
    uint64_t frac = rnd64() & ((1ull << fb) - 1);
    uint64_t emax = (1ull << eb) - 1, bias = emax >> 1;
    uint64_t e;
    switch (rnd() % 12) {
    case 0: e = 0; frac = 0; break;
    case 1: e = 0; frac >>= rnd() % fb; break;
    case 2: e = emax; frac = 0; break;
    case 3: e = emax; frac |= 1; break;
    case 4: e = 1 + rnd() % 3; break;
    case 5: e = emax - 1 - rnd() % 3; break;
    default: e = bias - 40 + rnd() % 80; break;
    }
    return sign | e << fb | frac;
}

static void random_operand(int kind, uint8_t *p) {
    uint64_t v;
    switch (kind) {
    case F32: v = random_ieee(4); memcpy(p, &v, 4); break;
    case F64: v = random_ieee(8); memcpy(p, &v, 8); break;
    case F80: random80(p); break;
    case I16: case I32: case I64:
        v = rnd64() >> (rnd() % 64);
        if (rnd() & 1) v = -v;
        if (rnd() % 8 == 0) v = (rnd() & 1) ? 0 : (1ull << (operand_size[kind] * 8 - 1));
        memcpy(p, &v, operand_size[kind]);
        break;
    case BCD:
        for (int i = 0; i < 9; i++) {
            p[i] = (uint8_t) ((rnd() % 10) << 4 | (rnd() % 10));
        }
        p[9] = (rnd() & 1) ? 0x80 : 0;
        break;
    case M16: v = rnd(); memcpy(p, &v, 2); break;
    default: for (int i = 0; i < operand_size[kind]; i++) p[i] = (uint8_t) rnd(); break;
    }
}

/* A state with no unmasked exception pending, so the instruction itself cannot raise #MF. */
static void random_state(uint8_t *img) {
    /* Every precision control setting, the reserved 01 included. */
    static const uint16_t pcs[] = {0, 1, 2, 3};
    uint16_t cw = 0x0040 | (uint16_t) (pcs[rnd() % 4] << 8) | (uint16_t) ((rnd() % 4) << 10);
    cw |= (rnd() % 3 == 0) ? (rnd() & 0x3f) : 0x3f;
    uint16_t sw = (uint16_t) ((rnd() & 0x4700) | ((rnd() & 7) << 11));
    sw |= (uint16_t) (rnd() & cw & 0x3f);
    uint16_t tw = 0;
    for (int r = 0; r < 8; r++) {
        tw |= (uint16_t) (((rnd() % 4) == 0 ? 3 : 0) << (2 * r));
    }
    memset(img, 0, 108);
    memcpy(img, &cw, 2);
    memcpy(img + 4, &sw, 2);
    memcpy(img + 8, &tw, 2);
    for (int i = 0; i < 8; i++) {
        random80(img + 28 + 10 * i);
    }
}

/* ---- running one case ---- */

static uint8_t *code, *data;
static uint16_t cs_sel, ds_sel;

static void on_fpe(int signo) {
    fprintf(stderr, "x87gen: unexpected signal %d\n", signo);
    exit(2);
}

static void emit32(uint8_t **p, uint32_t v) {
    memcpy(*p, &v, 4);
    *p += 4;
}

/* Builds the stub around the instruction and calls it. */
static void run(const uint8_t *insn, int length, uint32_t flags, uint32_t eax) {
    uint8_t *p = code + CODE_OFFSET - 17;
    *p++ = 0xb8; emit32(&p, eax);                           /* mov eax, imm32 */
    *p++ = 0x68; emit32(&p, flags | 0x202);                 /* push imm32 */
    *p++ = 0x9d;                                            /* popfd */
    *p++ = 0xdd; *p++ = 0x25; emit32(&p, IN_IMAGE);         /* frstor [IN] */
    memcpy(p, insn, length);
    p += length;
    *p++ = 0xdd; *p++ = 0x35; emit32(&p, OUT_IMAGE);        /* fnsave [OUT] */
    *p++ = 0xa3; emit32(&p, EAX_OUT);                       /* mov [EAX_OUT], eax */
    *p++ = 0x9c;                                            /* pushfd */
    *p++ = 0x8f; *p++ = 0x05; emit32(&p, FLAGS_OUT);        /* pop dword [FLAGS_OUT] */
    *p++ = 0xc3;                                            /* ret */
    ((void (*)(void)) (uintptr_t) (CODE_PAGE + CODE_OFFSET - 17))();
}

/*
 * Runs a case until two runs in a row leave the same results. A preemption between the
 * instruction and FNSAVE makes the 64-bit kernel save and restore this FPU state with
 * XSAVE/XRSTOR, which keeps the pointers' offsets but zeroes the FCS and FDS selectors
 * (seen once in 124,300 cases): such a run is not what the instruction did.
 */
static void run_until_steady(const uint8_t *insn, int length, uint32_t flags, uint32_t eax, const uint8_t *in,
                             const uint8_t *operand, int osize) {
    uint8_t previous[0x510];
    for (int attempt = 0; attempt < 10; attempt++) {
        memset(data + 0x100, 0, 0x200);
        memcpy(data + 0x100, operand, (size_t) osize);
        memcpy(data + 0x400, in, 108);
        memset(data + 0x500, 0, 0x108);
        run(insn, length, flags, eax);
        if (attempt > 0 && memcmp(previous, data + 0x100, sizeof previous) == 0) {
            return;
        }
        memcpy(previous, data + 0x100, sizeof previous);
    }
    fprintf(stderr, "x87gen: a case gives a different result every run\n");
    exit(2);
}

static FILE *out;
static int file_index, in_file;
static const char *directory;

static void w8(int v) { fputc(v & 0xff, out); }
static void w16(int v) { w8(v); w8(v >> 8); }
static void w32(uint32_t v) { w16((int) v); w16((int) (v >> 16)); }

static void open_file(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/x87-%03d.bin", directory, file_index++);
    out = fopen(path, "wb");
    if (!out) {
        perror(path);
        exit(1);
    }
    fwrite("X87V", 1, 4, out);
    w16(1);
    w16(cs_sel);
    w16(ds_sel);
    w32(CODE_PAGE + CODE_OFFSET);
    w32(OPERAND);
    w16(form_count);
    for (int f = 0; f < form_count; f++) {
        w8((int) strlen(forms[f].name));
        fwrite(forms[f].name, 1, strlen(forms[f].name), out);
    }
    in_file = 0;
}

int main(int argc, char **argv) {
    directory = argc > 1 ? argv[1] : ".";
    mmap((void *) (uintptr_t) CODE_PAGE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    mmap((void *) (uintptr_t) DATA, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    code = (uint8_t *) (uintptr_t) CODE_PAGE;
    data = (uint8_t *) (uintptr_t) DATA;
    memset(code, 0xcc, 4096);
    signal(SIGFPE, on_fpe);
    signal(SIGILL, on_fpe);
    signal(SIGSEGV, on_fpe);
    __asm__ volatile("mov %%cs,%0; mov %%ds,%1" : "=m"(cs_sel), "=m"(ds_sel));
    define_forms();
    FILE *index = NULL;
    {
        char path[512];
        snprintf(path, sizeof path, "%s/x87-index.txt", directory);
        index = fopen(path, "w");
    }
    open_file();
    int total = 0;
    for (int f = 0; f < form_count; f++) {
        Form *form = &forms[f];
        for (int k = 0; k < form->count; k++) {
            if (in_file == PER_FILE) {
                fclose(out);
                open_file();
            }
            uint8_t insn[12];
            int length = 0;
            if (form->prefix) insn[length++] = form->prefix;
            insn[length++] = form->opcode;
            if (form->reg >= 0) {
                insn[length++] = (uint8_t) (form->reg << 3 | 5);
                memcpy(insn + length, &(uint32_t){OPERAND}, 4);
                length += 4;
            } else {
                insn[length++] = (uint8_t) (form->modrm | (form->stack_i ? rnd() % 8 : 0));
            }
            uint8_t in[108], operand[108];
            random_state(in);
            int osize = operand_size[form->operand];
            random_operand(form->operand, operand);
            if (form->operand == SAVE32 || form->operand == SAVE16 || form->operand == ENV32 || form->operand == ENV16) {
                /* A plausible image to load: a random state written in the right layout. */
                uint8_t st[108];
                random_state(st);
                if (rnd() % 4 == 0) {
                    st[4] |= (uint8_t) (rnd() & 0x3f); /* pending flags, maybe unmasked */
                }
                if (form->operand == SAVE32 || form->operand == ENV32) {
                    memcpy(operand, st, 108);
                    for (int i = 12; i < 28; i++) operand[i] = (uint8_t) rnd();
                } else {
                    for (int i = 0; i < 3; i++) memcpy(operand + 2 * i, st + 4 * i, 2);
                    for (int i = 6; i < 14; i++) operand[i] = (uint8_t) rnd();
                    memcpy(operand + 14, st + 28, 80);
                }
            }
            if (form->operand == M16 && form->reg == 5) {
                /* FLDCW: a control word that may unmask pending flags. */
                operand[1] = (uint8_t) ((operand[1] & 0x0f) | 0x00);
            }
            uint32_t flags = rnd() & 0x8d5;
            uint32_t eax = rnd();
            run_until_steady(insn, length, flags, eax, in, operand, osize);
            uint32_t eax_out, flags_out;
            memcpy(&eax_out, data + 0x600, 4);
            memcpy(&flags_out, data + 0x604, 4);
            w16(f);
            w8(length);
            fwrite(insn, 1, (size_t) length, out);
            w32(flags);
            w32(eax);
            fwrite(in, 1, 108, out);
            w8(osize);
            fwrite(operand, 1, (size_t) osize, out);
            fwrite(data + 0x500, 1, 108, out);
            fwrite(data + 0x100, 1, (size_t) osize, out);
            w32(flags_out);
            w32(eax_out);
            in_file++;
            total++;
        }
        fprintf(index, "%-16s %d\n", form->name, form->count);
    }
    fclose(out);
    fclose(index);
    printf("%d x87 vectors in %d files\n", total, file_index);
    return 0;
}
