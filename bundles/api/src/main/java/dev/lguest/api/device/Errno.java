package dev.lguest.api.device;

/** The Linux error numbers /dev/lguest returns, negated as the syscalls return them. */
public final class Errno {
    private Errno() {
    }

    public static final int EPERM = 1, ENOENT = 2, EINTR = 4, EIO = 5, EAGAIN = 11, ENOMEM = 12,
            EFAULT = 14, EBUSY = 16, ENODEV = 19, EINVAL = 22;

    public static String name(long negativeErrno) {
        return switch ((int) -negativeErrno) {
            case EPERM -> "EPERM";
            case ENOENT -> "ENOENT";
            case EINTR -> "EINTR";
            case EIO -> "EIO";
            case EAGAIN -> "EAGAIN";
            case ENOMEM -> "ENOMEM";
            case EFAULT -> "EFAULT";
            case EBUSY -> "EBUSY";
            case ENODEV -> "ENODEV";
            case EINVAL -> "EINVAL";
            default -> "errno " + -negativeErrno;
        };
    }
}
