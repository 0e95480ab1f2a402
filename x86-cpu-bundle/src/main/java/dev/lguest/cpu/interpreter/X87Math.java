// The x87's "group 7" (D9 F0-FF) beyond plain arithmetic: FSQRT, FRNDINT, FSCALE,
// FXTRACT, FPREM/FPREM1 done exactly, and the transcendentals (F2XM1, FYL2X, FYL2XP1,
// FPTAN, FPATAN, FSIN, FCOS, FSINCOS) computed to about 150 bits in BigInteger fixed
// point and rounded once to 64 bits, which is within the real x87's 1-ulp accuracy (the
// angles reduced by the x87's own 66-bit pi, as the hardware does). A slower 70-digit
// BigDecimal version of each function stays as the independent reference the vector
// test decides C1 with (exactValue). The special operands (zeros, infinities, NaNs,
// out-of-range angles) follow the manuals' tables, and where they leave a result
// undefined, what the recorded AMD does.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.Float80.DE;
import static dev.lguest.cpu.interpreter.Float80.IE;
import static dev.lguest.cpu.interpreter.Float80.PE;
import static dev.lguest.cpu.interpreter.Float80.ZE;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;

final class X87Math {
    private static final MathContext MC = new MathContext(70, RoundingMode.HALF_EVEN);
    private static final BigDecimal PI = new BigDecimal("3.14159265358979323846264338327950288419716939937510582097494459230781640628620899862803482534211706798214808651");
    private static final BigDecimal HALF_PI = PI.divide(BigDecimal.valueOf(2), MC);
    private static final BigDecimal TWO = BigDecimal.valueOf(2);
    private static final BigDecimal LN2 = atanh(BigDecimal.ONE.divide(BigDecimal.valueOf(3), MC)).multiply(TWO, MC);
    private static final int C2 = X87.C2;

    private X87Math() {
    }

    static void execute(X87 f, int form) {
        Float80.Env env = f.newEnv();
        switch (form) {
            case X87.R_FSQRT -> f.finishUnary(env, Float80.sqrt(env, f.operand0(env)));
            case X87.R_FRNDINT -> f.finishUnary(env, Float80.roundToInteger(env, f.operand0(env)));
            case X87.R_FSCALE -> {
                if (f.isEmpty(0) || f.isEmpty(1)) {
                    f.underflowValue(env);
                    f.finishUnary(env, Float80.INDEFINITE);
                } else {
                    f.finishUnary(env, scale(env, f.st(0), f.st(1)));
                }
            }
            case X87.R_FXTRACT -> extract(f, env);
            case X87.R_FPREM, X87.R_FPREM1 -> remainder(f, env, form == X87.R_FPREM1);
            case X87.R_F2XM1 -> f.finishUnary(env, twoToXMinus1(env, f.operand0(env)));
            case X87.R_FYL2X, X87.R_FYL2XP1, X87.R_FPATAN -> {
                if (f.isEmpty(0) || f.isEmpty(1)) {
                    f.underflowValue(env);
                    f.finishBinaryPop(env, Float80.INDEFINITE);
                    return;
                }
                Float80 x = f.st(0), y = f.st(1);
                Float80 r = switch (form) {
                    case X87.R_FYL2X -> yLog2X(env, x, y);
                    case X87.R_FYL2XP1 -> yLog2XPlus1(env, x, y);
                    default -> arctangent(env, y, x);
                };
                f.finishBinaryPop(env, r);
            }
            default -> trigonometric(f, env, form);
        }
    }

    // ---- exact ones ----

    static Float80 scale(Float80.Env env, Float80 a, Float80 b) {
        Float80 nan = Float80.nanOperands(env, a, b);
        if (nan != null) {
            return nan;
        }
        Float80.denormalOperands(env, a, b);
        if (b.isInfinity()) {
            if (b.negative()) {
                if (a.isInfinity()) {
                    return Float80.invalid(env);
                }
                return Float80.zero(a.negative());
            }
            if (a.isZero()) {
                return Float80.invalid(env);
            }
            return Float80.infinity(a.negative());
        }
        if (a.isInfinity() || a.isZero()) {
            return a;
        }
        Float80.Env probe = new Float80.Env(env.control);
        BigInteger n = Float80.toInteger(probe, b, 3);
        int shift = n.bitLength() > 20 ? (n.signum() < 0 ? -(1 << 20) : 1 << 20) : n.intValue();
        int exponent = a.scale() + a.magnitude().bitLength() - 1 + shift;
        // Only FSCALE can leave the range even the unmasked response's 2^24576 bias
        // adjustment brings back: the recorded x87 then gives a signed zero (C1 = 0) for
        // an unmasked underflow and a signed infinity (C1 = 1) for an unmasked overflow.
        if (!env.masked(Float80.UE) && exponent + Float80.BIAS_ADJUST < Float80.EMIN) {
            env.flags |= Float80.UE | PE;
            env.roundedUp = false;
            return Float80.zero(a.negative());
        }
        if (!env.masked(Float80.OE) && exponent - Float80.BIAS_ADJUST > Float80.EMAX) {
            env.flags |= Float80.OE | PE;
            env.roundedUp = true;
            return Float80.infinity(a.negative());
        }
        return Float80.roundExtended(env, a.negative(), a.magnitude(), a.scale() + shift);
    }

