// The x87's 80-bit extended-precision number (sign, 15-bit biased exponent, 64-bit
// significand with an explicit integer bit) and exact IEEE arithmetic on it. Every
// operation first works out the exact result (or the exact result with a sticky bit for
// the bits below) as a BigInteger times a power of two, then one rounding routine turns
// that into the destination format under the control word's rounding and precision
// control. Doubles are never used: they would lose the 11 extra significand bits the x87
// keeps. What FPU-heavy guests do most (FADD/FSUB, FMUL, FDIV, FSQRT, FST m32/m64, FIST
// and FRNDINT of normal numbers with normal results) takes a fast path in 128-bit long
// arithmetic instead, checked against the exact path by Float80FastPathTest; everything
// else stays exact and simple. The x87's commonest instructions go one step further
// (X87FastForms with FastFloat80: the same arithmetic on primitives, no objects at all)
// and come here only for what that does not take.
package dev.lguest.cpu.interpreter;

import java.math.BigInteger;

record Float80(int se, long m) {
    // Exception flags, as in the status and control words.
    static final int IE = 0x01, DE = 0x02, ZE = 0x04, OE = 0x08, UE = 0x10, PE = 0x20, SF = 0x40;

    static final long INTEGER_BIT = 0x8000_0000_0000_0000L, QUIET_BIT = 0x4000_0000_0000_0000L;
    static final Float80 POSITIVE_ZERO = new Float80(0, 0), NEGATIVE_ZERO = new Float80(0x8000, 0);
    static final Float80 ONE = new Float80(0x3fff, INTEGER_BIT);
    /** The "real indefinite" QNaN the masked invalid-operation response produces. */
    static final Float80 INDEFINITE = new Float80(0xffff, 0xc000_0000_0000_0000L);
    /** Extended exponent limits: unbiased exponents of normal numbers, and of a denormal's last bit. */
    static final int EMIN = -16382, EMAX = 16383, LSB_MIN = -16445;
    /** How far an unmasked overflow or underflow scales a register result (2^24576). */
    static final int BIAS_ADJUST = 24576;
    /**
     * When a result is "tiny" for the underflow exception: the P6 family and later x87s
     * decide after rounding (to the precision, with an unbounded exponent).
     */
    static final boolean TININESS_AFTER_ROUNDING = true;

    /**
     * What one operation needs from the control word and what it reports back: the
     * exception flags raised and whether the result was rounded up (C1).
     */
    static final class Env {
        int control;
        int flags;
        boolean roundedUp;
        /** A stack fault was a push onto a full register (C1 = 1), not a read of an empty one. */
        boolean stackOverflow;

        Env(int control) {
            this.control = control;
        }

        int rc() {
            return (control >>> 10) & 3;
        }

        /** The precision-control setting in bits: 24, 53 or 64 (the reserved setting acts as 64). */
        int precision() {
            return switch ((control >>> 8) & 3) {
                case 0 -> 24;
                case 2 -> 53;
                default -> 64;
            };
        }

        boolean masked(int flag) {
            return (control & flag) != 0;
        }
    }

    static Float80 of(boolean negative, int exponent, long significand) {
        return new Float80((negative ? 0x8000 : 0) | exponent, significand);
    }

    static Float80 zero(boolean negative) {
        return negative ? NEGATIVE_ZERO : POSITIVE_ZERO;
    }

    static Float80 infinity(boolean negative) {
        return of(negative, 0x7fff, INTEGER_BIT);
    }

    boolean negative() {
        return (se & 0x8000) != 0;
    }

    int exponent() {
        return se & 0x7fff;
    }

    Float80 withSign(boolean negative) {
        return new Float80((se & 0x7fff) | (negative ? 0x8000 : 0), m);
    }

    Float80 negate() {
        return new Float80(se ^ 0x8000, m);
    }

    boolean isZero() {
        return exponent() == 0 && m == 0;
    }

    /** Denormals and the P6's pseudo-denormals (exponent 0 with the integer bit set). */
    boolean isDenormal() {
        return exponent() == 0 && m != 0;
    }

    boolean isInfinity() {
        return exponent() == 0x7fff && m == INTEGER_BIT;
    }

    boolean isNaN() {
        return exponent() == 0x7fff && m < 0 && (m << 1) != 0;
    }

    boolean isSignalingNaN() {
        return isNaN() && (m & QUIET_BIT) == 0;
    }

    /** Unnormals, pseudo-NaNs and pseudo-infinities: the integer bit clear with a nonzero exponent. */
    boolean isUnsupported() {
        return exponent() != 0 && m >= 0;
    }

    /** A finite number the arithmetic can take: zero, denormal or normal. */
    boolean isFinite() {
        return exponent() != 0x7fff && !isUnsupported();
    }

    Float80 quiet() {
        return new Float80(se, m | QUIET_BIT);
    }

    /** The magnitude's significand as an exact integer (finite values). */
    BigInteger magnitude() {
        return unsigned(m);
    }

    /** The power of two the magnitude is scaled by; exponent 0 counts as 1 (denormals). */
    int scale() {
        return Math.max(exponent(), 1) - 16383 - 63;
    }

