// Float80's arithmetic for the numbers FPU-heavy code actually computes with (normal
// numbers and zeros, with normal results), on primitives: a value is its 16-bit sign and
// exponent word and its 64-bit significand, and an operation leaves its result, the
// exception flags it raised (only PE can be) and whether it rounded up (C1) in this
// object's fields, so nothing is allocated per operation. Every method answers false,
// having decided nothing, for anything else (denormals, infinities, NaNs, unsupported
// formats, a divisor of zero, results that overflow or underflow): the caller then runs
// Float80's general code, which is the reference these methods must agree with to the
// bit (FastFloat80Test, and X87FastPathTest for whole instructions).
//
// The significand arithmetic is the same as Float80's long fast paths: products from
// Math.unsignedMultiplyHigh, sums in 128 bits with a sticky bit, quotients from one
// 128-by-64-bit division whose remainder gives the rounding bit and the sticky bit.
package dev.lguest.cpu.interpreter;

final class FastFloat80 {
    static final long INTEGER_BIT = Long.MIN_VALUE;
    private static final int BIAS = 16383;

    /** The result: sign and biased exponent, and significand. */
    int se;
    long m;
    /** PE if the result was rounded, else 0. */
    int flags;
    /** The rounding went away from zero (C1). */
    boolean roundedUp;

    /** Float80.divide128's remainder, kept here so that a division allocates nothing. */
    private final long[] remainder = new long[1];

    // ---- classes of operands ----

    /** Exponent 1..7ffe with the integer bit set. */
    static boolean isNormal(int se, long m) {
        int e = se & 0x7fff;
        return e != 0 && e != 0x7fff && m < 0;
    }

    static boolean isZero(int se, long m) {
        return (se & 0x7fff) == 0 && m == 0;
    }

    /** Zero or normal: an operand this class computes with. */
    static boolean isNormalOrZero(int se, long m) {
        int e = se & 0x7fff;
        return e == 0 ? m == 0 : e != 0x7fff && m < 0;
    }

    static int precision(int control) {
        return switch ((control >>> 8) & 3) {
            case 0 -> 24;
            case 2 -> 53;
            default -> 64;
        };
    }

    private void zero(boolean negative) {
        se = negative ? 0x8000 : 0;
        m = 0;
        flags = 0;
        roundedUp = false;
    }

    /**
     * Rounds ±(hi:lo)·2^(e-127) (hi's top bit set, its leading bit worth 2^e; any bits
     * below lo folded into lo's lowest bit) to p bits by rounding control rc, as
     * Float80.roundNormalized does. False if the result is not a normal number within
     * [emin, emax].
     */
    private boolean round(int rc, int p, boolean negative, long hi, long lo, int e, int emin, int emax) {
        if (e < emin || e > emax) {
            return false;
        }
        long q;
        int versusHalf;
        boolean inexact;
        if (p == 64) {
            q = hi;
            inexact = lo != 0;
            versusHalf = lo == Long.MIN_VALUE ? 0 : (Long.compareUnsigned(lo, Long.MIN_VALUE) > 0 ? 1 : -1);
        } else {
            q = hi >>> (64 - p);
            long rest = hi & ((1L << (64 - p)) - 1), half = 1L << (63 - p);
            inexact = rest != 0 || lo != 0;
            versusHalf = rest == half ? (lo != 0 ? 1 : 0) : (rest > half ? 1 : -1);
        }
        boolean up = inexact && Float80.roundsUp(negative, (q & 1) != 0, versusHalf, rc);
        if (up) {
            q++;
            if (p == 64 ? q == 0 : q == 1L << p) {
                // Rounding carried into a new leading bit: 1.000... of the next binade.
                q = 1L << (p - 1);
                if (++e > emax) {
                    return false;
                }
            }
        }
        flags = inexact ? Float80.PE : 0;
        roundedUp = up;
        se = (negative ? 0x8000 : 0) | (e + BIAS);
        m = q << (64 - p);
        return true;
    }

    /** Rounds a register result at the control word's precision into the extended range. */
    private boolean roundRegister(int control, boolean negative, long hi, long lo, int e) {
        return round((control >>> 10) & 3, precision(control), negative, hi, lo, e, Float80.EMIN, Float80.EMAX);
    }

