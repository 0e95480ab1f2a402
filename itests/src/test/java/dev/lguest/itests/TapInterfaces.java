package dev.lguest.itests;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;

/**
 * The TAP interfaces a process holds open: for each descriptor on /dev/net/tun that
 * is attached to an interface, Linux's tun driver writes the interface's name into
 * the descriptor's fdinfo ("iff:\ttap3").
 *
 * NetTapIT finds the interface its guest's Launcher made this way, among its own
 * process's descriptors. It used to look for the interface holding the address it had
 * asked for, in the host's namespace, which every process on the machine shares: when
 * another interface held that address too (another run of the test or of
 * net-benchmark at the same moment, a guest someone left running with the same
 * --tunnet), the older one came first, the test moved that one into its namespace and
 * pinged a guest that was not behind it, and no answer came.
 */
final class TapInterfaces {
    private static final String TUN = "/dev/net/tun";
    private static final String NAME_FIELD = "iff:";

    private TapInterfaces() {
    }

    /** The TAP (and TUN) interfaces this process holds. */
    static Set<String> ofThisProcess() {
        return heldBy(Path.of("/proc/self"));
    }

    /** The interfaces held through the descriptors of the process whose /proc directory is {@code proc}. */
    static Set<String> heldBy(Path proc) {
        Set<String> names = new TreeSet<>();
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fd"))) {
            for (Path fd : fds) {
                String name = interfaceOf(proc, fd);
                if (name != null) {
                    names.add(name);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + proc.resolve("fd"), e);
        }
        return names;
    }

    /** The interface behind one descriptor, or null (not /dev/net/tun, not attached, or closed meanwhile). */
    private static String interfaceOf(Path proc, Path fd) {
        try {
            if (!Files.isSymbolicLink(fd) || !Files.readSymbolicLink(fd).toString().equals(TUN)) {
                return null;
            }
            for (String line : Files.readAllLines(proc.resolve("fdinfo").resolve(fd.getFileName()))) {
                if (line.startsWith(NAME_FIELD)) {
                    String name = line.substring(NAME_FIELD.length()).trim();
                    return name.isEmpty() ? null : name;
                }
            }
            return null;
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read descriptor " + fd, e);
        }
    }
}