    static BigInteger unsigned(long value) {
        BigInteger b = BigInteger.valueOf(value & Long.MAX_VALUE);
        return value < 0 ? b.setBit(63) : b;
    }

    // ---- rounding: the one place an exact value becomes a representable one ----

    /**
     * Rounds ±mag·2^exp to {@code p} significant bits within the exponent range
     * [emin, emax], with denormals down to a last bit of 2^lsbMin, and returns it as an
     * extended value. A register result (scaled) takes the unmasked underflow/overflow
     * response of scaling by 2^∓24576; a memory destination reports them and the caller
     * drops the store.
     */
    static Float80 round(Env env, boolean negative, BigInteger mag, int exp, int p, int emin, int emax, int lsbMin,
            boolean register) {
        if (mag.signum() == 0) {
            env.roundedUp = false;
            return zero(negative);
        }
        int rc = env.rc();
        int e = exp + mag.bitLength() - 1;
        int lsb = e - (p - 1);
        boolean tiny = false;
        if (e < emin) {
            tiny = !TININESS_AFTER_ROUNDING || roundedBitLength(negative, mag, exp, lsb, rc) <= p;
            if (tiny && register && !env.masked(UE)) {
                env.flags |= UE;
                return round(env, negative, mag, exp + BIAS_ADJUST, p, emin, emax, lsbMin, false);
            }
            // Denormals keep the precision's bits counted from the smallest normal's
            // leading bit, so reduced precision control cuts them shorter too.
            lsb = Math.max(lsb, emin - (p - 1));
        }
        int shift = lsb - exp;
        BigInteger q;
        boolean inexact = false, up = false;
        if (shift <= 0) {
            q = mag.shiftLeft(-shift);
        } else {
            q = mag.shiftRight(shift);
            BigInteger rest = mag.subtract(q.shiftLeft(shift));
            if (rest.signum() != 0) {
                inexact = true;
                up = roundsUp(negative, q.testBit(0), rest.shiftLeft(1).compareTo(BigInteger.ONE.shiftLeft(shift)),
                        rc);
                if (up) {
                    q = q.add(BigInteger.ONE);
                }
            }
        }
        if (q.signum() != 0 && lsb + q.bitLength() - 1 > emax) {
            if (register && !env.masked(OE)) {
                env.flags |= OE;
                return round(env, negative, mag, exp - BIAS_ADJUST, p, emin, emax, lsbMin, false);
            }
            env.flags |= OE | PE;
            boolean toInfinity = rc == 0 || (rc == 1 && negative) || (rc == 2 && !negative);
            env.roundedUp = toInfinity;
            if (toInfinity) {
                return infinity(negative);
            }
            // The largest finite number of this precision.
            return of(negative, emax + 16383, -1L << (64 - p));
        }
        if (inexact) {
            env.flags |= PE;
            if (tiny) {
                env.flags |= UE;
            }
        }
        env.roundedUp = up;
        if (q.signum() == 0) {
            return zero(negative);
        }
        return encode(negative, q, lsb);
    }

    static boolean roundsUp(boolean negative, boolean odd, int versusHalf, int rc) {
        return switch (rc) {
            case 0 -> versusHalf > 0 || (versusHalf == 0 && odd);
            case 1 -> negative;
            case 2 -> !negative;
            default -> false;
        };
    }

    /** The bit length of mag rounded at 2^lsb (no exponent limit): p + 1 when rounding carries. */
    private static int roundedBitLength(boolean negative, BigInteger mag, int exp, int lsb, int rc) {
        int shift = lsb - exp;
        if (shift <= 0) {
            return mag.bitLength() - shift;
        }
        BigInteger q = mag.shiftRight(shift);
        BigInteger rest = mag.subtract(q.shiftLeft(shift));
        if (rest.signum() != 0
                && roundsUp(negative, q.testBit(0), rest.shiftLeft(1).compareTo(BigInteger.ONE.shiftLeft(shift)), rc)) {
            q = q.add(BigInteger.ONE);
        }
        return q.bitLength();
    }

    /** ±q·2^lsb, exactly representable in the extended format. */
    static Float80 encode(boolean negative, BigInteger q, int lsb) {
        int msb = lsb + q.bitLength() - 1;
        if (msb >= EMIN) {
            return of(negative, msb + 16383, q.shiftLeft(63 - (msb - lsb)).longValue());
        }
        return of(negative, 0, q.shiftLeft(lsb - LSB_MIN).longValue());
    }

    // ---- the fast path: normal operands and results in long arithmetic ----