    /**
     * The instructions that replace ST(0) and push (FPTAN, FSINCOS, FXTRACT) check the
     * push's stack overflow before they look at the operand: with ST(0) valid and ST(7)
     * full, the answer is the overflow alone (no C2, no DE, ZE or PE, whatever ST(0) is).
     */
    private static boolean overflowsFirst(X87 f, Float80.Env env) {
        if (f.isEmpty(0) || f.isEmpty(7)) {
            return false;
        }
        f.setConditionCodes(C2, 0);
        f.finishReplaceAndPush(env, Float80.INDEFINITE, Float80.INDEFINITE);
        return true;
    }

    private static void extract(X87 f, Float80.Env env) {
        if (overflowsFirst(f, env)) {
            return;
        }
        Float80 a = f.operand0(env);
        Float80 nan = Float80.nanOperands(env, a, null);
        Float80 exponent, significand;
        if (nan != null) {
            exponent = significand = nan;
        } else if (a.isZero()) {
            env.flags |= ZE;
            exponent = Float80.infinity(true);
            significand = a;
        } else if (a.isInfinity()) {
            exponent = Float80.infinity(false);
            significand = a;
        } else {
            Float80.denormalOperands(env, a, null);
            BigInteger mag = a.magnitude();
            int e = a.scale() + mag.bitLength() - 1;
            exponent = Float80.fromLong(e);
            significand = Float80.encode(a.negative(), mag, -(mag.bitLength() - 1));
        }
        f.finishReplaceAndPush(env, exponent, significand);
    }

    /**
     * FPREM/FPREM1. C2 says whether the remainder is partial; a complete one reports the
     * quotient's low bits in C0, C3, C1 (Q2, Q1, Q0); a partial one clears them. An
     * unmasked fault clears C2 and C1 and leaves C0 and C3 as they were.
     */
    private static void remainder(X87 f, Float80.Env env, boolean nearest) {
        f.setConditionCodes(C2, 0);
        if (f.isEmpty(0) || f.isEmpty(1)) {
            f.underflowValue(env);
            f.finishUnary(env, Float80.INDEFINITE);
            return;
        }
        Float80 a = f.st(0), b = f.st(1);
        Float80 nan = Float80.nanOperands(env, a, b);
        if (nan != null) {
            f.finishUnary(env, nan);
            return;
        }
        if (a.isInfinity() || b.isZero()) {
            f.finishUnary(env, Float80.invalid(env));
            return;
        }
        Float80.denormalOperands(env, a, b);
        if (b.isInfinity() || a.isZero()) {
            // The dividend unchanged, though a pseudo-denormal comes back normalized.
            Float80 same = a.isZero() ? a : Float80.encode(a.negative(), a.magnitude(), a.scale());
            finishRemainder(f, env, same, 0);
            return;
        }
        BigInteger ma = a.magnitude(), mb = b.magnitude();
        int ea = a.scale(), eb = b.scale();
        int d = (ea + ma.bitLength()) - (eb + mb.bitLength());
        int exp = Math.min(ea, eb);
        if (d >= 64) {
            // A partial remainder: the quotient's top bits only, reducing the exponent
            // difference by 32..63 per step as the P6 does; the caller loops on C2.
            int n = 32 + (d & 31);
            int reduce = d - n;
            BigInteger sa = ma.shiftLeft(ea - exp);
            BigInteger sb = mb.shiftLeft(eb - exp + reduce);
            BigInteger q = sa.divide(sb);
            BigInteger r = sa.subtract(q.multiply(sb));
            Float80 result = r.signum() == 0 ? Float80.zero(a.negative())
                    : Float80.roundExtended(env, a.negative(), r, exp);
            finishRemainder(f, env, result, C2);
            return;
        }
        BigInteger sa = ma.shiftLeft(ea - exp), sb = mb.shiftLeft(eb - exp);
        BigInteger[] qr = sa.divideAndRemainder(sb);
        BigInteger q = qr[0], r = qr[1];
        boolean negative = a.negative();
        if (nearest) {
            int c = r.shiftLeft(1).compareTo(sb);
            if (c > 0 || (c == 0 && q.testBit(0))) {
                q = q.add(BigInteger.ONE);
                r = sb.subtract(r);
                negative = !negative;
            }
        }
        int qbits = q.intValue();
        Float80 result = r.signum() == 0 ? Float80.zero(a.negative()) : Float80.roundExtended(env, negative, r, exp);
        finishRemainder(f, env, result, ((qbits & 4) != 0 ? X87.C0 : 0) | ((qbits & 2) != 0 ? X87.C3 : 0)
                | ((qbits & 1) != 0 ? X87.C1 : 0));
    }

    /** Stores a remainder and, unless an unmasked fault stopped it, its condition codes. */
    private static void finishRemainder(X87 f, Float80.Env env, Float80 result, int conditions) {
        f.finishUnary(env, result);
        if ((env.flags & (IE | DE | ZE) & ~f.control()) == 0) {
            // C1 is the quotient's lowest bit here, not a rounding direction.
            f.setConditionCodes(X87.C0 | X87.C1 | C2 | X87.C3, conditions);
        }
    }

    // ---- transcendentals ----

