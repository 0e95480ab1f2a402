/*
 * What the native harness and the case generator share: the address-space layout that
 * the Java test mirrors, one test case, one recorded outcome, and the seeded PRNG that
 * fills the data buffer (the Java test implements the same xorshift32 to rebuild it).
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stdint.h>

#define CODE_PAGE 0x20000000u
/* The instruction sits mid-page so that short branches both ways land on INT3. */
#define CODE_OFFSET 0x800u
#define DATA 0x10000000u
/* Two read-write pages and a read-only one; inaccessible pages on both sides. */
#define DATA_PAGES 3
/* An inaccessible page for branch targets that must fault on fetch. */
#define FAR_AWAY 0x30000000u
#define PRISTINE_SEED 0x2545f491u

/* CF PF AF ZF SF DF OF: what a case sets and what the comparison can look at. */
#define FLAGS_SETTABLE 0xcd5u
/* IF and IOPL, which a ring-3 POPF or IRET must leave alone: compared for those forms. */
#define FLAGS_SYSTEM 0x3200u
/* The LDT the harness installs with modify_ldt (see harness.c). */
#define LDT_ENTRIES 9
#define TRAP_TIMEOUT 0xff

typedef struct {
    uint16_t offset;
    uint8_t length;
    uint8_t bytes[64];
} Patch;

typedef struct {
    int form;
    uint8_t code[16];
    int length;
    uint32_t regs[8];
    uint32_t flags;
    int patch_count;
    Patch patches[4];
    /* The flags the manual defines for this instruction and these operands. */
    uint32_t defined;
    /* CS SS DS ES FS GS as the case starts (RPL 3 or null 0, which is what sigreturn
     * loads), and the registers whose outcome is not compared (CPUID's
     * and RDTSC's results depend on the machine and the moment, only the fault is). */
    uint16_t segs[6];
    uint8_t unchecked;
} Case;

typedef struct {
    uint32_t regs[8];
    uint32_t eflags, eip, error, cr2;
    int trap;
    uint16_t segs[6];
    uint8_t data_after[(DATA_PAGES - 1) * 4096];
} Outcome;

static inline uint32_t xorshift32(uint32_t *state) {
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

/* The data buffer's contents before every case (patches aside): little-endian words. */
static inline void pristine_fill(uint8_t *buffer) {
    uint32_t state = PRISTINE_SEED;
    for (int i = 0; i < DATA_PAGES * 4096; i += 4) {
        uint32_t w = xorshift32(&state);
        buffer[i] = (uint8_t) w;
        buffer[i + 1] = (uint8_t) (w >> 8);
        buffer[i + 2] = (uint8_t) (w >> 16);
        buffer[i + 3] = (uint8_t) (w >> 24);
    }
}

void harness_init(void);
void harness_run(const Case *c, Outcome *out);
const uint16_t *harness_selectors(void);
/* The LDT's descriptors as the CPU sees them (accessed bits included), low word first. */
const uint32_t *harness_ldt(void);

#endif