    /**
     * round() for the common case, without BigInteger: ±(hi:lo)·2^(e-127), a 128-bit
     * significand with hi's top bit set (its leading bit is worth 2^e), {@code sticky}
     * for nonzero bits below lo, rounded to p bits. Returns null, touching nothing, when
     * the result would not be a normal number within [emin, emax]: round() then handles
     * the denormals, overflow and the unmasked responses.
     */
    static Float80 roundNormalized(Env env, boolean negative, long hi, long lo, boolean sticky, int e, int p, int emin,
            int emax) {
        if (e < emin || e > emax) {
            return null;
        }
        long q;
        int versusHalf;
        boolean inexact;
        if (p == 64) {
            q = hi;
            inexact = lo != 0 || sticky;
            versusHalf = lo == Long.MIN_VALUE ? (sticky ? 1 : 0) : (Long.compareUnsigned(lo, Long.MIN_VALUE) > 0 ? 1 : -1);
        } else {
            q = hi >>> (64 - p);
            long rest = hi & ((1L << (64 - p)) - 1), half = 1L << (63 - p);
            inexact = rest != 0 || lo != 0 || sticky;
            versusHalf = rest == half ? (lo != 0 || sticky ? 1 : 0) : (rest > half ? 1 : -1);
        }
        boolean up = inexact && roundsUp(negative, (q & 1) != 0, versusHalf, env.rc());
        if (up) {
            q++;
            if (p == 64 ? q == 0 : q == 1L << p) {
                // Rounding carried into a new leading bit: 1.000... of the next binade.
                q = 1L << (p - 1);
                if (++e > emax) {
                    return null;
                }
            }
        }
        if (inexact) {
            env.flags |= PE;
        }
        env.roundedUp = up;
        return of(negative, e + 16383, q << (64 - p));
    }

    /** Normal and not unsupported: exponent 1..7ffe with the integer bit set. */
    boolean isNormal() {
        int e = exponent();
        return e != 0 && e != 0x7fff && m < 0;
    }

    /** a + b of two normal numbers in 128-bit long arithmetic, or null to take the exact path. */
    static Float80 addNormals(Env env, Float80 a, Float80 b) {
        int c = a.exponent() != b.exponent() ? Integer.compare(a.exponent(), b.exponent())
                : Long.compareUnsigned(a.m, b.m);
        if (c < 0) {
            Float80 t = a;
            a = b;
            b = t;
        }
        // |a| >= |b|; b's significand shifted into place below a's, the bits lost sticky.
        int d = a.exponent() - b.exponent();
        long hiB, loB;
        boolean sticky;
        if (d == 0) {
            hiB = b.m;
            loB = 0;
            sticky = false;
        } else if (d < 64) {
            hiB = b.m >>> d;
            loB = b.m << (64 - d);
            sticky = false;
        } else if (d < 128) {
            hiB = 0;
            loB = d == 64 ? b.m : b.m >>> (d - 64);
            sticky = d != 64 && b.m << (128 - d) != 0;
        } else {
            hiB = 0;
            loB = 0;
            sticky = true;
        }
        int e = a.exponent() - 16383;
        long hi, lo;
        if (a.negative() == b.negative()) {
            lo = loB;
            long sum = a.m + hiB;
            boolean carry = Long.compareUnsigned(sum, a.m) < 0;
            hi = sum;
            if (carry) {
                sticky |= (lo & 1) != 0;
                lo = (lo >>> 1) | (hi << 63);
                hi = (hi >>> 1) | Long.MIN_VALUE;
                e++;
            }
        } else {
            // a - b; a sticky b is a little more than shown, so the difference a little less.
            lo = -loB;
            long borrow = loB != 0 ? 1 : 0;
            hi = a.m - hiB - borrow;
            if (sticky) {
                if (lo == 0) {
                    hi--;
                }
                lo--;
            }
            if (hi == 0 && lo == 0) {
                return zero(env.rc() == 1);
            }
            int shift = hi != 0 ? Long.numberOfLeadingZeros(hi) : 64 + Long.numberOfLeadingZeros(lo);
            if (shift >= 64) {
                hi = lo << (shift - 64);
                lo = 0;
            } else if (shift > 0) {
                hi = (hi << shift) | (lo >>> (64 - shift));
                lo <<= shift;
            }
            e -= shift;
        }
        return roundNormalized(env, a.negative(), hi, lo, sticky, e, env.precision(), EMIN, EMAX);
    }

    /** Rounds an exact ±mag·2^exp to an extended register result at the control word's precision. */
    static Float80 roundRegister(Env env, boolean negative, BigInteger mag, int exp) {
        return round(env, negative, mag, exp, env.precision(), EMIN, EMAX, LSB_MIN, true);
    }

    /** Rounds to the full 64-bit precision (what every instruction but the basic five uses). */
    static Float80 roundExtended(Env env, boolean negative, BigInteger mag, int exp) {
        return round(env, negative, mag, exp, 64, EMIN, EMAX, LSB_MIN, true);
    }

    // ---- operands: NaNs, unsupported formats and denormals, in the x87's priority ----

    /**
     * The result when an operand is a NaN or unsupported, or null to go on. Invalid
     * formats and signaling NaNs raise IE; two NaNs give the one with the larger
     * significand, a QNaN beats an SNaN, and the result is always quiet.
     */
    static Float80 nanOperands(Env env, Float80 a, Float80 b) {
        if (a.isUnsupported() || (b != null && b.isUnsupported())) {
            env.flags |= IE;
            return INDEFINITE;
        }
        boolean an = a.isNaN(), bn = b != null && b.isNaN();
        if (!an && !bn) {
            return null;
        }
        if (a.isSignalingNaN() || (bn && b.isSignalingNaN())) {
            env.flags |= IE;
        }
        if (!bn) {
            return a.quiet();
        }
        if (!an) {
            return b.quiet();
        }
        boolean as = a.isSignalingNaN(), bs = b.isSignalingNaN();
        if (as != bs) {
            return as ? b.quiet() : a.quiet();
        }
        int c = Long.compareUnsigned(a.m & ~QUIET_BIT, b.m & ~QUIET_BIT);
        if (c == 0) {
            return (a.negative() ? b : a).quiet();
        }
        return (c > 0 ? a : b).quiet();
    }

