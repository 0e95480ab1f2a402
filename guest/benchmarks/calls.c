/*
 * calls: call-heavy code, where every call, return and indirect jump ends a block of
 * straight-line code: naive recursive Fibonacci, a quicksort that compares through a
 * function pointer, and a tiny bytecode machine dispatching each operation through a
 * table of function pointers.
 */
#include "rt.h"

static u32 fibonacci(u32 n)
{
        return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2);
}

typedef int (*compare_fn)(const void *, const void *);

static int compare_ascending(const void *a, const void *b)
{
        u32 x = *(const u32 *)a, y = *(const u32 *)b;
        return x < y ? -1 : x > y;
}

static void quicksort(u32 *v, int low, int high, compare_fn compare)
{
        while (low < high) {
                u32 pivot = v[low + (high - low) / 2];
                int i = low, j = high;
                while (i <= j) {
                        while (compare(&v[i], &pivot) < 0)
                                i++;
                        while (compare(&v[j], &pivot) > 0)
                                j--;
                        if (i <= j) {
                                u32 t = v[i];
                                v[i++] = v[j];
                                v[j--] = t;
                        }
                }
                /* Recurse into the smaller half, loop on the larger. */
                if (j - low < high - i) {
                        quicksort(v, low, j, compare);
                        low = i;
                } else {
                        quicksort(v, i, high, compare);
                        high = j;
                }
        }
}

#define ITEMS 20000
static u32 items[ITEMS];

static u32 sort_round(u32 seed)
{
        for (u32 i = 0; i < ITEMS; i++) {
                seed = seed * 1103515245u + 12345u;
                items[i] = seed >> 8;
        }
        quicksort(items, 0, ITEMS - 1, compare_ascending);
        u32 sum = 0;
        for (u32 i = 0; i < ITEMS; i += 97)
                sum = sum * 31 + items[i];
        return sum;
}

/* The bytecode machine: an accumulator, a counter, and one function per operation. */
struct machine { u32 acc, counter, pc; };
typedef void (*operation)(struct machine *);
static void op_add(struct machine *m) { m->acc += m->counter; m->pc++; }
static void op_xor(struct machine *m) { m->acc ^= m->acc >> 3; m->pc++; }
static void op_mul(struct machine *m) { m->acc *= 2654435761u; m->pc++; }
static void op_dec(struct machine *m) { m->counter--; m->pc++; }
static void op_loop(struct machine *m) { m->pc = m->counter ? 0 : m->pc + 1; }
static const operation operations[] = { op_add, op_xor, op_mul, op_dec, op_loop };
static const unsigned char program[] = { 0, 1, 2, 3, 4 };

static u32 interpret(u32 count)
{
        struct machine m = { 1, count, 0 };
        while (m.pc < sizeof(program))
                operations[program[m.pc]](&m);
        return m.acc;
}

int bench_main(int argc, char **argv)
{
        u32 scale = bench_scale(argc, argv), sum = 0;
        bench_start();
        for (u32 round = 0; round < 4 * scale; round++) {
                sum += fibonacci(27);
                sum ^= sort_round(sum);
                sum += interpret(300000);
        }
        bench_report("calls", sum);
        return 0;
}
