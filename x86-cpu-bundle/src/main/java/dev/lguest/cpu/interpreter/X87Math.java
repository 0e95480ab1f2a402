// The x87's "group 7" (D9 F0-FF) beyond plain arithmetic: FSQRT, FRNDINT, FSCALE,
// FXTRACT, FPREM/FPREM1 done exactly, and the transcendentals (F2XM1, FYL2X, FYL2XP1,
// FPTAN, FPATAN, FSIN, FCOS, FSINCOS) computed with 60 decimal digits in BigDecimal and
// rounded once to 64 bits, which is within the real x87's 1-ulp accuracy. The special
// operands (zeros, infinities, NaNs, out-of-range angles) follow the tables of the
// Intel manual for each instruction.
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
        return Float80.roundExtended(env, a.negative(), a.magnitude(), a.scale() + shift);
    }

    private static void extract(X87 f, Float80.Env env) {
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

    private static void remainder(X87 f, Float80.Env env, boolean nearest) {
        if (f.isEmpty(0) || f.isEmpty(1)) {
            f.underflowValue(env);
            f.setConditionCodes(C2, 0);
            f.finishUnary(env, Float80.INDEFINITE);
            return;
        }
        Float80 a = f.st(0), b = f.st(1);
        Float80 nan = Float80.nanOperands(env, a, b);
        if (nan != null) {
            f.setConditionCodes(C2, 0);
            f.finishUnary(env, nan);
            return;
        }
        if (a.isInfinity() || b.isZero()) {
            f.setConditionCodes(C2, 0);
            f.finishUnary(env, Float80.invalid(env));
            return;
        }
        Float80.denormalOperands(env, a, b);
        if (b.isInfinity() || a.isZero()) {
            f.setConditionCodes(X87.C0 | X87.C3 | C2, 0);
            f.finishUnary(env, a);
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
            f.setConditionCodes(C2, C2);
            Float80 result = r.signum() == 0 ? Float80.zero(a.negative())
                    : Float80.roundExtended(env, a.negative(), r, exp);
            f.finishUnary(env, result);
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
        f.setConditionCodes(X87.C0 | X87.C3 | C2,
                ((qbits & 4) != 0 ? X87.C0 : 0) | ((qbits & 2) != 0 ? X87.C3 : 0));
        Float80 result = r.signum() == 0 ? Float80.zero(a.negative()) : Float80.roundExtended(env, negative, r, exp);
        f.finishUnary(env, result);
        // C1 is the quotient's lowest bit, not a rounding direction.
        if ((f.status() & X87.ES) == 0 || (env.flags & (IE | DE) & ~f.control()) == 0) {
            f.setConditionCodes(X87.C1, (qbits & 1) != 0 ? X87.C1 : 0);
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
        if (x.exponent() > 16383 + 6) {
            // Far outside the defined domain (-1..1): the manual leaves the result undefined.
            return Float80.invalid(env);
        }
        BigDecimal v = exp(decimal(x).multiply(LN2, MC)).subtract(BigDecimal.ONE, MC);
        return rounded(env, v);
    }

    private static Float80 yLog2X(Float80.Env env, Float80 x, Float80 y) {
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
        BigDecimal v = log2(x).multiply(decimal(y), MC);
        return rounded(env, v);
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
        BigDecimal dx = decimal(x);
        if (dx.compareTo(BigDecimal.ONE.negate()) <= 0) {
            return Float80.invalid(env);
        }
        // ln(1+x) = 2 atanh(x / (2 + x)), accurate for the tiny x this instruction is for.
        BigDecimal ln = atanh(dx.divide(TWO.add(dx, MC), MC)).multiply(TWO, MC);
        return rounded(env, ln.divide(LN2, MC).multiply(decimal(y), MC));
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
            BigDecimal ratio = decimal(y).abs().divide(decimal(x).abs(), MC);
            angle = atan(ratio);
            if (x.negative()) {
                angle = PI.subtract(angle, MC);
            }
        }
        return rounded(env, ny ? angle.negate() : angle);
    }

    private static void trigonometric(X87 f, Float80.Env env, int form) {
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
            f.setConditionCodes(C2, C2);
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
            BigDecimal[] sc = sinCos(decimal(x));
            Float80.Env sinEnv = new Float80.Env(env.control);
            sinEnv.flags = env.flags;
            sin = form == X87.R_FPTAN ? rounded(sinEnv, sc[0].divide(sc[1], MC)) : rounded(sinEnv, sc[0]);
            Float80.Env cosEnv = new Float80.Env(env.control);
            cos = rounded(cosEnv, sc[1]);
            if (form == X87.R_FCOS) {
                env.flags |= cosEnv.flags;
                env.roundedUp = cosEnv.roundedUp;
            } else {
                env.flags |= sinEnv.flags;
                env.roundedUp = sinEnv.roundedUp;
                if (form == X87.R_FSINCOS) {
                    env.flags |= cosEnv.flags;
                    env.roundedUp |= cosEnv.roundedUp;
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
        BigInteger mag = x.magnitude();
        int e = x.scale() + mag.bitLength() - 1;
        BigDecimal m = decimal(Float80.encode(false, mag, -(mag.bitLength() - 1)));
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

    /** sin and cos, reducing by multiples of pi/2 with a 110-digit pi. */
    private static BigDecimal[] sinCos(BigDecimal x) {
        MathContext wide = new MathContext(110);
        BigDecimal halfPi = PI.divide(TWO, wide);
        BigInteger n = x.divide(halfPi, wide).setScale(0, RoundingMode.HALF_EVEN).toBigInteger();
        BigDecimal r = x.subtract(halfPi.multiply(new BigDecimal(n), wide), wide);
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