    static void denormalOperands(Env env, Float80 a, Float80 b) {
        if (a.isDenormal() || (b != null && b.isDenormal())) {
            env.flags |= DE;
        }
    }

    static Float80 invalid(Env env) {
        env.flags |= IE;
        return INDEFINITE;
    }

    // ---- the basic arithmetic ----

    static Float80 add(Env env, Float80 a, Float80 b, boolean subtract) {
        Float80 nan = nanOperands(env, a, b);
        if (nan != null) {
            return nan;
        }
        if (subtract) {
            b = b.negate();
        }
        if (a.isInfinity() || b.isInfinity()) {
            if (a.isInfinity() && b.isInfinity() && a.negative() != b.negative()) {
                return invalid(env);
            }
            denormalOperands(env, a, b);
            return a.isInfinity() ? a : b;
        }
        denormalOperands(env, a, b);
        if (a.isZero() && b.isZero()) {
            boolean negative = a.negative() == b.negative() ? a.negative() : env.rc() == 1;
            return zero(negative);
        }
        if (a.isZero()) {
            return roundRegister(env, b.negative(), b.magnitude(), b.scale());
        }
        if (b.isZero()) {
            return roundRegister(env, a.negative(), a.magnitude(), a.scale());
        }
        if (a.isNormal() && b.isNormal()) {
            Float80 fast = addNormals(env, a, b);
            if (fast != null) {
                return fast;
            }
        }
        return addExact(env, a, b);
    }

    /** a + b of two nonzero finite numbers in exact BigInteger arithmetic (and the fast path's reference). */
    static Float80 addExact(Env env, Float80 a, Float80 b) {
        BigInteger ma = a.magnitude(), mb = b.magnitude();
        int ea = a.scale(), eb = b.scale();
        // A far smaller operand only matters as a sticky bit below the larger one's precision.
        int msbA = ea + ma.bitLength(), msbB = eb + mb.bitLength();
        if (msbA - msbB > 140) {
            mb = BigInteger.ONE;
            eb = msbA - 140;
        } else if (msbB - msbA > 140) {
            ma = BigInteger.ONE;
            ea = msbB - 140;
        }
        int exp = Math.min(ea, eb);
        BigInteger sa = ma.shiftLeft(ea - exp), sb = mb.shiftLeft(eb - exp);
        if (a.negative()) {
            sa = sa.negate();
        }
        if (b.negative()) {
            sb = sb.negate();
        }
        BigInteger sum = sa.add(sb);
        if (sum.signum() == 0) {
            return zero(env.rc() == 1);
        }
        return roundRegister(env, sum.signum() < 0, sum.abs(), exp);
    }

    static Float80 multiply(Env env, Float80 a, Float80 b) {
        Float80 nan = nanOperands(env, a, b);
        if (nan != null) {
            return nan;
        }
        boolean negative = a.negative() != b.negative();
        if (a.isInfinity() || b.isInfinity()) {
            if (a.isZero() || b.isZero()) {
                return invalid(env);
            }
            denormalOperands(env, a, b);
            return infinity(negative);
        }
        denormalOperands(env, a, b);
        if (a.isZero() || b.isZero()) {
            return zero(negative);
        }
        if (a.isNormal() && b.isNormal()) {
            // The 128-bit product of the significands, its leading bit at 127 or 126.
            long hi = Math.unsignedMultiplyHigh(a.m, b.m), lo = a.m * b.m;
            int e = a.exponent() + b.exponent() - 2 * 16383 + 1;
            if (hi >= 0) {
                hi = (hi << 1) | (lo >>> 63);
                lo <<= 1;
                e--;
            }
            Float80 fast = roundNormalized(env, negative, hi, lo, false, e, env.precision(), EMIN, EMAX);
            if (fast != null) {
                return fast;
            }
        }
        return multiplyExact(env, a, b);
    }

    /** a * b of two nonzero finite numbers in exact BigInteger arithmetic (and the fast path's reference). */
    static Float80 multiplyExact(Env env, Float80 a, Float80 b) {
        return roundRegister(env, a.negative() != b.negative(), a.magnitude().multiply(b.magnitude()),
                a.scale() + b.scale());
    }

    static Float80 divide(Env env, Float80 a, Float80 b) {
        Float80 nan = nanOperands(env, a, b);
        if (nan != null) {
            return nan;
        }
        boolean negative = a.negative() != b.negative();
        if (a.isInfinity()) {
            if (b.isInfinity()) {
                return invalid(env);
            }
            denormalOperands(env, a, b);
            return infinity(negative);
        }
        if (b.isInfinity()) {
            denormalOperands(env, a, b);
            return zero(negative);
        }
        if (b.isZero()) {
            if (a.isZero()) {
                return invalid(env);
            }
            // Division by zero outranks a denormal dividend: no DE.
            env.flags |= ZE;
            return infinity(negative);
        }
        denormalOperands(env, a, b);
        if (a.isZero()) {
            return zero(negative);
        }
        if (a.isNormal() && b.isNormal()) {
            Float80 fast = divideNormals(env, a, b);
            if (fast != null) {
                return fast;
            }
        }
        return divideExact(env, a, b);
    }