    private static Float80 twoToXMinus1(Float80.Env env, Float80 x) {
        Float80 nan = Float80.nanOperands(env, x, null);
        if (nan != null) {
            return nan;
        }
        if (x.isZero()) {
            return x;
        }
        if (x.isInfinity()) {
            return x.negative() ? Float80.of(true, 0x3fff, Float80.INTEGER_BIT) : x;
        }
        Float80.denormalOperands(env, x, null);
        if (x.exponent() == 16383 && x.m() == Float80.INTEGER_BIT) {
            // The domain's ends, as the recorded AMD answers them: -1 gives -1/2 exactly
            // (still inexact, PE), +1 a value a sliver under 1.
            if (x.negative()) {
                env.flags |= PE;
                env.roundedUp = false;
                return Float80.of(true, 16382, Float80.INTEGER_BIT);
            }
            return justBeside(env, false, BigInteger.ONE, 0, false);
        }
        if (x.exponent() >= 16383) {
            // Outside the domain -1..+1 the manuals leave the result undefined; the
            // recorded AMD returns the operand unchanged and reports it inexact.
            env.flags |= PE;
            return x;
        }
        return twoToXMinus1Fixed(x).round(env);
    }

    static Float80 yLog2X(Float80.Env env, Float80 x, Float80 y) {
        Float80 nan = Float80.nanOperands(env, x, y);
        if (nan != null) {
            return nan;
        }
        if (x.negative() && !x.isZero()) {
            return Float80.invalid(env);
        }
        if (x.isZero()) {
            if (y.isZero()) {
                return Float80.invalid(env);
            }
            Float80.denormalOperands(env, x, y);
            if (!y.isInfinity()) {
                env.flags |= ZE;
            }
            return Float80.infinity(!y.negative());
        }
        if (x.isInfinity()) {
            if (y.isZero()) {
                return Float80.invalid(env);
            }
            Float80.denormalOperands(env, x, y);
            return Float80.infinity(y.negative());
        }
        int c = Float80.compareNumbers(x, Float80.ONE);
        if (y.isInfinity()) {
            if (c == 0) {
                return Float80.invalid(env);
            }
            Float80.denormalOperands(env, x, y);
            return Float80.infinity(y.negative() != (c < 0));
        }
        Float80.denormalOperands(env, x, y);
        if (c == 0) {
            return Float80.zero(y.negative());
        }
        if (y.isZero()) {
            return Float80.zero(y.negative() != (c < 0));
        }
        return timesLog2(env, x.magnitude(), x.scale(), y);
    }

    private static Float80 yLog2XPlus1(Float80.Env env, Float80 x, Float80 y) {
        Float80 nan = Float80.nanOperands(env, x, y);
        if (nan != null) {
            return nan;
        }
        if (x.isInfinity()) {
            if (x.negative() || y.isZero()) {
                return Float80.invalid(env);
            }
            return Float80.infinity(y.negative());
        }
        if (y.isInfinity()) {
            if (x.isZero()) {
                return Float80.invalid(env);
            }
            Float80.denormalOperands(env, x, y);
            return Float80.infinity(y.negative() != x.negative());
        }
        Float80.denormalOperands(env, x, y);
        if (x.isZero() || y.isZero()) {
            return Float80.zero(x.negative() != y.negative());
        }
        if (x.negative() && x.exponent() >= 16383) {
            // x <= -1, where log2(1 + x) does not exist: the manuals leave the result
            // undefined outside |x| < 1 - sqrt(2)/2; the recorded AMD gives x itself (inexact).
            env.flags |= PE;
            return x;
        }
        if (x.exponent() >= 16383 - 2) {
            // Far from zero, 1 + x exactly and its logarithm as FYL2X takes it.
            OnePlus sum = onePlusExactly(x);
            return timesLog2(env, sum.mag(), sum.scale(), y);
        }
        return log2OnePlusFixed(x).times(y).round(env);
    }

    /** log2(1 + x) for a finite nonzero x > -1. */
    private static BigDecimal log2OnePlus(Float80 x) {
        if (x.exponent() < 16383 - 2) {
            // ln(1+x) = 2 atanh(x / (2 + x)), accurate for the small x this instruction is for.
            BigDecimal dx = decimal(x);
            return atanh(dx.divide(TWO.add(dx, MC), MC)).multiply(TWO, MC).divide(LN2, MC);
        }
        // Far from zero, 1 + x exactly and its logarithm as FYL2X takes it.
        OnePlus sum = onePlusExactly(x);
        return log2(sum.mag(), sum.scale());
    }

    /** 1 + x as mag * 2^scale, exactly. */
    private record OnePlus(BigInteger mag, int scale) {
    }

    /** 1 + x exactly, for a finite x > -1. */
    private static OnePlus onePlusExactly(Float80 x) {
        BigInteger mag = x.magnitude();
        int scale = x.scale();
        BigInteger one = scale < 0 ? BigInteger.ONE.shiftLeft(-scale) : BigInteger.ONE;
        if (scale > 0) {
            mag = mag.shiftLeft(scale);
            scale = 0;
        }
        return new OnePlus(x.negative() ? one.subtract(mag) : one.add(mag), scale);
    }

    /** FPATAN: the angle of (x, y), atan2 with the x87's signed zeros and infinities. */
    private static Float80 arctangent(Float80.Env env, Float80 y, Float80 x) {
        Float80 nan = Float80.nanOperands(env, x, y);
        if (nan != null) {
            return nan;
        }
        Float80.denormalOperands(env, x, y);
        boolean ny = y.negative();
        BigDecimal angle;
        if (y.isZero()) {
            if (!x.negative()) {
                return Float80.zero(ny);
            }
            angle = PI;
        } else if (y.isInfinity()) {
            angle = x.isInfinity() ? (x.negative() ? PI.multiply(BigDecimal.valueOf(0.75), MC)
                    : PI.divide(BigDecimal.valueOf(4), MC)) : HALF_PI;
        } else if (x.isInfinity()) {
            if (!x.negative()) {
                return Float80.zero(ny);
            }
            angle = PI;
        } else if (x.isZero()) {
            angle = HALF_PI;
        } else {
            Approximation a = angleFixed(y, x);
            return (ny ? a.negate() : a).round(env);
        }
        return rounded(env, ny ? angle.negate() : angle);
    }

