// The long-arithmetic fast paths of Float80 (FADD/FSUB, FMUL, FDIV, FSQRT, FST m32/m64,
// FIST and FRNDINT of normal numbers) against the exact BigInteger arithmetic they stand in for: the same result,
// exception flags and rounding direction (C1) for random operands chosen to hit the
// hard cases (carries out of the significand, cancellation, halfway ties, sticky bits
// far below, results at the edge of the exponent range), in every rounding and
// precision control setting, masked and unmasked.
package dev.lguest.cpu.interpreter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class Float80FastPathTest {
    private static final int CASES = 60_000;

    /** A normal number with a significand that is random, or mostly ones, or mostly zeros. */
    private static Float80 normal(Random random, int exponent) {
        long m = switch (random.nextInt(4)) {
            case 0 -> -1L << random.nextInt(64);
            case 1 -> Float80.INTEGER_BIT | (1L << random.nextInt(63));
            case 2 -> -1L ^ (1L << random.nextInt(63));
            default -> random.nextLong();
        };
        return Float80.of(random.nextBoolean(), exponent, m | Float80.INTEGER_BIT);
    }

    private static int exponent(Random random) {
        return switch (random.nextInt(4)) {
            case 0 -> 1 + random.nextInt(200);
            case 1 -> 0x7ffe - random.nextInt(200);
            default -> 16383 - 100 + random.nextInt(200);
        };
    }

    /** Rounding control, precision control (the reserved 01 too), and UE/OE masked or not. */
    private static int control(Random random) {
        return 0x0040 | 0x27 | (random.nextBoolean() ? 0x18 : 0) | random.nextInt(4) << 8 | random.nextInt(4) << 10;
    }

    private static void assertSame(String what, Float80.Env fast, Float80 got, Float80.Env exact, Float80 want) {
        assertEquals(want, got, what);
        assertEquals(exact.flags, fast.flags, what + " flags");
        assertEquals(exact.roundedUp, fast.roundedUp, what + " C1");
    }

    @Test
    void addAndSubtractAgreeWithExactArithmetic() {
        Random random = new Random(80);
        int fastOnes = 0;
        for (int i = 0; i < CASES; i++) {
            Float80 a = normal(random, exponent(random));
            // Exponent differences from none to far beyond the significand, often small.
            int d = random.nextInt(3) == 0 ? random.nextInt(200) : random.nextInt(4);
            int eb = Math.max(1, Math.min(0x7ffe, a.exponent() + (random.nextBoolean() ? d : -d)));
            Float80 b = random.nextInt(8) == 0 ? a.negate() : normal(random, eb);
            boolean subtract = random.nextBoolean();
            int control = control(random);
            Float80.Env fast = new Float80.Env(control), exact = new Float80.Env(control);
            Float80 got = Float80.add(fast, a, b, subtract);
            Float80 want = Float80.addExact(exact, a, subtract ? b.negate() : b);
            assertSame(a + (subtract ? " - " : " + ") + b + " cw=" + Integer.toHexString(control), fast, got, exact,
                    want);
            if (Float80.addNormals(new Float80.Env(control), a, subtract ? b.negate() : b) != null) {
                fastOnes++;
            }
        }
        // Most cases must really take the fast path, or this test checks nothing new.
        assertTrue(fastOnes > CASES / 2, "fast path taken in " + fastOnes + " cases");
    }

    @Test
    void multiplyAgreesWithExactArithmetic() {
        Random random = new Random(81);
        for (int i = 0; i < CASES; i++) {
            Float80 a = normal(random, exponent(random));
            // Exponents that sum near the normal range's edges as well as well inside it.
            int eb = random.nextBoolean() ? 16383 - (a.exponent() - 16383) + random.nextInt(100) - 50
                    : exponent(random);
            Float80 b = normal(random, Math.max(1, Math.min(0x7ffe, eb)));
            int control = control(random);
            Float80.Env fast = new Float80.Env(control), exact = new Float80.Env(control);
            Float80 got = Float80.multiply(fast, a, b);
            Float80 want = Float80.multiplyExact(exact, a, b);
            assertSame(a + " * " + b + " cw=" + Integer.toHexString(control), fast, got, exact, want);
        }
    }

    @Test
    void divideAgreesWithExactArithmetic() {
        Random random = new Random(83);
        for (int i = 0; i < CASES; i++) {
            Float80 a = normal(random, exponent(random));
            int eb = random.nextBoolean() ? a.exponent() + random.nextInt(100) - 50 : exponent(random);
            // Equal, nearly equal and exactly dividing significands too.
            Float80 b = switch (random.nextInt(6)) {
                case 0 -> a.withSign(random.nextBoolean());
                case 1 -> Float80.of(random.nextBoolean(), eb, a.m() - 1 | Float80.INTEGER_BIT);
                case 2 -> Float80.of(random.nextBoolean(), eb, Float80.INTEGER_BIT);
                default -> normal(random, eb);
            };
            b = Float80.of(b.negative(), Math.max(1, Math.min(0x7ffe, b.exponent())), b.m());
            int control = control(random);
            Float80.Env fast = new Float80.Env(control), exact = new Float80.Env(control);
            Float80 got = Float80.divide(fast, a, b);
            Float80 want = Float80.divideExact(exact, a, b);
            assertSame(a + " / " + b + " cw=" + Integer.toHexString(control), fast, got, exact, want);
        }
    }

    @Test
    void integerStoresAndRoundingAgreeWithExactArithmetic() {
        Random random = new Random(84);
        int[] widths = {16, 32, 64};
        for (int i = 0; i < CASES; i++) {
            // From far below 1/2 to beyond 2^63, often near a width's limit, often a tie.
            int exponent = switch (random.nextInt(4)) {
                case 0 -> 16383 - 3 + random.nextInt(8);
                case 1 -> 16383 + 13 + random.nextInt(6);
                case 2 -> 16383 + 29 + random.nextInt(6);
                default -> 16383 - 70 + random.nextInt(140);
            };
            Float80 a = normal(random, exponent);
            if (random.nextInt(4) == 0) {
                // Exactly halfway between two integers, where the rounding control decides.
                int e = Math.max(0, Math.min(62, exponent - 16383));
                long m = (a.m() & (-1L << (62 - e))) | (1L << (62 - e));
                a = Float80.of(a.negative(), exponent, m | Float80.INTEGER_BIT);
            }
            int control = control(random);
            int rc = random.nextInt(4), bits = widths[random.nextInt(3)];
            Float80.Env fast = new Float80.Env(control), exact = new Float80.Env(control);
            String what = a + " to int" + bits + " rc=" + rc;
            assertEquals(Float80.toLongExact(exact, a, bits, rc), Float80.toLong(fast, a, bits, rc), what);
            assertEquals(exact.flags, fast.flags, what + " flags");
            assertEquals(exact.roundedUp, fast.roundedUp, what + " C1");
            if (a.exponent() < 16383 + 63) {
                Float80.Env fastRound = new Float80.Env(control), exactRound = new Float80.Env(control);
                assertSame("FRNDINT " + a + " cw=" + Integer.toHexString(control), fastRound,
                        Float80.roundToInteger(fastRound, a), exactRound, Float80.roundToIntegerExact(exactRound, a));
            }
        }
    }

    @Test
    void squareRootAgreesWithExactArithmetic() {
        Random random = new Random(85);
        for (int i = 0; i < CASES; i++) {
            Float80 a = normal(random, exponent(random)).withSign(false);
            if (random.nextInt(4) == 0) {
                // A perfect square (exact root), or one unit either side of it.
                long k = random.nextLong() >>> 32 | 0x8000_0000L;
                a = Float80.of(false, a.exponent(), k * k + random.nextInt(3) - 1 | Float80.INTEGER_BIT);
            } else if (random.nextInt(8) == 0) {
                a = Float80.of(false, a.exponent(), -1L); // the largest significand
            }
            int control = control(random);
            Float80.Env fast = new Float80.Env(control), exact = new Float80.Env(control);
            assertSame("sqrt " + a + " cw=" + Integer.toHexString(control), fast, Float80.sqrt(fast, a), exact,
                    Float80.sqrtExact(exact, a));
        }
    }

    @Test
    void storesToSingleAndDoubleAgreeWithExactRounding() {
        Random random = new Random(82);
        for (int i = 0; i < CASES; i++) {
            int size = random.nextBoolean() ? 4 : 8;
            int bias = size == 4 ? 127 : 1023, fractionBits = size == 4 ? 23 : 52;
            // Around the destination's own exponent range, where the fast path gives up.
            Float80 a = normal(random, 16383 + random.nextInt(2 * bias + 40) - bias - 20);
            int control = control(random);
            Float80.Env fast = new Float80.Env(control), exact = new Float80.Env(control);
            Float80 got = Float80.roundNormalized(fast, a.negative(), a.m(), 0, false, a.exponent() - 16383,
                    fractionBits + 1, 1 - bias, bias);
            if (got == null) {
                continue;
            }
            Float80 want = Float80.round(exact, a.negative(), a.magnitude(), a.scale(), fractionBits + 1, 1 - bias,
                    bias, 1 - bias - fractionBits, false);
            assertSame(a + " to " + size + " bytes cw=" + Integer.toHexString(control), fast, got, exact, want);
        }
    }
}