    /**
     * a / b of two normal numbers: 128 quotient bits from two 128-by-64-bit long
     * divisions and a sticky remainder, or null to take the exact path.
     */
    static Float80 divideNormals(Env env, Float80 a, Float80 b) {
        long[] remainder = new long[1];
        long hi, lo;
        boolean sticky;
        int e = a.exponent() - b.exponent();
        if (Long.compareUnsigned(a.m, b.m) < 0) {
            // ma/mb in [1/2, 1): 64 bits, then 64 more from the remainder.
            hi = divide128(a.m, 0, b.m, remainder);
            lo = divide128(remainder[0], 0, b.m, remainder);
            sticky = remainder[0] != 0;
            e--;
        } else {
            // ma/mb = 1 + (ma - mb)/mb in [1, 2): the leading 1, then the fraction's bits.
            long f1 = divide128(a.m - b.m, 0, b.m, remainder);
            long f2 = divide128(remainder[0], 0, b.m, remainder);
            hi = Long.MIN_VALUE | (f1 >>> 1);
            lo = (f1 << 63) | (f2 >>> 1);
            sticky = (f2 & 1) != 0 || remainder[0] != 0;
        }
        return roundNormalized(env, a.negative() != b.negative(), hi, lo, sticky, e, env.precision(), EMIN, EMAX);
    }

    /**
     * (u1:u0) / v in unsigned 128-by-64-bit arithmetic for a normalized v (top bit set)
     * and u1 < v, so the quotient fits 64 bits; the remainder goes to remainder[0].
     * Knuth's algorithm D on 32-bit digits, as Hacker's Delight's divlu gives it.
     */
    static long divide128(long u1, long u0, long v, long[] remainder) {
        final long base = 1L << 32;
        long v1 = v >>> 32, v0 = v & 0xffff_ffffL;
        long u01 = u0 >>> 32, u00 = u0 & 0xffff_ffffL;
        long q1 = Long.divideUnsigned(u1, v1);
        long rest = u1 - q1 * v1;
        while (Long.compareUnsigned(q1, base) >= 0 || Long.compareUnsigned(q1 * v0, (rest << 32) | u01) > 0) {
            q1--;
            rest += v1;
            if (Long.compareUnsigned(rest, base) >= 0) {
                break;
            }
        }
        long u21 = (u1 << 32) + u01 - q1 * v;
        long q0 = Long.divideUnsigned(u21, v1);
        rest = u21 - q0 * v1;
        while (Long.compareUnsigned(q0, base) >= 0 || Long.compareUnsigned(q0 * v0, (rest << 32) | u00) > 0) {
            q0--;
            rest += v1;
            if (Long.compareUnsigned(rest, base) >= 0) {
                break;
            }
        }
        remainder[0] = (u21 << 32) + u00 - q0 * v;
        return (q1 << 32) + q0;
    }

    /** a / b of two nonzero finite numbers in exact BigInteger arithmetic (and the fast path's reference). */
    static Float80 divideExact(Env env, Float80 a, Float80 b) {
        boolean negative = a.negative() != b.negative();
        BigInteger ma = a.magnitude(), mb = b.magnitude();
        int k = Math.max(0, 72 + mb.bitLength() - ma.bitLength());
        BigInteger[] qr = ma.shiftLeft(k).divideAndRemainder(mb);
        BigInteger q = qr[0].shiftLeft(1);
        if (qr[1].signum() != 0) {
            q = q.setBit(0); // sticky: the quotient goes on below the bits kept
        }
        return roundRegister(env, negative, q, a.scale() - b.scale() - k - 1);
    }

    static Float80 sqrt(Env env, Float80 a) {
        Float80 nan = nanOperands(env, a, null);
        if (nan != null) {
            return nan;
        }
        if (a.isZero()) {
            return a;
        }
        if (a.negative()) {
            return invalid(env);
        }
        denormalOperands(env, a, null);
        if (a.isInfinity()) {
            return a;
        }
        if (a.isNormal()) {
            Float80 fast = sqrtNormal(env, a);
            if (fast != null) {
                return fast;
            }
        }
        return sqrtExact(env, a);
    }

    /**
     * The square root of a positive normal number in long arithmetic: the significand
     * scaled to a 128-bit N in [2^126, 2^128) with an even power of two left over, r =
     * floor(sqrt N) from a double's estimate and one Newton step, corrected to exact; the
     * remainder N - r^2 then says whether the rest is above half (never exactly half).
     * Null (rarely) when the estimate is too far off for the 128-by-64 division.
     */
    static Float80 sqrtNormal(Env env, Float80 a) {
        int e = a.exponent() - 16383;
        // N = m * 2^s with s = 64 for odd e, 63 for even e, so (e - 63 - s) is even.
        boolean odd = (e & 1) != 0;
        long hi = odd ? a.m : a.m >>> 1, lo = odd ? 0 : a.m << 63;
        long r = floorSqrt128(hi, lo, new long[1]);
        if (r == 0) {
            return null;
        }
        int rest = sqrtRest(hi, lo, r);
        boolean exact = rest == SQRT_EXACT;
        boolean aboveHalf = rest == SQRT_ABOVE_HALF;
        int s = odd ? 64 : 63;
        return roundNormalized(env, false, r, aboveHalf ? Long.MIN_VALUE : 0, !exact, 63 + (e - 63 - s) / 2,
                env.precision(), EMIN, EMAX);
    }

