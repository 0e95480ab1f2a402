// FastFloat80, the x87's arithmetic on primitives, against Float80's general code on
// many random operands: whenever a FastFloat80 operation answers (true), its result,
// flags and C1 must be Float80's to the bit, in every rounding and precision control
// setting; and it must answer for most normal operands, or the fast path is not one.
// Operands are random bit patterns as well as normal numbers with hard significands
// (all ones, single bits, a double's or a single's width, ties) at every distance of
// exponents, with zeros, denormals, infinities, NaNs and unsupported formats mixed in.
package dev.lguest.cpu.interpreter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class FastFloat80Test {
    private static final int CASES = 200_000;

    private static long significand(Random random) {
        return switch (random.nextInt(7)) {
            case 0 -> Long.MIN_VALUE;
            case 1 -> -1L;
            case 2 -> -1L << random.nextInt(64);
            case 3 -> Long.MIN_VALUE | random.nextLong() & (-1L << 11);
            case 4 -> Long.MIN_VALUE | random.nextLong() & (-1L << 40);
            case 5 -> Long.MIN_VALUE | (1L << random.nextInt(63)) | (random.nextBoolean() ? 1 : 0);
            default -> random.nextLong() | Long.MIN_VALUE;
        };
    }

    /** Mostly normal numbers near each other or near the range's ends; sometimes anything at all. */
    private static Float80 operand(Random random, int near) {
        int sign = random.nextBoolean() ? 0x8000 : 0;
        return switch (random.nextInt(16)) {
            case 0 -> new Float80(random.nextInt(0x10000), random.nextLong());
            case 1 -> new Float80(sign, 0);
            case 2 -> new Float80(sign, random.nextLong() >>> random.nextInt(64));
            case 3 -> new Float80(sign | 0x7fff, Long.MIN_VALUE);
            default -> {
                int e = switch (random.nextInt(4)) {
                    case 0 -> 1 + random.nextInt(80);
                    case 1 -> 0x7ffe - random.nextInt(80);
                    case 2 -> near + random.nextInt(9) - 4;
                    default -> near + random.nextInt(161) - 80;
                };
                yield new Float80(sign | Math.max(1, Math.min(0x7ffe, e)), significand(random));
            }
        };
    }

    private static int control(Random random) {
        return 0x40 | 0x3f | random.nextInt(4) << 8 | random.nextInt(4) << 10;
    }

    private static void check(String what, boolean answered, FastFloat80 f, Float80.Env env, Float80 want) {
        if (answered) {
            assertEquals(want, new Float80(f.se, f.m), what);
            assertEquals(env.flags, f.flags, what + " flags");
            assertEquals(env.roundedUp, f.roundedUp, what + " C1");
        }
    }

    @Test
    void arithmeticAgreesWithTheGeneralCode() {
        Random random = new Random(8087);
        FastFloat80 f = new FastFloat80();
        int answered = 0;
        for (int n = 0; n < CASES; n++) {
            Float80 a = operand(random, 0x3fff - 200 + random.nextInt(400));
            Float80 b = operand(random, a.exponent() == 0 ? 0x3fff : a.exponent());
            int control = control(random);
            String what = a + " op " + b + " cw=" + Integer.toHexString(control);
            int operation = random.nextInt(5);
            Float80.Env env = new Float80.Env(control);
            boolean ok;
            switch (operation) {
                case 0, 1 -> {
                    ok = f.add(control, a.se(), a.m(), b.se(), b.m(), operation == 1);
                    check(what + (operation == 1 ? " sub" : " add"), ok, f, env,
                            Float80.add(env, a, b, operation == 1));
                }
                case 2 -> {
                    ok = f.multiply(control, a.se(), a.m(), b.se(), b.m());
                    check(what + " mul", ok, f, env, Float80.multiply(env, a, b));
                }
                case 3 -> {
                    ok = f.divide(control, a.se(), a.m(), b.se(), b.m());
                    check(what + " div", ok, f, env, Float80.divide(env, a, b));
                }
                default -> {
                    ok = f.sqrt(control, a.se(), a.m());
                    check(what + " sqrt", ok, f, env, Float80.sqrt(env, a));
                }
            }
            if (ok) {
                answered++;
            }
        }
        assertTrue(answered > CASES / 2, "answered only " + answered);
    }

    @Test
    void comparesAgreeWithTheGeneralCode() {
        Random random = new Random(8088);
        for (int n = 0; n < CASES; n++) {
            Float80 a = operand(random, 0x3fff);
            Float80 b = random.nextInt(8) == 0 ? a.withSign(random.nextBoolean()) : operand(random, a.exponent());
            int got = FastFloat80.compare(a.se(), a.m(), b.se(), b.m());
            if (got != 2) {
                Float80.Env env = new Float80.Env(0x37f);
                assertEquals(Float80.compare(env, a, b, false), got, a + " vs " + b);
                assertEquals(0, env.flags, a + " vs " + b + " flags");
            }
        }
    }

    @Test
    void conversionsAgreeWithTheGeneralCode() {
        Random random = new Random(8089);
        FastFloat80 f = new FastFloat80();
        for (int n = 0; n < CASES; n++) {
            int control = control(random);
            int size = random.nextBoolean() ? 4 : 8;
            long bits = switch (random.nextInt(3)) {
                case 0 -> random.nextLong();
                case 1 -> Double.doubleToRawLongBits(random.nextGaussian() * Math.pow(2, random.nextInt(2200) - 1100));
                default -> Float.floatToRawIntBits((float) (random.nextGaussian() * Math.pow(2, random.nextInt(300) - 150)));
            };
            if (size == 4) {
                bits &= 0xffff_ffffL;
            }
            Float80.Env env = new Float80.Env(control);
            Float80 loaded = Float80.fromIeee(env, bits, size);
            if (f.fromIeee(bits, size)) {
                assertEquals(loaded, new Float80(f.se, f.m), Long.toHexString(bits));
                assertEquals(0, env.flags, Long.toHexString(bits) + " flags");
            }
            Float80 a = operand(random, random.nextBoolean() ? 0x3fff + random.nextInt(70) : 0x3fff - 1023);
            Float80.Env store = new Float80.Env(control);
            long stored = Float80.toIeee(store, a, size);
            if (f.toIeee(control, a.se(), a.m(), size)) {
                String what = "FST m" + size * 8 + " " + a + " cw=" + Integer.toHexString(control);
                assertEquals(stored, f.ieeeBits, what);
                assertEquals(store.flags, f.flags, what + " flags");
                assertEquals(store.roundedUp, f.roundedUp, what + " C1");
            }
            int width = new int[] {16, 32, 64}[random.nextInt(3)];
            int rc = random.nextInt(4);
            Float80.Env integer = new Float80.Env(control);
            long value = Float80.toLong(integer, a, width, rc);
            if (f.toInteger(a.se(), a.m(), width, rc)) {
                String what = "FIST m" + width + "int " + a + " rc=" + rc;
                assertEquals(value, f.integer, what);
                assertEquals(integer.flags, f.flags, what + " flags");
                assertEquals(integer.roundedUp, f.roundedUp, what + " C1");
            }
            long any = random.nextLong() >> random.nextInt(64);
            f.fromLong(any);
            assertEquals(Float80.fromLong(any), new Float80(f.se, f.m), "FILD " + any);
        }
    }
}