    /** The angle of (x, y) for finite nonzero x and positive finite nonzero y: 0..pi. */
    private static BigDecimal angle(Float80 y, Float80 x) {
        BigDecimal ratio = decimal(y).divide(decimal(x).abs(), MC);
        BigDecimal angle = atan(ratio);
        return x.negative() ? PI.subtract(angle, MC) : angle;
    }

    /**
     * The exact value (to 70 digits) a transcendental form rounds for finite, nonzero,
     * in-range operands, or null where the form answers from its special cases. FSINCOS
     * gives its sine, the result C1 describes. The vector test uses it to tell whether a
     * result lies too close to the exact value for the hardware's C1 (rounded up) to
     * say anything beyond its accuracy.
     */
    static BigDecimal exactValue(int form, Float80 st0, Float80 st1) {
        boolean plain = st0.isFinite() && !st0.isZero() && st1.isFinite() && !st1.isZero();
        return switch (form) {
            case X87.R_FSIN, X87.R_FCOS, X87.R_FSINCOS, X87.R_FPTAN -> {
                if (!st0.isFinite() || st0.isZero() || st0.exponent() >= 16383 + 63) {
                    yield null;
                }
                BigDecimal[] sc = sinCos(decimal(st0));
                yield switch (form) {
                    case X87.R_FCOS -> sc[1];
                    case X87.R_FPTAN -> sc[0].divide(sc[1], MC);
                    default -> sc[0];
                };
            }
            case X87.R_F2XM1 -> st0.isFinite() && !st0.isZero() && st0.exponent() < 16383
                    ? expMinus1(decimal(st0).multiply(LN2, MC)) : null;
            case X87.R_FYL2X -> plain && !st0.negative() ? log2(st0).multiply(decimal(st1), MC) : null;
            case X87.R_FYL2XP1 -> plain && !(st0.negative() && st0.exponent() >= 16383)
                    ? log2OnePlus(st0).multiply(decimal(st1), MC) : null;
            case X87.R_FPATAN -> {
                if (!plain) {
                    yield null;
                }
                BigDecimal a = angle(st1.withSign(false), st0);
                yield st1.negative() ? a.negate() : a;
            }
            default -> null;
        };
    }

    private static void trigonometric(X87 f, Float80.Env env, int form) {
        boolean pushes = form == X87.R_FPTAN || form == X87.R_FSINCOS;
        if (pushes && overflowsFirst(f, env)) {
            return;
        }
        Float80 x = f.operand0(env);
        Float80 nan = Float80.nanOperands(env, x, null);
        if (nan != null || x.isInfinity()) {
            Float80 r = nan != null ? nan : Float80.invalid(env);
            f.setConditionCodes(C2, 0);
            if (form == X87.R_FPTAN || form == X87.R_FSINCOS) {
                f.finishReplaceAndPush(env, r, r);
            } else {
                f.finishUnary(env, r);
            }
            return;
        }
        if (x.exponent() >= 16383 + 63) {
            // Out of range (|x| >= 2^63): C2 set and the operand left for the program to reduce.
            f.setConditionCodes(C2 | X87.C1, C2);
            f.raiseFlags(0);
            return;
        }
        f.setConditionCodes(C2, 0);
        Float80.denormalOperands(env, x, null);
        Float80 sin, cos;
        if (x.isZero()) {
            sin = x;
            cos = Float80.ONE;
        } else {
            Float80.Env sinEnv = new Float80.Env(env.control);
            sinEnv.flags = env.flags;
            Float80.Env cosEnv = new Float80.Env(env.control);
            if (x.exponent() < 16383 - 100) {
                // So tiny that x^2 is lost below the series' 70 digits: sin x and cos x
                // are x and 1 less a sliver, and which side matters for the rounding (and
                // C1). tan x is really x plus a sliver, but the recorded AMD's own
                // approximation errs below x there too (below about 2^-38 it gives x
                // less a sliver), and that is what a guest sees.
                sin = justBeside(sinEnv, x.negative(), x.magnitude(), x.scale(), false);
                cos = justBeside(cosEnv, false, BigInteger.ONE, 0, false);
            } else {
                Approximation[] sc = sinCosFixed(x);
                sin = (form == X87.R_FPTAN ? sc[0].dividedBy(sc[1]) : sc[0]).round(sinEnv);
                cos = sc[1].round(cosEnv);
            }
            if (form == X87.R_FCOS) {
                env.flags |= cosEnv.flags;
                env.roundedUp = cosEnv.roundedUp;
            } else {
                env.flags |= sinEnv.flags;
                env.roundedUp = sinEnv.roundedUp;
                if (form == X87.R_FSINCOS) {
                    // C1 tells how the sine was rounded, not the cosine.
                    env.flags |= cosEnv.flags;
                }
            }
        }
        switch (form) {
            case X87.R_FSIN -> f.finishUnary(env, sin);
            case X87.R_FCOS -> f.finishUnary(env, cos);
            case X87.R_FPTAN -> f.finishReplaceAndPush(env, sin, Float80.ONE);
            default -> f.finishReplaceAndPush(env, sin, cos);
        }
    }

    // ---- fixed-point kernels: what the instructions compute with ----