    /** What the remainder N - r^2 of a square root says of the rest (sqrtRest). */
    static final int SQRT_EXACT = 0, SQRT_BELOW_HALF = 1, SQRT_ABOVE_HALF = 2;

    /**
     * floor(sqrt N) for a 128-bit N = hi:lo in [2^126, 2^128): a double's estimate, one
     * Newton step, then corrected to exact. 0 (rarely) when the estimate is too far off
     * for the 128-by-64 division; {@code scratch} takes that division's remainder.
     */
    static long floorSqrt128(long hi, long lo, long[] scratch) {
        double estimate = Math.sqrt(unsignedToDouble(hi) * 0x1p64 + unsignedToDouble(lo));
        long r = estimate >= 0x1p63 ? (long) (estimate - 0x1p63) + Long.MIN_VALUE : Long.MIN_VALUE;
        if (Long.compareUnsigned(hi, r) >= 0) {
            return 0;
        }
        long q = divide128(hi, lo, r, scratch);
        r = (r >>> 1) + (q >>> 1) + (r & q & 1);
        r |= Long.MIN_VALUE; // the root of N >= 2^126 is at least 2^63
        // Correct r to floor(sqrt N): r^2 <= N < (r+1)^2.
        while (compare128(Math.unsignedMultiplyHigh(r, r), r * r, hi, lo) > 0) {
            r--;
        }
        while (r != -1L) {
            long next = r + 1;
            if (compare128(Math.unsignedMultiplyHigh(next, next), next * next, hi, lo) > 0) {
                break;
            }
            r = next;
        }
        return r;
    }

    /** The remainder N - r^2 (at most 2r) against r: exact, below or above half (never exactly half). */
    static int sqrtRest(long hi, long lo, long r) {
        long squareLo = r * r;
        long restLo = lo - squareLo;
        long restHi = hi - Math.unsignedMultiplyHigh(r, r) - (Long.compareUnsigned(lo, squareLo) < 0 ? 1 : 0);
        if (restHi == 0 && restLo == 0) {
            return SQRT_EXACT;
        }
        return restHi != 0 || Long.compareUnsigned(restLo, r) > 0 ? SQRT_ABOVE_HALF : SQRT_BELOW_HALF;
    }

    static double unsignedToDouble(long v) {
        return v >= 0 ? v : (v >>> 1) * 2.0;
    }

    static int compare128(long aHi, long aLo, long bHi, long bLo) {
        return aHi != bHi ? Long.compareUnsigned(aHi, bHi) : Long.compareUnsigned(aLo, bLo);
    }

    /** The square root of a positive finite number in BigInteger arithmetic (and the fast path's reference). */
    static Float80 sqrtExact(Env env, Float80 a) {
        BigInteger mag = a.magnitude();
        int exp = a.scale();
        int k = Math.max(0, 160 - mag.bitLength());
        if (((exp - k) & 1) != 0) {
            k++;
        }
        BigInteger wide = mag.shiftLeft(k);
        BigInteger root = wide.sqrt();
        BigInteger q = root.shiftLeft(1);
        if (!root.multiply(root).equals(wide)) {
            q = q.setBit(0);
        }
        return roundRegister(env, false, q, (exp - k) / 2 - 1);
    }

    /**
     * Compares a with b: -1, 0, 1, or 2 for unordered. IE for unsupported formats and
     * signaling NaNs, and for quiet NaNs too unless {@code unordered} (FUCOM).
     */
    static int compare(Env env, Float80 a, Float80 b, boolean unordered) {
        if (a.isUnsupported() || b.isUnsupported()) {
            env.flags |= IE;
            return 2;
        }
        if (a.isNaN() || b.isNaN()) {
            if (!unordered || a.isSignalingNaN() || b.isSignalingNaN()) {
                env.flags |= IE;
            }
            return 2;
        }
        denormalOperands(env, a, b);
        return compareNumbers(a, b);
    }

    /** Orders two non-NaN values (zeros of either sign are equal). */
    static int compareNumbers(Float80 a, Float80 b) {
        if (a.isZero() && b.isZero()) {
            return 0;
        }
        if (a.negative() != b.negative()) {
            return a.negative() ? -1 : 1;
        }
        int c = a.isInfinity() || b.isInfinity() ? Boolean.compare(a.isInfinity(), b.isInfinity())
                : compareMagnitudes(a, b);
        return a.negative() ? -c : c;
    }

    private static int compareMagnitudes(Float80 a, Float80 b) {
        if (a.isZero() || b.isZero()) {
            return a.isZero() ? (b.isZero() ? 0 : -1) : 1;
        }
        int msbA = a.scale() + a.magnitude().bitLength(), msbB = b.scale() + b.magnitude().bitLength();
        if (msbA != msbB) {
            return Integer.compare(msbA, msbB);
        }
        int exp = Math.min(a.scale(), b.scale());
        return a.magnitude().shiftLeft(a.scale() - exp).compareTo(b.magnitude().shiftLeft(b.scale() - exp));
    }