    // ---- the basic arithmetic ----

    /** a + b (a - b with {@code subtract}) for normal or zero operands, as Float80.add. */
    boolean add(int control, int seA, long mA, int seB, long mB, boolean subtract) {
        if (!isNormalOrZero(seA, mA) || !isNormalOrZero(seB, mB)) {
            return false;
        }
        if (subtract) {
            seB ^= 0x8000;
        }
        boolean zeroA = mA == 0, zeroB = mB == 0;
        if (zeroA || zeroB) {
            if (zeroA && zeroB) {
                // Zeros of one sign keep it; opposite ones give -0 only rounding down.
                zero(seA == seB ? seA >= 0x8000 : ((control >>> 10) & 3) == 1);
                return true;
            }
            // The other operand, rounded to the precision control's width.
            int se = zeroA ? seB : seA;
            long m = zeroA ? mB : mA;
            return roundRegister(control, se >= 0x8000, m, 0, (se & 0x7fff) - BIAS);
        }
        int expA = seA & 0x7fff, expB = seB & 0x7fff;
        if (expA < expB || (expA == expB && Long.compareUnsigned(mA, mB) < 0)) {
            int t = seA;
            seA = seB;
            seB = t;
            long u = mA;
            mA = mB;
            mB = u;
            expA = seA & 0x7fff;
            expB = seB & 0x7fff;
        }
        // |a| >= |b|; b's significand shifted into place below a's, the bits lost sticky.
        int d = expA - expB;
        long hiB, loB;
        boolean sticky;
        if (d == 0) {
            hiB = mB;
            loB = 0;
            sticky = false;
        } else if (d < 64) {
            hiB = mB >>> d;
            loB = mB << (64 - d);
            sticky = false;
        } else if (d < 128) {
            hiB = 0;
            loB = d == 64 ? mB : mB >>> (d - 64);
            sticky = d != 64 && mB << (128 - d) != 0;
        } else {
            hiB = 0;
            loB = 0;
            sticky = true;
        }
        int e = expA - BIAS;
        boolean negative = seA >= 0x8000;
        long hi, lo;
        if ((seA ^ seB) < 0x8000) {
            lo = loB;
            hi = mA + hiB;
            if (Long.compareUnsigned(hi, mA) < 0) {
                // A carry out of the top: one more bit, the lowest joins the sticky bits.
                sticky |= (lo & 1) != 0;
                lo = (lo >>> 1) | (hi << 63);
                hi = (hi >>> 1) | Long.MIN_VALUE;
                e++;
            }
        } else {
            // a - b; a sticky b is a little more than shown, so the difference a little less.
            lo = -loB;
            hi = mA - hiB - (loB != 0 ? 1 : 0);
            if (sticky) {
                if (lo == 0) {
                    hi--;
                }
                lo--;
            }
            if (hi == 0 && lo == 0) {
                zero(((control >>> 10) & 3) == 1);
                return true;
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
        return roundRegister(control, negative, hi, sticky ? lo | 1 : lo, e);
    }

    /** a * b for normal or zero operands, as Float80.multiply. */
    boolean multiply(int control, int seA, long mA, int seB, long mB) {
        if (!isNormalOrZero(seA, mA) || !isNormalOrZero(seB, mB)) {
            return false;
        }
        boolean negative = ((seA ^ seB) & 0x8000) != 0;
        if (mA == 0 || mB == 0) {
            zero(negative);
            return true;
        }
        // The 128-bit product of the significands, its leading bit at 127 or 126.
        long hi = Math.unsignedMultiplyHigh(mA, mB), lo = mA * mB;
        int e = (seA & 0x7fff) + (seB & 0x7fff) - 2 * BIAS + 1;
        if (hi >= 0) {
            hi = (hi << 1) | (lo >>> 63);
            lo <<= 1;
            e--;
        }
        return roundRegister(control, negative, hi, lo, e);
    }

    /** a / b for a normal or zero dividend and a normal divisor, as Float80.divide. */
    boolean divide(int control, int seA, long mA, int seB, long mB) {
        if (!isNormalOrZero(seA, mA) || !isNormal(seB, mB)) {
            return false;
        }
        boolean negative = ((seA ^ seB) & 0x8000) != 0;
        if (mA == 0) {
            zero(negative);
            return true;
        }
        int e = (seA & 0x7fff) - (seB & 0x7fff);
        long hi, lo;
        if (Long.compareUnsigned(mA, mB) < 0) {
            // mA/mB in [1/2, 1): 64 quotient bits q, then the remainder r < mB says the
            // rest r/mB: at least a half (2r >= mB), exactly a half, or nothing.
            hi = Float80.divide128(mA, 0, mB, remainder);
            long r = remainder[0], other = mB - r;
            lo = (Long.compareUnsigned(r, other) >= 0 ? Long.MIN_VALUE : 0) | (r != 0 && r != other ? 1 : 0);
            e--;
        } else {
            // mA/mB = 1 + (mA - mB)/mB in [1, 2): the leading 1, 64 fraction bits f of
            // which the last becomes the rounding bit, and the remainder's sticky bit.
            long f = Float80.divide128(mA - mB, 0, mB, remainder);
            hi = Long.MIN_VALUE | (f >>> 1);
            lo = (f << 63) | (remainder[0] != 0 ? 1 : 0);
        }
        return roundRegister(control, negative, hi, lo, e);
    }

    /** The square root of a zero or positive normal number, as Float80.sqrt. */
    boolean sqrt(int control, int se, long m) {
        if (m == 0 && (se & 0x7fff) == 0) {
            this.se = se; // the zero itself, either sign
            this.m = 0;
            flags = 0;
            roundedUp = false;
            return true;
        }
        if (se >= 0x8000 || !isNormal(se, m)) {
            return false;
        }
        int e = se - BIAS;
        // N = m * 2^s with s = 64 for odd e, 63 for even e, so (e - 63 - s) is even.
        boolean odd = (e & 1) != 0;
        long hi = odd ? m : m >>> 1, lo = odd ? 0 : m << 63;
        long r = Float80.floorSqrt128(hi, lo, remainder);
        if (r == 0) {
            return false;
        }
        int rest = Float80.sqrtRest(hi, lo, r);
        boolean exact = rest == Float80.SQRT_EXACT;
        boolean aboveHalf = rest == Float80.SQRT_ABOVE_HALF;
        int s = odd ? 64 : 63;
        return roundRegister(control, false, r, (aboveHalf ? Long.MIN_VALUE : 0) | (exact ? 0 : 1),
                63 + (e - 63 - s) / 2);
    }

    /**
     * Orders two values that are each zero, normal or infinite: -1, 0 or 1, or 2 when
     * either is anything else (the caller then takes Float80.compare, which raises the
     * flags NaNs, unsupported formats and denormals call for).
     */
    static int compare(int seA, long mA, int seB, long mB) {
        if (!isOrdinary(seA, mA) || !isOrdinary(seB, mB)) {
            return 2;
        }
        boolean zeroA = mA == 0, zeroB = mB == 0;
        boolean negA = seA >= 0x8000, negB = seB >= 0x8000;
        if (zeroA || zeroB) {
            // Zeros of either sign are equal, and below a positive number, above a negative one.
            return zeroA && zeroB ? 0 : zeroA ? (negB ? 1 : -1) : (negA ? -1 : 1);
        }
        if (negA != negB) {
            return negA ? -1 : 1;
        }
        // Same sign: the magnitudes order by exponent, then significand (infinity's
        // exponent is the largest and its significand the smallest with the integer bit).
        int ea = seA & 0x7fff, eb = seB & 0x7fff;
        int c = ea != eb ? Integer.compare(ea, eb) : Long.compareUnsigned(mA, mB);
        return negA ? -c : c;
    }

    /** Zero, normal or infinity. */
    private static boolean isOrdinary(int se, long m) {
        int e = se & 0x7fff;
        return e == 0 ? m == 0 : e == 0x7fff ? m == INTEGER_BIT : m < 0;
    }

    // ---- conversions ----

    /**
     * The extended value of a single (size 4) or double (size 8) that is normal or zero:
     * exact, no flags. False for denormals, infinities and NaNs.
     */
    boolean fromIeee(long bits, int size) {
        int fractionBits = size == 4 ? 23 : 52, exponentBits = size == 4 ? 8 : 11;
        int bias = (1 << (exponentBits - 1)) - 1;
        int sign = (int) (bits >>> (size * 8 - 1)) & 1;
        int exponent = (int) (bits >>> fractionBits) & ((1 << exponentBits) - 1);
        long fraction = bits & ((1L << fractionBits) - 1);
        if (exponent == (1 << exponentBits) - 1 || (exponent == 0 && fraction != 0)) {
            return false;
        }
        flags = 0;
        roundedUp = false;
        if (exponent == 0) {
            se = sign << 15;
            m = 0;
            return true;
        }
        se = (sign << 15) | (exponent - bias + BIAS);
        m = INTEGER_BIT | (fraction << (63 - fractionBits));
        return true;
    }

    /** The extended value of an integer: exact. */
    void fromLong(long value) {
        flags = 0;
        roundedUp = false;
        if (value == 0) {
            se = 0;
            m = 0;
            return;
        }
        boolean negative = value < 0;
        long mag = negative ? -value : value; // Long.MIN_VALUE stays 2^63 as unsigned
        int lead = Long.numberOfLeadingZeros(mag);
        se = (negative ? 0x8000 : 0) | (BIAS + 63 - lead);
        m = mag << lead;
    }

    /** The bits FST m32/m64 stores, valid when toIeee answered true. */
    long ieeeBits;

    /**
     * FST to a single or double of a zero or a normal number whose rounded value is a
     * normal number of the format, as Float80.toIeee: the bits in {@code ieeeBits}, PE
     * and C1 in the fields. False for anything else (overflow, a denormal result).
     */
    boolean toIeee(int control, int se, long m, int size) {
        int fractionBits = size == 4 ? 23 : 52, exponentBits = size == 4 ? 8 : 11;
        int bias = (1 << (exponentBits - 1)) - 1;
        long signBit = se >= 0x8000 ? 1L << (size * 8 - 1) : 0;
        if (isZero(se, m)) {
            ieeeBits = signBit;
            flags = 0;
            roundedUp = false;
            return true;
        }
        if (!isNormal(se, m)
                || !round((control >>> 10) & 3, fractionBits + 1, se >= 0x8000, m, 0, (se & 0x7fff) - BIAS,
                        1 - bias, bias)) {
            return false;
        }
        int unbiased = (this.se & 0x7fff) - BIAS;
        ieeeBits = signBit | ((long) (unbiased + bias) << fractionBits) | ((this.m & Long.MAX_VALUE) >>> (63 - fractionBits));
        return true;
    }

    /** The integer FIST stores, valid when toInteger answered true. */
    long integer;

    /**
     * FIST to a {@code bits}-wide integer of a zero or a normal number below 2^63 whose
     * rounded value fits, as Float80.toLong: the value in {@code integer}, PE and C1 in
     * the fields. False for anything else (the integer indefinite, the exact code).
     */
    boolean toInteger(int se, long m, int bits, int rc) {
        if (isZero(se, m)) {
            integer = 0;
            flags = 0;
            roundedUp = false;
            return true;
        }
        int exponent = se & 0x7fff;
        if (!isNormal(se, m) || exponent >= BIAS + 63) {
            return false;
        }
        boolean negative = se >= 0x8000;
        int e = exponent - BIAS;
        long q, fraction; // fraction: the bits below the integer's, left-aligned (bit 63 is 1/2)
        if (e >= 0) {
            q = m >>> (63 - e);
            fraction = e == 63 ? 0 : m << (e + 1);
        } else {
            q = 0;
            fraction = e == -1 ? m : 1; // below 1/2, just not zero
        }
        boolean inexact = fraction != 0;
        int versusHalf = fraction == Long.MIN_VALUE ? 0 : (Long.compareUnsigned(fraction, Long.MIN_VALUE) > 0 ? 1 : -1);
        boolean up = inexact && Float80.roundsUp(negative, (q & 1) != 0, versusHalf, rc);
        if (up) {
            q++;
        }
        long limit = 1L << (bits - 1);
        // In range below 2^(bits-1), or exactly -2^(bits-1) (unsigned compares: 2^63 is negative).
        if (Long.compareUnsigned(q, limit) >= 0 && !(negative && q == limit)) {
            return false;
        }
        integer = negative ? -q : q;
        flags = inexact ? Float80.PE : 0;
        roundedUp = up;
        return true;
    }
}