    /** Fraction bits of the kernels' fixed-point numbers: far beyond the 64 a result keeps. */
    private static final int FRACTION = 160;
    private static final BigInteger FIXED_ONE = BigInteger.ONE.shiftLeft(FRACTION);
    /** The x87's 66-bit pi/2 (see REDUCTION_HALF_PI) as an integer times 2^-67. */
    private static final BigInteger HALF_PI_66 = new BigInteger("C90FDAA22168C234C", 16);

    /**
     * ±mag·2^exp, an approximation good to about 2^-150 of itself and never the exact
     * value (these functions are irrational at the operands that reach them), so it
     * rounds as a value with bits beyond its last.
     */
    record Approximation(boolean negative, BigInteger mag, int exp) {
        Float80 round(Float80.Env env) {
            Float80 r = Float80.roundExtended(env, negative, mag.shiftLeft(1).setBit(0), exp - 1);
            env.flags |= PE;
            return r;
        }

        Approximation negate() {
            return new Approximation(!negative, mag, exp);
        }

        /** Times an exact finite nonzero extended value. */
        Approximation times(Float80 v) {
            return new Approximation(negative != v.negative(), mag.multiply(v.magnitude()), exp + v.scale());
        }

        Approximation dividedBy(Approximation d) {
            return new Approximation(negative != d.negative, mag.shiftLeft(FRACTION).divide(d.mag),
                    exp - d.exp - FRACTION);
        }
    }

    /**
     * sin x and cos x for a finite nonzero x below 2^63 in magnitude: x less the nearest
     * multiple n of the 66-bit pi/2, exactly (an integer times 2^-67), then the Taylor
     * series of sin r / r and cos r in fixed point, where r^2 needs only absolute
     * accuracy, and the quadrant n picks which is which.
     */
    static Approximation[] sinCosFixed(Float80 x) {
        BigInteger reduced = x.magnitude();
        int exp = x.scale();
        long n = 0;
        if (x.exponent() >= 16383 - 1) {
            // |x| >= 1/2, so x·2^67 is an integer.
            BigInteger scaled = reduced.shiftLeft(exp + 67);
            BigInteger quadrants = scaled.shiftLeft(1).add(HALF_PI_66).divide(HALF_PI_66.shiftLeft(1));
            reduced = scaled.subtract(quadrants.multiply(HALF_PI_66));
            exp = -67;
            n = quadrants.longValue();
        }
        // r = reduced·2^exp, |r| <= pi/4; r^2 in fixed point.
        int shift = 2 * exp + FRACTION;
        BigInteger square = reduced.multiply(reduced);
        BigInteger r2 = shift >= 0 ? square.shiftLeft(shift) : square.shiftRight(-shift);
        BigInteger sinFactor = FIXED_ONE, cos = FIXED_ONE, term = FIXED_ONE;
        for (int k = 1; term.signum() != 0; k++) {
            // term = r^2k / (2k)!, and r^2k / (2k+1)! for sin r / r.
            term = term.multiply(r2).shiftRight(FRACTION).divide(BigInteger.valueOf((2L * k - 1) * (2L * k)));
            BigInteger sinTerm = term.divide(BigInteger.valueOf(2L * k + 1));
            boolean subtract = (k & 1) != 0;
            cos = subtract ? cos.subtract(term) : cos.add(term);
            sinFactor = subtract ? sinFactor.subtract(sinTerm) : sinFactor.add(sinTerm);
        }
        // For r so small that r^2 vanished here, both are still a sliver below 1.
        if (sinFactor.equals(FIXED_ONE)) {
            sinFactor = FIXED_ONE.subtract(BigInteger.ONE);
        }
        if (cos.equals(FIXED_ONE)) {
            cos = FIXED_ONE.subtract(BigInteger.ONE);
        }
        Approximation sinR = new Approximation(reduced.signum() < 0, reduced.abs().multiply(sinFactor), exp - FRACTION);
        Approximation cosR = new Approximation(false, cos, -FRACTION);
        Approximation sin, cosine;
        switch ((int) (n & 3)) {
            case 0 -> {
                sin = sinR;
                cosine = cosR;
            }
            case 1 -> {
                sin = cosR;
                cosine = sinR.negate();
            }
            case 2 -> {
                sin = sinR.negate();
                cosine = cosR.negate();
            }
            default -> {
                sin = cosR.negate();
                cosine = sinR;
            }
        }
        return new Approximation[] {x.negative() ? sin.negate() : sin, cosine};
    }

    /** ln 2 to FRACTION + 32 bits, from the high-precision value. */
    private static final int LN2_BITS = FRACTION + 32;
    private static final BigInteger LN2_FIXED = LN2.multiply(new BigDecimal(BigInteger.ONE.shiftLeft(LN2_BITS)))
            .toBigInteger();

    /**
     * 2^x - 1 for a finite nonzero |x| < 1: y = x ln 2, then y times the series of
     * (e^y - 1) / y = sum y^k / (k+1)!, which only needs y to absolute accuracy.
     */
    static Approximation twoToXMinus1Fixed(Float80 x) {
        BigInteger yMag = x.magnitude().multiply(LN2_FIXED);
        int yExp = x.scale() - LN2_BITS;
        int shift = yExp + FRACTION;
        BigInteger y = shift >= 0 ? yMag.shiftLeft(shift) : yMag.shiftRight(-shift);
        if (x.negative()) {
            y = y.negate();
        }
        BigInteger factor = FIXED_ONE, term = FIXED_ONE;
        for (int k = 1; term.signum() != 0; k++) {
            term = term.multiply(y).shiftRight(FRACTION).divide(BigInteger.valueOf(k + 1));
            factor = factor.add(term);
        }
        return new Approximation(x.negative(), yMag.multiply(factor), yExp - FRACTION);
    }