    // ---- integers ----

    /**
     * Rounds a finite value to an integer under the rounding control (or toward zero):
     * the exact integer as a BigInteger with PE and C1 (rounded up) reported in env.
     */
    static BigInteger toInteger(Env env, Float80 a, int rc) {
        if (a.isZero()) {
            env.roundedUp = false;
            return BigInteger.ZERO;
        }
        BigInteger mag = a.magnitude();
        int exp = a.scale();
        BigInteger q;
        boolean up = false;
        if (exp >= 0) {
            q = mag.shiftLeft(exp);
        } else if (-exp > 200) {
            q = BigInteger.ZERO;
            up = roundsUp(a.negative(), false, -1, rc);
            env.flags |= PE;
            if (up) {
                q = BigInteger.ONE;
            }
        } else {
            q = mag.shiftRight(-exp);
            BigInteger rest = mag.subtract(q.shiftLeft(-exp));
            if (rest.signum() != 0) {
                env.flags |= PE;
                up = roundsUp(a.negative(), q.testBit(0), rest.shiftLeft(1).compareTo(BigInteger.ONE.shiftLeft(-exp)),
                        rc);
                if (up) {
                    q = q.add(BigInteger.ONE);
                }
            }
        }
        env.roundedUp = up;
        return a.negative() ? q.negate() : q;
    }

    /** FRNDINT: the value rounded to an integer, as an extended value. */
    static Float80 roundToInteger(Env env, Float80 a) {
        Float80 nan = nanOperands(env, a, null);
        if (nan != null) {
            return nan;
        }
        denormalOperands(env, a, null);
        if (a.isInfinity() || a.isZero() || a.exponent() >= 16383 + 63) {
            return a;
        }
        if (a.isNormal()) {
            long q = roundedMagnitude(env, a, env.rc());
            if (q == 0) {
                return zero(a.negative());
            }
            int lead = Long.numberOfLeadingZeros(q);
            return of(a.negative(), 16383 + 63 - lead, q << lead);
        }
        return roundToIntegerExact(env, a);
    }

    /** FRNDINT of a finite nonzero value below 2^63 in BigInteger arithmetic (and the fast path's reference). */
    static Float80 roundToIntegerExact(Env env, Float80 a) {
        BigInteger q = toInteger(env, a, env.rc());
        if (q.signum() == 0) {
            return zero(a.negative());
        }
        return encode(a.negative(), q.abs(), 0);
    }

    /**
     * toInteger for a normal value below 2^63 in long arithmetic: the magnitude rounded
     * to an integer by {@code rc} (2^63 comes back as Long.MIN_VALUE), PE and C1 in env.
     */
    static long roundedMagnitude(Env env, Float80 a, int rc) {
        int e = a.exponent() - 16383;
        long q, fraction; // fraction: the bits below the integer's, left-aligned (bit 63 is 1/2)
        if (e >= 0) {
            q = a.m >>> (63 - e);
            fraction = e == 63 ? 0 : a.m << (e + 1);
        } else {
            q = 0;
            fraction = e == -1 ? a.m : 1; // below 1/2, just not zero
        }
        boolean inexact = fraction != 0;
        int versusHalf = fraction == Long.MIN_VALUE ? 0 : (Long.compareUnsigned(fraction, Long.MIN_VALUE) > 0 ? 1 : -1);
        boolean up = inexact && roundsUp(a.negative(), (q & 1) != 0, versusHalf, rc);
        if (inexact) {
            env.flags |= PE;
        }
        env.roundedUp = up;
        return up ? q + 1 : q;
    }

    static Float80 fromLong(long value) {
        if (value == 0) {
            return POSITIVE_ZERO;
        }
        boolean negative = value < 0;
        long mag = negative ? -value : value; // Long.MIN_VALUE stays 2^63 as unsigned
        int lead = Long.numberOfLeadingZeros(mag);
        return of(negative, 16383 + 63 - lead, mag << lead);
    }

    /**
     * FIST: the integer of {@code bits} width, or the integer indefinite (the most
     * negative value) with IE for NaNs, infinities and values out of range.
     */
    static long toLong(Env env, Float80 a, int bits, int rc) {
        long indefinite = 1L << (bits - 1);
        if (!a.isFinite()) {
            env.flags |= IE;
            return -indefinite;
        }
        if (a.isNormal() && a.exponent() < 16383 + 63) {
            int flags = env.flags;
            long q = roundedMagnitude(env, a, rc);
            // In range below 2^(bits-1), or exactly -2^(bits-1) (unsigned compares: 2^63 is negative).
            if (Long.compareUnsigned(q, indefinite) < 0 || (a.negative() && q == indefinite)) {
                return a.negative() ? -q : q;
            }
            env.flags = flags | IE; // out of range: no precision exception, just invalid
            env.roundedUp = false;
            return -indefinite;
        }
        return toLongExact(env, a, bits, rc);
    }

