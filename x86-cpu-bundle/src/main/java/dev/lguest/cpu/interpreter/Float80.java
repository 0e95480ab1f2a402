// The x87's 80-bit extended-precision number (sign, 15-bit biased exponent, 64-bit
// significand with an explicit integer bit) and exact IEEE arithmetic on it. Every
// operation first works out the exact result (or the exact result with a sticky bit for
// the bits below) as a BigInteger times a power of two, then one rounding routine turns
// that into the destination format under the control word's rounding and precision
// control. Doubles are never used: they would lose the 11 extra significand bits the x87
// keeps. Speed is secondary here; integer code never comes through this class.
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

    private static boolean roundsUp(boolean negative, boolean odd, int versusHalf, int rc) {
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
        return roundRegister(env, negative, a.magnitude().multiply(b.magnitude()), a.scale() + b.scale());
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
        BigInteger q = toInteger(env, a, env.rc());
        if (q.signum() == 0) {
            return zero(a.negative());
        }
        return encode(a.negative(), q.abs(), 0);
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
        Float80 r = round(env, a.negative(), a.magnitude(), a.scale(), p, 1 - bias, bias, 1 - bias - fractionBits,
                false);
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