    /** Bits of a logarithm's quotient. */
    private static final int QUOTIENT_BITS = 160;

    /**
     * log2((d + z) / (d - z)) for the exact ratio zNum / zDen (|ratio| <= 3 - 2 sqrt 2):
     * 2 atanh(ratio) / ln 2, with atanh(z) = z times the series sum z^2k / (2k+1), which
     * only needs z^2 to absolute accuracy, so a ratio near zero keeps its relative accuracy.
     */
    private static Approximation log2Ratio(BigInteger zNum, BigInteger zDen) {
        BigInteger z2 = zNum.multiply(zNum).shiftLeft(FRACTION).divide(zDen.multiply(zDen));
        BigInteger factor = FIXED_ONE, power = FIXED_ONE;
        for (int k = 1;; k++) {
            power = power.multiply(z2).shiftRight(FRACTION);
            BigInteger term = power.divide(BigInteger.valueOf(2L * k + 1));
            if (term.signum() == 0) {
                break;
            }
            factor = factor.add(term);
        }
        // 2 zNum factor 2^-FRACTION / (zDen ln2_fixed 2^-LN2_BITS), as a quotient of
        // QUOTIENT_BITS bits however small the ratio is.
        BigInteger numerator = zNum.abs().multiply(factor), denominator = zDen.multiply(LN2_FIXED);
        int shift = Math.max(0, QUOTIENT_BITS + denominator.bitLength() - numerator.bitLength());
        BigInteger q = numerator.shiftLeft(shift).divide(denominator);
        return new Approximation(zNum.signum() < 0, q, 1 - FRACTION + LN2_BITS - shift);
    }

    /** log2(mag * 2^scale) for a positive mag: the binary exponent plus log2 of a significand in [1/sqrt2, sqrt2). */
    static Approximation log2Fixed(BigInteger mag, int scale) {
        int fraction = mag.bitLength() - 1;
        int e = scale + fraction;
        BigInteger one = BigInteger.ONE.shiftLeft(fraction);
        // Above sqrt 2 (mag^2 > 2 one^2), halve the significand: compare exactly.
        if (mag.multiply(mag).compareTo(one.multiply(one).shiftLeft(1)) > 0) {
            one = one.shiftLeft(1);
            e++;
        }
        Approximation log = log2Ratio(mag.subtract(one), mag.add(one));
        if (e == 0) {
            return log;
        }
        // |log2 of the significand| <= 1/2, so its exponent is well below zero.
        BigInteger whole = BigInteger.valueOf(e).shiftLeft(-log.exp());
        BigInteger sum = whole.add(log.negative() ? log.mag().negate() : log.mag());
        return new Approximation(sum.signum() < 0, sum.abs(), log.exp());
    }

    /** log2(1 + x) for a finite nonzero |x| < 1/4: 1 + x = (2 + x + x) / (2 + x - x), the ratio x / (2 + x) exactly. */
    static Approximation log2OnePlusFixed(Float80 x) {
        BigInteger two = BigInteger.ONE.shiftLeft(1 - x.scale());
        BigInteger signed = x.negative() ? x.magnitude().negate() : x.magnitude();
        return log2Ratio(signed, two.add(signed));
    }

    /**
     * y log2(mag 2^scale), rounded. When mag 2^scale is a power of two the logarithm is an
     * integer and the product exact before its rounding, as the recorded x87 gives it
     * (only PE says otherwise).
     */
    private static Float80 timesLog2(Float80.Env env, BigInteger mag, int scale, Float80 y) {
        if (mag.bitCount() == 1) {
            long e = scale + mag.bitLength() - 1L;
            Float80 r = Float80.roundExtended(env, (e < 0) != y.negative(),
                    y.magnitude().multiply(BigInteger.valueOf(Math.abs(e))), y.scale());
            env.flags |= PE;
            return r;
        }
        return log2Fixed(mag, scale).times(y).round(env);
    }

    private static final BigInteger PI_FIXED = PI.multiply(new BigDecimal(FIXED_ONE)).toBigInteger();
    /** atan(k/8) for k = 0..8 in fixed point, from the high-precision arctangent. */
    private static final BigInteger[] ATAN_EIGHTHS = new BigInteger[9];

    static {
        for (int k = 0; k <= 8; k++) {
            ATAN_EIGHTHS[k] = atan(BigDecimal.valueOf(k).divide(BigDecimal.valueOf(8), MC))
                    .multiply(new BigDecimal(FIXED_ONE)).toBigInteger();
        }
    }

    /** sum (-1)^k z2^k / (2k+1) in fixed point: atan(z) / z for z^2 = z2. */
    private static BigInteger atanFactor(BigInteger z2) {
        BigInteger factor = FIXED_ONE, power = FIXED_ONE;
        for (int k = 1;; k++) {
            power = power.multiply(z2).shiftRight(FRACTION);
            BigInteger term = power.divide(BigInteger.valueOf(2L * k + 1));
            if (term.signum() == 0) {
                return factor;
            }
            factor = (k & 1) != 0 ? factor.subtract(term) : factor.add(term);
        }
    }

    private static BigInteger toFixed(BigInteger mag, int exp) {
        int shift = exp + FRACTION;
        return shift >= 0 ? mag.shiftLeft(shift) : mag.shiftRight(-shift);
    }