    /** FIST of a finite value in BigInteger arithmetic (and the fast path's reference). */
    static long toLongExact(Env env, Float80 a, int bits, int rc) {
        long indefinite = 1L << (bits - 1);
        int flags = env.flags;
        BigInteger q = toInteger(env, a, rc);
        if (q.bitLength() > bits - 1 && !q.equals(BigInteger.valueOf(-indefinite))) {
            env.flags = flags | IE; // out of range: no precision exception, just invalid
            env.roundedUp = false;
            return -indefinite;
        }
        return q.longValue();
    }

    // ---- binary32 and binary64 ----

    /** The exact extended value of an IEEE single or double (sizes 4 and 8); DE for denormals, IE for SNaNs. */
    static Float80 fromIeee(Env env, long bits, int size) {
        int fractionBits = size == 4 ? 23 : 52, exponentBits = size == 4 ? 8 : 11;
        int bias = (1 << (exponentBits - 1)) - 1;
        boolean negative = (bits >>> (size * 8 - 1) & 1) != 0;
        int exponent = (int) (bits >>> fractionBits) & ((1 << exponentBits) - 1);
        long fraction = bits & ((1L << fractionBits) - 1);
        if (exponent == (1 << exponentBits) - 1) {
            if (fraction == 0) {
                return infinity(negative);
            }
            Float80 nan = of(negative, 0x7fff, INTEGER_BIT | (fraction << (63 - fractionBits)));
            if (nan.isSignalingNaN()) {
                env.flags |= IE;
                return nan.quiet();
            }
            return nan;
        }
        if (exponent == 0) {
            if (fraction == 0) {
                return zero(negative);
            }
            env.flags |= DE;
            return encode(negative, BigInteger.valueOf(fraction), 1 - bias - fractionBits);
        }
        return of(negative, exponent - bias + 16383, (INTEGER_BIT | (fraction << (63 - fractionBits))));
    }

    /**
     * FST to a single or double: rounded to its precision and exponent range. Reports
     * OE/UE in env like any rounding; the caller stores nothing if they are unmasked.
     */
    static long toIeee(Env env, Float80 a, int size) {
        int fractionBits = size == 4 ? 23 : 52, exponentBits = size == 4 ? 8 : 11;
        int bias = (1 << (exponentBits - 1)) - 1;
        long signBit = a.negative() ? 1L << (size * 8 - 1) : 0;
        long maxExponent = (1L << exponentBits) - 1;
        Float80 nan = nanOperands(env, a, null);
        if (nan != null) {
            signBit = nan.negative() ? 1L << (size * 8 - 1) : 0;
            return signBit | (maxExponent << fractionBits) | ((nan.m & Long.MAX_VALUE) >>> (63 - fractionBits));
        }
        if (a.isInfinity()) {
            return signBit | (maxExponent << fractionBits);
        }
        if (a.isZero()) {
            return signBit;
        }
        // Stores convert denormals without the denormal-operand exception.
        int p = fractionBits + 1;
        Float80 r = a.isNormal()
                ? roundNormalized(env, a.negative(), a.m, 0, false, a.exponent() - 16383, p, 1 - bias, bias) : null;
        if (r == null) {
            r = round(env, a.negative(), a.magnitude(), a.scale(), p, 1 - bias, bias, 1 - bias - fractionBits, false);
        }
        if (r.isInfinity()) {
            return signBit | (maxExponent << fractionBits);
        }
        if (r.isZero()) {
            return signBit;
        }
        int unbiased = r.exponent() - 16383;
        if (unbiased >= 1 - bias) {
            return signBit | ((long) (unbiased + bias) << fractionBits) | ((r.m & Long.MAX_VALUE) >>> (63 - fractionBits));
        }
        // A denormal of the destination: the significand shifted down to its fixed exponent.
        int shift = 63 - fractionBits + (1 - bias - unbiased);
        return signBit | (r.m >>> shift);
    }

    // ---- packed BCD ----

    static Float80 fromBcd(byte[] bcd) {
        long value = 0;
        for (int i = 8; i >= 0; i--) {
            int b = bcd[i] & 0xff;
            value = value * 100 + (b >>> 4) * 10 + (b & 15);
        }
        Float80 r = fromLong(value);
        return (bcd[9] & 0x80) != 0 ? r.withSign(true) : r;
    }

    /** FBSTP: 18 decimal digits and a sign, or the BCD indefinite with IE. */
    static byte[] toBcd(Env env, Float80 a) {
        byte[] out = new byte[10];
        BigInteger q = null;
        if (a.isFinite()) {
            int flags = env.flags;
            q = toInteger(env, a, env.rc());
            if (q.abs().compareTo(BigInteger.TEN.pow(18)) >= 0) {
                env.flags = flags;
                env.roundedUp = false;
                q = null;
            }
        }
        if (q == null) {
            env.flags |= IE;
            out[9] = (byte) 0xff;
            out[8] = (byte) 0xff;
            out[7] = (byte) 0xc0;
            return out;
        }
        long v = q.abs().longValue();
        for (int i = 0; i < 9; i++) {
            int low = (int) (v % 10);
            v /= 10;
            int high = (int) (v % 10);
            v /= 10;
            out[i] = (byte) (high << 4 | low);
        }
        out[9] = (byte) (a.negative() ? 0x80 : 0);
        return out;
    }
}
