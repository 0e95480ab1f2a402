/*
 * x87: floating point on the x87 unit (the i686 build has no SSE): a Mandelbrot set
 * (multiplications, additions, comparisons), a series for pi (divisions), and
 * square roots (fsqrt). The checksum is built from the results' bits, so a wrong
 * rounding shows.
 */
#include "rt.h"

static u32 mandelbrot(int size, int limit)
{
        u32 inside = 0;
        for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                        double cr = -2.0 + 2.5 * x / size, ci = -1.25 + 2.5 * y / size;
                        double zr = 0, zi = 0;
                        int i = 0;
                        while (i < limit && zr * zr + zi * zi <= 4.0) {
                                double t = zr * zr - zi * zi + cr;
                                zi = 2 * zr * zi + ci;
                                zr = t;
                                i++;
                        }
                        inside += (u32)i;
                }
        }
        return inside;
}

static double leibniz(u32 terms)
{
        double sum = 0, sign = 1;
        for (u32 k = 0; k < terms; k++) {
                sum += sign / (2.0 * k + 1.0);
                sign = -sign;
        }
        return 4 * sum;
}

static double roots(u32 count)
{
        double sum = 0;
        for (u32 k = 1; k <= count; k++)
                sum += __builtin_sqrt((double)k);
        return sum;
}

static u32 bits(double d)
{
        union { double d; u32 w[2]; } u = { d };
        return u.w[0] ^ u.w[1];
}

int bench_main(int argc, char **argv)
{
        u32 scale = bench_scale(argc, argv), sum = 0;
        bench_start();
        for (u32 round = 0; round < scale; round++) {
                sum += mandelbrot(200, 200);
                sum ^= bits(leibniz(1000000 + round));
                sum += bits(roots(500000 + round));
        }
        bench_report("x87", sum);
        return 0;
}