    /**
     * The angle of (x, y) in 0..pi for finite nonzero x and y (y's sign is the caller's):
     * u = |y/x| or its inverse, whichever is at most 1, to 200 bits; below 1/16, u times
     * atan(u)/u, which keeps a tiny angle's relative accuracy; above, atan(k/8) plus the
     * series of the small rest (u - k/8) / (1 + u k/8). Then pi/2 less it for the
     * inverse, and pi less that for a negative x.
     */
    static Approximation angleFixed(Float80 y, Float80 x) {
        int c = Float80.compareNumbers(y.withSign(false), x.withSign(false));
        Approximation atan;
        boolean inverted = c > 0;
        if (c == 0) {
            atan = new Approximation(false, PI_FIXED, -FRACTION - 2);
        } else {
            Float80 numerator = inverted ? x : y, denominator = inverted ? y : x;
            BigInteger mn = numerator.magnitude(), md = denominator.magnitude();
            int s = 200 + md.bitLength() - mn.bitLength();
            BigInteger u = mn.shiftLeft(Math.max(s, 0)).divide(md.shiftLeft(Math.max(-s, 0)));
            int uExp = numerator.scale() - denominator.scale() - s;
            BigInteger fixed = toFixed(u, uExp);
            if (fixed.compareTo(FIXED_ONE.shiftRight(4)) < 0) {
                BigInteger factor = atanFactor(fixed.multiply(fixed).shiftRight(FRACTION));
                if (factor.equals(FIXED_ONE)) {
                    factor = FIXED_ONE.subtract(BigInteger.ONE); // atan u is a sliver below u
                }
                atan = new Approximation(false, u.multiply(factor), uExp - FRACTION);
            } else {
                int k = fixed.shiftLeft(3).add(FIXED_ONE.shiftRight(1)).shiftRight(FRACTION).intValue();
                BigInteger ck = BigInteger.valueOf(k).shiftLeft(FRACTION - 3);
                BigInteger v = fixed.subtract(ck).shiftLeft(FRACTION)
                        .divide(FIXED_ONE.add(fixed.multiply(ck).shiftRight(FRACTION)));
                BigInteger rest = v.multiply(atanFactor(v.multiply(v).shiftRight(FRACTION))).shiftRight(FRACTION);
                atan = new Approximation(false, ATAN_EIGHTHS[k].add(rest), -FRACTION);
            }
        }
        if (!inverted && !x.negative()) {
            return atan;
        }
        BigInteger angle = toFixed(atan.mag(), atan.exp());
        if (inverted) {
            angle = PI_FIXED.shiftRight(1).subtract(angle);
        }
        if (x.negative()) {
            angle = PI_FIXED.subtract(angle);
        }
        return new Approximation(false, angle, -FRACTION);
    }

    // ---- high-precision helpers ----

    /** The exact decimal value of a finite extended number. */
    static BigDecimal decimal(Float80 v) {
        if (v.isZero()) {
            return BigDecimal.ZERO;
        }
        BigInteger mag = v.magnitude();
        int s = v.scale();
        BigDecimal d = s >= 0 ? new BigDecimal(mag.shiftLeft(s))
                : new BigDecimal(mag.multiply(BigInteger.valueOf(5).pow(-s)), -s);
        return v.negative() ? d.negate() : d;
    }

    /** Rounds a high-precision value to 64 bits by the rounding control; always inexact. */
    static Float80 rounded(Float80.Env env, BigDecimal v) {
        if (v.signum() == 0) {
            return Float80.POSITIVE_ZERO;
        }
        boolean negative = v.signum() < 0;
        v = v.abs();
        BigInteger unscaled = v.unscaledValue();
        int scale = v.scale();
        BigInteger mag;
        int exp;
        if (scale <= 0) {
            mag = unscaled.multiply(BigInteger.TEN.pow(-scale));
            exp = 0;
        } else {
            BigInteger divisor = BigInteger.TEN.pow(scale);
            int k = Math.max(0, 100 + divisor.bitLength() - unscaled.bitLength());
            mag = unscaled.shiftLeft(k).divide(divisor);
            exp = -k;
        }
        // The value is never exact here: a sticky bit keeps the rounding honest.
        mag = mag.shiftLeft(1).setBit(0);
        exp -= 1;
        Float80 r = Float80.roundExtended(env, negative, mag, exp);
        env.flags |= PE;
        return r;
    }

    /** ±mag·2^exp made a sliver larger ({@code above}) or smaller in magnitude, rounded: always inexact. */
    private static Float80 justBeside(Float80.Env env, boolean negative, BigInteger mag, int exp, boolean above) {
        BigInteger wide = mag.shiftLeft(80);
        Float80 r = Float80.roundExtended(env, negative, above ? wide.add(BigInteger.ONE) : wide.subtract(BigInteger.ONE),
                exp - 80);
        env.flags |= PE;
        return r;
    }

    private static BigDecimal exp(BigDecimal x) {
        // e^x = (e^(x/2^k))^(2^k), with the series on a small argument.
        int k = 0;
        while (x.abs().compareTo(new BigDecimal("0.01")) > 0) {
            x = x.divide(TWO, MC);
            k++;
        }
        BigDecimal sum = BigDecimal.ONE, term = BigDecimal.ONE;
        for (int n = 1; n < 200; n++) {
            term = term.multiply(x, MC).divide(BigDecimal.valueOf(n), MC);
            sum = sum.add(term, MC);
            if (term.signum() == 0 || term.abs().compareTo(sum.abs().movePointLeft(75)) < 0) {
                break;
            }
        }
        for (int i = 0; i < k; i++) {
            sum = sum.multiply(sum, MC);
        }
        return sum;
    }

    /** e^y - 1 without the cancellation exp(y) - 1 suffers for tiny y. */
    private static BigDecimal expMinus1(BigDecimal y) {
        if (y.abs().compareTo(new BigDecimal("0.01")) > 0) {
            return exp(y).subtract(BigDecimal.ONE, MC);
        }
        BigDecimal sum = y, term = y;
        for (int n = 2; n < 200; n++) {
            term = term.multiply(y, MC).divide(BigDecimal.valueOf(n), MC);
            sum = sum.add(term, MC);
            if (term.signum() == 0 || term.abs().compareTo(sum.abs().movePointLeft(75)) < 0) {
                break;
            }
        }
        return sum;
    }

    private static BigDecimal atanh(BigDecimal z) {
        BigDecimal z2 = z.multiply(z, MC), power = z, sum = z;
        for (int n = 3; n < 2000; n += 2) {
            power = power.multiply(z2, MC);
            BigDecimal term = power.divide(BigDecimal.valueOf(n), MC);
            sum = sum.add(term, MC);
            if (term.signum() == 0 || term.abs().compareTo(sum.abs().movePointLeft(75)) < 0) {
                break;
            }
        }
        return sum;
    }

    /** log2 of a positive finite value: the binary exponent plus the logarithm of the significand near 1. */
    private static BigDecimal log2(Float80 x) {
        return log2(x.magnitude(), x.scale());
    }

    /** log2(mag * 2^scale) for a positive mag. */
    private static BigDecimal log2(BigInteger mag, int scale) {
        int e = scale + mag.bitLength() - 1;
        // The significand mag / 2^(bitLength - 1), in [1, 2), exactly.
        int fraction = mag.bitLength() - 1;
        BigDecimal m = new BigDecimal(mag.multiply(BigInteger.valueOf(5).pow(fraction)), fraction);
        if (m.compareTo(new BigDecimal("1.4142135623730950488")) > 0) {
            m = m.divide(TWO, MC);
            e++;
        }
        BigDecimal ln = atanh(m.subtract(BigDecimal.ONE).divide(m.add(BigDecimal.ONE), MC)).multiply(TWO, MC);
        return ln.divide(LN2, MC).add(BigDecimal.valueOf(e), MC);
    }

    private static BigDecimal atan(BigDecimal z) {
        // z >= 0. Halve the angle until the series converges fast: atan z = 2 atan(z / (1 + sqrt(1 + z^2))).
        boolean inverted = z.compareTo(BigDecimal.ONE) > 0;
        if (inverted) {
            z = BigDecimal.ONE.divide(z, MC);
        }
        int doublings = 0;
        while (z.compareTo(new BigDecimal("0.05")) > 0) {
            z = z.divide(BigDecimal.ONE.add(BigDecimal.ONE.add(z.multiply(z, MC)).sqrt(MC)), MC);
            doublings++;
        }
        BigDecimal z2 = z.multiply(z, MC), power = z, sum = z;
        for (int n = 3; n < 2000; n += 2) {
            power = power.multiply(z2, MC).negate();
            BigDecimal term = power.divide(BigDecimal.valueOf(n), MC);
            sum = sum.add(term, MC);
            if (term.signum() == 0 || term.abs().compareTo(sum.abs().movePointLeft(75)) < 0) {
                break;
            }
        }
        sum = sum.multiply(BigDecimal.valueOf(1L << doublings), MC);
        return inverted ? HALF_PI.subtract(sum, MC) : sum;
    }

    /**
     * pi/2 as the x87 knows it for argument reduction: pi rounded to 66 significant bits
     * (0xC90FDAA22168C234C * 2^-66, the value Intel documents; the recorded AMD matches
     * it and no longer pi), halved. Far from zero, sin x is really sin(x mod this).
     */
    private static final BigDecimal REDUCTION_HALF_PI = new BigDecimal(new BigInteger("C90FDAA22168C234C", 16)
            .multiply(BigInteger.valueOf(5).pow(67)), 67);

    /** sin and cos, reducing by multiples of the x87's finite pi/2 exactly, then a series on the rest. */
    private static BigDecimal[] sinCos(BigDecimal x) {
        MathContext wide = new MathContext(110);
        BigInteger n = x.divide(REDUCTION_HALF_PI, wide).setScale(0, RoundingMode.HALF_EVEN).toBigInteger();
        BigDecimal r = x.subtract(REDUCTION_HALF_PI.multiply(new BigDecimal(n)));
        BigDecimal r2 = r.multiply(r, MC);
        BigDecimal s = r, c = BigDecimal.ONE, ts = r, tc = BigDecimal.ONE;
        for (int k = 1; k < 200; k++) {
            ts = ts.multiply(r2, MC).divide(BigDecimal.valueOf((2L * k) * (2L * k + 1)), MC).negate();
            tc = tc.multiply(r2, MC).divide(BigDecimal.valueOf((2L * k - 1) * (2L * k)), MC).negate();
            s = s.add(ts, MC);
            c = c.add(tc, MC);
            if (ts.signum() == 0 || ts.abs().compareTo(new BigDecimal("1e-90")) < 0
                    && tc.abs().compareTo(new BigDecimal("1e-90")) < 0) {
                break;
            }
        }
        return switch (n.intValue() & 3) {
            case 0 -> new BigDecimal[] {s, c};
            case 1 -> new BigDecimal[] {c, s.negate()};
            case 2 -> new BigDecimal[] {s.negate(), c.negate()};
            default -> new BigDecimal[] {c.negate(), s};
        };
    }
}
